import Testing
@testable import TendCore

@Suite struct RestartDecisionTests {
    func decide(_ policy: RestartPolicy, _ status: ExitStatus?, runs: Int = 1, max: Int? = nil,
                success: Set<Int32> = [0]) -> RestartDecision {
        var spec = ServiceSpec(name: "s", command: .argv(["x"]))
        spec.restart = policy
        spec.maxRestarts = max
        spec.successExitCodes = success
        return spec.restartDecision(after: status.map(RunEnd.ended) ?? .spawnFailed("exec: No such file or directory"), failedRuns: runs)
    }

    func isRestart(_ d: RestartDecision) -> Bool { if case .restart = d { return true } else { return false } }
    func isExit(_ d: RestartDecision) -> Bool { if case .exit = d { return true } else { return false } }
    func isGiveUp(_ d: RestartDecision) -> Bool { if case .giveUp = d { return true } else { return false } }

    @Test func alwaysRestartsWhateverTheEnd() {
        #expect(isRestart(decide(.always, .exited(0))))
        #expect(isRestart(decide(.always, .exited(3))))
        #expect(isRestart(decide(.always, .killed(.kill))))
        #expect(isRestart(decide(.always, nil)))
    }

    @Test func onFailureRestartsFailuresOnly() {
        #expect(isExit(decide(.onFailure, .exited(0))))
        #expect(isRestart(decide(.onFailure, .exited(1))))
        #expect(isRestart(decide(.onFailure, .killed(.term))))
        #expect(isRestart(decide(.onFailure, .dumped(.abrt))))
        #expect(isRestart(decide(.onFailure, nil)))
    }

    @Test func successExitCodesDecideWhatIsAFailure() {
        #expect(isExit(decide(.onFailure, .exited(3), success: [0, 3])))
        #expect(isRestart(decide(.onFailure, .exited(0), success: [3])))
    }

    @Test func neverNeverRestarts() {
        #expect(isExit(decide(.never, .exited(1))))
        #expect(isExit(decide(.never, .killed(.kill))))
        #expect(isExit(decide(.never, nil)))
    }

    @Test func maxRestartsCountsFailedRunsInARow() {
        #expect(isRestart(decide(.always, .exited(1), runs: 3, max: 3)))
        #expect(isGiveUp(decide(.always, .exited(1), runs: 4, max: 3)))
        #expect(isGiveUp(decide(.onFailure, .exited(1), runs: 1, max: 0)))
        #expect(isExit(decide(.onFailure, .exited(0), runs: 9, max: 3)))
    }

    @Test func everyDecisionSaysWhy() {
        #expect(decide(.onFailure, .exited(0)) == .exit(.succeeded))
        #expect("\(decide(.onFailure, .exited(0)))" == "a success, restart=on-failure")
        #expect("\(decide(.always, .exited(2), runs: 5, max: 1))" == "5 failed runs in a row, max_restarts=1")
        #expect("\(decide(.never, .killed(.term)))" == "restart=never")
        #expect("\(decide(.onFailure, .killed(.term)))" == "restart=on-failure")
    }

    /// A fault tend ended the run for is never a success, whatever the exit code it then had.
    @Test func aFaultIsJudgedByTheFaultNotTheExit() {
        var spec = ServiceSpec(name: "s", command: .argv(["x"]))
        spec.restart = .onFailure
        let end = RunEnd.fault(.watchdog("no WATCHDOG=1 within 1s"), .exited(0))
        #expect(spec.restartDecision(after: end, failedRuns: 1) == .restart(.onFailure))
        #expect("\(end)" == "watchdog: no WATCHDOG=1 within 1s (exit code 0)")
        #expect(end.cause == "watchdog: no WATCHDOG=1 within 1s" && end.status == .exited(0) && end.ownStatus == nil)
    }
}

@Suite struct BackoffTests {
    let backoff = Backoff(initial: .milliseconds(100), max: .seconds(1), factor: 2, jitter: 0, resetAfter: .seconds(30))

    @Test func growsGeometricallyUpToMax() {
        let delays = (1...6).map { backoff.delay(restart: $0, unit: 0.5).nanoseconds / 1_000_000 }
        #expect(delays == [100, 200, 400, 800, 1000, 1000])
    }

    @Test func hugeRestartCountsStayAtMax() {
        #expect(backoff.delay(restart: 100_000, unit: 0.5) == .seconds(1))
        var flat = backoff
        flat.factor = 1
        #expect(flat.delay(restart: 1_000_000, unit: 0.5) == .milliseconds(100))
    }

    @Test func jitterSpreadsBothWays() {
        var b = backoff
        b.jitter = 0.1
        #expect(b.delay(restart: 1, unit: 0) == .milliseconds(90))
        #expect(b.delay(restart: 1, unit: 0.5) == .milliseconds(100))
        #expect(b.delay(restart: 1, unit: 0.9999999).nanoseconds / 1_000_000 == 109)
    }

    @Test func zeroInitialMeansNoDelay() {
        var b = backoff
        b.initial = .zero
        #expect(b.delay(restart: 5, unit: 0.3) == .zero)
        #expect(b.delay(restart: 5000, unit: 0.3) == .zero)
    }
}

@Suite struct IntensityWindowTests {
    func record(_ w: inout IntensityWindow, _ at: Instant) -> Bool { w.record(at: at) }

    @Test func givesUpOnMoreThanIntensityWithinPeriod() {
        var w = IntensityWindow(Intensity(restarts: 2, period: .seconds(10)))
        let t0 = Instant(nanoseconds: 0)
        #expect(!record(&w, t0))
        #expect(!record(&w, t0 + .seconds(1)))
        #expect(record(&w, t0 + .seconds(2)))
    }

    @Test func oldRestartsSlideOut() {
        var w = IntensityWindow(Intensity(restarts: 2, period: .seconds(10)))
        let t0 = Instant(nanoseconds: 0)
        #expect(!record(&w, t0))
        #expect(!record(&w, t0 + .seconds(5)))
        #expect(!record(&w, t0 + .seconds(10)))  // t0 is exactly one period old: gone
        #expect(w.count == 2)
        #expect(record(&w, t0 + .seconds(11)))
    }

    @Test func zeroIntensityGivesUpAtTheFirstRestart() {
        var w = IntensityWindow(Intensity(restarts: 0, period: .seconds(1)))
        #expect(record(&w, Instant(nanoseconds: 5)))
    }
}

@Suite struct DeadlineQueueTests {
    @Test func popsInOrderAndSkipsReplacedDeadlines() {
        var q = DeadlineQueue<String>()
        q.set("a", at: Instant(nanoseconds: 30))
        q.set("b", at: Instant(nanoseconds: 10))
        q.set("c", at: Instant(nanoseconds: 20))
        q.set("b", at: Instant(nanoseconds: 40))
        q.clear("c")
        #expect(q.earliest() == Instant(nanoseconds: 30))
        #expect(q.popDue(now: Instant(nanoseconds: 29)) == nil)
        #expect(q.popDue(now: Instant(nanoseconds: 100)) == "a")
        #expect(q.popDue(now: Instant(nanoseconds: 100)) == "b")
        #expect(q.popDue(now: Instant(nanoseconds: 100)) == nil)
        #expect(q.earliest() == nil)
    }

    @Test func equalDeadlinesPopInTheOrderTheyWereSet() {
        var q = DeadlineQueue<Int>()
        let at = Instant(nanoseconds: 5)
        for i in [4, 9, 1, 7, 3, 8, 2, 6, 5, 0] { q.set(i, at: at) }
        q.set(9, at: at)
        var order: [Int] = []
        while let owner = q.popDue(now: at) { order.append(owner) }
        #expect(order == [4, 1, 7, 3, 8, 2, 6, 5, 0, 9])
    }

    @Test func manyDeadlinesComeOutSorted() {
        var q = DeadlineQueue<Int>()
        let random = SeededRandom(seed: 7)
        for i in 0..<500 { q.set(i, at: Instant(nanoseconds: Int64(random.nextUnit() * 1e6))) }
        var last = Instant(nanoseconds: -1)
        var count = 0
        while let owner = q.popDue(now: Instant(nanoseconds: .max)) {
            _ = owner
            count += 1
            #expect(q.earliest().map { $0 >= last } ?? true)
            last = q.earliest() ?? last
        }
        #expect(count == 500)
    }
}

@Suite struct SignalAndStatusTests {
    @Test func signalsParseByNameOrNumber() {
        #expect(Signal(parsing: "TERM") == .term)
        #expect(Signal(parsing: "sigkill") == .kill)
        #expect(Signal(parsing: "SIGHUP") == .hup)
        #expect(Signal(parsing: "10")?.description == "SIGUSR1")
        #expect(Signal(parsing: "BOGUS") == nil)
        #expect(Signal(parsing: "0") == nil)
    }

    @Test func exitStatusesReadAsTheShellDoes() {
        #expect(ExitStatus.exited(3).shellCode == 3)
        #expect(ExitStatus.killed(.kill).shellCode == 137)
        #expect(ExitStatus.dumped(.abrt).description == "killed by SIGABRT (core dumped)")
    }

    @Test func durationsReadShort() {
        #expect(Duration.milliseconds(100).humanReadable == "100ms")
        #expect(Duration.seconds(90).humanReadable == "90s")
        #expect(Duration.seconds(120).humanReadable == "2m")
        #expect(Duration.milliseconds(1500).humanReadable == "1.5s")
        #expect(Duration.zero.humanReadable == "0s")
    }
}

@Suite struct CronExpressionTests {
    @Test func readsEveryFormOfField() throws {
        let c = try CronExpression(parsing: "*/15 9-17 1,15 jan-mar mon-fri")
        #expect(c.minutes == [0, 15, 30, 45])
        #expect(c.hours == Set(9...17))
        #expect(c.daysOfMonth == [1, 15])
        #expect(c.months == [1, 2, 3])
        #expect(c.daysOfWeek == Set(1...5))
    }

    @Test func shorthandsAndSundayAsSeven() throws {
        #expect(try CronExpression(parsing: "@hourly").minutes == [0])
        #expect(try CronExpression(parsing: "0 0 * * 7").daysOfWeek == [0])
    }

    @Test func rejectsWhatCronWouldReject() {
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(parsing: "* * * *") }
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(parsing: "60 * * * *") }
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(parsing: "*/0 * * * *") }
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(parsing: "5-1 * * * *") }
        #expect(throws: CronExpression.ParseError.self) { try CronExpression(parsing: "* * * foo *") }
    }
}

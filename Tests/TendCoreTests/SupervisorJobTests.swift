import Testing
@testable import TendCore

@Suite struct SupervisorJobTests {
    func job(_ name: String, _ schedule: Schedule = .every(.seconds(10)),
             _ configure: (inout ServiceSpec) -> Void = { _ in }) -> ServiceSpec {
        service(name) {
            $0.schedule = schedule
            configure(&$0)
        }
    }

    @Test func anEveryJobRunsOneIntervalAfterTheStartThenAnIntervalAfterEachRunBegan() {
        let h = Harness(services: [job("j")])
        h.start()
        #expect(h.state("j") == .scheduled && h.spawnOrder.isEmpty)
        let start = h.clock.epochNanoseconds
        #expect(h.status("j").nextRun == start + 10_000_000_000 && h.status("j").schedule == "every 10s")
        h.advance(by: .milliseconds(9_999))
        #expect(h.spawnOrder.isEmpty)
        h.advance(by: .milliseconds(1))
        #expect(h.state("j") == .running && h.spawnOrder == ["j"])
        #expect(h.status("j").lastRun == JobRun(start: start + 10_000_000_000))
        h.advance(by: .seconds(2))
        h.exit("j", .exited(0))
        #expect(h.state("j") == .scheduled && h.pid("j") == nil)
        #expect(h.status("j").lastRun == JobRun(start: start + 10_000_000_000, duration: .seconds(2), exit: .exited(0),
                                                  succeeded: true))
        // The next run is 10 s after the last one began, not after it ended.
        #expect(h.status("j").nextRun == start + 20_000_000_000)
        h.advance(by: .seconds(8))
        #expect(h.spawnOrder == ["j", "j"])
        #expect(h.events(.restarting, "j").isEmpty && h.status("j").restarts == 0)
    }

    @Test func aRunThatBeganLateMovesTheOnesAfterIt() throws {
        let h = Harness(services: [service("db") { $0.ready = .notify }, job("j") { $0.after = ["db"] }])
        h.start()
        h.ready("db")
        try h.supervisor.stop(["db"])
        h.settle()
        h.advance(by: .seconds(10))
        #expect(h.spawnOrder == ["db"] && h.status("j").nextRun == nil)
        try h.supervisor.start(["db"])
        h.settle()
        h.advance(by: .seconds(3))
        let began = h.clock.epochNanoseconds
        h.ready("db")
        #expect(h.spawnOrder == ["db", "db", "j"])
        #expect(h.status("j").nextRun == began + 10_000_000_000)
        // A retry of a failed run is part of it: it does not move the next one.
        h.advance(by: .seconds(1))
        h.exit("j", .exited(1))
        h.advance(by: .milliseconds(100))
        #expect(h.spawnOrder.last == "j" && h.status("j").nextRun == began + 10_000_000_000)
    }

    @Test func aRunDueWhileTheLastStillRunsIsSkippedAndLogged() {
        let h = Harness(services: [job("j", .every(.seconds(1)))])
        h.start()
        h.advance(by: .seconds(1))
        let pid = h.pid("j")
        h.advance(by: .seconds(1))
        h.advance(by: .seconds(1))
        #expect(h.spawnOrder == ["j"] && h.pid("j") == pid)
        #expect(h.events(.skipped, "j").count == 2)
        #expect(h.events(.skipped, "j").first?.message.contains("still running") == true)
        h.advance(by: .milliseconds(500))
        h.exit("j", .exited(0))
        #expect(h.state("j") == .scheduled)
        h.advance(by: .milliseconds(500))
        #expect(h.spawnOrder == ["j", "j"])
    }

    @Test func aFailedRunIsRetriedWithBackoffThenWaitsForItsNextTime() {
        let h = Harness(services: [job("j", .every(.seconds(60))) { $0.maxRestarts = 2 }])
        h.start()
        h.advance(by: .seconds(60))
        h.exit("j", .exited(3))
        #expect(h.state("j") == .backoff)
        #expect(h.events(.restarting, "j").last?.delay == .milliseconds(100))
        h.advance(by: .milliseconds(100))
        #expect(h.spawnOrder == ["j", "j"])
        h.exit("j", .exited(3))
        h.advance(by: .milliseconds(200))
        #expect(h.spawnOrder == ["j", "j", "j"])
        h.exit("j", .exited(3))
        // max_restarts = 2 retries, then the job waits for its next time: not failed.
        #expect(h.state("j") == .scheduled)
        #expect(h.events(.exited, "j").last?.message.contains("not retrying") == true)
        #expect(h.status("j").lastRun?.succeeded == false && h.status("j").lastRun?.exit == .exited(3))
        h.runTimers(for: .seconds(59))
        #expect(h.spawnOrder.count == 3)
        h.runTimers(for: .seconds(1))
        #expect(h.spawnOrder.count == 4)
    }

    @Test func neverMeansAFailedRunWaitsForTheNextTime() {
        let h = Harness(services: [job("j") { $0.restart = .never }])
        h.start()
        h.advance(by: .seconds(10))
        h.exit("j", .exited(1))
        #expect(h.state("j") == .scheduled && h.events(.restarting).isEmpty)
    }

    @Test func aFailingJobNeverMakesItsGroupGiveUp() {
        let h = Harness(services: [job("j", .every(.seconds(1))), service("d")],
                        intensity: Intensity(restarts: 1, period: .seconds(60)))
        h.start()
        for _ in 0..<5 {
            h.runTimers(for: .seconds(1))
            if h.pid("j") != nil { h.exit("j", .exited(1)) }
        }
        #expect(h.events(.gaveUp).isEmpty && h.exitCode == nil && h.state("d") == .running)
        #expect(h.spawnOrder.filter { $0 == "j" }.count >= 5)
    }

    @Test func aCronJobRunsAtItsLocalTimeInTheInjectedZone() throws {
        // 2026-03-29 in Berlin: +01:00 until 01:00 UTC, +02:00 from then on.
        let change: Int64 = 1_774_746_000
        let h = Harness(services: [job("j", .cron(try CronExpression(parsing: "30 2 * * *")))])
        h.clock.zone = TransitionZone(initialOffset: 3600, transitions: [(change, 7200)])
        h.clock.epochNanoseconds = (change - 3600) * 1_000_000_000  // 01:00 local, an hour before
        h.start()
        // 02:30 does not exist that day: the run is at the change (03:00 local), once.
        #expect(h.status("j").nextRun == change * 1_000_000_000)
        h.runTimers(for: .seconds(3599))
        #expect(h.spawnOrder.isEmpty)
        h.runTimers(for: .seconds(1))
        #expect(h.spawnOrder == ["j"])
        h.exit("j", .exited(0))
        // The next day at 02:30 +02:00.
        #expect(h.status("j").nextRun == (change + 86400 - 1800) * 1_000_000_000)
        #expect(h.events(.exited, "j").last?.message.contains("next run at 2026-03-30 02:30:00 +0200") == true)
    }

    @Test func aWallClockSetBackDoesNotRunTheJobEarly() throws {
        let h = Harness(services: [job("j", .cron(try CronExpression(parsing: "0 * * * *")))])
        h.clock.epochNanoseconds = 1_788_000_000 * 1_000_000_000  // 10:40:00 UTC
        h.start()
        let due: Int64 = 1_788_001_200 * 1_000_000_000
        #expect(h.status("j").nextRun == due)
        h.clock.epochNanoseconds -= 300 * 1_000_000_000  // set back 5 minutes
        h.runTimers(for: .seconds(1200))
        #expect(h.spawnOrder.isEmpty)
        h.runTimers(for: .seconds(300))
        #expect(h.spawnOrder == ["j"])
    }

    @Test func aClockSetForwardOrAResumeRunsTheJobAtItsWallTime() throws {
        let h = Harness(services: [job("j", .cron(try CronExpression(parsing: "0 * * * *")))])
        h.clock.epochNanoseconds = 1_788_000_000 * 1_000_000_000  // 10:40:00 UTC, due at 11:00
        h.start()
        // The wall clock jumps 19 minutes 59 seconds ahead (a resume: the monotonic clock stood still).
        h.clock.epochNanoseconds += 1199 * 1_000_000_000
        h.supervisor.wallClockChanged()
        h.runTimers(for: .seconds(1))
        #expect(h.spawnOrder == ["j"])
        h.exit("j", .exited(0))
        // Past its time already: due at once, and the one after at 12:00.
        h.clock.epochNanoseconds += 7200 * 1_000_000_000
        h.supervisor.wallClockChanged()
        h.runTimers(for: .milliseconds(1))
        #expect(h.spawnOrder == ["j", "j"])
        h.exit("j", .exited(0))
        let fourteen: Int64 = (1_788_000_000 + 1200 + 3600 * 3) * 1_000_000_000
        #expect(h.status("j").nextRun == fourteen, "\(String(describing: h.status("j").nextRun)) \(h.clock.epochNanoseconds)")
    }

    @Test func startRunsAJobNowOnceAndStopEndsItsSchedule() throws {
        let h = Harness(services: [job("j")])
        h.start()
        let run = h.supervisor.run(of: h.id("j"))
        try h.supervisor.start(["j"])
        h.settle()
        #expect(h.spawnOrder == ["j"] && h.state("j") == .running)
        #expect(h.supervisor.outcome(of: .start, for: h.id("j"), sinceRun: run) == nil)
        h.exit("j", .exited(0))
        #expect(h.supervisor.outcome(of: .start, for: h.id("j"), sinceRun: run) == .done)
        // Its schedule goes on: the run asked for did not move it.
        h.runTimers(for: .seconds(10))
        #expect(h.spawnOrder == ["j", "j"])
        try h.supervisor.stop(["j"])
        h.settle()
        #expect(h.state("j") == .stopped && h.status("j").nextRun == nil)
        h.runTimers(for: .seconds(60))
        #expect(h.spawnOrder.count == 2)
        try h.supervisor.start(["j"])
        h.settle()
        #expect(h.spawnOrder.count == 3)
        h.exit("j", .exited(0))
        h.runTimers(for: .seconds(10))
        #expect(h.spawnOrder.count == 4)
    }

    @Test func aFailedRunAskedForIsReportedAsSuch() throws {
        let h = Harness(services: [job("j") { $0.restart = .never }])
        h.start()
        let run = h.supervisor.run(of: h.id("j"))
        try h.supervisor.start(["j"])
        h.settle()
        h.exit("j", .exited(4))
        #expect(h.state("j") == .scheduled)
        #expect(h.status("j").lastRun?.succeeded == false)
        #expect(h.supervisor.outcome(of: .start, for: h.id("j"), sinceRun: run) == .failed("j: the run failed: exit code 4"))
    }

    @Test func afterOnAJobWaitsForItsTargetsBeforeEachRun() throws {
        let h = Harness(services: [service("db") { $0.ready = .notify }, job("j") { $0.after = ["db"] }])
        h.start()
        h.ready("db")
        h.runTimers(for: .seconds(10))
        #expect(h.spawnOrder == ["db", "j"])
        h.exit("j", .exited(0))
        try h.supervisor.stop(["db"])
        h.settle()
        h.runTimers(for: .seconds(10))
        #expect(h.spawnOrder == ["db", "j"] && h.state("j") == .starting)
        try h.supervisor.start(["db"])
        h.settle()
        h.ready("db")
        #expect(h.spawnOrder == ["db", "j", "db", "j"])
    }

    @Test func aRebootJobRunsOnceAtStart() {
        let h = Harness(services: [job("boot", .reboot), service("d")])
        h.start()
        #expect(h.spawnOrder == ["boot", "d"] && h.status("boot").nextRun == nil)
        h.exit("boot", .exited(0))
        #expect(h.state("boot") == .exited)
        h.runTimers(for: .seconds(3600))
        #expect(h.spawnOrder == ["boot", "d"])
    }

    @Test func shutdownStopsARunningJobAndItsSchedule() {
        let h = Harness(services: [job("j", .every(.seconds(1))), service("d")])
        h.start()
        h.advance(by: .seconds(1))
        h.supervisor.shutdown()
        h.settle()
        #expect(h.exitCode == 0 && h.state("j") == .stopped && h.supervisor.nextDeadline == nil)
        #expect(h.status("j").lastRun?.error == "stopped")
    }
}

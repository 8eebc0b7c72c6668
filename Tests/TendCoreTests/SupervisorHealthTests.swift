import Testing
@testable import TendCore

@Suite struct SupervisorHealthTests {
    func checked(_ name: String, retries: Int = 3, startPeriod: Duration = .zero,
                 _ configure: (inout ServiceSpec) -> Void = { _ in }) -> ServiceSpec {
        service(name) {
            $0.health = HealthCheck(probe: .exec(["/bin/check"]), interval: .seconds(5), timeout: .seconds(2),
                                    retries: retries, startPeriod: startPeriod)
            configure(&$0)
        }
    }

    @Test func checksBeginOneIntervalAfterReadyAndNeverOverlap() {
        let h = Harness(services: [checked("a") { $0.ready = .notify }])
        h.start()
        h.advance(by: .seconds(10))
        #expect(h.healthChecks.isEmpty && h.status("a").health == nil)
        h.ready("a")
        #expect(h.status("a").health == "starting")
        h.advance(by: .seconds(5))
        #expect(h.healthChecks["a"] != nil)
        h.advance(by: .seconds(1))
        h.checkResult("a", passed: true)
        #expect(h.status("a").health == "healthy")
        // The next one is an interval after this one ended.
        h.advance(by: .milliseconds(4_999))
        #expect(h.healthChecks["a"] == nil)
        h.advance(by: .milliseconds(1))
        #expect(h.healthChecks["a"] != nil)
    }

    @Test func retriesFailuresInARowRestartTheServiceLikeACrash() {
        let h = Harness(services: [checked("a")])
        h.start()
        let pid = h.pid("a")
        for _ in 0..<2 {
            h.advance(by: .seconds(5))
            h.checkResult("a", passed: false, detail: "exit code 1, said: db down")
        }
        #expect(h.status("a").health == "unhealthy 2/3" && h.pid("a") == pid)
        #expect(h.events(.unhealthy, "a").last?.message == "health check 2/3 failed: exit code 1, said: db down")
        // A pass in between starts the count again.
        h.advance(by: .seconds(5))
        h.checkResult("a", passed: true)
        #expect(h.status("a").health == "healthy" && h.events(.healthy, "a").count == 1)
        for _ in 0..<3 {
            h.advance(by: .seconds(5))
            h.checkResult("a", passed: false)
        }
        #expect(h.signals.map(\.signal) == [.term, .cont])
        #expect(h.events(.exited, "a").last?.message.contains("3 health checks failed in a row") == true)
        #expect(h.state("a") == .backoff && h.status("a").restarts == 1)
        h.advance(by: .milliseconds(100))
        #expect(h.state("a") == .running && h.pid("a") != pid && h.status("a").health == "starting")
    }

    @Test func aCheckThatHangsIsCancelledAtItsTimeoutAndCounts() {
        let h = Harness(services: [checked("a", retries: 1)])
        h.start()
        h.advance(by: .seconds(5))
        #expect(h.healthChecks["a"] != nil)
        h.advance(by: .seconds(2))
        #expect(h.cancelledChecks == ["a"])
        #expect(h.events(.unhealthy, "a").last?.message == "health check 1/1 failed: timed out after 2s")
        #expect(h.state("a") == .backoff)
    }

    @Test func failuresInTheStartPeriodDoNotCount() {
        let h = Harness(services: [checked("a", retries: 1, startPeriod: .seconds(12))])
        h.start()
        h.advance(by: .seconds(5))
        h.checkResult("a", passed: false)
        h.advance(by: .seconds(5))
        h.checkResult("a", passed: false)
        #expect(h.state("a") == .running && h.events(.unhealthy).isEmpty && h.status("a").health == "starting")
        h.advance(by: .seconds(5))
        h.checkResult("a", passed: false)
        #expect(h.state("a") == .backoff)
    }

    @Test func anUnhealthyServiceIsRestartedThroughItsGroupsStrategyAndIntensity() {
        let h = Harness(services: [service("first"), checked("a", retries: 1)], strategy: .oneForAll,
                        intensity: Intensity(restarts: 1, period: .seconds(60)))
        h.start()
        h.advance(by: .seconds(5))
        h.checkResult("a", passed: false)
        h.runTimers(for: .seconds(1))
        #expect(h.spawnOrder == ["first", "a", "first", "a"])
        h.advance(by: .seconds(5))
        h.checkResult("a", passed: false)
        #expect(h.events(.gaveUp).count == 1)
        h.settle()
        #expect(h.exitCode == 1)
    }

    @Test func aStopCancelsTheCheckInFlight() throws {
        let h = Harness(services: [checked("a")])
        h.start()
        h.advance(by: .seconds(5))
        try h.supervisor.stop(["a"])
        h.settle()
        #expect(h.cancelledChecks == ["a"] && h.state("a") == .stopped && h.supervisor.nextDeadline == nil)
    }

    @Test func aWatchdogWithoutPingsSendsSIGABRTToTheMainProcessThenRestarts() {
        let h = Harness(services: [service("w") { $0.ready = .notify; $0.watchdog = .seconds(3) }])
        h.start()
        h.ready("w")
        for _ in 0..<3 {
            h.advance(by: .seconds(2))
            h.supervisor.notify(h.id("w"), message: "WATCHDOG=1")
        }
        #expect(h.signals.isEmpty)
        h.advance(by: .seconds(3))
        #expect(h.signals.first.map { $0.signal == .abrt && !$0.group } == true)
        #expect(h.events(.watchdog, "w").first?.message == "no WATCHDOG=1 within 3s; sending SIGABRT")
        #expect(h.events(.exited, "w").last?.message.hasPrefix("watchdog: no WATCHDOG=1 within 3s (killed by SIGABRT); restarting") == true)
        h.advance(by: .milliseconds(100))
        #expect(h.spawnOrder == ["w", "w"] && h.status("w").restarts == 1)
    }

    @Test func aWatchdogIsArmedFromTheSpawnAndKilledAfterStopTimeoutWhenSIGABRTIsIgnored() {
        let h = Harness(services: [service("w") { $0.ready = .notify; $0.watchdog = .seconds(3); $0.stopTimeout = .seconds(4) }])
        h.stubborn = ["w"]
        h.start()
        h.advance(by: .seconds(3))
        #expect(h.signals.map(\.signal) == [.abrt])
        h.advance(by: .seconds(4))
        #expect(h.signals.map(\.signal) == [.abrt, .kill])
        #expect(h.state("w") == .backoff)
    }

    /// WATCHDOG_USEC= is the run's: the next run of a service with no `watchdog` has none, and
    /// its WATCHDOG=1 arms nothing (a span kept from the run before would SIGABRT it).
    @Test func aWatchdogSpanSetByTheChildEndsWithItsRun() {
        let h = Harness(services: [service("w") { $0.ready = .notify; $0.restart = .always }])
        h.start()
        h.ready("w")
        h.supervisor.notify(h.id("w"), message: "WATCHDOG_USEC=1000000")
        h.exit("w", .exited(1))
        h.advance(by: .milliseconds(100))
        h.ready("w")
        #expect(h.spawnOrder == ["w", "w"])
        h.supervisor.notify(h.id("w"), message: "WATCHDOG=1")
        h.advance(by: .seconds(5))
        #expect(h.signals.isEmpty && h.state("w") == .running)
    }

    @Test func watchdogTriggerFiresAtOnceAndWatchdogUsecChangesTheSpan() {
        let h = Harness(services: [service("w") { $0.ready = .notify; $0.watchdog = .seconds(3) }, service("t") { $0.ready = .notify }])
        h.start()
        h.ready("w")
        h.ready("t")
        h.supervisor.notify(h.id("w"), message: "WATCHDOG_USEC=10000000")
        h.advance(by: .seconds(9))
        #expect(h.signals.isEmpty)
        // Without a watchdog configured, trigger still fires (as systemd does).
        h.supervisor.notify(h.id("t"), message: "WATCHDOG=trigger")
        h.settle()
        #expect(h.signals.map(\.name) == ["t"] && h.signals.first?.signal == .abrt)
        h.advance(by: .seconds(1))
        #expect(h.signals.map(\.name) == ["t", "w"])
    }
}

/// STOPPING=1: the service says it is on its way out, as systemd's Type=notify services do.
@Suite struct AnnouncedStopTests {
    @Test func stoppingIsShownAndTheEndIsTheRestartPolicys() {
        let h = Harness(services: [service("w") { $0.ready = .notify; $0.watchdog = .seconds(3) }])
        h.start()
        h.ready("w")
        h.supervisor.notify(h.id("w"), message: "STOPPING=1")
        h.settle()
        #expect(h.state("w") == .stopping)
        #expect(h.events(.stopping, "w").first?.message == "the service sent STOPPING=1")
        // No watchdog while it stops: silence is expected now.
        h.advance(by: .seconds(5))
        #expect(h.signals.isEmpty)
        h.exit("w", .exited(0))
        #expect(h.events(.exited, "w").count == 1 && h.events(.stopped, "w").isEmpty)
        h.advance(by: .seconds(1))
        #expect(h.spawnOrder == ["w", "w"])
    }

    @Test func aServiceThatSaysStoppingButStaysIsKilledAfterStopTimeout() {
        let h = Harness(services: [service("w") { $0.ready = .notify; $0.stopTimeout = .seconds(4); $0.restart = .never }])
        h.stubborn = ["w"]
        h.start()
        h.ready("w")
        h.supervisor.notify(h.id("w"), message: "STOPPING=1")
        h.settle()
        h.advance(by: .seconds(3))
        #expect(h.signals.isEmpty)
        h.advance(by: .seconds(1))
        #expect(h.signals.map(\.signal) == [.kill])
        #expect(h.state("w") == .exited && h.events(.exited, "w").count == 1)
    }

    @Test func anOperatorsStopDuringAnAnnouncedOneIsAStop() throws {
        let h = Harness(services: [service("w") { $0.ready = .notify }])
        h.start()
        h.ready("w")
        h.supervisor.notify(h.id("w"), message: "STOPPING=1")
        h.settle()
        try h.supervisor.stop(["w"])
        h.settle()
        h.exit("w", .exited(0))
        #expect(h.state("w") == .stopped && h.events(.stopped, "w").count == 1)
        h.advance(by: .seconds(5))
        #expect(h.spawnOrder == ["w"])
    }
}

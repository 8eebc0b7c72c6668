import Testing
@testable import TendCore

@Suite struct SupervisorRestartTests {
    @Test func startsEveryAutostartServiceInOrder() {
        let h = Harness(services: [service("a"), service("b"), service("c") { $0.autostart = false }])
        h.start()
        #expect(h.spawnOrder == ["a", "b"])
        #expect(h.state("a") == .running)
        #expect(h.state("c") == .stopped)
        #expect(h.events(.started).count == 2)
    }

    @Test func alwaysRestartsAfterTheBackoffDelay() {
        let h = Harness(services: [service("a")])
        h.start()
        let first = h.pid("a")
        h.exit("a", .exited(0))
        #expect(h.state("a") == .backoff)
        #expect(h.pid("a") == nil)
        h.advance(by: .milliseconds(99))
        #expect(h.state("a") == .backoff)
        h.advance(by: .milliseconds(1))
        #expect(h.state("a") == .running)
        #expect(h.pid("a") != first)
        #expect(h.status("a").restarts == 1)
        #expect(h.status("a").lastExit == .exited(0))
    }

    @Test func onFailureLeavesASuccessfulExitExited() {
        let h = Harness(services: [service("a") { $0.restart = .onFailure }])
        h.start()
        h.exit("a", .exited(0))
        #expect(h.state("a") == .exited)
        h.runTimers(for: .seconds(60))
        #expect(h.state("a") == .exited)
        #expect(h.spawnOrder == ["a"])
    }

    @Test func onFailureRestartsAFailure() {
        let h = Harness(services: [service("a") { $0.restart = .onFailure }])
        h.start()
        h.exit("a", .killed(.kill))
        #expect(h.state("a") == .backoff)
        h.runTimers(for: .seconds(1))
        #expect(h.state("a") == .running)
    }

    /// The why of each decision, from the decision itself (its words were once cut out of a
    /// longer text by length, and a success read "s a success").
    @Test func eachEndSaysWhyItIsOrIsNotRestarted() throws {
        let h = Harness(services: [service("a") { $0.restart = .onFailure; $0.maxRestarts = 1 }])
        h.start()
        h.exit("a", .exited(0))
        #expect(h.events(.exited, "a").last?.message == "exit code 0; not restarting (a success, restart=on-failure)")
        try h.supervisor.start(["a"])
        h.settle()
        h.exit("a", .exited(2))
        #expect(h.events(.restarting, "a").last?.message.hasSuffix("(restart=on-failure, restart #1)") == true)
        h.runTimers(for: .seconds(1))
        h.exit("a", .exited(3))
        #expect(h.events(.exited, "a").last?.message == "exit code 3; giving up")
        #expect(h.events(.gaveUp, "a").last?.message == "exit code 3, 2 failed runs in a row, max_restarts=1")
    }

    @Test func neverLeavesAnyEndExited() {
        let h = Harness(services: [service("a") { $0.restart = .never }])
        h.start()
        h.exit("a", .exited(7))
        #expect(h.state("a") == .exited)
        #expect(h.events(.exited, "a").last?.message.contains("not restarting") == true)
    }

    @Test func backoffGrowsWithEachFailedRunInARow() {
        let h = Harness(services: [service("a")])
        h.start()
        var delays: [Int64] = []
        for _ in 0..<5 {
            h.exit("a")
            let deadline = h.supervisor.nextDeadline!
            delays.append((deadline - h.clock.now).nanoseconds / 1_000_000)
            h.runTimers(for: .seconds(2))
        }
        #expect(delays == [100, 200, 400, 800, 1000])
    }

    @Test func backoffStartsAgainAfterARunThatStayedUpResetAfter() {
        let h = Harness(services: [service("a") { $0.backoff.resetAfter = .seconds(5) }])
        h.start()
        h.exit("a")
        h.runTimers(for: .seconds(1))
        h.exit("a")
        h.runTimers(for: .seconds(1))
        h.advance(by: .seconds(5))
        h.exit("a")
        let delay = h.supervisor.nextDeadline! - h.clock.now
        #expect(delay == .milliseconds(100))
    }

    @Test func maxRestartsLeavesTheServiceFailed() {
        let h = Harness(services: [service("a") { $0.maxRestarts = 2 }])
        h.start()
        for _ in 0..<2 {
            h.exit("a")
            h.runTimers(for: .seconds(2))
            #expect(h.state("a") == .running)
        }
        h.exit("a")
        #expect(h.state("a") == .failed)
        #expect(h.events(.gaveUp, "a").count == 1)
        h.runTimers(for: .seconds(60))
        #expect(h.state("a") == .failed)
        #expect(h.spawnOrder.count == 3)
    }

    @Test func aSpawnFailureIsBackedOffAndRetried() {
        let h = Harness(services: [service("a")])
        h.failingSpawns = ["a"]
        h.start()
        #expect(h.state("a") == .backoff)
        #expect(h.events(.spawnFailed, "a").first?.message.contains("No such file") == true)
        h.runTimers(for: .milliseconds(150))
        #expect(h.spawnOrder == ["a", "a"])
        h.failingSpawns = []
        h.runTimers(for: .milliseconds(250))
        #expect(h.state("a") == .running)
        #expect(h.status("a").restarts == 2)
    }

    @Test func aProcessThatIsNoServiceIsIgnored() {
        let h = Harness(services: [service("a")])
        h.start()
        #expect(h.supervisor.processExited(pid: 1, status: .exited(0)) == .other)
        #expect(h.state("a") == .running)
    }

    /// The kill of what a main process left in its group is the edge's at once, while the
    /// zombie holds the group's id: an answer of the exit, not an action queued behind others.
    @Test func aMainProcessEndedSaysWhetherItsGroupIsKilled() {
        let h = Harness(services: [service("a"), service("b") { $0.killMode = .process }])
        h.start()
        #expect(h.supervisor.processExited(pid: h.pid("a")!, status: .exited(1)) == .mainProcess(killGroup: true))
        #expect(h.supervisor.processExited(pid: h.pid("b")!, status: .exited(1)) == .mainProcess(killGroup: false))
        #expect(!h.supervisor.takeActions().contains { if case .signal = $0 { return true } else { return false } })
    }
}

@Suite struct SupervisorReadinessTests {
    @Test func notifyServicesAreStartingUntilReady() {
        let h = Harness(services: [service("a") { $0.ready = .notify }, service("b")])
        h.start()
        #expect(h.state("a") == .starting)
        #expect(h.state("b") == .starting)
        #expect(h.pid("b") == nil)
        h.supervisor.notify(h.id("a"), message: "STATUS=warming up\n")
        h.settle()
        #expect(h.status("a").statusText == "warming up")
        h.ready("a")
        #expect(h.state("a") == .running)
        #expect(h.state("b") == .running)
        #expect(h.events(.ready, "a").count == 1)
    }

    @Test func probesAreRetriedUntilStartTimeoutThenTheStartFails() {
        let h = Harness(services: [service("a") {
            $0.ready = .tcp(Endpoint(host: "127.0.0.1", port: 1))
            $0.startTimeout = .seconds(1)
        }])
        h.start()
        #expect(h.probes == ["a"])
        h.supervisor.readinessProbeFailed(h.id("a"), run: 1)
        h.advance(by: .milliseconds(100))
        #expect(h.probes == ["a", "a"])
        h.advance(by: .milliseconds(900))
        // Stopped with its stop signal, and that counts as a failed run.
        #expect(h.signals.first?.signal == .term)
        #expect(h.state("a") == .backoff)
        #expect(h.events(.exited, "a").last?.message.contains("start_timeout") == true)
    }

    @Test func aProbeSuccessForAnEarlierRunIsIgnored() {
        let h = Harness(services: [service("a") { $0.ready = .exec(["true"]) }])
        h.start()
        h.exit("a")
        h.runTimers(for: .milliseconds(100))
        h.supervisor.readinessSucceeded(h.id("a"), run: 1)
        #expect(h.state("a") == .starting)
        h.supervisor.readinessSucceeded(h.id("a"), run: 2)
        #expect(h.state("a") == .running)
    }

    @Test func readyFromAServiceThatIsNotNotifyIsIgnored() {
        let h = Harness(services: [service("a") { $0.ready = .exec(["true"]) }])
        h.start()
        h.ready("a")
        #expect(h.state("a") == .starting)
    }
}

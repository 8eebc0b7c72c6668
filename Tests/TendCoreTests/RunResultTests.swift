import Testing
@testable import TendCore

/// How a run ended and what its policy made of it are data: the exit record, the status row
/// and the events carry them as values (TEND_RESULT, TEND_DECISION), not only as words in a
/// message.
@Suite struct RunResultTests {
    func lastResult(_ h: Harness, _ name: String) -> RunResult? { h.supervisor.detail(of: h.id(name)).exits.first?.result }

    @Test func anExitByItselfIsASuccessAnExitCodeASignalOrACoreDump() {
        let h = Harness(services: [service("a") { $0.successExitCodes = [0, 7] }])
        h.start()
        let cases: [(TendCore.ExitStatus, RunResult)] = [(.exited(0), .success), (.exited(7), .success),
                                                        (.exited(1), .exitCode), (.killed(.kill), .signal),
                                                        (.dumped(.abrt), .coreDump)]
        for (status, result) in cases {
            h.exit("a", status)
            #expect(lastResult(h, "a") == result)
            #expect(h.status("a").lastResult == result)
            #expect(h.events(.exited, "a").last?.result == result)
            #expect(h.events(.exited, "a").last?.decision == .restart(.always))
            h.runTimers(for: .seconds(60))
        }
        #expect(h.events(.restarting, "a").allSatisfy { $0.decision == .restart(.always) })
    }

    @Test func aRequestedStopIsStoppedWhateverTheSignalDid() throws {
        let h = Harness(services: [service("a")])
        h.start()
        try h.supervisor.stop(["a"])
        h.settle()
        #expect(lastResult(h, "a") == .stopped && h.status("a").lastResult == .stopped)
        #expect(h.events(.stopped, "a").last?.result == .stopped && h.events(.stopped, "a").last?.exit == .killed(.term))
    }

    @Test func aFaultIsTheResultNotTheSignalTendSent() {
        let h = Harness(services: [service("w") { $0.ready = .notify; $0.watchdog = .seconds(3) },
                                   service("slow") { $0.ready = .notify; $0.startTimeout = .seconds(1) }])
        h.start()
        h.ready("w")
        h.advance(by: .seconds(3))
        #expect(lastResult(h, "w") == .watchdog)
        #expect(h.events(.exited, "w").last.map { $0.result == .watchdog && $0.exit == .killed(.abrt) } == true)
        #expect(lastResult(h, "slow") == .startTimeout)
    }

    @Test func aFailedSpawnAndGivingUpNameTheirResultAndDecision() {
        let h = Harness(services: [service("bad") { $0.maxRestarts = 1 }])
        h.failingSpawns = ["bad"]
        h.start()
        h.runTimers(for: .seconds(60))
        #expect(lastResult(h, "bad") == .spawnFailed)
        #expect(h.events(.spawnFailed, "bad").map(\.decision) == [.restart(.always), .giveUp(failedRuns: 2, maxRestarts: 1)])
        #expect(h.events(.gaveUp, "bad").first.map { $0.result == .spawnFailed && $0.decision?.word == "give-up" } == true)
    }

    @Test func anOOMKillSaysSoWithTheLimitAndIsAFailure() throws {
        let h = Harness(services: [service("big") { $0.restart = .onFailure; $0.cgroupLimits.memoryMax = 512 << 20 },
                                   service("small") { $0.restart = .onFailure }])
        h.start()
        h.supervisor.processExited(pid: try #require(h.pid("big")), status: .killed(.kill), oomKilled: true)
        h.settle()
        #expect(lastResult(h, "big") == .oomKill && h.status("big").lastResult == .oomKill)
        #expect(h.events(.exited, "big").last?.message == "killed by the OOM killer (memory_max 512M); restarting")
        #expect(h.events(.exited, "big").last.map { $0.exit == .killed(.kill) && $0.result == .oomKill } == true)
        #expect(h.events(.restarting, "big").count == 1)
        h.supervisor.processExited(pid: try #require(h.pid("small")), status: .killed(.kill), oomKilled: true)
        h.settle()
        #expect(h.events(.exited, "small").last?.message == "killed by the OOM killer; restarting")
        // A count that grew beside another end (its own exit, tend's stop) leaves that end as it was.
        h.runTimers(for: .seconds(60))
        h.supervisor.processExited(pid: try #require(h.pid("big")), status: .exited(3), oomKilled: true)
        h.settle()
        #expect(lastResult(h, "big") == .exitCode)
        try h.supervisor.stop(["small"])
        h.supervisor.processExited(pid: try #require(h.pid("small")), status: .killed(.kill), oomKilled: true)
        h.settle()
        #expect(lastResult(h, "small") == .stopped)
    }

    @Test func theDecisionsWords() {
        #expect(RestartDecision.restart(.onFailure).word == "restart")
        #expect(RestartDecision.exit(.neverRestarted).word == "never")
        #expect(RestartDecision.exit(.succeeded).word == "succeeded")
        #expect(RestartDecision.giveUp(failedRuns: 4, maxRestarts: 3).word == "give-up")
    }
}

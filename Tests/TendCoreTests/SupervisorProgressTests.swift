import Testing
@testable import TendCore

/// What tend reports to its service manager: when the tree is up (READY=1), its summary
/// (STATUS=), and how long what is under way may take (EXTEND_TIMEOUT_USEC=).
@Suite struct SupervisorProgressTests {
    @Test func theTreeIsUpOnceEveryServiceHasBeenReady() {
        let h = Harness(services: [service("a"), service("b") { $0.ready = .notify }])
        h.supervisor.start()
        #expect(!h.supervisor.isStartupSettled)
        h.settle()
        #expect(h.state("b") == .starting)
        #expect(!h.supervisor.isStartupSettled)
        h.ready("b")
        #expect(h.supervisor.isStartupSettled)
        // Once up, a later crash does not take it back: READY=1 is sent once.
        h.exit("a")
        #expect(h.supervisor.isStartupSettled)
    }

    @Test func aServiceInBackoffAndThoseWaitingBehindItCountAsSettled() {
        let h = Harness(services: [service("crasher") { $0.ready = .notify }, service("behind")])
        h.start()
        h.exit("crasher")
        #expect(h.state("crasher") == .backoff)
        #expect(h.state("behind") == .starting)  // waiting for its turn, shown as starting
        #expect(h.supervisor.isStartupSettled)
    }

    @Test func failedExitedAndNotAutostartedServicesDoNotHoldTheTreeBack() {
        let h = Harness(services: [
            service("once") { $0.restart = .never; $0.ready = .notify },
            service("doomed") { $0.maxRestarts = 0; $0.ready = .notify },
            service("manual") { $0.autostart = false },
        ])
        h.start()
        h.exit("once")
        h.exit("doomed")
        #expect(h.state("once") == .exited)
        #expect(h.state("doomed") == .failed)
        #expect(h.supervisor.isStartupSettled)
    }

    @Test func theSummaryCountsRunningOutOfAllThenTheOtherStates() {
        let h = Harness(services: [service("a"), service("b"), service("c") { $0.autostart = false },
                                   service("d") { $0.ready = .notify }])
        h.start()
        #expect(h.supervisor.summary == "2/4 running, 1 stopped, 1 starting")
        let before = h.supervisor.stateGeneration
        h.exit("a")
        #expect(h.supervisor.stateGeneration != before)
        #expect(h.supervisor.summary == "1/4 running, 1 stopped, 1 starting, 1 backoff")
    }

    @Test func theLongestPendingTimeoutIsThatOfTheSlowestStartOrStop() {
        let h = Harness(services: [
            service("slow") { $0.ready = .notify; $0.startTimeout = .seconds(90) },
            service("deaf") { $0.stopTimeout = .seconds(120) },
            service("done"),
        ], groups: [], rootChildren: ["deaf", "done", "slow"])
        h.stubborn = ["deaf"]
        #expect(h.supervisor.longestPendingTimeout == nil)
        h.start()
        #expect(h.supervisor.longestPendingTimeout == .seconds(90))
        h.supervisor.shutdown()
        h.settle()
        // Stops go in reverse order: slow is stopped, deaf holds out.
        #expect(h.state("deaf") == .stopping)
        #expect(h.supervisor.longestPendingTimeout == .seconds(120))
    }
}

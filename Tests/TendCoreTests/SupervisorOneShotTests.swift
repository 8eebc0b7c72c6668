import Testing
@testable import TendCore

/// `ready = "exited"` (SPEC section 7): a one-shot task gates `after` until it has exited with
/// a success code; a failed run follows `restart`.
@Suite struct SupervisorOneShotTests {
    func tree() -> Harness {
        Harness(services: [
            service("migrate") { $0.ready = .exited; $0.restart = .onFailure },
            service("api") { $0.after = ["migrate"] },
        ])
    }

    @Test func afterWaitsForTheTaskToFinish() {
        let h = tree()
        h.start()
        #expect(h.state("migrate") == .starting)
        #expect(h.pid("api") == nil)
        h.exit("migrate", .exited(0))
        h.settle()
        #expect(h.state("migrate") == .exited)
        #expect(h.state("api") == .running)
        #expect(h.events.contains { $0.subject == "migrate" && $0.kind == .ready && $0.message == "exited" })
    }

    @Test func aFailedRunFollowsRestartAndStillHoldsTheOthers() {
        let h = tree()
        h.start()
        h.exit("migrate", .exited(2))
        h.settle()
        #expect(h.state("migrate") == .backoff)
        #expect(h.pid("api") == nil)
        h.runTimers(for: .seconds(1))
        #expect(h.state("migrate") == .starting && h.pid("migrate") != nil)
        h.exit("migrate", .exited(0))
        h.settle()
        #expect(h.state("api") == .running)
        #expect(h.status("migrate").restarts == 1)
    }

    @Test func neverAgainUntilStartedAgain() throws {
        let h = tree()
        h.start()
        h.exit("migrate", .exited(0))
        h.settle()
        h.runTimers(for: .seconds(60))
        #expect(h.state("migrate") == .exited)
        try h.supervisor.start(["migrate"])
        h.settle()
        #expect(h.state("migrate") == .starting && h.pid("migrate") != nil)
    }
}

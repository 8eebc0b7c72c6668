import Testing
@testable import TendCore

/// `critical = true` (SPEC section 7): its end for good stops the tree, and `tend run` exits
/// with its code.
@Suite struct SupervisorCriticalTests {
    @Test func aCriticalServiceEndingForGoodStopsTheTreeWithItsCode() {
        let h = Harness(services: [
            service("db"),
            service("migrate") { $0.restart = .never; $0.critical = true },
            service("api"),
        ])
        h.start()
        #expect(h.state("api") == .running)
        h.exit("migrate", .exited(3))
        h.settle()
        #expect(h.exitCode == 3)
        #expect(h.state("db") == .stopped && h.state("api") == .stopped)
        // Stopped in reverse order.
        #expect(h.signals.filter { $0.signal == .term }.map(\.name) == ["api", "db"])
    }

    @Test func aSignalBecomes128PlusItsNumberAndFailedBecomes1() {
        let killed = Harness(services: [service("main") { $0.restart = .onFailure; $0.critical = true; $0.maxRestarts = 0 }])
        killed.start()
        killed.exit("main", .killed(.kill))
        killed.settle()
        #expect(killed.exitCode == 1)  // failed: max_restarts reached

        let signalled = Harness(services: [service("main") { $0.restart = .never; $0.critical = true }])
        signalled.start()
        signalled.exit("main", .killed(.kill))
        signalled.settle()
        #expect(signalled.exitCode == 137)
    }

    @Test func aCriticalServiceThatRestartsDoesNotEndTheTree() {
        let h = Harness(services: [service("main") { $0.critical = true }, service("other")])
        h.start()
        h.exit("main", .exited(0))
        h.settle()
        #expect(h.exitCode == nil)
        #expect(h.state("main") == .backoff)
    }
}

@testable import TendCore
import Testing

/// `parallel = true` groups (SPEC section 9): children start at once, each still after its own
/// `after`, and stop at once; the default stays one after another.
@Suite struct SupervisorParallelTests {
    func notify(_ name: String, _ configure: (inout ServiceSpec) -> Void = { _ in }) -> ServiceSpec {
        service(name) { $0.ready = .notify; configure(&$0) }
    }

    func terms(_ h: Harness) -> [String] { h.signals.filter { $0.signal == .term }.map(\.name) }

    @Test func aParallelGroupStartsItsChildrenAtOnceEachAfterItsOwnAfter() {
        let h = Harness(services: [notify("a"), notify("b"), notify("c") { $0.after = ["a"] }, notify("d")],
                        groups: [GroupSpec(name: "g", children: ["a", "b", "c"], parallel: true)], rootChildren: ["g", "d"])
        h.start()
        // None is ready yet: a sequential group would have started "a" only.
        #expect(h.spawnOrder == ["a", "b"])
        #expect(h.pid("c") == nil && h.pid("d") == nil, "c waits for a; the root is in order: d after the group")
        h.ready("a")
        #expect(h.spawnOrder == ["a", "b", "c"])
        h.ready("b")
        h.ready("c")
        #expect(h.spawnOrder == ["a", "b", "c", "d"])
    }

    @Test func inOrderIsStillTheDefault() {
        let h = Harness(services: [notify("a"), notify("b")], groups: [GroupSpec(name: "g", children: ["a", "b"])])
        h.start()
        #expect(h.spawnOrder == ["a"])
    }

    @Test func aParallelGroupStopsItsChildrenAtOnceAndIsStoppedWhenTheLastIsGone() throws {
        let h = Harness(services: [service("a"), service("b") { $0.stopTimeout = .seconds(5) }, service("c")],
                        groups: [GroupSpec(name: "g", children: ["a", "b", "c"], parallel: true)])
        h.stubborn = ["a", "b", "c"]
        h.start()
        try h.supervisor.stop(["g"])
        h.settle()
        // All asked before any is gone; in order, only c would have been.
        #expect(Set(terms(h)) == ["a", "b", "c"] && terms(h).count == 3)
        h.stubborn = ["b"]
        h.advance(by: .seconds(10))
        #expect(h.state("a") == .stopped && h.state("c") == .stopped)
        h.runTimers(for: .seconds(10))
        #expect(["a", "b", "c"].allSatisfy { h.state($0) == .stopped })
        #expect(h.signals.filter { $0.signal == .kill }.map(\.name).sorted() == ["a", "b", "c"], "each after its own stop_timeout")
    }

    @Test func aOneForAllRestartStopsThemAllAtOnceThenStartsThemAtOnce() {
        let h = Harness(services: [notify("a"), notify("b"), notify("c")],
                        groups: [GroupSpec(name: "g", strategy: .oneForAll, children: ["a", "b", "c"], parallel: true)])
        h.start()
        for name in ["a", "b", "c"] { h.ready(name) }
        h.stubborn = ["a", "c"]
        h.exit("b")
        #expect(Set(terms(h)) == ["a", "c"])
        h.stubborn = []
        h.runTimers(for: .seconds(20))
        #expect(h.spawnOrder.suffix(3).sorted() == ["a", "b", "c"] && h.spawnOrder.count == 6)
        #expect(["a", "b", "c"].allSatisfy { h.state($0) == .starting })
    }

    @Test func aShutdownOfAParallelRootStopsEveryChildAtOnceAndExits() {
        var tree = TreeSpec.withImplicitRoot(strategy: .oneForOne, intensity: nil,
                                             services: (0..<50).map { service("s\($0)") }, groups: [GroupSpec(name: "g", children: ["s49"])])
        tree.root.parallel = true
        let h = Harness(tree)
        h.stubborn = Set((0..<50).map { "s\($0)" })
        h.start()
        h.supervisor.shutdown()
        h.settle()
        #expect(terms(h).count == 50)
        #expect(h.events(.shutdown).map(\.message) == ["stopping every service all at once"])
        h.runTimers(for: .seconds(20))
        #expect(h.exitCode == 0)
    }
}

@testable import TendCore
import Testing

/// A reload that comes while a group stops its children (a strategy's restart, a give-up) or
/// waits out the backoff of a restart: nothing waits for ever, and what was stopped starts again.
@Suite struct SupervisorReloadDuringStopTests {
    let services = [service("s"), service("x") { $0.restart = .always }]
    let g = GroupSpec(name: "G", children: ["s"])

    /// root [P], P one_for_all [G, x], G [s]: x's exit makes P stop G, then x.
    func oneForAll(stubborn: Bool) -> Harness {
        let h = Harness(services: services, groups: [GroupSpec(name: "P", strategy: .oneForAll, children: ["G", "x"]), g],
                        rootChildren: ["P"])
        if stubborn { h.stubborn = ["s"] }
        h.start()
        h.exit("x", .exited(1))
        h.settle()
        return h
    }

    /// G moves from P to the root.
    var hoisted: TreeSpec {
        TreeSpec(root: GroupSpec(name: "", children: ["P", "G"]), services: services,
                 groups: [GroupSpec(name: "P", strategy: .oneForAll, children: ["x"]), g])
    }

    @Test func aGroupMovedOutOfTheParentStoppingItLetsTheParentGoOn() throws {
        let h = oneForAll(stubborn: true)
        #expect(h.state("s") == .stopping)
        try h.supervisor.reload(hoisted)
        h.settle()
        // The reload waits for P's stop (s is killed at its stop_timeout), then applies.
        #expect(h.reloads.isEmpty)
        h.runTimers(for: .seconds(11))
        #expect(h.reloads.count == 1)
        #expect(h.state("x") == .running && h.state("s") == .running)
    }

    @Test func aGroupMovedOutWhileItsParentWaitsOutTheBackoffStartsAgain() throws {
        let h = oneForAll(stubborn: false)
        #expect(h.state("s") == .stopped)
        try h.supervisor.reload(hoisted)
        h.settle()
        #expect(h.reloads.count == 1)
        h.runTimers(for: .seconds(1))
        #expect(h.state("x") == .running && h.state("s") == .running)
    }

    @Test func aGroupMovedIntoASiblingWhileItsParentStopsItStartsThere() throws {
        let services = self.services + [service("q")]
        let h = Harness(services: services, groups: [GroupSpec(name: "P", strategy: .oneForAll, children: ["Q", "G", "x"]),
                                                     GroupSpec(name: "Q", children: ["q"]), g], rootChildren: ["P"])
        h.stubborn = ["s"]
        h.start()
        h.exit("x", .exited(1))
        h.settle()
        #expect(h.state("s") == .stopping)
        try h.supervisor.reload(TreeSpec(root: GroupSpec(name: "", children: ["P"]), services: services, groups: [
            GroupSpec(name: "P", strategy: .oneForAll, children: ["Q", "x"]), GroupSpec(name: "Q", children: ["q", "G"]), g]))
        h.settle()
        h.runTimers(for: .seconds(11))
        h.runTimers(for: .seconds(1))
        #expect(h.state("x") == .running && h.state("q") == .running && h.state("s") == .running)
    }

    /// No move: a reload that adds a sibling to P restarts P, and with it what P's plan stopped.
    @Test func aReloadOfAGroupDuringItsRestartKeepsTheRestart() throws {
        let h = oneForAll(stubborn: false)
        let services = self.services + [service("y")]
        try h.supervisor.reload(TreeSpec(root: GroupSpec(name: "", children: ["P"]), services: services,
                                         groups: [GroupSpec(name: "P", strategy: .oneForAll, children: ["G", "x", "y"]), g]))
        h.settle()
        h.runTimers(for: .seconds(1))
        #expect(h.state("s") == .running && h.state("x") == .running && h.state("y") == .running)
    }

    /// The root is never restarted by a reload: its plan keeps what stays in it, and what moved out starts.
    @Test func aNodeMovedOutOfTheRootsPlanStartsWhereItWent() throws {
        let h = Harness(TreeSpec(root: GroupSpec(name: "", strategy: .oneForAll, children: ["G", "x"]), services: services,
                                 groups: [g]))
        h.start()
        h.exit("x", .exited(1))
        h.settle()
        #expect(h.state("s") == .stopped)
        try h.supervisor.reload(TreeSpec(root: GroupSpec(name: "", strategy: .oneForAll, children: ["Q", "x"]),
                                         services: services, groups: [GroupSpec(name: "Q", children: ["G"]), g]))
        h.settle()
        h.runTimers(for: .seconds(1))
        #expect(h.state("s") == .running && h.state("x") == .running)
    }

    /// Giving up, the root is shutting down: a reload then would start what outlives tend's exit.
    @Test func aRootThatGaveUpRefusesAReload() throws {
        let limit = Intensity(restarts: 1, period: .seconds(60))
        let services = [service("s"), service("y") { $0.restart = .always }]
        let h = Harness(TreeSpec(root: GroupSpec(name: "", intensity: limit, children: ["G", "y"]), services: services,
                                 groups: [g]))
        h.stubborn = ["s"]
        h.start()
        h.exit("y")
        h.advance(by: .milliseconds(100))
        h.exit("y")
        h.settle()
        #expect(h.state("s") == .stopping && h.exitCode == nil)
        #expect(throws: Supervisor.ReloadRefusal.shuttingDown) { try h.supervisor.reload(TreeSpec(
            root: GroupSpec(name: "", intensity: limit, children: ["y"]), services: [services[1]], groups: [])) }
        #expect(h.supervisor.isShuttingDown)
        h.runTimers(for: .seconds(11))
        #expect(h.exitCode == 1)
    }
}

@Suite struct SupervisorReloadDuringBackoffTests {
    /// Added before the children a root's one_for_all restart waits to start: it starts with them.
    @Test func aServiceAddedAheadOfARestartPlanStarts() throws {
        let services = [service("x") { $0.restart = .always }, service("y")]
        let h = Harness(TreeSpec(root: GroupSpec(name: "", strategy: .oneForAll, children: ["x", "y"]), services: services,
                                 groups: []))
        h.start()
        h.exit("x", .exited(1))
        h.settle()
        try h.supervisor.reload(TreeSpec(root: GroupSpec(name: "", strategy: .oneForAll, children: ["a", "x", "y"]),
                                         services: [service("a")] + services, groups: []))
        h.settle()
        h.runTimers(for: .seconds(1))
        #expect(h.state("a") == .running && h.state("x") == .running && h.state("y") == .running)
    }
}

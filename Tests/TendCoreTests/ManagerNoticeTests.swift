import Testing
@testable import TendCore

/// What the service manager is told besides readiness and status comes from the core as
/// actions, each where the tree's course changes (not read off the events after the fact).
@Suite struct ManagerNoticeTests {
    @Test func aShutdownIsAStopOfTheTree() {
        let h = Harness(services: [service("a")])
        h.start()
        #expect(h.notices.isEmpty)
        h.supervisor.shutdown()
        h.settle()
        #expect(h.notices == [.stopping])
    }

    @Test func theRootGivingUpAndACriticalEndAreStopsOfTheTree() {
        let root = Harness(services: [service("a")], intensity: Intensity(restarts: 0, period: .seconds(10)))
        root.start()
        root.exit("a")
        root.settle()
        #expect(root.exitCode == 1 && root.notices == [.stopping])

        let critical = Harness(services: [service("m") { $0.restart = .never; $0.critical = true }, service("b")])
        critical.start()
        critical.exit("m", .exited(2))
        critical.settle()
        #expect(critical.exitCode == 2 && critical.notices == [.stopping])
    }

    @Test func aGroupGivingUpIsNoStopOfTheTree() {
        let h = Harness(services: [service("a"), service("b")],
                        groups: [GroupSpec(name: "g", intensity: Intensity(restarts: 0, period: .seconds(10)), children: ["a"])],
                        rootChildren: ["g", "b"])
        h.start()
        h.exit("a")
        h.settle()
        #expect(h.events(.gaveUp).contains { $0.isGroup })
        #expect(h.notices.isEmpty)
    }

    @Test func aReloadOfTheFileIsAReloadAndAScaleIsNot() throws {
        let h = Harness(services: [service("web") { $0.instances = 2 }])
        h.start()
        _ = try h.supervisor.scale("web", to: 3)
        h.settle()
        #expect(h.notices.isEmpty)
        try h.supervisor.reload(.withImplicitRoot(services: [service("web") { $0.instances = 2 }], groups: []))
        h.settle()
        #expect(h.notices == [.reloading])
    }
}

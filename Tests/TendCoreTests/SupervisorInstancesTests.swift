import Testing
@testable import TendCore

/// `instances = N` and `tend scale` (SPEC section 7): copies NAME@1..NAME@N in the service's
/// place, each a child of its group with its own backoff and restart count.
@Suite struct SupervisorInstancesTests {
    func web(_ n: Int, _ configure: (inout ServiceSpec) -> Void = { _ in }) -> ServiceSpec {
        service("web") { $0.instances = n; configure(&$0) }
    }

    @Test func copiesTakeTheServicesPlaceInOrderWithTheirNumber() throws {
        let h = Harness(services: [service("db"), web(3), service("tail")])
        h.start()
        #expect(h.spawnOrder == ["db", "web@1", "web@2", "web@3", "tail"])
        let spec = h.supervisor.spec(of: h.id("web@2"))
        #expect(spec.environment["TEND_INSTANCE"] == "2" && spec.instance == 2 && spec.baseName == "web")
        // The name stands for every copy.
        #expect(try h.supervisor.services(named: ["web"]).map { h.supervisor.spec(of: $0).name } == ["web@1", "web@2", "web@3"])
        #expect(h.supervisor.service(named: "web") == nil)
    }

    @Test func afterAServiceWithInstancesWaitsForEveryCopy() {
        let h = Harness(services: [web(2) { $0.ready = .notify }, service("api") { $0.after = ["web"] }])
        h.start()
        #expect(h.state("api") == .starting)
        h.ready("web@1")
        #expect(h.state("api") == .starting)
        h.ready("web@2")
        #expect(h.state("api") == .running)
    }

    @Test func eachCopyHasItsOwnBackoffAndRestartCount() {
        let h = Harness(services: [web(2)])
        h.start()
        let second = h.pid("web@2")
        h.exit("web@1")
        #expect(h.state("web@1") == .backoff && h.state("web@2") == .running && h.pid("web@2") == second)
        h.runTimers(for: .seconds(1))
        h.exit("web@1")
        h.runTimers(for: .seconds(1))
        #expect(h.status("web@1").restarts == 2 && h.status("web@2").restarts == 0)
    }

    @Test func theGroupsStrategyTreatsEachCopyAsAChild() {
        // rest_for_one: web@2's death restarts web@2, web@3 and what follows, not web@1.
        let h = Harness(services: [web(3), service("tail")], strategy: .restForOne)
        h.start()
        let first = h.pid("web@1")
        h.clearHistory()
        h.exit("web@2")
        h.runTimers(for: .seconds(1))
        #expect(h.stopOrder() == ["tail", "web@3"])
        #expect(h.pid("web@1") == first && h.state("tail") == .running && h.state("web@3") == .running)
    }

    @Test func scaleUpStartsNewCopiesInOrderAndKeepsTheOthers() throws {
        let h = Harness(services: [web(2), service("tail")])
        h.start()
        let pids = [h.pid("web@1"), h.pid("web@2"), h.pid("tail")]
        h.clearHistory()
        #expect(try h.supervisor.scale("web", to: 4))
        h.settle()
        #expect(h.spawnOrder == ["web@3", "web@4"])
        #expect([h.pid("web@1"), h.pid("web@2"), h.pid("tail")] == pids)
        #expect(h.reloads.last?.added == ["web@3", "web@4"] && h.reloads.last?.scale?.to == 4)
        #expect(h.events(.scaled, "web").count == 1 && h.events(.reloaded).isEmpty)
        #expect(Set(h.reloads.last!.starting.keys) == [h.id("web@3"), h.id("web@4")])
    }

    @Test func scaleDownStopsTheHighestFirstAndKeepsTheOthers() throws {
        let h = Harness(services: [web(4)])
        h.start()
        let pids = [h.pid("web@1"), h.pid("web@2")]
        h.clearHistory()
        try h.supervisor.scale("web", to: 2)
        h.settle()
        #expect(h.stopOrder() == ["web@4", "web@3"])
        #expect([h.pid("web@1"), h.pid("web@2")] == pids)
        #expect(h.reloads.last?.removed == ["web@3", "web@4"])
        #expect(try h.supervisor.services(named: ["web"]).count == 2)
        #expect(h.supervisor.service(named: "web@3") == nil)
        // Up again: web@3 is a new copy, with a new process and no restarts.
        try h.supervisor.scale("web", to: 3)
        h.settle()
        #expect(h.state("web@3") == .running && h.status("web@3").restarts == 0)
    }

    @Test func copiesAddedToAStoppedServiceStayStoppedUntilStarted() throws {
        let h = Harness(services: [web(1)])
        h.start()
        try h.supervisor.stop(["web"])
        h.settle()
        try h.supervisor.scale("web", to: 3)
        h.settle()
        #expect(try h.supervisor.services(named: ["web"]).map { h.supervisor.status(of: $0).state } == [.stopped, .stopped, .stopped])
        #expect(h.reloads.last?.starting.isEmpty == true)
        try h.supervisor.start(["web"])
        h.settle()
        #expect(try h.supervisor.services(named: ["web"]).allSatisfy { h.supervisor.status(of: $0).state == .running })
    }

    @Test func scaleRefusesWhatItCannotDo() throws {
        let h = Harness(services: [web(2), service("plain")])
        h.start()
        #expect(throws: Supervisor.ReloadRefusal.notReplicated("plain")) { try h.supervisor.scale("plain", to: 2) }
        #expect(throws: Supervisor.ReloadRefusal.unknown("nope")) { try h.supervisor.scale("nope", to: 2) }
        #expect(throws: Supervisor.ReloadRefusal.badCount("web", 0)) { try h.supervisor.scale("web", to: 0) }
        #expect(try h.supervisor.scale("web", to: 2) == false)
        try h.supervisor.scale("web", to: 1)  // web@2 is stopping
        #expect(throws: Supervisor.ReloadRefusal.inProgress) { try h.supervisor.scale("web", to: 5) }
    }

    @Test func aCopyAskedToStartWhileTheScaleStillStopsOthersIsTakenOutAllTheSame() throws {
        // Found by the chaos test: a start asked for while a scale (or reload) is under way made a
        // copy that was already stopped wait again, and once taken out of the tree it waited for ever.
        let h = Harness(services: [web(4) { $0.stopTimeout = .seconds(5) }])
        h.stubborn = ["web@2"]
        h.start()
        let gone = [h.id("web@3"), h.id("web@4")]
        try h.supervisor.scale("web", to: 1)
        h.settle()
        #expect(h.stopOrder() == ["web@4", "web@3"] && h.state("web@2") == .stopping)
        try h.supervisor.start(["web"])
        h.settle()
        h.runTimers(for: .seconds(6))  // web@2 gets SIGKILL at its stop_timeout
        #expect(try h.supervisor.services(named: ["web"]).count == 1 && h.state("web@1") == .running)
        for id in gone {
            #expect(!h.supervisor.isActive(id) && h.supervisor.status(of: id).state == .stopped)
        }
        #expect(!h.spawnOrder.dropFirst(4).contains { $0 != "web@1" })
    }

    @Test func aReloadChangingOnlyInstancesScalesWithoutRestarts() throws {
        let h = Harness(services: [web(2), service("api") { $0.after = ["web"] }])
        h.start()
        let pids = [h.pid("web@1"), h.pid("web@2"), h.pid("api")]
        h.clearHistory()
        try h.supervisor.reload(.withImplicitRoot(services: [web(3), service("api") { $0.after = ["web"] }], groups: []))
        h.settle()
        #expect(h.spawnOrder == ["web@3"] && h.signals.isEmpty)
        #expect([h.pid("web@1"), h.pid("web@2"), h.pid("api")] == pids)
        #expect(h.reloads.last?.added == ["web@3"] && h.reloads.last?.restarted == [])
        // The file wins at a reload: back to its count, whatever `tend scale` did.
        try h.supervisor.scale("web", to: 5)
        h.settle()
        try h.supervisor.reload(.withImplicitRoot(services: [web(3), service("api") { $0.after = ["web"] }], groups: []))
        h.settle()
        #expect(try h.supervisor.services(named: ["web"]).count == 3)
        #expect([h.pid("web@1"), h.pid("web@2"), h.pid("api")] == pids)
    }

    @Test func aReloadChangingTheCopiesSpecRestartsEveryCopy() throws {
        let h = Harness(services: [web(2)])
        h.start()
        h.clearHistory()
        try h.supervisor.reload(.withImplicitRoot(services: [web(2) { $0.command = .argv(["/bin/new"]) }], groups: []))
        h.settle()
        #expect(h.reloads.last?.restarted == ["web@1", "web@2"])
        #expect(h.stopOrder() == ["web@2", "web@1"] && h.spawnOrder == ["web@1", "web@2"])
    }
}

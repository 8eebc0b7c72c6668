import Testing
@testable import TendCore

/// `start = "on-connection"` (SPEC section 9): the edge is asked to watch a service's sockets
/// whenever it is down and not asked for, and its first connection starts it.
@Suite struct SupervisorOnConnectionTests {
    func lazy(_ name: String, _ configure: (inout ServiceSpec) -> Void = { _ in }) -> ServiceSpec {
        service(name) {
            $0.listen = [ListenAddress(kind: .tcp, host: "127.0.0.1", port: 8080, name: nil)]
            $0.startOnConnection = true
            $0.autostart = false
            configure(&$0)
        }
    }

    @Test func itIsWatchedAtStartAndStartedByItsFirstConnectionOnly() {
        let h = Harness(services: [lazy("l"), service("b")])
        h.start()
        #expect(h.spawnOrder == ["b"] && h.watchingConnections == ["l"])
        #expect(h.state("l") == .stopped)
        h.supervisor.connectionArrived(h.id("l"))
        h.settle()
        #expect(h.spawnOrder == ["b", "l"] && h.watchingConnections.isEmpty && h.state("l") == .running)
        // A connection while it runs (the edge no longer watches; a late one) changes nothing.
        h.supervisor.connectionArrived(h.id("l"))
        h.settle()
        #expect(h.spawnOrder == ["b", "l"])
        // A plain service is never watched nor started so.
        h.supervisor.connectionArrived(h.id("b"))
        h.settle()
        #expect(h.spawnOrder == ["b", "l"] && h.watchingConnections.isEmpty)
    }

    @Test func itIsWatchedAgainAfterAStopAndAfterAnEndForGoodButNotInBackoff() throws {
        let h = Harness(services: [lazy("l") { $0.restart = .onFailure }])
        h.start()
        h.supervisor.connectionArrived(h.id("l"))
        h.settle()
        h.exit("l", .exited(1))
        #expect(h.state("l") == .backoff && h.watchingConnections.isEmpty)
        h.runTimers(for: .seconds(1))
        #expect(h.state("l") == .running)
        h.exit("l", .exited(0))
        #expect(h.state("l") == .exited && h.watchingConnections == ["l"])
        h.supervisor.connectionArrived(h.id("l"))
        h.settle()
        #expect(h.state("l") == .running && h.watchingConnections.isEmpty)
        try h.supervisor.stop(["l"])
        h.settle()
        #expect(h.state("l") == .stopped && h.watchingConnections == ["l"])
        // `tend start` starts it as any service; the spawn ends the watch.
        try h.supervisor.start(["l"])
        h.settle()
        #expect(h.state("l") == .running && h.watchingConnections.isEmpty)
    }

    @Test func anFdStoreIsReleasedWhenItsServiceIsDownForGoodNotWhenItRestarts() throws {
        let h = Harness(services: [service("k") { $0.fdstoreMax = 4; $0.restart = .onFailure }, service("plain")])
        h.start()
        h.exit("k", .exited(1))
        h.runTimers(for: .seconds(1))
        try h.supervisor.restart(["k"])
        h.settle()
        #expect(h.state("k") == .running && h.releasedStores.isEmpty)
        h.exit("k", .exited(0))
        #expect(h.state("k") == .exited && h.releasedStores == ["k"])
        try h.supervisor.start(["k"])
        h.settle()
        try h.supervisor.stop(["k", "plain"])
        h.settle()
        #expect(h.releasedStores == ["k", "k"])
    }

    @Test func afterGivingUpItIsNotWatchedUntilTendStart() throws {
        let h = Harness(services: [lazy("l") { $0.restart = .onFailure; $0.maxRestarts = 0 }])
        h.start()
        h.watchingConnections = []
        h.supervisor.connectionArrived(h.id("l"))
        h.settle()
        h.exit("l", .exited(1))
        #expect(h.state("l") == .failed && h.watchingConnections.isEmpty)
        // A connection still waiting would otherwise start it again and again, at once.
        #expect(!h.supervisor.awaitsConnection(h.id("l")))
        try h.supervisor.start(["l"])
        h.settle()
        #expect(h.state("l") == .running)
    }

    @Test func moreThan200ConnectionStartsIn2SecondsStopTheWatchAsSystemdsTriggerLimit() throws {
        let h = Harness(services: [lazy("l") { $0.restart = .never }])
        h.start()
        for _ in 0..<200 {
            h.supervisor.connectionArrived(h.id("l"))
            h.settle()
            h.exit("l", .exited(0))
        }
        #expect(h.spawnOrder.count == 200 && h.supervisor.awaitsConnection(h.id("l")))
        h.supervisor.connectionArrived(h.id("l"))
        h.settle()
        #expect(h.spawnOrder.count == 200 && !h.supervisor.awaitsConnection(h.id("l")))
        #expect(h.events(.gaveUp, "l").last?.message.contains("more than 200 times in 2s") == true)
        // `tend start` clears it; 2 s later connections start it again.
        try h.supervisor.start(["l"])
        h.settle()
        h.exit("l", .exited(0))
        h.advance(by: .seconds(3))
        h.supervisor.connectionArrived(h.id("l"))
        h.settle()
        #expect(h.spawnOrder.count == 202 && h.state("l") == .running)
    }

    @Test func aStrategysRestartAndAReloadsRestartKeepTheStore() throws {
        let k = service("k") { $0.fdstoreMax = 4 }
        let h = Harness(services: [k, service("s")], groups: [GroupSpec(name: "g", strategy: .oneForAll, children: ["k", "s"])])
        h.start()
        h.exit("s", .exited(1))
        h.runTimers(for: .seconds(1))
        #expect(h.spawnOrder == ["k", "s", "k", "s"] && h.releasedStores.isEmpty)
        var changed = k
        changed.environment["X"] = "1"
        try h.supervisor.reload(.withImplicitRoot(services: [changed, service("s")], groups: [GroupSpec(name: "g", strategy: .oneForAll, children: ["k", "s"])]))
        h.settle()
        #expect(h.spawnOrder.suffix(1) == ["k"] && h.state("k") == .running && h.releasedStores.isEmpty)
    }

    @Test func aReloadThatAddsOneOrMakesOneOnConnectionWatchesIt() throws {
        let h = Harness(services: [service("a")])
        h.start()
        try h.supervisor.reload(.withImplicitRoot(services: [lazy("a"), lazy("n")], groups: []))
        h.settle()
        #expect(h.state("a") == .stopped && h.state("n") == .stopped)
        #expect(h.watchingConnections == ["a", "n"])
        #expect(h.spawnOrder == ["a"])
    }
}

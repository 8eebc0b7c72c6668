import Testing
@testable import TendCore

/// Random sequences of everything that can happen to a tree, checked against invariants that
/// must hold after every step, and a shutdown that must always finish.
@Suite struct SupervisorChaosTests {
    static let names = ["a", "b", "c", "d", "e", "f"]

    func randomTree(_ random: SeededRandom) -> TreeSpec {
        func pick<T>(_ items: [T]) -> T { items[Int(random.nextUnit() * Double(items.count))] }
        let services = SupervisorChaosTests.names.map { name in
            service(name) {
                $0.restart = pick(RestartPolicy.allCases)
                $0.ready = pick([.started, .started, .notify])
                $0.maxRestarts = pick([nil, nil, 2])
                $0.autostart = random.nextUnit() < 0.9
                // e's spawns may fail: with no backoff they would be retried at once, for ever (the
                // harness has no loop turns to spread them over).
                $0.backoff.initial = name == "e" ? .milliseconds(100) : pick([.zero, .milliseconds(100)])
                $0.schedule = pick([nil, nil, nil, .every(.seconds(1)), .reboot])
                if $0.isJob {
                    $0.ready = .started
                } else {
                    $0.health = pick([nil, HealthCheck(probe: .tcp(Endpoint(host: "127.0.0.1", port: 1)), interval: .seconds(1),
                                                       timeout: .milliseconds(500), retries: 2)])
                    if $0.ready == .notify { $0.watchdog = pick([nil, .seconds(2)]) }
                }
                if name == "d" { $0.instances = pick([nil, 1, 2, 3]) }
                // Waits for a service before it, or (f) for a group.
                if name != "a" { $0.after = pick([[], [], [], ["a"], name == "f" ? ["outer"] : ["a"]]) }
            }
        }
        let inner = GroupSpec(name: "inner", strategy: pick(Strategy.allCases),
                              intensity: pick([nil, Intensity(restarts: 3, period: .seconds(5))]), children: ["c", "d"],
                              parallel: pick([false, false, true]))
        // Now and then without inner (its services straight in outer): a reload removes the group, a later one adds it again.
        let withInner = random.nextUnit() < 0.8
        // And now and then in the root, beside outer: a reload moves it out of a group that may be stopping it.
        let innerInRoot = withInner && random.nextUnit() < 0.25
        let outer = GroupSpec(name: "outer", strategy: pick(Strategy.allCases),
                              intensity: pick([nil, Intensity(restarts: 5, period: .seconds(5))]),
                              children: !withInner ? ["b", "c", "d", "e"] : innerInRoot ? ["b", "e"] : ["b", "inner", "e"],
                              parallel: pick([false, false, true]))
        return TreeSpec(root: GroupSpec(name: "", strategy: pick(Strategy.allCases),
                                        children: innerInRoot ? ["a", "outer", "inner", "f"] : ["a", "outer", "f"],
                                        parallel: pick([false, false, true])),
                        services: services, groups: withInner ? [inner, outer] : [outer])
    }

    func checkInvariants(_ h: Harness) {
        for id in h.supervisor.servicesInTreeOrder {
            let status = h.supervisor.status(of: id)
            switch status.state {
            case .running, .stopping:
                #expect(status.pid != nil, "\(status.name) is \(status.state) without a pid")
            case .stopped, .backoff, .exited, .failed, .scheduled:
                #expect(status.pid == nil, "\(status.name) is \(status.state) with a pid; \(h.events.suffix(12).map(\.description))")
            case .starting:
                break
            }
            if let pid = status.pid { #expect(h.supervisor.service(forPID: pid) == id) }
        }
        checkProgress(h)
    }

    /// Nothing waits for what will never come: a group's stop waits (through the groups it is
    /// stopping) for a process that has been asked to stop, and a restart plan past its stops
    /// has its timer.
    func checkProgress(_ h: Harness) {
        let sup = h.supervisor
        for g in sup.groups where !g.removed {
            if g.isStopping {
                var node = g.stopQueue.last
                while case .group(let index) = node, sup.groups[index].isStopping { node = sup.groups[index].stopQueue.last }
                var awaited = false
                if case .service(let id) = node { awaited = sup.services[id].phase == .stopping }
                #expect(awaited, "group \"\(g.spec.name)\" stops, waiting for \(String(describing: node)); \(h.events.suffix(12).map(\.description))")
            } else if g.plan != nil {
                #expect(sup.deadlines.deadline(of: .group(g.index)) != nil, "group \"\(g.spec.name)\" has a plan and no timer")
            }
        }
    }

    /// One thing that can happen to a tree, picked by `random`.
    func randomStep(_ h: Harness, _ random: SeededRandom) throws {
        // A service as the tree names it now (a copy of d is d@i).
        let ids = h.supervisor.servicesInTreeOrder
        let name = h.supervisor.spec(of: ids[Int(random.nextUnit() * Double(ids.count))]).name
        let inner = h.supervisor.nodes(named: "inner").isEmpty ? "outer" : "inner"
        switch Int(random.nextUnit() * 12) {
        case 0, 1:
            if h.pid(name) != nil { h.exit(name, random.nextUnit() < 0.5 ? .exited(0) : .killed(.kill)) }
        case 2:
            h.supervisor.notify(h.id(name), message: random.nextUnit() < 0.85 ? "READY=1" : "STOPPING=1")
            h.settle()
        case 3: h.advance(by: .milliseconds(Int64(random.nextUnit() * 3000)))
        case 4: try h.supervisor.stop([random.nextUnit() < 0.7 ? name : inner]); h.settle()
        case 5: try h.supervisor.start([random.nextUnit() < 0.7 ? name : "outer"]); h.settle()
        case 6: try h.supervisor.restart([random.nextUnit() < 0.7 ? name : inner]); h.settle()
        case 7:
            try? h.supervisor.reload(randomTree(random))
            h.settle()
        case 9:
            _ = try? h.supervisor.scale("d", to: 1 + Int(random.nextUnit() * 4))
            h.settle()
        case 8:
            if h.healthChecks[name] != nil { h.checkResult(name, passed: random.nextUnit() < 0.5) }
            h.supervisor.notify(h.id(name), message: "WATCHDOG=1")
            h.settle()
        case 10:
            // e's next spawns fail (exec), or none do.
            h.failingSpawns = random.nextUnit() < 0.3 ? ["e"] : []
        default: h.runTimers(for: .seconds(1))
        }
    }

    @Test(arguments: 1...1000)
    func anySequenceKeepsTheTreeConsistentAndShutsDown(seed: Int) throws {
        let random = SeededRandom(seed: UInt64(seed))
        let h = Harness(randomTree(random), seed: UInt64(seed))
        h.stubborn = [[], ["e"], ["c"], ["c", "e"]][Int(random.nextUnit() * 4)]
        h.start()
        for _ in 0..<500 {
            guard h.exitCode == nil else { break }
            try randomStep(h, random)
            checkInvariants(h)
        }
        h.supervisor.shutdown()
        h.settle()
        h.runTimers(for: .seconds(120))
        #expect(h.exitCode == 0 || h.exitCode == 1)
        #expect(h.supervisor.nextDeadline == nil)
        let left = h.supervisor.servicesInTreeOrder.filter { h.supervisor.pid(of: $0) != nil }
            .map { "\(h.supervisor.status(of: $0))" }
        #expect(left.isEmpty, "\(left) \(h.events.suffix(12).map(\.description))")
    }
}

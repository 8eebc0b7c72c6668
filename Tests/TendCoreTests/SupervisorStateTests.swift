import FoundationEssentials
import Testing
@testable import TendCore

/// The supervisor's state as a value (what a re-executed tend restores): a supervisor made
/// from it is the one it was taken from, input for input.
@Suite struct SupervisorStateTests {
    let chaos = SupervisorChaosTests()

    func roundTrip(_ state: Supervisor.State) throws -> Supervisor.State {
        try JSONDecoder().decode(Supervisor.State.self, from: JSONEncoder().encode(state))
    }

    /// Two runs of one random sequence, the second restored from its state before every step: the same events, spawns, signals, probes and end, and at every step the same
    /// state again.
    @Test(arguments: 1...60)
    func aRestoredSupervisorGoesOnAsTheOneItWasTakenFrom(seed: Int) throws {
        func run(restoring: Bool) throws -> Harness {
            let random = SeededRandom(seed: UInt64(seed))
            let h = Harness(chaos.randomTree(random), seed: UInt64(seed))
            h.stubborn = random.nextUnit() < 0.5 ? ["e"] : []
            h.start()
            for step in 0..<300 {
                guard h.exitCode == nil else { break }
                if restoring {
                    // Through JSON every few steps: the rest of the time the value itself.
                    let state = h.supervisor.state
                    let read = step % 8 == 0 ? try roundTrip(state) : state
                    #expect(read == state)
                    try h.restore(from: read)
                    #expect(h.supervisor.state == state)
                }
                try chaos.randomStep(h, random)
            }
            h.supervisor.shutdown()
            h.settle()
            h.runTimers(for: .seconds(120))
            return h
        }
        let first = try run(restoring: false), second = try run(restoring: true)
        #expect(second.events == first.events)
        #expect(second.spawnOrder == first.spawnOrder)
        #expect(second.signals.map { "\($0)" } == first.signals.map { "\($0)" })
        #expect(second.probes == first.probes)
        #expect(second.notices == first.notices)
        #expect(second.exitCode == first.exitCode)
        #expect(second.supervisor.state == first.supervisor.state)
    }

    /// A state mid-way through everything at once: a reload held by a stubborn service, a job
    /// between runs, a health check and a watchdog armed, a group's restart plan under way.
    @Test func aStateMidReloadRestoresWithItsQueuesAndPlans() throws {
        let h = Harness(services: [
            service("web") { $0.ready = .notify; $0.watchdog = .seconds(5) },
            service("db") { $0.health = HealthCheck(probe: .tcp(Endpoint(host: "127.0.0.1", port: 1))) },
            service("tick") { $0.schedule = .every(.seconds(30)) },
            service("a"), service("b"),
        ], groups: [GroupSpec(name: "pair", strategy: .oneForAll, children: ["a", "b"])])
        h.stubborn = ["b"]
        h.start()
        h.ready("web")
        h.exit("a")
        var changed = h.supervisor.tree
        changed.services[4].stopTimeout = .seconds(3)
        try h.supervisor.reload(changed)
        h.settle()
        let state = h.supervisor.state
        #expect(state.pendingReload != nil && state.groups.contains { $0.plan != nil })
        #expect(!state.watchdogs.owners.isEmpty && !state.jobDue.owners.isEmpty && !state.healthTimers.owners.isEmpty)
        try h.restore(from: roundTrip(state))
        #expect(h.supervisor.state == state)
        h.runTimers(for: .seconds(60))
        #expect(h.reloads.count == 1)
        #expect(h.status("tick").lastRun != nil)
    }

    @Test func aStateThatDoesNotAddUpIsRefusedWhole() throws {
        let h = Harness(services: [service("a"), service("b")])
        h.start()
        let good = h.supervisor.state
        var states: [(String, Supervisor.State)] = []
        var s = good; s.format += 1; states.append(("format 2", s))
        s = good; s.groups = []; states.append(("no root group", s))
        s = good; s.services[1].parent = 7; states.append(("out of place", s))
        s = good; s.services[1].pid = s.services[0].pid; states.append(("one pid", s))
        s = good; s.services.removeLast(); states.append(("do not match the tree", s))
        s = good; s.candidates = [.service(9)]; states.append(("does not exist", s))
        s = good; s.watchdogs.set(2, at: Instant(nanoseconds: 0)); states.append(("does not exist", s))
        for (why, state) in states {
            #expect(throws: Supervisor.RestoreError.self, "\(why)") { try Supervisor(restoring: state, clock: h.clock, random: h.random) }
            do { _ = try Supervisor(restoring: state, clock: h.clock, random: h.random) } catch {
                #expect(error.description.contains(why), "\(error)")
            }
        }
        #expect(throws: Never.self) { try Supervisor(restoring: good, clock: h.clock, random: h.random) }
    }

    @Test func aQueueReadBackPopsAsTheOneWritten() throws {
        var q = DeadlineQueue<Int>()
        for i in 0..<50 { q.set(i % 17, at: Instant(nanoseconds: Int64((i * 7) % 5))) }
        q.clear(3)
        var read = try JSONDecoder().decode(DeadlineQueue<Int>.self, from: JSONEncoder().encode(q))
        #expect(read == q)
        var written: [Int] = [], back: [Int] = []
        while let owner = q.popDue(now: .distantFuture) { written.append(owner) }
        while let owner = read.popDue(now: .distantFuture) { back.append(owner) }
        #expect(back == written && written.count == 16)
    }
}

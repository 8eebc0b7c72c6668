import FoundationEssentials
import Testing
@testable import TendCore

/// The supervisor's state as a value (what a re-executed tend restores): a supervisor made
/// from it is the one it was taken from, input for input.
@Suite struct SupervisorStateTests {
    let chaos = SupervisorChaosTests()

    /// Through the compact coding a re-executing tend hands its state over in.
    func roundTrip(_ state: Supervisor.State) throws -> Supervisor.State {
        try CompactDecoder().decode(Supervisor.State.self, from: CompactEncoder().encode(state))
    }

    /// Forty of the chaos sequences run twice, the second run restored from its own state before
    /// every step (through its coding every fourth): the same events, spawns, signals, probes, notices
    /// and end, and the same state.
    @Test(arguments: 1...40)
    func aRestoredSupervisorGoesOnAsTheOneItWasTakenFrom(seed: Int) throws {
        func run(restoring: Bool) throws -> Harness {
            let random = SeededRandom(seed: UInt64(seed))
            let h = Harness(chaos.randomTree(random), seed: UInt64(seed))
            h.stubborn = random.nextUnit() < 0.5 ? ["e"] : []
            h.start()
            for step in 0..<300 {
                guard h.exitCode == nil else { break }
                if restoring {
                    // Through its coding every few steps: the rest of the time the value itself.
                    let state = h.supervisor.state
                    let read = step % 4 == 0 ? try roundTrip(state) : state
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

    /// A state mid-way through everything at once (a reload held by a stubborn service, a job
    /// between runs, a health check and a watchdog armed, a group's restart plan under way):
    /// the restored run ends as the one not restored.
    @Test func aStateMidReloadGoesOnAsTheOneItWasTakenFrom() throws {
        func run(restoring: Bool) throws -> Harness {
            let h = Harness(services: [
                service("web") { $0.ready = .notify; $0.watchdog = .seconds(5) },
                service("db") { $0.health = HealthCheck(probe: .tcp(Endpoint(host: "127.0.0.1", port: 1)), interval: .seconds(1)) },
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
            if restoring {
                let state = h.supervisor.state
                #expect(state.pendingReload != nil && state.groups.contains { $0.plan != nil })
                #expect(!state.watchdogs.owners.isEmpty && !state.jobDue.owners.isEmpty && !state.healthTimers.owners.isEmpty)
                try h.restore(from: roundTrip(state))
            }
            h.runTimers(for: .seconds(4))
            h.ready("web")
            h.runTimers(for: .seconds(60))
            return h
        }
        let first = try run(restoring: false), second = try run(restoring: true)
        #expect(first.reloads.count == 1 && first.status("tick").lastRun != nil)
        #expect(second.events == first.events)
        #expect(second.signals.map { "\($0)" } == first.signals.map { "\($0)" })
        #expect(second.supervisor.state == first.supervisor.state)
    }

    /// A live service's spec is written once, in the tree; a removed one's whole, and both
    /// come back.
    @Test func aSpecIsWrittenOnceAndComesBackWhole() throws {
        let h = Harness(services: [service("a"), service("b"), service("c")])
        h.start()
        var changed = h.supervisor.tree
        changed.services.removeAll { $0.name == "b" }
        changed.services[1].stopTimeout = .seconds(3)
        try h.supervisor.reload(changed)
        h.settle()
        let state = h.supervisor.state
        #expect(state.services[1].removed && state.pendingReload == nil)
        let text = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        struct Written: Decodable { let ownSpecs: [Int: ServiceSpec] }
        #expect(try JSONDecoder().decode(Written.self, from: Data(text.utf8)).ownSpecs.keys.sorted() == [1])
        #expect(try roundTrip(state) == state)
        #expect(try JSONDecoder().decode(Supervisor.State.self, from: Data(text.utf8)) == state)
    }

    /// In a new process the edge's work is gone: the spawn it had not made, the probe and the
    /// check in flight. Asked again, each happens, and the lost check is not a failure.
    @Test func aRestoreInANewProcessAsksAgainForWhatTheEdgeLost() throws {
        let h = Harness(services: [
            service("db") {
                $0.health = HealthCheck(probe: .tcp(Endpoint(host: "127.0.0.1", port: 1)), interval: .seconds(1),
                                        timeout: .milliseconds(500), retries: 1)
            },
            service("web") { $0.ready = .tcp(Endpoint(host: "127.0.0.1", port: 1)) },
            service("late") { $0.autostart = false },
        ])
        h.start()
        h.runTimers(for: .seconds(1))
        #expect(h.probes == ["web"] && h.healthChecks["db"] != nil)
        h.advance(by: .milliseconds(300))
        try h.supervisor.start(["late"])
        _ = h.supervisor.takeActions()  // the spawn the old process took and never made
        try h.restoreInANewProcess(from: roundTrip(h.supervisor.state))
        #expect(h.spawnOrder.last == "late" && h.state("late") == .running)
        #expect(h.probes == ["web", "web"])
        #expect(h.healthChecks["db"] != nil)
        h.advance(by: .milliseconds(400))
        // Past the lost check's timeout, within the one asked again.
        h.checkResult("db", passed: true)
        h.runTimers(for: .milliseconds(900))
        #expect(h.events(.unhealthy).isEmpty && h.state("db") == .running)
    }

    @Test func aStateThatDoesNotAddUpIsRefusedWhole() throws {
        let h = Harness(services: [service("a"), service("b") { $0.autostart = false }],
                        groups: [GroupSpec(name: "g", children: ["b"])])
        h.start()
        try h.supervisor.stop(["a"])
        h.settle()
        let good = h.supervisor.state
        var states: [(String, Supervisor.State)] = []
        var s = good; s.format.number += 1; states.append(("format \(Supervisor.State.currentFormat + 1)", s))
        s = good; s.groups = []; states.append(("no root group", s))
        s = good; s.services[1].parent = 7; states.append(("service 1 (b) is out of place", s))
        s = good; s.groups[1].parent = 5; states.append(("group 1 (g) is out of place", s))
        try h.supervisor.start(["b"])
        try h.supervisor.start(["a"])
        h.settle()
        let (a, b) = (try #require(h.supervisor.pid(of: 0)), try #require(h.supervisor.pid(of: 1)))
        // A pid is in a running phase's payload: written into the state's text.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // "pid" then "readyAt": a comma after the pid
        let text = String(decoding: try encoder.encode(h.supervisor.state), as: UTF8.self)
        #expect(text.contains("\"pid\":\(b)"))
        states.append(("one pid", try JSONDecoder().decode(Supervisor.State.self, from: Data(text.replacing(
            "\"pid\":\(b)", with: "\"pid\":\(a)").utf8))))
        states.append(("without a pid", try JSONDecoder().decode(Supervisor.State.self, from: Data(text.replacing(
            "\"pid\":\(b),", with: "").utf8))))
        states.append(("a pid below 2", try JSONDecoder().decode(Supervisor.State.self, from: Data(text.replacing(
            "\"pid\":\(b),", with: "\"pid\":1,").utf8))))
        // b taken out of the tree and its group, its process still there.
        var removed = try JSONDecoder().decode(Supervisor.State.self, from: Data(text.utf8))
        removed.services[1].removed = true
        removed.tree.services.removeAll { $0.name == "b" }
        removed.tree.groups[0].children = []
        removed.groups[1].spec.children = []
        states.append(("a removed service with a run", removed))
        s = good; s.services[1].removed = true; states.append(("the services do not match the tree", s))
        s = good; s.services[1].spec.stopTimeout = .seconds(1); states.append(("the services do not match the tree", s))
        s = good; s.services.append(s.services[1]); states.append(("service 2 (b) is out of place", s))
        s = good; s.groups[1].removed = true; states.append(("the groups do not match the tree", s))
        s = good; s.groups[1].spec.strategy = .oneForAll; states.append(("the groups do not match the tree", s))
        s = good; s.tree.services[0].instances = Bounds.maxInstances + 1; states.append(("more instances", s))
        s = good; s.candidates = [.service(9)]; states.append(("does not exist", s))
        s = good; s.groups[1].stopQueue = [.group(3)]; states.append(("does not exist", s))
        s = good; s.watchdogs.set(2, at: Instant(nanoseconds: 0)); states.append(("does not exist", s))
        s = good
        s.pendingReload = Supervisor.PendingReload(tree: good.tree, summary: ReloadSummary(), stopQueue: [], held: [8],
                                                   restartedGroups: [])
        states.append(("does not exist", s))
        for (why, state) in states {
            do {
                _ = try Supervisor(restoring: state, clock: h.clock, random: h.random)
                Issue.record("restored a state where \(why)")
            } catch {
                #expect(error.description.contains(why), "\(error)")
            }
        }
        #expect(throws: Never.self) { try Supervisor(restoring: good, clock: h.clock, random: h.random) }
    }

    /// Of another format, a state is refused by its number, whatever else it lacks.
    @Test func aStateOfAnotherFormatIsRefusedByItsNumber() throws {
        let json = #"{"format": 1, "tree": "not a tree"}"#
        #expect { try JSONDecoder().decode(Supervisor.State.self, from: Data(json.utf8)) } throws: { error in
            "\(error)".contains("state format 1, this tend reads format \(Supervisor.State.currentFormat)")
        }
    }

    /// `PendingReload` writes its summary field by field (the summary's own coding is the
    /// names `tend reload` reads): a field added to the summary must be added there too.
    @Test func aPendingReloadCarriesEveryFieldOfItsSummary() throws {
        var summary = ReloadSummary()
        summary.added = ["n"]; summary.removed = ["r"]; summary.restarted = ["x"]; summary.unchanged = ["u"]
        summary.starting = [3: 1]
        summary.scale = ReloadSummary.Scale(name: "d", from: 1, to: 2)
        #expect(Mirror(reflecting: summary).children.count == 6)
        let reload = Supervisor.PendingReload(tree: TreeSpec(root: GroupSpec(name: "", children: []), services: [], groups: []),
                                              summary: summary, stopQueue: [1], held: [1], restartedGroups: ["g"])
        #expect(try CompactDecoder().decode(Supervisor.PendingReload.self, from: CompactEncoder().encode(reload)) == reload)
    }

    @Test func aQueueReadBackPopsAsTheOneWritten() throws {
        var q = DeadlineQueue<Int>()
        for i in 0..<50 { q.set(i % 17, at: Instant(nanoseconds: Int64((i * 7) % 5))) }
        q.clear(3)
        var read = try CompactDecoder().decode(DeadlineQueue<Int>.self, from: CompactEncoder().encode(q))
        #expect(read == q)
        var written: [Int] = [], back: [Int] = []
        while let owner = q.popDue(now: .distantFuture) { written.append(owner) }
        while let owner = read.popDue(now: .distantFuture) { back.append(owner) }
        #expect(back == written && written.count == 16)
    }
}

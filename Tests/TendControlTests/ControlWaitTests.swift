import Testing
import TendControl
import TendCore

/// start, stop and restart as a client sees them, without a socket: the request through the
/// daemon's dispatch, the tree driven by hand, and the answer once the services settle.
@Suite struct ControlWaitTests {
    let clock = ManualClock()
    let supervisor: Supervisor
    var nextPID: Int32 = 100

    init() {
        var web = ServiceSpec(name: "web", command: .argv(["web"]))
        web.ready = .notify
        let tree = TreeSpec(root: GroupSpec(name: "", children: ["web", "db"]),
                            services: [web, ServiceSpec(name: "db", command: .argv(["db"]))], groups: [])
        supervisor = Supervisor(tree: tree, clock: clock, random: SeededRandom(seed: 1))
    }

    /// Spawns what is asked and ends what is signalled with SIGTERM.
    mutating func drive() {
        while true {
            let actions = supervisor.takeActions()
            if actions.isEmpty { return }
            for action in actions {
                switch action {
                case .spawn(let id, let run) where supervisor.isSpawnPending(id, run: run):
                    nextPID += 1
                    supervisor.spawned(id, run: run, pid: nextPID)
                case .signal(let pid, .term, _):
                    supervisor.processExited(pid: pid, status: .killed(.term))
                default:
                    break
                }
            }
        }
    }

    func wait(_ line: String) throws -> ControlDispatch.Wait {
        let outcome = ControlDispatch.decide(try ControlRequest.decode(Array(line.utf8)), supervisor, now: clock.now)
        guard case .wait(let wait) = outcome else { throw Unexpected() }
        return wait
    }
    struct Unexpected: Error {}

    /// The tree started, `web` ready (it says READY=1): returns `web`.
    mutating func startedAndReady() throws -> ServiceID {
        supervisor.start()
        drive()
        let web = try #require(supervisor.service(named: "web"))
        supervisor.notify(web, message: "READY=1")
        drive()
        return web
    }

    @Test mutating func aStartIsAnsweredOnceItsServiceIsReady() throws {
        let web = try startedAndReady()
        let stop = try wait(#"{"version":1,"command":"stop","names":["web"]}"#)
        drive()
        #expect(ControlDispatch.answer(to: stop, supervisor, now: clock.now) == ControlResponse.ok(#"{"done":["web"]}"#))
        let start = try wait(#"{"version":1,"command":"start","names":["web"],"timeout_s":5}"#)
        drive()
        // Spawned, not yet ready: it waits.
        #expect(ControlDispatch.answer(to: start, supervisor, now: clock.now) == nil)
        supervisor.notify(web, message: "READY=1")
        drive()
        #expect(ControlDispatch.answer(to: start, supervisor, now: clock.now) == ControlResponse.ok(#"{"done":["web"]}"#))
    }

    @Test mutating func aStartNotSettledInTimeSaysWhatEachIs() throws {
        supervisor.start()
        drive()
        let start = try wait(#"{"version":1,"command":"start","names":["web","db"],"timeout_s":5}"#)
        #expect(ControlDispatch.answer(to: start, supervisor, now: clock.now + .seconds(4)) == nil)
        #expect(ControlDispatch.answer(to: start, supervisor, now: clock.now + .seconds(5))
                == ControlResponse.error("not settled within 5s: web is starting, db is starting"))
    }

    @Test mutating func aFailedStartIsAnErrorWithWhy() throws {
        let web = try startedAndReady()
        let restart = try wait(#"{"version":1,"command":"restart","names":["web"]}"#)
        drive()
        let run = supervisor.run(of: web)
        supervisor.processExited(pid: try #require(supervisor.pid(of: web)), status: .exited(3))
        drive()
        #expect(supervisor.run(of: web) == run)
        let answer = try #require(ControlDispatch.answer(to: restart, supervisor, now: clock.now))
        #expect(answer == ControlResponse.error("web exit code 3, now in backoff"))
    }
}

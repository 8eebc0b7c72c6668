import FuzzSupport
import TendConfig
import TendControl
import TendCore

/// A tree with what a request can reach: a group, a service with instances, one with a
/// reload_signal, one that waits for readiness, a job.
let tree = try! ConfigLoader.parse("""
    [[service]]
    name = "web"
    command = "exec web"
    ready = "notify"
    reload_signal = "HUP"

    [[service]]
    name = "worker"
    command = "exec worker"
    instances = 3

    [[service]]
    name = "db"
    command = "exec db"

    [[service]]
    name = "nightly"
    command = "exec job"
    schedule = "0 3 * * *"

    [[group]]
    name = "back"
    strategy = "rest_for_one"
    children = ["worker", "db"]
    """, file: "fuzz.toml")

/// Plays the edge: every spawn gets a pid, every signal that ends a process ends it, and the
/// clock moves to each deadline, for a bounded number of steps.
func drive(_ supervisor: Supervisor, _ clock: ManualClock, steps: Int) {
    var nextPID: Int32 = 100
    for _ in 0..<steps {
        let actions = supervisor.takeActions()
        for action in actions {
            switch action {
            case .spawn(let id, let run):
                if supervisor.isSpawnPending(id, run: run) {
                    nextPID += 1
                    supervisor.spawned(id, run: run, pid: nextPID)
                }
            case .signal(let pid, let signal, false) where signal == .term || signal == .kill:
                supervisor.processExited(pid: pid, status: .killed(signal))
            default:
                break
            }
        }
        guard actions.isEmpty else { continue }
        guard let deadline = supervisor.nextDeadline else { return }
        if deadline > clock.now { clock.advance(by: deadline - clock.now) }
        supervisor.deadlinesPassed()
    }
}

/// Any bytes as one control request line, as the control server hands it over: decoded, then
/// run through the dispatch the daemon uses against a core with a manual clock, which is then
/// driven on; an error is worded for the client.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzControl(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    let request: ControlRequest
    do {
        request = try ControlRequest.decode(line)
        _ = request.encoded()
    } catch {
        _ = ControlResponse.error(error.description)
        return 0
    }
    let clock = ManualClock()
    let supervisor = Supervisor(tree: tree, clock: clock, random: SeededRandom(seed: 1))
    supervisor.start()
    drive(supervisor, clock, steps: 20)
    switch ControlDispatch.decide(request, supervisor, now: clock.now) {
    case .wait(let wait):
        precondition(wait.deadline >= clock.now, "a wait's deadline wrapped")
        for service in wait.services { _ = supervisor.outcome(of: wait.request, for: service.id, sinceRun: service.run) }
    case .detail(let id):
        _ = StatusWire.detail(supervisor.detail(of: id))
    case .answer, .reloadFile, .scaling:
        break
    }
    drive(supervisor, clock, steps: 50)
    _ = StatusWire.status(supervisor.statuses)
    return 0
}

@_cdecl("FuzzControl_main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, { fuzzControl($0, $1) })
}

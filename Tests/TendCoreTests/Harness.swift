@testable import TendCore

/// Swift Testing has an ExitStatus of its own (exit tests).
typealias ExitStatus = TendCore.ExitStatus

/// Drives a `Supervisor` the way the edge does, with a manual clock and fake pids. Spawns
/// succeed at once (unless listed in `failingSpawns`); processes die of their stop signal
/// (unless listed in `stubborn`) the next time `settle()` runs.
final class Harness {
    let clock = ManualClock()
    private(set) var supervisor: Supervisor
    let random: SeededRandom
    var nextPID: Int32 = 1000
    var failingSpawns: Set<String> = []
    var stubborn: Set<String> = []
    private(set) var events: [Event] = []
    private(set) var signals: [(name: String, signal: Signal, group: Bool)] = []
    private(set) var spawnOrder: [String] = []
    private(set) var exitCode: Int32?
    private(set) var probes: [String] = []
    private(set) var reloads: [ReloadSummary] = []
    private(set) var notices: [ManagerNotice] = []
    /// `start = "on-connection"` services whose sockets the edge would watch (until a spawn).
    var watchingConnections: Set<String> = []
    /// Services whose fd store the edge would drop, in order.
    private(set) var releasedStores: [String] = []
    /// Health checks in flight: service -> run.
    private(set) var healthChecks: [String: Int] = [:]
    private(set) var cancelledChecks: [String] = []
    private var pendingDeaths: [(pid: Int32, status: ExitStatus)] = []
    private var names: [Int32: String] = [:]

    init(_ tree: TreeSpec, seed: UInt64 = 1) {
        random = SeededRandom(seed: seed)
        supervisor = Supervisor(tree: tree, clock: clock, random: random)
    }

    /// Goes on with a supervisor made from the state of this one, as a re-executed tend does;
    /// the edge (pids, probes in flight, the clock, the random source) stays.
    func restore(from state: Supervisor.State) throws {
        supervisor = try Supervisor(restoring: state, clock: clock, random: random)
    }

    /// As `restore`, in a new process: the checks in flight are lost with the old one (as
    /// the actions it had taken and not performed: drop them before), and the supervisor is
    /// told to ask again.
    func restoreInANewProcess(from state: Supervisor.State) throws {
        try restore(from: state)
        healthChecks = [:]
        supervisor.resumeAfterRestore()
        settle()
    }

    convenience init(services: [ServiceSpec], groups: [GroupSpec] = [], strategy: Strategy = .oneForOne,
                     intensity: Intensity? = nil) {
        self.init(.withImplicitRoot(strategy: strategy, intensity: intensity, services: services, groups: groups))
    }

    /// A tree whose root children are `rootChildren`, in that order.
    convenience init(services: [ServiceSpec], groups: [GroupSpec], rootChildren: [String]) {
        self.init(TreeSpec(root: GroupSpec(name: "", children: rootChildren), services: services, groups: groups))
    }

    func start() {
        supervisor.start()
        settle()
    }

    /// Performs actions (and the deaths they cause) until nothing is left to do.
    func settle() {
        // Bounded: a supervisor that never stops asking (a restart loop without a timer) fails
        // here, by name, rather than hanging the run.
        for round in 0... {
            guard round < 100_000 else { fatalError("no end to the actions: \(events.suffix(60).map(\.description))") }
            let actions = supervisor.takeActions()
            if actions.isEmpty {
                guard !pendingDeaths.isEmpty else { return }
                let deaths = pendingDeaths
                pendingDeaths = []
                for death in deaths { supervisor.processExited(pid: death.pid, status: death.status) }
                continue
            }
            for action in actions { perform(action) }
        }
    }

    private func perform(_ action: Action) {
        switch action {
        case .spawn(let id, let run):
            guard supervisor.isSpawnPending(id, run: run) else { return }
            let name = supervisor.spec(of: id).name
            spawnOrder.append(name)
            watchingConnections.remove(name)
            if failingSpawns.contains(name) {
                supervisor.spawnFailed(id, run: run, error: "exec /nope: No such file or directory")
            } else {
                nextPID += 1
                names[nextPID] = name
                supervisor.spawned(id, run: run, pid: nextPID)
            }
        case .signal(let pid, let signal, let group):
            // A signal queued behind the exit of its process finds no service.
            guard let name = names[pid], supervisor.service(forPID: pid) != nil else { return }
            signals.append((name, signal, group))
            let lethal = signal == .kill || (signal != .cont && !stubborn.contains(name))
            if lethal, supervisor.service(forPID: pid) != nil, !pendingDeaths.contains(where: { $0.pid == pid }) {
                pendingDeaths.append((pid, .killed(signal)))
            }
        case .probeReadiness(let id, _, _):
            probes.append(supervisor.spec(of: id).name)
        case .cancelReadinessProbe:
            break
        case .runHealthCheck(let id, let run, _):
            healthChecks[supervisor.spec(of: id).name] = run
        case .cancelHealthCheck(let id):
            let name = supervisor.spec(of: id).name
            healthChecks[name] = nil
            cancelledChecks.append(name)
        case .event(let event):
            events.append(event)
        case .exit(let code):
            exitCode = code
        case .reloaded(let summary):
            reloads.append(summary)
        case .notifyManager(let notice):
            notices.append(notice)
        case .watchConnections(let id):
            watchingConnections.insert(supervisor.spec(of: id).name)
        case .releaseStoredFDs(let id):
            releasedStores.append(supervisor.spec(of: id).name)
        }
    }

    func id(_ name: String) -> ServiceID { supervisor.service(named: name)! }
    func pid(_ name: String) -> Int32? { supervisor.pid(of: id(name)) }
    func state(_ name: String) -> ServiceState { supervisor.status(of: id(name)).state }
    func status(_ name: String) -> ServiceStatus { supervisor.status(of: id(name)) }

    /// The service's process ends on its own.
    func exit(_ name: String, _ status: ExitStatus = .exited(1)) {
        guard let pid = pid(name) else { fatalError("\(name) has no process") }
        supervisor.processExited(pid: pid, status: status)
        settle()
    }

    func ready(_ name: String) {
        supervisor.notify(id(name), message: "READY=1")
        settle()
    }

    /// The health check in flight for `name` ends.
    func checkResult(_ name: String, passed: Bool, detail: String = "exit code 1") {
        guard let run = healthChecks.removeValue(forKey: name) else { fatalError("no health check of \(name) in flight") }
        supervisor.healthCheckFinished(id(name), run: run, passed: passed, detail: detail)
        settle()
    }

    func advance(by d: Duration) {
        clock.advance(by: d)
        supervisor.deadlinesPassed()
        settle()
    }

    /// Moves the clock to each deadline in turn, up to `limit` from now.
    func runTimers(for limit: Duration) {
        let end = clock.now + limit
        while let next = supervisor.nextDeadline, next <= end {
            if next > clock.now { clock.advance(by: next - clock.now) }
            supervisor.deadlinesPassed()
            settle()
        }
        clock.advance(by: end - clock.now)
    }

    func events(_ kind: Event.Kind, _ subject: String? = nil) -> [Event] {
        events.filter { $0.kind == kind && (subject == nil || $0.subject == subject) }
    }

    func stopOrder() -> [String] { events(.stopped).map(\.subject) }

    func clearHistory() {
        events = []
        signals = []
        spawnOrder = []
    }
}

func service(_ name: String, _ configure: (inout ServiceSpec) -> Void = { _ in }) -> ServiceSpec {
    var spec = ServiceSpec(name: name, command: .argv(["/bin/true"]))
    spec.backoff = Backoff(initial: .milliseconds(100), max: .seconds(1), factor: 2, jitter: 0, resetAfter: .seconds(10))
    configure(&spec)
    return spec
}

extension TreeSpec {
    /// A tree whose root lists the services, then the groups, that no group claims.
    static func withImplicitRoot(strategy: Strategy = .oneForOne, intensity: Intensity? = nil,
                                 services: [ServiceSpec], groups: [GroupSpec]) -> TreeSpec {
        let claimed = Set(groups.flatMap(\.children))
        let orphans = (services.map(\.name) + groups.map(\.name)).filter { !claimed.contains($0) }
        return TreeSpec(root: GroupSpec(name: "", strategy: strategy, intensity: intensity, children: orphans),
                        services: services, groups: groups)
    }
}

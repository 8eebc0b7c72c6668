/// The supervision tree as a pure state machine. Inputs are method calls (a child spawned,
/// exited, became ready; deadlines passed; shutdown asked); outputs are `Action`s that the
/// edge performs. Time comes only from the injected clock, randomness only from the injected
/// source, so every transition is reproducible in a unit test.
public final class Supervisor {
    enum Node: Hashable, Codable {
        case service(ServiceID)
        case group(Int)
    }

    enum StopReason: Equatable, Codable {
        /// Asked for (operator, shutdown, a group stopping its children): ends `stopped`.
        case requested
        /// tend killed it for a fault (start timeout, watchdog, health): ends like a failed run.
        case fault(Fault)
        /// The service said STOPPING=1 itself: its end is unrequested (the restart policy
        /// decides), and stop_timeout bounds it, as systemd's TimeoutStopSec= does.
        case announced
    }

    /// Services whose phase changed since the start gates were last looked at.
    final class Changes {
        var services: [ServiceID] = []
        /// Counts every change of any service's phase: what systemd's STATUS= summarises.
        var generation = 0
        let clock: MonotonicClock
        init(clock: MonotonicClock) { self.clock = clock }
    }

    enum WhenStopped: Equatable, Codable {
        case restartPlan
        case gaveUp
        case parentStopping
        case exit(Int32)
        /// `tend stop GROUP`: nothing more.
        case operatorStop
        /// `tend restart GROUP`: start the children again, in order.
        case operatorRestart
    }

    /// A group's node: its fields as one value, read through the node as a service's are, and
    /// what the tree's shape gives it again on a restore (`link`).
    @dynamicMemberLookup
    final class GroupNode {
        var fields: Fields
        var indexInParent = 0
        var children: [Node] = []

        struct Fields: Codable, Equatable {
            let index: Int
            var spec: GroupSpec
            var parent: Int?
            var window: IntensityWindow?
            /// Waits for its turn in its parent's start sequence.
            var waiting = false
            /// Gave up; its parent decides what comes next.
            var dead = false
            /// Taken out of the tree by a reload; its index is never reused.
            var removed = false
            var stopQueue: [Node] = []
            var whenStopped: WhenStopped?
            /// one_for_all / rest_for_one: the children to start again once the others are stopped.
            var plan: Set<Node>?
            var resumeAt: Instant?
        }

        init(index: Int, spec: GroupSpec, parent: Int?) {
            fields = Fields(index: index, spec: spec, parent: parent, window: spec.intensity.map(IntensityWindow.init))
        }

        init(restoring fields: Fields) { self.fields = fields }

        subscript<T>(dynamicMember field: KeyPath<Fields, T>) -> T { fields[keyPath: field] }

        subscript<T>(dynamicMember field: WritableKeyPath<Fields, T>) -> T {
            get { fields[keyPath: field] }
            set { fields[keyPath: field] = newValue }
        }

        var isStopping: Bool { fields.whenStopped != nil }
    }

    let clock: WallClock
    let random: RandomSource
    var services: [ServiceNode] = []
    var groups: [GroupNode] = []
    var servicesByName: [String: ServiceID] = [:]
    var groupsByName: [String: Int] = [:]
    var servicesByPID: [Int32: ServiceID] = [:]
    /// A service with `instances`: its copies, in order (the tree holds them in its place).
    var instancesByName: [String: [ServiceID]] = [:]
    /// The tree as the file declared it, with any `tend scale` since: what a scale changes.
    var tree: TreeSpec
    let changes: Changes
    /// Services that list a node in `after`.
    var dependents: [Node: [ServiceID]] = [:]
    var deadlines = DeadlineQueue<Node>()
    /// Readiness probes retry on their own timer, beside a run's start_timeout.
    var probeRetries = DeadlineQueue<ServiceID>()
    /// A job's next run, armed while the job is wanted, whatever its run is doing.
    var jobDue = DeadlineQueue<ServiceID>()
    /// The next health check of a running service, or the timeout of the one in flight.
    var healthTimers = DeadlineQueue<ServiceID>()
    /// When a child's watchdog expires without WATCHDOG=1.
    var watchdogs = DeadlineQueue<ServiceID>()
    var actions: [Action] = []
    /// Nodes whose start gates may have opened (see `openGates`).
    var candidates: [Node] = []
    var shuttingDown = false
    var pendingReload: PendingReload?

    static let root = 0

    /// An empty supervisor (the root group only): `init(tree:)` installs a tree in it,
    /// `init(restoring:)` the nodes of a saved state.
    init(tree: TreeSpec, clock: WallClock, random: RandomSource, root: GroupNode) {
        self.clock = clock
        self.random = random
        self.tree = tree
        changes = Changes(clock: clock)
        groups.append(root)
    }

    public convenience init(tree: TreeSpec, clock: WallClock, random: RandomSource) {
        self.init(tree: tree, clock: clock, random: random,
                  root: GroupNode(index: Supervisor.root, spec: tree.root, parent: nil))
        groupsByName[""] = Supervisor.root
        install(tree)
    }

    /// Makes `tree` the shape of the supervisor. Services and groups keep their node (and so
    /// their process and state) when their name stays; new ones get new nodes, and the nodes
    /// of names that are gone are taken out. Used at start and by reload.
    func install(_ tree: TreeSpec) {
        self.tree = tree
        let root = groups[Supervisor.root]
        if root.spec.intensity != tree.root.intensity { root.window = tree.root.intensity.map(IntensityWindow.init) }
        root.spec = tree.root
        var keptGroups: [String: Int] = ["": Supervisor.root]
        for spec in tree.groups {
            if let index = groupsByName[spec.name] {
                let g = groups[index]
                if g.spec.intensity != spec.intensity { g.window = spec.intensity.map(IntensityWindow.init) }
                g.spec = spec
                keptGroups[spec.name] = index
            } else {
                keptGroups[spec.name] = groups.count
                groups.append(GroupNode(index: groups.count, spec: spec, parent: nil))
            }
        }
        for index in groupsByName.filter({ keptGroups[$0.key] == nil }).values.sorted() {
            groups[index].removed = true
            groups[index].children = []
            quiesce(groups[index])
        }
        groupsByName = keptGroups

        var keptServices: [String: ServiceID] = [:]
        for spec in tree.services.lazy.flatMap(\.instanceSpecs) {
            if let id = servicesByName[spec.name] {
                services[id].spec = spec
                keptServices[spec.name] = id
            } else {
                keptServices[spec.name] = services.count
                services.append(ServiceNode(id: services.count, spec: spec, parent: Supervisor.root, changes: changes))
            }
        }
        servicesByName = keptServices
        for s in services where !s.removed && servicesByName[s.spec.name] != s.id {
            s.removed = true
            // Held by the reload, it has no process; an operator's start meanwhile may have made
            // it wait for a start that must not come.
            s.wanted = false
            if s.phase == .waiting || s.phase == .backoff || s.phase == .scheduled { s.enter(because: .dismissed) }
            deadlines.clear(.service(s.id))
            probeRetries.clear(s.id)
            jobDue.clear(s.id)
        }
        link()
    }

    /// What the tree's shape gives the nodes in it: their parents, each group's children and
    /// their places, `after` and its dependents, the copies of each service. Derived from the
    /// live nodes' specs (the tree's, as `install` set them and a restore checks), after an
    /// install and on a restore.
    func link() {
        var parentOf: [String: Int] = [:]
        for index in groupsByName.values {
            for child in groups[index].spec.children { parentOf[child] = index }
        }
        instancesByName = [:]
        for s in services where !s.removed {
            s.parent = parentOf[s.spec.baseName] ?? Supervisor.root
            if s.spec.instance != nil { instancesByName[s.spec.baseName, default: []].append(s.id) }
        }
        // In the order of their numbers, as the tree holds them, whatever order their nodes were made in.
        for (name, ids) in instancesByName {
            instancesByName[name] = ids.sorted { (services[$0].spec.instance ?? 0) < (services[$1].spec.instance ?? 0) }
        }
        for index in groupsByName.values {
            let group = groups[index]
            group.parent = index == Supervisor.root ? nil : parentOf[group.spec.name] ?? Supervisor.root
            group.children = group.spec.children.flatMap(nodes(named:))
            for (i, child) in group.children.enumerated() {
                switch child {
                case .service(let id): services[id].indexInParent = i
                case .group(let index): groups[index].indexInParent = i
                }
            }
        }
        dependents = [:]
        // In the order of the nodes, so that the gates a change opens are looked at in one order.
        for s in services where !s.removed {
            s.after = s.spec.after.flatMap(nodes(named:))
            for target in s.after { dependents[target, default: []].append(s.id) }
        }
    }

    /// A service, one copy, a group, or every copy of a service with `instances`; none: unknown.
    func nodes(named name: String) -> [Node] {
        if let id = servicesByName[name] { return [.service(id)] }
        if let ids = instancesByName[name] { return ids.map(Node.service) }
        if let index = groupsByName[name], index != Supervisor.root { return [.group(index)] }
        return []
    }

    var now: Instant { clock.now }

    func emit(_ action: Action) { actions.append(action) }

    func event(_ kind: Event.Kind, _ s: ServiceNode, _ message: String, pid: Int32? = nil, exit: ExitStatus? = nil,
               result: RunResult? = nil, decision: RestartDecision? = nil, delay: Duration? = nil) {
        let group = groups[s.parent]
        emit(.event(Event(kind: kind, subject: s.spec.name, group: group.index == Supervisor.root ? nil : group.spec.name,
                          pid: pid ?? s.pid, restarts: s.restarts, exit: exit, result: result, decision: decision,
                          delay: delay, message: message)))
    }

    func event(_ kind: Event.Kind, group g: GroupNode, _ message: String, reload: ReloadSummary? = nil) {
        emit(.event(Event(kind: kind, subject: g.spec.name, isGroup: g.index != Supervisor.root, reload: reload,
                          message: message)))
    }

    // MARK: - Inputs

    /// Starts the tree: every autostart service, group by group, in order.
    public func start() {
        startGroup(groups[Supervisor.root])
        for s in services where s.spec.startOnConnection { watchConnectionsIfDown(s) }
        openGates()
    }

    /// A connection came to a `start = "on-connection"` service's socket: it starts as
    /// `tend start` starts it, unless it was started meanwhile.
    public func connectionArrived(_ id: ServiceID) {
        guard awaitsConnection(id) else { return }
        let s = services[id]
        var window = s.connectionStarts ?? IntensityWindow(Supervisor.connectionTriggerLimit)
        let tooMany = window.record(at: now)
        s.connectionStarts = window
        if tooMany {
            // A connection the service never accepts, or a service that ends at once, would
            // start it again and again: as systemd's trigger limit, it stops being watched.
            s.connectionLimited = true
            let limit = Supervisor.connectionTriggerLimit
            emit(.event(Event(kind: .gaveUp, subject: s.spec.name, message:
                "started by connections more than \(limit.restarts) times in \(limit.period.humanReadable): "
                + "not watched for connections until tend start \(s.spec.name)")))
            return
        }
        operatorStart(s, ordered: false)
        openGates()
    }

    /// systemd's TriggerLimitBurst and TriggerLimitIntervalSec for a socket unit.
    static let connectionTriggerLimit = Intensity(restarts: 200, period: .seconds(2))

    /// A `start = "on-connection"` service down and not asked for: its next start is the
    /// next connection's.
    public func awaitsConnection(_ id: ServiceID) -> Bool {
        let s = services[id]
        guard s.spec.startOnConnection, !s.wanted, !s.removed, !s.connectionLimited else { return false }
        // Not after giving up (failed): its starts would fail again at each connection.
        switch s.phase {
        case .stopped, .exited: return true
        case .waiting, .starting, .running, .stopping, .backoff, .scheduled, .failed: return false
        }
    }

    func watchConnectionsIfDown(_ s: ServiceNode) {
        if awaitsConnection(s.id) { emit(.watchConnections(s.id)) }
    }

    /// SIGTERM / SIGINT: stop the whole tree (in reverse order, or at once if parallel), then exit 0.
    public func shutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        // A reload being applied stops here: nothing is to start any more.
        pendingReload = nil
        let root = groups[Supervisor.root]
        emit(.notifyManager(.stopping))
        emit(.event(Event(kind: .shutdown, subject: "", message: "stopping every service \(stopOrder(root))")))
        beginStops(root, then: .exit(0))
    }

    /// The edge forked and exec'd the run.
    public func spawned(_ id: ServiceID, run: Int, pid: Int32) {
        let s = services[id]
        guard s.run == run, s.heeds(.spawnResult) else { return }
        s.updateChild {
            $0.pid = pid
            $0.startedAt = now
            $0.watchdogSpan = s.spec.watchdog
        }
        s.spawnError = nil
        s.completed = false
        servicesByPID[pid] = id
        if s.spec.isJob { runBegan(s) }
        event(.started, s, s.spec.command.description)
        if let span = s.spec.watchdog { watchdogs.set(id, at: now + span) }
        if s.spec.ready == .started || s.spec.isJob {
            // `started` says it all: no separate `ready` event. A job's run is ready at exec.
            s.enter(because: .spawnedUp)
            startHealthChecks(s)
        } else {
            deadlines.set(.service(id), at: now + s.spec.startTimeout)
            emit(.probeReadiness(id, run: run, s.spec.ready))
        }
        openGates()
    }

    /// fork or exec failed; `error` says which call and why.
    public func spawnFailed(_ id: ServiceID, run: Int, error: String) {
        let s = services[id]
        guard s.run == run, s.heeds(.spawnResult) else { return }
        s.spawnError = error
        s.recordExit(ExitRecord(at: clock.epochNanoseconds, status: nil, error: error, runtime: nil, result: .spawnFailed))
        endedUnrequested(s, .spawnFailed(error))
        openGates()
    }

    /// What `processExited` found `pid` to be.
    public enum ExitedProcess: Equatable, Sendable {
        /// No service's main process: an orphan tend reaped as subreaper, or a probe.
        case other
        /// A service's main process. `killGroup`: SIGKILL its process group now, while the
        /// zombie not yet reaped keeps the group's id from being reused (kill_mode = "group").
        case mainProcess(killGroup: Bool)
    }

    /// waitpid reported `pid` (still a zombie: the edge reaps it after this returns). `oomKilled`:
    /// its cgroup's count of OOM kills grew during the run.
    @discardableResult
    public func processExited(pid: Int32, status: ExitStatus, oomKilled: Bool = false) -> ExitedProcess {
        guard let id = servicesByPID.removeValue(forKey: pid) else { return .other }
        let s = services[id]
        let startedAt = s.child?.startedAt
        s.updateChild { $0.pid = nil }
        s.lastExit = status
        // What the run's end is to the policy; nil: tend was asked to stop it.
        let end: RunEnd?
        switch s.stage {
        case .stopping(_, .requested): end = nil
        case .stopping(_, .fault(let fault)): end = .fault(fault, status)
        default: end = oomKilled && status == .killed(.kill) ? .oomKilled(memoryMax: s.spec.cgroupLimits.memoryMax) : .ended(status)
        }
        s.recordExit(ExitRecord(at: clock.epochNanoseconds, status: status, error: nil, runtime: startedAt.map { now - $0 },
                                result: end?.result(isSuccess: s.spec.isSuccess) ?? .stopped))
        stopHealthChecks(s)
        watchdogs.clear(id)
        switch (s.phase, end) {
        case (.stopping, nil):
            event(.stopped, s, "\(status)", pid: pid, exit: status, result: .stopped)
            enterStopped(s)
        case (.stopping, let end?), (.starting, let end?), (.running, let end?):
            if s.phase == .starting { stopProbing(s) }
            endedUnrequested(s, end, pid: pid)
        default:
            break
        }
        openGates()
        // What the main process left in its group would hold ports and files the next run needs.
        return .mainProcess(killGroup: s.spec.killMode == .group)
    }

    /// Whether a `.spawn` action is still wanted: an input handled after the action was queued
    /// (a group giving up, a shutdown) may have cancelled it.
    public func isSpawnPending(_ id: ServiceID, run: Int) -> Bool {
        services[id].run == run && services[id].heeds(.spawnResult)
    }

    /// A tcp or exec probe failed for `run`: probe again a little later, until start_timeout.
    public func readinessProbeFailed(_ id: ServiceID, run: Int) {
        let s = services[id]
        guard s.run == run, s.heeds(.probe) else { return }
        probeRetries.set(id, at: now + Supervisor.probeRetryInterval)
    }

    static let probeRetryInterval = Duration.milliseconds(100)

    /// A tcp or exec probe succeeded for `run`.
    public func readinessSucceeded(_ id: ServiceID, run: Int) {
        let s = services[id]
        guard s.run == run, s.heeds(.probe) else { return }
        enterRunning(s)
        openGates()
    }

    /// A datagram on the notify socket from one of the service's processes.
    public func notify(_ id: ServiceID, message: String) {
        let s = services[id]
        for line in message.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq], value = line[line.index(after: eq)...]
            switch key {
            case "READY" where value == "1":
                if s.spec.ready == .notify, s.heeds(.readyNotice) { enterRunning(s) }
            case "STOPPING" where value == "1":
                if s.heeds(.liveness) { announcedStop(s) }
            case "STATUS":
                s.statusText = String(value)
            case "WATCHDOG" where value == "1":
                if let span = s.child?.watchdogSpan, s.heeds(.liveness) {
                    watchdogs.set(id, at: now + span)
                }
            case "WATCHDOG" where value == "trigger":
                watchdogExpired(s, reason: "the service sent WATCHDOG=trigger", forced: true)
            case "WATCHDOG_USEC":
                changeWatchdog(s, microseconds: String(value))
            default:
                break
            }
        }
        openGates()
    }

    /// The earliest deadline: the edge arms its timer for it.
    public var nextDeadline: Instant? {
        // Read on every turn of the loop: compared in place, no array built.
        func earlier(_ a: Instant?, _ b: Instant?) -> Instant? {
            guard let a else { return b }
            guard let b else { return a }
            return min(a, b)
        }
        return earlier(earlier(earlier(deadlines.earliest(), probeRetries.earliest()), earlier(jobDue.earliest(),
                                                                                              healthTimers.earliest())),
                       watchdogs.earliest())
    }

    /// The timer fired: act on every deadline that has passed.
    public func deadlinesPassed() {
        while let node = deadlines.popDue(now: now) {
            switch node {
            case .service(let id): serviceDeadline(services[id])
            case .group(let index): groupDeadline(groups[index])
            }
        }
        while let id = probeRetries.popDue(now: now) {
            let s = services[id]
            if s.heeds(.probe) { emit(.probeReadiness(id, run: s.run, s.spec.ready)) }
        }
        while let id = jobDue.popDue(now: now) { runCameDue(services[id]) }
        while let id = healthTimers.popDue(now: now) { healthTimerPassed(services[id]) }
        while let id = watchdogs.popDue(now: now) {
            let s = services[id]
            watchdogExpired(s, reason: "no WATCHDOG=1 within \(s.child?.watchdogSpan?.humanReadable ?? "its span")")
        }
        openGates()
    }

    /// The actions accumulated since the last call, in order.
    public func takeActions() -> [Action] {
        defer { actions.removeAll(keepingCapacity: true) }
        return actions
    }

    // MARK: - Queries

    public func spec(of id: ServiceID) -> ServiceSpec { services[id].spec }
    public func service(named name: String) -> ServiceID? { servicesByName[name] }
    public func service(forPID pid: Int32) -> ServiceID? { servicesByPID[pid] }
    public func pid(of id: ServiceID) -> Int32? { services[id].pid }
    public var serviceIDs: Range<ServiceID> { services.indices }

    public func status(of id: ServiceID) -> ServiceStatus { status(of: id, now: now, wallNow: clock.epochNanoseconds) }

    /// Every service's row, in tree order, all at one reading of the clocks.
    public var statuses: [ServiceStatus] {
        let now = now, wallNow = clock.epochNanoseconds
        return servicesInTreeOrder.map { status(of: $0, now: now, wallNow: wallNow) }
    }

    private func status(of id: ServiceID, now: Instant, wallNow: Int64) -> ServiceStatus {
        let s = services[id]
        let spec = s.spec
        let group = groups[s.parent]
        let started = s.pid == nil ? nil : s.child?.startedAt
        var status = ServiceStatus(
            name: spec.name, group: group.index == Supervisor.root ? nil : group.spec.name, state: s.phase.state,
            pid: s.pid, restarts: s.restarts,
            uptime: s.phase == .running ? started.map { now - $0 } : nil,
            lastExit: s.lastExit, lastResult: s.exits.last?.result, statusText: s.statusText, schedule: spec.schedule?.description,
            lastRun: s.lastRun,
            nextRun: jobDue.deadline(of: id) == nil ? nil : s.nextRunWall, health: health(of: s))
        status.exitCounts = s.exitCounts
        status.instance = spec.instance
        if let started { status.startedAtWall = wallNow - (now - started).nanoseconds }
        return status
    }

    /// Still in the tree (not removed by a reload).
    public func isActive(_ id: ServiceID) -> Bool { !services[id].removed }

    public var isShuttingDown: Bool { shuttingDown }
    /// A reload is held by stops it waits for: its `.reloaded` is still to come.
    public var isReloading: Bool { pendingReload != nil }
}

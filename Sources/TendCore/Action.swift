/// A stable handle on a service for the life of a supervisor (never reused).
public typealias ServiceID = Int

/// What the core asks the edge to do. The core never performs a side effect itself.
public enum Action: Equatable, Sendable {
    /// fork/exec the service, then report `spawned` or `spawnFailed` with the same run.
    case spawn(ServiceID, run: Int)
    /// kill(2) the process, or killpg(2) its process group.
    case signal(pid: Int32, Signal, processGroup: Bool)
    /// Start probing readiness (tcp, exec) for this run; report `readinessSucceeded`.
    case probeReadiness(ServiceID, run: Int, Readiness)
    /// The run is ready, gone or stopping: stop probing.
    case cancelReadinessProbe(ServiceID)
    /// Run one health check of this run; report `healthCheckFinished` with the same run.
    case runHealthCheck(ServiceID, run: Int, HealthCheck.Probe)
    /// The check in flight timed out, or its service is stopping: kill it (its process group)
    /// or close its socket, and report nothing.
    case cancelHealthCheck(ServiceID)
    /// Tell the operator (console, journal).
    case event(Event)
    /// Leave the event loop; `tend run` exits with this code.
    case exit(code: Int32)
    /// A reload has been applied: answer `tend reload`, forget removed services' resources.
    case reloaded(ReloadSummary)
    /// Tell the service manager that runs tend (sd_notify).
    case notifyManager(ManagerNotice)
    /// A service with `start = "on-connection"` is down and not asked for: watch its `listen`
    /// sockets and call `connectionArrived` at the first connection (asked again after each
    /// change that leaves it so; watching stops with its next spawn).
    case watchConnections(ServiceID)
    /// A service with an fd store (`fdstore_max`) went down for good: drop what it stored.
    case releaseStoredFDs(ServiceID)
}

/// What the service manager that runs tend is told besides readiness and status.
public enum ManagerNotice: Equatable, Sendable {
    /// The tree is being stopped for good (a shutdown, the root gave up, a critical service
    /// ended): STOPPING=1, and systemd shows the unit `deactivating`.
    case stopping
    /// The file is being applied again: RELOADING=1 until the `reloaded` action's READY=1.
    case reloading
}

/// Something operators see in the log: one line on the console, one structured journal entry.
public struct Event: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case started, ready, exited, restarting, stopping, stopped
        case spawnFailed = "spawn-failed"
        case gaveUp = "gave-up"
        case shutdown, reloading, reloaded
        /// `tend scale`: copies of a service with `instances` are being started or stopped; done.
        case scaling, scaled
        case reloadFailed = "reload-failed"
        /// tend's own output could not keep up (a stalled reader): lines were dropped.
        case logsDropped = "logs-dropped"
        /// journald refused a service's stream: its output goes to tend's console instead.
        case journalUnavailable = "journal-unavailable"
        /// A job's run came due while the last one still ran: this one is not run.
        case skipped
        /// A health check failed (or timed out); `healthy`: one passed again after failures.
        case unhealthy, healthy
        /// A child's watchdog expired (or it sent WATCHDOG=trigger): SIGABRT, then a restart.
        case watchdog
        /// The tree needs more file descriptors than RLIMIT_NOFILE's hard limit allows.
        case fdLimit = "fd-limit"
        /// At start: services run without a cgroup of their own, and why.
        case cgroups
        /// A limit (memory_max, ...) the kernel cannot apply: the service runs without it.
        case limitNotApplied = "limit-not-applied"
        /// Processes of a run's cgroup still there stop_timeout after SIGKILL: its end is reported without them.
        case processesLeft = "processes-left"
        /// fds sent with FDSTORE=1 were refused (no fd store, full, a bad name) and closed.
        case fdStore = "fd-store"
        /// `tend reexec`: the new binary took the tree over; or it could not, and the old one runs on.
        case reexec
        case reexecFailed = "reexec-failed"
    }

    public var kind: Kind
    /// The service or group; "" for the supervisor itself.
    public var subject: String
    public var isGroup: Bool
    /// The group a service is in (nil at the root).
    public var group: String?
    public var pid: Int32?
    public var restarts: Int
    public var exit: ExitStatus?
    /// How the run ended: an exit, a stop, a failed spawn, and a service's giving up.
    public var result: RunResult?
    /// What its policy made of an end it was not asked for.
    public var decision: RestartDecision?
    /// Before a restart.
    public var delay: Duration?
    /// The plan of a reload.
    public var reload: ReloadSummary?
    public var message: String

    public init(kind: Kind, subject: String, isGroup: Bool = false, group: String? = nil, pid: Int32? = nil,
                restarts: Int = 0, exit: ExitStatus? = nil, result: RunResult? = nil,
                decision: RestartDecision? = nil, delay: Duration? = nil, reload: ReloadSummary? = nil,
                message: String) {
        self.kind = kind
        self.subject = subject
        self.isGroup = isGroup
        self.group = group
        self.pid = pid
        self.restarts = restarts
        self.exit = exit
        self.result = result
        self.decision = decision
        self.delay = delay
        self.reload = reload
        self.message = message
    }

    /// `api: exited (pid 42): exit code 1, restart=always`
    public var description: String {
        let who = subject.isEmpty ? "tend" : (isGroup ? "group \(subject)" : subject)
        let pidText = pid.map { " (pid \($0))" } ?? ""
        return "\(who): \(kind.rawValue)\(pidText)\(message.isEmpty ? "" : ": " + message)"
    }
}

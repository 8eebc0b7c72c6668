/// The states operators see (SPEC section 3).
public enum ServiceState: String, Sendable, CaseIterable {
    case stopped, starting, running, stopping, backoff, exited, failed
    /// A job between runs.
    case scheduled
}

/// One run of a job, as `tend status` shows it.
public struct JobRun: Equatable, Sendable, Codable {
    /// Wall clock, nanoseconds since the epoch.
    public var start: Int64
    /// nil while the run goes on.
    public var duration: Duration?
    public var exit: ExitStatus?
    /// The run could not start (fork, exec, user), or tend ended it (a stop).
    public var error: String?
    public var succeeded: Bool

    public init(start: Int64, duration: Duration? = nil, exit: ExitStatus? = nil, error: String? = nil,
                succeeded: Bool = false) {
        self.start = start
        self.duration = duration
        self.exit = exit
        self.error = error
        self.succeeded = succeeded
    }
}

/// One row of `tend status`.
public struct ServiceStatus: Equatable, Sendable {
    public var name: String
    /// nil at the root.
    public var group: String?
    public var state: ServiceState
    public var pid: Int32?
    public var restarts: Int
    public var uptime: Duration?
    public var lastExit: ExitStatus?
    /// How the last run ended (or failed to start).
    public var lastResult: RunResult?
    public var statusText: String?
    /// Jobs only: the schedule as written, the last run, the next (wall clock, ns since the epoch).
    public var schedule: String?
    public var lastRun: JobRun?
    public var nextRun: Int64?
    /// With a health check, while running: `starting`, `healthy` or `unhealthy N/retries`.
    public var health: String?
    /// What the Linux edge knows of its cgroup (SPEC section 8), nil without one: its path in
    /// the hierarchy, the processes in it, the CPU time of the current (or last) run, and
    /// memory.current where the memory controller is there.
    public var cgroup: String?
    public var tasks: Int?
    public var cpu: Duration?
    public var memoryBytes: Int64?
    /// Every run's end since tend started, by how it ended.
    public var exitCounts: [RunResult: Int] = [:]
    /// The current run's start, on the wall clock (ns since the epoch).
    public var startedAtWall: Int64?
    /// A copy's number (its name is `NAME@i`).
    public var instance: Int?

    public init(name: String, group: String?, state: ServiceState, pid: Int32?, restarts: Int, uptime: Duration?,
                lastExit: ExitStatus?, lastResult: RunResult? = nil, statusText: String?, schedule: String? = nil, lastRun: JobRun? = nil,
                nextRun: Int64? = nil, health: String? = nil) {
        self.name = name
        self.group = group
        self.state = state
        self.pid = pid
        self.restarts = restarts
        self.uptime = uptime
        self.lastExit = lastExit
        self.lastResult = lastResult
        self.statusText = statusText
        self.schedule = schedule
        self.lastRun = lastRun
        self.nextRun = nextRun
        self.health = health
    }
}

/// How one run ended, for `tend status NAME`.
public struct ExitRecord: Equatable, Sendable, Codable {
    /// Wall clock, nanoseconds since the epoch.
    public var at: Int64
    /// nil: the run did not start (`error` says why).
    public var status: ExitStatus?
    public var error: String?
    /// How long the run lasted.
    public var runtime: Duration?
    public var result: RunResult

    public init(at: Int64, status: ExitStatus?, error: String?, runtime: Duration?, result: RunResult) {
        self.at = at
        self.status = status
        self.error = error
        self.runtime = runtime
        self.result = result
    }
}

/// `tend status NAME` for one service: its row, and what a person needs to see what it is doing.
public struct ServiceDetail: Equatable, Sendable {
    public static let keptExits = 5

    public var status: ServiceStatus
    /// When its state last changed (wall clock, ns since the epoch).
    public var since: Int64
    public var command: String
    /// How it is judged ready, as the file says: `started`, `notify`, `tcp HOST:PORT`, ...
    public var readiness: String
    /// The current run's time from spawn to ready; nil while not ready or not running.
    public var readyAfter: Duration?
    /// The last runs' ends, the latest first.
    public var exits: [ExitRecord]
    /// Where its output goes (`journal`, `inherit`, `null`) and under which identifier.
    public var log: String
    public var identifier: String
    /// Processes of the service the client's process tree cannot find from its main process:
    /// those tend adopted (as the subreaper) in its process group, such as a daemon that forked
    /// twice; with cgroups, every process of its cgroup but the main one. The Linux edge fills it in.
    public var adopted: [Int32] = []
    /// Its cgroup limits as the file says them, each "(not enforced: why)" where so: the
    /// Linux edge fills them in.
    public var limits: [String] = []

    public init(status: ServiceStatus, since: Int64, command: String, readiness: String, readyAfter: Duration?,
                exits: [ExitRecord], log: String, identifier: String) {
        self.status = status
        self.since = since
        self.command = command
        self.readiness = readiness
        self.readyAfter = readyAfter
        self.exits = exits
        self.log = log
        self.identifier = identifier
    }
}

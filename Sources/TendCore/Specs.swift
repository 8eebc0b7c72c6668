/// What the file declares, validated. Plain values: two specs are equal exactly when a
/// reload must restart the service.

public enum RestartPolicy: String, Sendable, CaseIterable, Codable {
    case always
    case onFailure = "on-failure"
    case never
}

public enum Strategy: String, Sendable, CaseIterable, Codable {
    case oneForOne = "one_for_one"
    case oneForAll = "one_for_all"
    case restForOne = "rest_for_one"
}

public enum KillMode: String, Sendable, CaseIterable, Codable {
    case group, process
}

public enum LogTarget: String, Sendable, CaseIterable, Codable {
    case journal, inherit, null
}

public enum Command: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Run directly: argv[0] is looked up in PATH when it has no slash.
    case argv([String])
    /// Run with /bin/sh -c.
    case shell(String)

    public var argv: [String] {
        switch self {
        case .argv(let a): return a
        case .shell(let s): return ["/bin/sh", "-c", s]
        }
    }

    public var description: String {
        switch self {
        case .argv(let a): return a.joined(separator: " ")
        case .shell(let s): return s
        }
    }
}

public struct Endpoint: Hashable, Sendable, Codable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public init(host: String, port: UInt16) { self.host = host; self.port = port }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public enum Readiness: Hashable, Sendable, Codable, CustomStringConvertible {
    case started
    case notify
    /// A one-shot task: ready once its run has exited with a success code.
    case exited
    case tcp(Endpoint)
    case exec([String])

    public var description: String {
        switch self {
        case .started: return "started"
        case .notify: return "notify"
        case .exited: return "exited"
        case .tcp(let e): return "tcp \(e)"
        case .exec(let argv): return "exec \(argv.joined(separator: " "))"
        }
    }
}

public struct Backoff: Hashable, Sendable, Codable {
    public var initial: Duration
    public var max: Duration
    public var factor: Double
    public var jitter: Double
    public var resetAfter: Duration

    public init(initial: Duration = .milliseconds(100), max: Duration = .seconds(30), factor: Double = 2,
                jitter: Double = 0.1, resetAfter: Duration = .seconds(30)) {
        self.initial = initial
        self.max = max
        self.factor = factor
        self.jitter = jitter
        self.resetAfter = resetAfter
    }
}

public struct Intensity: Hashable, Sendable, Codable {
    /// More than this many restarts ...
    public var restarts: Int
    /// ... within this span, and the group gives up.
    public var period: Duration
    public init(restarts: Int, period: Duration) { self.restarts = restarts; self.period = period }
}

public struct HealthCheck: Hashable, Sendable, Codable {
    public enum Probe: Hashable, Sendable, Codable, CustomStringConvertible {
        case exec([String])
        case tcp(Endpoint)

        public var description: String {
            switch self {
            case .exec(let argv): return "exec \(argv.joined(separator: " "))"
            case .tcp(let endpoint): return "tcp \(endpoint)"
            }
        }
    }
    public var probe: Probe
    public var interval: Duration
    public var timeout: Duration
    public var retries: Int
    /// After ready, failures do not count for this long (a slow warm-up), as Docker's start_period.
    public var startPeriod: Duration
    public init(probe: Probe, interval: Duration = .seconds(10), timeout: Duration = .seconds(2), retries: Int = 3,
                startPeriod: Duration = .zero) {
        self.probe = probe
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.startPeriod = startPeriod
    }
}

public enum Schedule: Hashable, Sendable, Codable, CustomStringConvertible {
    case cron(CronExpression)
    /// The first run one interval after the job is started, then every interval.
    case every(Duration)
    /// `@reboot`: once, when tend starts the job.
    case reboot

    public var description: String {
        switch self {
        case .cron(let c): return c.description
        case .every(let d): return "every \(d.humanReadable)"
        case .reboot: return "@reboot"
        }
    }
}

/// setrlimit in the child; nil in a field leaves tend's own limit (nofile: the soft limit tend
/// started with, since tend raises its own).
public struct EnvironmentFileRef: Hashable, Sendable, Codable {
    public var path: String
    public var optional: Bool
    public init(path: String, optional: Bool) { self.path = path; self.optional = optional }
}

public struct ResourceLimits: Hashable, Sendable, Codable {
    /// Limit names as the file spells them, and their RLIMIT_* numbers on Linux.
    public static let known: [(name: String, resource: Int32)] = [
        ("cpu", 0), ("fsize", 1), ("data", 2), ("stack", 3), ("core", 4), ("rss", 5), ("nproc", 6),
        ("nofile", 7), ("memlock", 8), ("as", 9), ("locks", 10), ("sigpending", 11), ("msgqueue", 12),
        ("nice", 13), ("rtprio", 14),
    ]
    /// Resource number -> value; UInt64.max is infinity.
    public var values: [Int32: UInt64]
    public init(values: [Int32: UInt64] = [:]) { self.values = values }
}

/// What a service's cgroup may use (SPEC section 8), written to it before the service starts.
public struct CgroupLimits: Hashable, Sendable, Codable {
    /// memory.max and memory.high, in bytes.
    public var memoryMax: UInt64?
    public var memoryHigh: UInt64?
    /// cpu.weight, 1 to 10,000.
    public var cpuWeight: Int?
    /// cpu.max: microseconds of CPU per period of 100 ms ("50%": 50,000; "2" CPUs: 200,000).
    public var cpuMax: Int?
    public static let cpuPeriod = 100_000
    /// pids.max.
    public var pidsMax: Int?
    /// io.weight, 1 to 10,000.
    public var ioWeight: Int?

    public init() {}
    public var isEmpty: Bool { self == CgroupLimits() }

    /// "512M" where the size is a whole number of a unit, else bytes.
    public static func size(_ bytes: UInt64) -> String {
        for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return "\(bytes)"
    }
}

public struct ServiceSpec: Hashable, Sendable, Codable {
    public var name: String
    public var command: Command
    public var restart: RestartPolicy = .always
    public var successExitCodes: Set<Int32> = [0]
    public var backoff = Backoff()
    public var maxRestarts: Int?
    public var ready: Readiness = .started
    public var startTimeout: Duration = .seconds(60)
    public var after: [String] = []
    public var stopSignal: Signal = .term
    /// Sent to the process group by `tend reload NAME` instead of a restart.
    public var reloadSignal: Signal?
    public var stopTimeout: Duration = .seconds(10)
    public var killMode: KillMode = .group
    public var watchdog: Duration?
    public var health: HealthCheck?
    public var schedule: Schedule?
    public var environment: [String: String] = [:]
    /// KEY=VALUE files read at every start, applied before `environment`; a path that began
    /// with `-` in the file is optional (`optional` true, the `-` taken off).
    public var environmentFiles: [EnvironmentFileRef] = []
    public var workingDirectory: String?
    public var user: String?
    public var group: String?
    public var umask: UInt32?
    public var limits = ResourceLimits()
    /// memory_max, memory_high, cpu_weight, cpu_max, pids_max, io_weight.
    public var cgroupLimits = CgroupLimits()
    public var log: LogTarget = .journal
    public var logIdentifier: String?
    public var autostart = true
    /// Its end for good (`exited` or `failed`) stops the tree, and `tend run` exits with its code.
    public var critical = false
    /// `instances = N` in the file: N copies named NAME@1 ... NAME@N; nil for a plain service.
    public var instances: Int?
    /// On the spec of one copy (named NAME@i): its number. Such a spec has `instances` nil, so
    /// that copies compare equal whatever their count (a scale restarts none of them).
    public var instance: Int?
    /// Sockets tend opens and holds for the service, passed as fds 3... (SPEC section 9).
    public var listen: [ListenAddress] = []
    /// `start = "on-connection"`: not started with the tree (`autostart` is false) but at the
    /// first connection to one of its `listen` sockets, whenever it is down and not asked for.
    public var startOnConnection = false
    /// How many fds its processes may store with FDSTORE=1 (0: none, as systemd's default).
    public var fdstoreMax = 0

    public init(name: String, command: Command) {
        self.name = name
        self.command = command
    }

    public var identifier: String { logIdentifier ?? name }

    /// Runs to completion on a schedule rather than staying up.
    public var isJob: Bool { schedule != nil }

    /// The name in the file: a copy's name without its `@i`.
    public var baseName: String {
        guard let instance else { return name }
        return String(name.dropLast("@\(instance)".count))
    }

    /// What the tree runs for this entry of the file: itself, or its `instances` copies, each
    /// with TEND_INSTANCE=i in its environment (over the file's).
    public var instanceSpecs: [ServiceSpec] {
        guard let instances else { return [self] }
        return (1...max(1, instances)).map(instanceSpec)
    }

    /// Copy number `i` (from 1), whatever the count.
    public func instanceSpec(_ i: Int) -> ServiceSpec {
        var copy = self
        copy.name = "\(name)@\(i)"
        copy.logIdentifier = logIdentifier.map { "\($0)@\(i)" }
        copy.instances = nil
        copy.instance = i
        copy.environment["TEND_INSTANCE"] = String(i)
        return copy
    }
}

public struct GroupSpec: Hashable, Sendable, Codable {
    public var name: String
    public var strategy: Strategy = .oneForOne
    public var intensity: Intensity?
    public var children: [String]
    /// `parallel = true`: its children start at once (each still after its own `after`) and
    /// stop at once; else one after another, in order (stops in reverse).
    public var parallel = false

    public init(name: String, strategy: Strategy = .oneForOne, intensity: Intensity? = nil, children: [String], parallel: Bool = false) {
        self.name = name
        self.strategy = strategy
        self.intensity = intensity
        self.children = children
        self.parallel = parallel
    }
}

/// The whole validated file. The root group is `root`, named "" and shown as no group.
public struct TreeSpec: Hashable, Sendable, Codable {
    public var root: GroupSpec
    public var services: [ServiceSpec]
    public var groups: [GroupSpec]
    public var controlSocket: String?
    /// A group whose members may use the control socket (a name or a gid).
    public var controlGroup: String?
    /// `[supervisor] cgroups`: a cgroup per service where the machine allows it ("auto"), or none ("off").
    public var cgroups = true
    /// `[supervisor] metrics = "HOST:PORT"`: where `GET /metrics` is served (SPEC section 10); nil: off.
    public var metrics: ListenAddress?

    public init(root: GroupSpec, services: [ServiceSpec], groups: [GroupSpec], controlSocket: String? = nil,
                controlGroup: String? = nil) {
        self.root = root
        self.services = services
        self.groups = groups
        self.controlSocket = controlSocket
        self.controlGroup = controlGroup
    }
}

/// A compact binary form of a tree, for the child process that parsed the file to hand the
/// result to tend (see ConfigFile in the `tend` target). Foundation's JSON took 1.2 s for
/// 10,000 services both ways; this takes milliseconds. Both ends are the same binary, so the
/// form needs no versioning; a truncated or malformed one is an error, never a crash.
public struct WireWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func int(_ v: Int) { int(Int64(v)) }
    public mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    public mutating func double(_ v: Double) { int(Int64(bitPattern: v.bitPattern)) }
    public mutating func duration(_ d: Duration) {
        int(d.components.seconds)
        int(d.components.attoseconds)
    }
    public mutating func string(_ s: String) {
        int(s.utf8.count)
        bytes.append(contentsOf: s.utf8)
    }
    public mutating func strings(_ a: [String]) {
        int(a.count)
        for s in a { string(s) }
    }
    public mutating func optional<T>(_ v: T?, _ write: (inout WireWriter, T) -> Void) {
        bool(v != nil)
        if let v { write(&self, v) }
    }
}

public struct WireReader {
    public struct Malformed: Error {
        public init() {}
    }

    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var atEnd: Bool { offset == bytes.count }

    public mutating func int() throws(Malformed) -> Int64 {
        guard bytes.count - offset >= 8 else { throw Malformed() }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return Int64(bitPattern: v)
    }
    public mutating func count() throws(Malformed) -> Int {
        let n = try int()
        guard n >= 0, n <= bytes.count - offset else { throw Malformed() }
        return Int(n)
    }
    public mutating func small<T: FixedWidthInteger>(_: T.Type = T.self) throws(Malformed) -> T {
        guard let v = T(exactly: try int()) else { throw Malformed() }
        return v
    }
    public mutating func bool() throws(Malformed) -> Bool {
        guard offset < bytes.count, bytes[offset] <= 1 else { throw Malformed() }
        offset += 1
        return bytes[offset - 1] == 1
    }
    public mutating func double() throws(Malformed) -> Double { Double(bitPattern: UInt64(bitPattern: try int())) }
    public mutating func duration() throws(Malformed) -> Duration {
        Duration(secondsComponent: try int(), attosecondsComponent: try int())
    }
    public mutating func string() throws(Malformed) -> String {
        let n = try count()
        defer { offset += n }
        return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self)
    }
    public mutating func strings() throws(Malformed) -> [String] {
        var a: [String] = []
        for _ in 0..<(try count()) { a.append(try string()) }
        return a
    }
    public mutating func optional<T>(_ read: (inout WireReader) throws(Malformed) -> T) throws(Malformed) -> T? {
        try bool() ? try read(&self) : nil
    }
    public mutating func oneOf<T: RawRepresentable>(_: T.Type) throws(Malformed) -> T where T.RawValue == String {
        guard let v = T(rawValue: try string()) else { throw Malformed() }
        return v
    }
}

extension TreeSpec {
    public func write(to w: inout WireWriter) {
        root.write(to: &w)
        w.int(services.count)
        for s in services { s.write(to: &w) }
        w.int(groups.count)
        for g in groups { g.write(to: &w) }
        w.optional(controlSocket) { $0.string($1) }
        w.optional(controlGroup) { $0.string($1) }
    }

    public init(from r: inout WireReader) throws(WireReader.Malformed) {
        let root = try GroupSpec(from: &r)
        var services: [ServiceSpec] = []
        for _ in 0..<(try r.count()) { services.append(try ServiceSpec(from: &r)) }
        var groups: [GroupSpec] = []
        for _ in 0..<(try r.count()) { groups.append(try GroupSpec(from: &r)) }
        self.init(root: root, services: services, groups: groups,
                  controlSocket: try r.optional { r throws(WireReader.Malformed) in try r.string() },
                  controlGroup: try r.optional { r throws(WireReader.Malformed) in try r.string() })
    }
}

extension GroupSpec {
    func write(to w: inout WireWriter) {
        w.string(name)
        w.string(strategy.rawValue)
        w.optional(intensity) { $1.write(to: &$0) }
        w.strings(children)
    }

    init(from r: inout WireReader) throws(WireReader.Malformed) {
        self.init(name: try r.string(), strategy: try r.oneOf(Strategy.self),
                  intensity: try r.optional { r throws(WireReader.Malformed) in try Intensity(from: &r) }, children: try r.strings())
    }
}

extension Intensity {
    func write(to w: inout WireWriter) {
        w.int(restarts)
        w.duration(period)
    }

    init(from r: inout WireReader) throws(WireReader.Malformed) {
        self.init(restarts: Int(try r.int()), period: try r.duration())
    }
}

extension Endpoint {
    func write(to w: inout WireWriter) {
        w.string(host)
        w.int(Int(port))
    }

    init(from r: inout WireReader) throws(WireReader.Malformed) {
        self.init(host: try r.string(), port: try r.small())
    }
}

extension ServiceSpec {
    func write(to w: inout WireWriter) {
        w.string(name)
        switch command {
        case .argv(let a): w.int(0); w.strings(a)
        case .shell(let s): w.int(1); w.string(s)
        }
        w.string(restart.rawValue)
        w.int(successExitCodes.count)
        for code in successExitCodes.sorted() { w.int(Int(code)) }
        w.duration(backoff.initial)
        w.duration(backoff.max)
        w.double(backoff.factor)
        w.double(backoff.jitter)
        w.duration(backoff.resetAfter)
        w.optional(maxRestarts) { $0.int($1) }
        switch ready {
        case .started: w.int(0)
        case .notify: w.int(1)
        case .tcp(let e): w.int(2); e.write(to: &w)
        case .exec(let a): w.int(3); w.strings(a)
        case .exited: w.int(4)
        }
        w.duration(startTimeout)
        w.strings(after)
        w.int(Int(stopSignal.number))
        w.optional(reloadSignal) { $0.int(Int($1.number)) }
        w.duration(stopTimeout)
        w.string(killMode.rawValue)
        w.optional(watchdog) { $0.duration($1) }
        w.optional(health) { w, h in
            switch h.probe {
            case .exec(let a): w.int(0); w.strings(a)
            case .tcp(let e): w.int(1); e.write(to: &w)
            }
            w.duration(h.interval)
            w.duration(h.timeout)
            w.int(h.retries)
            w.duration(h.startPeriod)
        }
        w.optional(schedule) { w, s in
            switch s {
            case .cron(let c): w.int(0); w.string(c.description)
            case .every(let d): w.int(1); w.duration(d)
            case .reboot: w.int(2)
            }
        }
        let keys = environment.keys.sorted()
        w.strings(keys)
        w.strings(keys.map { environment[$0]! })
        w.int(environmentFiles.count)
        for file in environmentFiles {
            w.string(file.path)
            w.bool(file.optional)
        }
        w.optional(workingDirectory) { $0.string($1) }
        w.optional(user) { $0.string($1) }
        w.optional(group) { $0.string($1) }
        w.optional(umask) { $0.int(Int($1)) }
        let resources = limits.values.keys.sorted()
        w.int(resources.count)
        for resource in resources {
            w.int(Int(resource))
            w.int(Int64(bitPattern: limits.values[resource]!))
        }
        w.string(log.rawValue)
        w.optional(logIdentifier) { $0.string($1) }
        w.bool(autostart)
        w.bool(critical)
        w.optional(instances) { $0.int($1) }
    }

    init(from r: inout WireReader) throws(WireReader.Malformed) {
        typealias M = WireReader.Malformed
        let name = try r.string()
        let command: Command
        switch try r.int() {
        case 0: command = .argv(try r.strings())
        case 1: command = .shell(try r.string())
        default: throw M()
        }
        self.init(name: name, command: command)
        restart = try r.oneOf(RestartPolicy.self)
        successExitCodes = []
        for _ in 0..<(try r.count()) { successExitCodes.insert(try r.small()) }
        backoff.initial = try r.duration()
        backoff.max = try r.duration()
        backoff.factor = try r.double()
        backoff.jitter = try r.double()
        backoff.resetAfter = try r.duration()
        maxRestarts = try r.optional { r throws(M) in Int(try r.int()) }
        switch try r.int() {
        case 0: ready = .started
        case 1: ready = .notify
        case 2: ready = .tcp(try Endpoint(from: &r))
        case 3: ready = .exec(try r.strings())
        case 4: ready = .exited
        default: throw M()
        }
        startTimeout = try r.duration()
        after = try r.strings()
        stopSignal = Signal(number: try r.small())
        reloadSignal = try r.optional { r throws(M) in Signal(number: try r.small()) }
        stopTimeout = try r.duration()
        killMode = try r.oneOf(KillMode.self)
        watchdog = try r.optional { r throws(M) in try r.duration() }
        health = try r.optional { r throws(M) in
            let probe: HealthCheck.Probe
            switch try r.int() {
            case 0: probe = .exec(try r.strings())
            case 1: probe = .tcp(try Endpoint(from: &r))
            default: throw M()
            }
            return HealthCheck(probe: probe, interval: try r.duration(), timeout: try r.duration(), retries: Int(try r.int()),
                               startPeriod: try r.duration())
        }
        schedule = try r.optional { r throws(M) in
            switch try r.int() {
            case 0:
                guard let cron = try? CronExpression(parsing: try r.string()) else { throw M() }
                return .cron(cron)
            case 1: return .every(try r.duration())
            case 2: return .reboot
            default: throw M()
            }
        }
        let keys = try r.strings(), texts = try r.strings()
        guard keys.count == texts.count else { throw M() }
        environment = Dictionary(zip(keys, texts), uniquingKeysWith: { a, _ in a })
        for _ in 0..<(try r.count()) { environmentFiles.append(EnvironmentFileRef(path: try r.string(), optional: try r.bool())) }
        workingDirectory = try r.optional { r throws(M) in try r.string() }
        user = try r.optional { r throws(M) in try r.string() }
        group = try r.optional { r throws(M) in try r.string() }
        umask = try r.optional { r throws(M) in try r.small() }
        var values: [Int32: UInt64] = [:]
        for _ in 0..<(try r.count()) {
            let resource: Int32 = try r.small()
            values[resource] = UInt64(bitPattern: try r.int())
        }
        limits = ResourceLimits(values: values)
        log = try r.oneOf(LogTarget.self)
        logIdentifier = try r.optional { r throws(M) in try r.string() }
        autostart = try r.bool()
        critical = try r.bool()
        instances = try r.optional { r throws(M) in
            let n: Int = try r.small()
            guard n >= 1 else { throw M() }
            return n
        }
    }
}

import TendCore

/// tend's version, as `tend_build_info` says it.
public enum TendBuild {
    public static let version = "0.25.0"
}

/// `GET /metrics` (SPEC section 10): the Prometheus text format (0.0.4), or OpenMetrics 1.0.0
/// when the scraper asks for it. A copy (`NAME@i`) is `service="NAME",instance="i"`; a service
/// in a group has `group`. Counters count since this tend's tree started (a reexec keeps them).
public enum MetricsText {
    public struct Tend {
        public var reloads: Int
        public var logsDropped: Int

        public init(reloads: Int, logsDropped: Int) {
            self.reloads = reloads
            self.logsDropped = logsDropped
        }
    }

    public static let prometheusType = "text/plain; version=0.0.4; charset=utf-8"
    public static let openMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// A sample's value: a count, or nanoseconds written as seconds with three decimals.
    enum Value {
        case count(Int64)
        case seconds(Int64)
    }

    /// The page's bytes, written into one array (no String per sample: 12,000 samples at 1,000
    /// services). Each family's samples are written by a closure that is handed the page (not
    /// one that captures it: that would be checked for exclusive access at every byte).
    public static func render(_ rows: [ServiceStatus], tend: Tend, openMetrics: Bool) -> [UInt8] {
        var page = Page(labels: rows.map(MetricsText.labels(of:)), openMetrics: openMetrics)
        let none: [UInt8] = []
        func flag(_ on: Bool) -> Value { .count(on ? 1 : 0) }

        page.family("tend_service_up", "gauge", "Whether the service's process runs (1) or not (0).") { page, i in
            page.sample(i, none, flag(rows[i].state == .running))
        }
        page.family("tend_service_state", "gauge", "The state the service is in (1) and those it is not in (0).") { page, i in
            let state = rows[i].state
            for (each, label) in stateLabels { page.sample(i, label, flag(state == each)) }
        }
        page.family("tend_service_restarts_total", "counter", "Restarts of the service since tend started its tree.") { page, i in
            page.sample(i, none, .count(Int64(rows[i].restarts)))
        }
        page.family("tend_service_exits_total", "counter", "Ends of the service's runs since tend started its tree, by how they ended.") { page, i in
            guard !rows[i].exitCounts.isEmpty else { return }
            for (reason, label) in reasonLabels { if let n = rows[i].exitCounts[reason] { page.sample(i, label, .count(Int64(n))) } }
        }
        page.family("tend_service_start_time_seconds", "gauge", "When the service's current run started, in seconds since the epoch.") { page, i in
            if let started = rows[i].startedAtWall { page.sample(i, none, .seconds(started)) }
        }
        page.family("tend_service_cpu_seconds_total", "counter",
                    "CPU time of the service's processes since its cgroup was made (its first start, or a remake after a kill).") { page, i in
            if let cpu = rows[i].cpu { page.sample(i, none, .seconds(cpu.nanoseconds)) }
        }
        page.family("tend_service_memory_bytes", "gauge", "Memory the service's cgroup uses (memory.current).") { page, i in
            if let bytes = rows[i].memoryBytes { page.sample(i, none, .count(bytes)) }
        }
        page.family("tend_job_last_run_timestamp_seconds", "gauge", "When the job's last run started, in seconds since the epoch.") { page, i in
            if let run = rows[i].lastRun { page.sample(i, none, .seconds(run.start)) }
        }
        page.family("tend_job_last_success", "gauge", "Whether the job's last finished run succeeded (1) or not (0).") { page, i in
            if let run = rows[i].lastRun, run.duration != nil || run.error != nil { page.sample(i, none, flag(run.succeeded)) }
        }
        page.family("tend_health_status", "gauge", "Whether the service's health check passes (1) or not (0), while it runs.") { page, i in
            if let health = rows[i].health, health != "starting" { page.sample(i, none, flag(health == "healthy")) }
        }
        for (name, type, help, value) in [
            ("tend_build_info", "info", "tend's version.", 1),
            ("tend_reloads_total", "counter", "Reloads applied since tend started its tree.", tend.reloads),
            ("tend_logs_dropped_total", "counter", "Lines and events dropped because their reader did not keep up.", tend.logsDropped),
        ] {
            page.header(name, type, help)
            page.sample(name + (type == "info" ? "{version=\"\(TendBuild.version)\"}" : ""), .count(Int64(value)))
        }
        if openMetrics { page.put("# EOF\n") }
        return page.bytes
    }

    /// The page being written, in memory of its own: a sample is written with plain stores after
    /// one check of room for its longest form (an Array's append checks at each of its 7 parts,
    /// 84,000 calls at 1,000 services).
    struct Page: ~Copyable {
        private var base: UnsafeMutablePointer<UInt8>
        private var capacity: Int
        private var count = 0
        /// Each row's labels, as `labels(of:)` writes them.
        let labels: [[UInt8]]
        let openMetrics: Bool
        /// The current family's name and `{`.
        private var start: [UInt8] = []
        /// A value's longest form: a sign, Int64's 19 digits, `.` and 3 decimals.
        static let longestValue = 24

        init(labels: [[UInt8]], openMetrics: Bool) {
            self.labels = labels
            self.openMetrics = openMetrics
            capacity = labels.count * 700 + 4096
            base = .allocate(capacity: capacity)
        }

        deinit { base.deallocate() }

        /// What was written.
        var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

        /// Room for `n` more bytes.
        private mutating func room(_ n: Int) {
            guard count + n > capacity else { return }
            let grown = max(capacity * 2, count + n)
            let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
            moved.initialize(from: base, count: count)
            base.deallocate()
            base = moved
            capacity = grown
        }

        /// `bytes`, in the room made for them.
        private mutating func copy(_ bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { (base + count).initialize(from: $0.baseAddress!, count: $0.count) }
            count += bytes.count
        }

        private mutating func byte(_ b: UInt8) {
            base[count] = b
            count += 1
        }

        mutating func put(_ text: String) {
            var text = text
            text.withUTF8 { utf8 in
                room(utf8.count)
                (base + count).initialize(from: utf8.baseAddress!, count: utf8.count)
                count += utf8.count
            }
        }

        /// `n` in decimal, in the room made for it (at most 20 bytes).
        private mutating func number(_ n: Int64) {
            if n < 0 { byte(UInt8(ascii: "-")) }
            var m = n.magnitude
            if m < 10 { return byte(UInt8(ascii: "0") + UInt8(m)) }
            var digits = 0
            var rest = m
            while rest > 0 { digits += 1; rest /= 10 }
            for i in stride(from: digits - 1, through: 0, by: -1) {
                base[count + i] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
            }
            count += digits
        }

        /// A value, in the room made for it (at most `longestValue` bytes).
        private mutating func value(_ value: Value) {
            switch value {
            case .count(let n): number(n)
            case .seconds(let ns):
                let millis = ns / 1_000_000
                if millis < 0, millis > -1000 { byte(UInt8(ascii: "-")) }
                number(millis / 1000)
                let fraction = (millis % 1000).magnitude
                byte(UInt8(ascii: "."))
                byte(UInt8(ascii: "0") + UInt8(fraction / 100))
                byte(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
                byte(UInt8(ascii: "0") + UInt8(fraction % 10))
            }
        }

        mutating func header(_ name: String, _ type: String, _ help: String) {
            // OpenMetrics names a counter's family without `_total`, an info's without `_info`;
            // the Prometheus format has no info type (a gauge of 1).
            let declared = openMetrics && type == "counter" ? String(name.dropLast("_total".count))
                : openMetrics && type == "info" ? String(name.dropLast("_info".count)) : name
            put("# HELP \(declared) \(help)\n# TYPE \(declared) \(openMetrics || type != "info" ? type : "gauge")\n")
        }

        /// A family: its HELP and TYPE, then the samples each row gives.
        mutating func family(_ name: String, _ type: String, _ help: String, _ samples: (inout Page, _ row: Int) -> Void) {
            header(name, type, help)
            start = Array((name + "{").utf8)
            for i in labels.indices { samples(&self, i) }
        }

        /// `NAME{LABELS EXTRA} VALUE` of row `i` in the current family.
        mutating func sample(_ i: Int, _ extra: [UInt8], _ value: Value) {
            room(start.count + labels[i].count + extra.count + 3 + Page.longestValue)
            copy(start)
            copy(labels[i])
            copy(extra)
            byte(UInt8(ascii: "}"))
            byte(UInt8(ascii: " "))
            self.value(value)
            byte(UInt8(ascii: "\n"))
        }

        /// A sample without labels (tend's own), then its line's end.
        mutating func sample(_ name: String, _ value: Value) {
            put(name)
            room(Page.longestValue + 2)
            byte(UInt8(ascii: " "))
            self.value(value)
            byte(UInt8(ascii: "\n"))
        }
    }

    static let stateLabels = ServiceState.allCases.map { ($0, Array(",state=\"\($0.rawValue)\"".utf8)) }
    static let reasonLabels = RunResult.allCases.map { ($0, Array(",reason=\"\($0.rawValue)\"".utf8)) }

    /// `service="a"`, `service="web",instance="2"`, with `,group="g"` in a group.
    static func labels(of row: ServiceStatus) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(row.name.utf8.count + (row.group?.utf8.count ?? 0) + 40)
        let name = row.instance.map { row.name.utf8.dropLast("@\($0)".utf8.count) } ?? row.name.utf8[...]
        out += #"service=""#.utf8
        escape(name, into: &out)
        if let instance = row.instance {
            out += #"",instance=""#.utf8
            out += String(instance).utf8
        }
        if let group = row.group {
            out += #"",group=""#.utf8
            escape(group.utf8[...], into: &out)
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// A label's value: `\`, `"` and a line's end escaped.
    static func escape(_ value: Substring.UTF8View, into out: inout [UInt8]) {
        guard value.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return out += value
        }
        for byte in value {
            switch byte {
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\n"): out += #"\n"#.utf8
            default: out.append(byte)
            }
        }
    }
}

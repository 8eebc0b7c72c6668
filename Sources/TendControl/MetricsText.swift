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

    /// The page's bytes. Written byte by byte into one array (no String per sample): 12,000
    /// samples at 1,000 services.
    public static func render(_ rows: [ServiceStatus], tend: Tend, openMetrics: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(rows.count * 700 + 1024)
        let labels = rows.map { Array(MetricsText.labels(of: $0).utf8) }
        func put(_ text: String) {
            var text = text
            text.withUTF8 { out.append(contentsOf: $0) }
        }
        func put(_ n: Int64) {
            if n < 0 { out.append(UInt8(ascii: "-")) }
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                         UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var m = n.magnitude, count = 0
            withUnsafeMutableBytes(of: &digits) { d in
                repeat {
                    d[19 - count] = UInt8(ascii: "0") + UInt8(m % 10)
                    m /= 10
                    count += 1
                } while m > 0
                out.append(contentsOf: d[(20 - count)...])
            }
        }
        func put(_ value: Value) {
            switch value {
            case .count(let n): put(n)
            case .seconds(let ns):
                let millis = ns / 1_000_000
                if millis < 0, millis > -1000 { out.append(UInt8(ascii: "-")) }
                put(millis / 1000)
                let fraction = (millis % 1000).magnitude
                out.append(UInt8(ascii: "."))
                out.append(UInt8(ascii: "0") + UInt8(fraction / 100))
                out.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
                out.append(UInt8(ascii: "0") + UInt8(fraction % 10))
            }
        }
        func header(_ name: String, _ type: String, _ help: String) {
            // OpenMetrics names a counter's family without `_total`, an info's without `_info`;
            // the Prometheus format has no info type (a gauge of 1).
            let declared = openMetrics && type == "counter" ? String(name.dropLast("_total".count))
                : openMetrics && type == "info" ? String(name.dropLast("_info".count)) : name
            put("# HELP \(declared) \(help)\n# TYPE \(declared) \(openMetrics || type != "info" ? type : "gauge")\n")
        }
        /// A family: its HELP and TYPE, then the samples each row gives (`emit(extra labels, value)`).
        func family(_ name: String, _ type: String, _ help: String, _ samples: (Int, ([UInt8], Value) -> Void) -> Void) {
            header(name, type, help)
            let start = Array((name + "{").utf8)
            for i in rows.indices {
                samples(i) { extra, value in
                    out.append(contentsOf: start)
                    out.append(contentsOf: labels[i])
                    out.append(contentsOf: extra)
                    out.append(UInt8(ascii: "}"))
                    out.append(UInt8(ascii: " "))
                    put(value)
                    out.append(UInt8(ascii: "\n"))
                }
            }
        }
        let none: [UInt8] = []
        func flag(_ on: Bool) -> Value { .count(on ? 1 : 0) }

        family("tend_service_up", "gauge", "Whether the service's process runs (1) or not (0).") { i, emit in
            emit(none, flag(rows[i].state == .running))
        }
        family("tend_service_state", "gauge", "The state the service is in (1) and those it is not in (0).") { i, emit in
            for (state, label) in stateLabels { emit(label, flag(rows[i].state == state)) }
        }
        family("tend_service_restarts_total", "counter", "Restarts of the service since tend started its tree.") { i, emit in
            emit(none, .count(Int64(rows[i].restarts)))
        }
        family("tend_service_exits_total", "counter", "Ends of the service's runs since tend started its tree, by how they ended.") { i, emit in
            for (reason, label) in reasonLabels { if let n = rows[i].exitCounts[reason] { emit(label, .count(Int64(n))) } }
        }
        family("tend_service_start_time_seconds", "gauge", "When the service's current run started, in seconds since the epoch.") { i, emit in
            if let started = rows[i].startedAtWall { emit(none, .seconds(started)) }
        }
        family("tend_service_cpu_seconds_total", "counter",
               "CPU time of the service's processes since its cgroup was made (its first start, or a remake after a kill).") { i, emit in
            if let cpu = rows[i].cpu { emit(none, .seconds(cpu.nanoseconds)) }
        }
        family("tend_service_memory_bytes", "gauge", "Memory the service's cgroup uses (memory.current).") { i, emit in
            if let bytes = rows[i].memoryBytes { emit(none, .count(bytes)) }
        }
        family("tend_job_last_run_timestamp_seconds", "gauge", "When the job's last run started, in seconds since the epoch.") { i, emit in
            if let run = rows[i].lastRun { emit(none, .seconds(run.start)) }
        }
        family("tend_job_last_success", "gauge", "Whether the job's last finished run succeeded (1) or not (0).") { i, emit in
            if let run = rows[i].lastRun, run.duration != nil || run.error != nil { emit(none, flag(run.succeeded)) }
        }
        family("tend_health_status", "gauge", "Whether the service's health check passes (1) or not (0), while it runs.") { i, emit in
            if let health = rows[i].health, health != "starting" { emit(none, flag(health == "healthy")) }
        }
        for (name, type, help, value) in [
            ("tend_build_info", "info", "tend's version.", 1),
            ("tend_reloads_total", "counter", "Reloads applied since tend started its tree.", tend.reloads),
            ("tend_logs_dropped_total", "counter", "Lines and events dropped because their reader did not keep up.", tend.logsDropped),
        ] {
            header(name, type, help)
            put(name + (type == "info" ? "{version=\"\(TendBuild.version)\"}" : "") + " ")
            put(Int64(value))
            out.append(UInt8(ascii: "\n"))
        }
        if openMetrics { put("# EOF\n") }
        return out
    }

    static let stateLabels = ServiceState.allCases.map { ($0, Array(",state=\"\($0.rawValue)\"".utf8)) }
    static let reasonLabels = RunResult.allCases.map { ($0, Array(",reason=\"\($0.rawValue)\"".utf8)) }

    /// `service="a"`, `service="web",instance="2"`, with `,group="g"` in a group.
    static func labels(of row: ServiceStatus) -> String {
        let name = row.instance.map { String(row.name.dropLast("@\($0)".count)) } ?? row.name
        var text = "service=\"\(escaped(name))\""
        if let instance = row.instance { text += ",instance=\"\(instance)\"" }
        if let group = row.group { text += ",group=\"\(escaped(group))\"" }
        return text
    }

    static func escaped(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}

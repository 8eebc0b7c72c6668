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

    public static func render(_ rows: [ServiceStatus], tend: Tend, openMetrics: Bool) -> String {
        var out = ""
        out.reserveCapacity(rows.count * 700 + 1024)
        let labels = rows.map(labels(of:))
        func header(_ name: String, _ type: String, _ help: String) {
            // OpenMetrics names a counter's family without `_total`, an info's without `_info`;
            // the Prometheus format has no info type (a gauge of 1).
            let declared = openMetrics && type == "counter" ? String(name.dropLast("_total".count))
                : openMetrics && type == "info" ? String(name.dropLast("_info".count)) : name
            out += "# HELP \(declared) \(help)\n# TYPE \(declared) \(openMetrics || type != "info" ? type : "gauge")\n"
        }
        /// A family: its HELP and TYPE, then the samples each row gives (`emit(extra labels, value)`).
        func family(_ name: String, _ type: String, _ help: String, _ samples: (Int, (String, String) -> Void) -> Void) {
            header(name, type, help)
            for i in rows.indices {
                samples(i) { extra, value in
                    out += name
                    out += "{"
                    out += labels[i]
                    out += extra
                    out += "} "
                    out += value
                    out += "\n"
                }
            }
        }

        family("tend_service_up", "gauge", "Whether the service's process runs (1) or not (0).") { i, emit in
            emit("", rows[i].state == .running ? "1" : "0")
        }
        family("tend_service_state", "gauge", "The state the service is in (1) and those it is not in (0).") { i, emit in
            for state in ServiceState.allCases { emit(stateLabels[state]!, rows[i].state == state ? "1" : "0") }
        }
        family("tend_service_restarts_total", "counter", "Restarts of the service since tend started its tree.") { i, emit in
            emit("", String(rows[i].restarts))
        }
        family("tend_service_exits_total", "counter", "Ends of the service's runs since tend started its tree, by how they ended.") { i, emit in
            for reason in RunResult.allCases { if let n = rows[i].exitCounts[reason] { emit(reasonLabels[reason]!, String(n)) } }
        }
        family("tend_service_start_time_seconds", "gauge", "When the service's current run started, in seconds since the epoch.") { i, emit in
            if let started = rows[i].startedAtWall { emit("", seconds(started)) }
        }
        family("tend_service_cpu_seconds_total", "counter",
               "CPU time of the service's processes since its cgroup was made (its first start, or a remake after a kill).") { i, emit in
            if let cpu = rows[i].cpu { emit("", seconds(cpu.nanoseconds)) }
        }
        family("tend_service_memory_bytes", "gauge", "Memory the service's cgroup uses (memory.current).") { i, emit in
            if let bytes = rows[i].memoryBytes { emit("", String(bytes)) }
        }
        family("tend_job_last_run_timestamp_seconds", "gauge", "When the job's last run started, in seconds since the epoch.") { i, emit in
            if let run = rows[i].lastRun { emit("", seconds(run.start)) }
        }
        family("tend_job_last_success", "gauge", "Whether the job's last finished run succeeded (1) or not (0).") { i, emit in
            if let run = rows[i].lastRun, run.duration != nil || run.error != nil { emit("", run.succeeded ? "1" : "0") }
        }
        family("tend_health_status", "gauge", "Whether the service's health check passes (1) or not (0), while it runs.") { i, emit in
            if let health = rows[i].health, health != "starting" { emit("", health == "healthy" ? "1" : "0") }
        }
        for (name, type, help, value) in [
            ("tend_build_info", "info", "tend's version.", "1"),
            ("tend_reloads_total", "counter", "Reloads applied since tend started its tree.", String(tend.reloads)),
            ("tend_logs_dropped_total", "counter", "Lines and events dropped because their reader did not keep up.", String(tend.logsDropped)),
        ] {
            header(name, type, help)
            out += name + (type == "info" ? "{version=\"\(TendBuild.version)\"}" : "") + " " + value + "\n"
        }
        if openMetrics { out += "# EOF\n" }
        return out
    }

    static let stateLabels = Dictionary(uniqueKeysWithValues: ServiceState.allCases.map { ($0, ",state=\"\($0.rawValue)\"") })
    static let reasonLabels = Dictionary(uniqueKeysWithValues: RunResult.allCases.map { ($0, ",reason=\"\($0.rawValue)\"") })

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

    /// Nanoseconds as seconds with three decimals.
    static func seconds(_ nanoseconds: Int64) -> String {
        let millis = nanoseconds / 1_000_000
        let whole = millis / 1000, fraction = abs(millis % 1000)
        let digits = String(fraction)
        return "\(millis < 0 && whole == 0 ? "-" : "")\(whole).\(String(repeating: "0", count: 3 - digits.count))\(digits)"
    }
}

import FoundationEssentials
import Glibc
import TendControl
import TendCore

/// `tend status` for people: aligned columns, states coloured on a terminal.
enum StatusTable {
    static let colours = ["running": "32", "scheduled": "34", "starting": "36", "stopping": "33", "backoff": "33", "failed": "31",
                          "exited": "2", "stopped": "2"]

    static func render(_ json: ArraySlice<UInt8>, colour: Bool) -> String {
        guard let services = StatusWire.rows(json) else {
            return String(decoding: json, as: UTF8.self) + "\n"
        }
        // Columns for jobs and health checks only when some service has them.
        let jobs = services.contains { $0.schedule != nil }
        let health = services.contains { $0.health != nil }
        // Cgroup columns where tend has cgroups; memory where the memory controller is there.
        let cgroups = services.contains { $0.cgroup != nil }
        let memory = services.contains { $0.memoryBytes != nil }
        var header = ["NAME", "GROUP", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT"]
        if cgroups { header += ["TASKS", "CPU"] }
        if memory { header.append("MEMORY") }
        if health { header.append("HEALTH") }
        if jobs { header += ["LAST RUN", "NEXT RUN"] }
        header.append("STATUS")
        let rows = services.map { r -> [String] in
            var row = [r.name, r.group ?? "-", r.state.rawValue, r.pid.map(String.init) ?? "-", r.uptime.map { uptime($0.seconds) } ?? "-",
                       String(r.restarts), exitText(r.lastExit) + (r.lastResult == .oomKill ? " (OOM)" : "")]
            if cgroups { row += [r.tasks.map(String.init) ?? "-", r.cpu.map { cpuText($0.seconds) } ?? "-"] }
            if memory { row.append(r.memoryBytes.map(bytesText) ?? "-") }
            if health { row.append(r.health ?? "-") }
            if jobs {
                row.append(r.lastRun.map(runText) ?? "-")
                row.append(r.nextRun.map(localTime) ?? "-")
            }
            row.append(r.statusText ?? "")
            return row
        }
        let counts = [header.map(\.count)] + rows.map { $0.map(\.count) }
        var widths = counts[0]
        for row in counts { for (i, count) in row.enumerated() { widths[i] = max(widths[i], count) } }
        // Bytes, not a String built piece by piece: 1,000 rows are 70 KB.
        var out: [UInt8] = []
        out.reserveCapacity((rows.count + 1) * (widths.reduce(0, +) + 2 * widths.count + 1))
        for (n, cells) in ([header] + rows).enumerated() {
            let code = n > 0 && colour ? colours[cells[2]] : nil
            for (i, cell) in cells.enumerated() {
                if i == 2, let code { out += Array("\u{1B}[\(code)m".utf8) }
                out += cell.utf8
                if i == 2, code != nil { out += Array("\u{1B}[0m".utf8) }
                if i < cells.count - 1 { out += repeatElement(UInt8(ascii: " "), count: widths[i] - counts[n][i] + 2) }
            }
            while out.last == UInt8(ascii: " ") { out.removeLast() }
            out.append(UInt8(ascii: "\n"))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// CPU time: `0.42s` below a minute, then as an uptime.
    static func cpuText(_ seconds: Double) -> String {
        guard seconds < 60 else { return uptime(seconds) }
        let hundredths = Int((seconds * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)s"
    }

    /// Bytes in binary units with one decimal: `512B`, `12.5M`, `2.0G`.
    static func bytesText(_ bytes: Int64) -> String {
        var value = Double(bytes)
        for unit in ["B", "K", "M", "G", "T"] {
            if value < 1024 || unit == "T" { return unit == "B" ? "\(bytes)B" : "\((value * 10).rounded() / 10)\(unit)" }
            value /= 1024
        }
        return "\(bytes)B"
    }

    static func exitText(_ exit: ExitStatus?) -> String {
        switch exit {
        case nil: return "-"
        case .exited(let code)?: return "code \(code)"
        case .killed(let signal)?, .dumped(let signal)?: return signal.description
        }
    }

    /// `06:00:00 succeeded 1.2s`, `06:00:00 failed (code 1) 0.3s`, `06:00:00 running`.
    static func runText(_ run: JobRun) -> String {
        let result = StatusWire.result(of: run)
        var text = localTime(run.start) + " " + result
        if result == "failed" { text += " (" + (run.error ?? exitText(run.exit)) + ")" }
        if let d = run.duration?.seconds { text += " " + (d < 10 ? "\((d * 10).rounded() / 10)s" : uptime(d)) }
        return text
    }

    /// A wall time (ns since the epoch) as this machine's local time: `06:00:00` today, else
    /// `12-03 06:00`.
    static func localTime(_ epochNanoseconds: Int64) -> String {
        var t = time_t(epochNanoseconds / 1_000_000_000)
        var local = tm(), today = tm()
        var now = time(nil)
        guard localtime_r(&t, &local) != nil, localtime_r(&now, &today) != nil else {
            return WallTime.iso8601(epochNanoseconds: epochNanoseconds)
        }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if local.tm_yday == today.tm_yday, local.tm_year == today.tm_year {
            return "\(two(local.tm_hour)):\(two(local.tm_min)):\(two(local.tm_sec))"
        }
        return "\(two(local.tm_mon + 1))-\(two(local.tm_mday)) \(two(local.tm_hour)):\(two(local.tm_min))"
    }

    /// "42s", "5m3s", "2h7m", "3d4h".
    static func uptime(_ seconds: Double) -> String {
        let s = Int(seconds)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60)s" }
        if s < 86400 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        return "\(s / 86400)d\(s % 86400 / 3600)h"
    }
}

enum ReloadReport {
    static func render(_ json: ArraySlice<UInt8>) -> String {
        guard let summary = try? JSONDecoder().decode(ReloadSummary.self, from: Data(json)) else {
            return String(decoding: json, as: UTF8.self)
        }
        return "reloaded: \(summary)"
    }

    /// `{"service","from","to","added","removed"}` of `tend scale`.
    static func renderScale(_ json: ArraySlice<UInt8>) -> String {
        let r = JSONValue(parsing: json)
        guard let service = r?["service"]?.string, let from = r?["from"]?.int, let to = r?["to"]?.int else {
            return String(decoding: json, as: UTF8.self)
        }
        if from == to { return "\(service): \(to) instance\(to == 1 ? "" : "s") already" }
        let change = to > from ? "\(to - from) added" : "\(from - to) stopped"
        return "\(service): \(from) → \(to) instances (\(change))"
    }

    /// `{"signalled":[...],"restarted":[...]}` of `tend reload NAME...`.
    static func renderServices(_ json: ArraySlice<UInt8>) -> String {
        let r = JSONValue(parsing: json)
        guard let signalled = r?["signalled"]?.array?.compactMap(\.string), let restarted = r?["restarted"]?.array?.compactMap(\.string) else {
            return String(decoding: json, as: UTF8.self)
        }
        var parts: [String] = []
        if !signalled.isEmpty { parts.append("signalled \(signalled.joined(separator: ", "))") }
        if !restarted.isEmpty { parts.append("restarted \(restarted.joined(separator: ", "))") }
        return "reloaded: " + (parts.isEmpty ? "nothing was running" : parts.joined(separator: "; "))
    }
}

enum ReexecReport {
    /// `{"pid","binary","services"}` of `tend reexec`.
    static func render(_ json: ArraySlice<UInt8>) -> String {
        let r = JSONValue(parsing: json)
        guard let pid = r?["pid"]?.int, let binary = r?["binary"]?.string, let count = r?["services"]?.int else {
            return String(decoding: json, as: UTF8.self)
        }
        return "re-executed: \(binary), pid \(pid), \(count) service\(count == 1 ? "" : "s") taken over, none restarted"
    }
}

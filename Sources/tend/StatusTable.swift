import FoundationEssentials
import Glibc
import TendControl
import TendCore

/// `tend status` for people: aligned columns, states coloured on a terminal.
enum StatusTable {
    struct Row: Decodable {
        struct Exit: Decodable {
            let code: Int?
            let signal: String?
        }
        let name: String
        let group: String?
        let state: String
        let pid: Int?
        let restarts: Int
        let uptime_s: Double?
        let last_exit: Exit?
        let status_text: String?
        struct Run: Decodable {
            let start: String
            let duration_s: Double?
            let result: String
            let exit: Exit?
            let error: String?
        }
        let schedule: String?
        let last_run: Run?
        let next_run: String?
        let health: String?
    }

    struct Result: Decodable {
        let services: [Row]
    }

    static let colours = ["running": "32", "scheduled": "34", "starting": "36", "stopping": "33", "backoff": "33", "failed": "31",
                          "exited": "2", "stopped": "2"]

    static func render(_ json: ArraySlice<UInt8>, colour: Bool) -> String {
        guard let result = try? JSONDecoder().decode(Result.self, from: Data(json)) else {
            return String(decoding: json, as: UTF8.self) + "\n"
        }
        // Columns for jobs and health checks only when some service has them.
        let jobs = result.services.contains { $0.schedule != nil }
        let health = result.services.contains { $0.health != nil }
        var header = ["NAME", "GROUP", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT"]
        if health { header.append("HEALTH") }
        if jobs { header += ["LAST RUN", "NEXT RUN"] }
        header.append("STATUS")
        let rows = result.services.map { r -> [String] in
            var row = [r.name, r.group ?? "-", r.state, r.pid.map(String.init) ?? "-", r.uptime_s.map(uptime) ?? "-",
                       String(r.restarts), exitText(r.last_exit)]
            if health { row.append(r.health ?? "-") }
            if jobs {
                row.append(r.last_run.map(runText) ?? "-")
                row.append(r.next_run.map(localTime) ?? "-")
            }
            row.append(r.status_text ?? "")
            return row
        }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String], state: String? = nil) -> String {
            var out = ""
            for (i, cell) in cells.enumerated() {
                let padded = i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
                if i == 2, colour, let state, let code = colours[state] {
                    out += "\u{1B}[\(code)m\(padded)\u{1B}[0m"
                } else {
                    out += padded
                }
            }
            return out.trimmingTrailingSpaces() + "\n"
        }
        return line(header) + rows.map { line($0, state: $0[2]) }.joined()
    }

    static func exitText(_ exit: Row.Exit?) -> String {
        exit.map { $0.code.map { "code \($0)" } ?? $0.signal ?? "-" } ?? "-"
    }

    /// `06:00:00 succeeded 1.2s`, `06:00:00 failed (code 1) 0.3s`, `06:00:00 running`.
    static func runText(_ run: Row.Run) -> String {
        var text = localTime(run.start) + " " + run.result
        if run.result == "failed" { text += " (" + (run.error ?? exitText(run.exit)) + ")" }
        if let d = run.duration_s { text += " " + (d < 10 ? "\((d * 10).rounded() / 10)s" : uptime(d)) }
        return text
    }

    /// `2026-12-02T05:00:00Z` as this machine's local time: `06:00:00` today, else `12-03 06:00`.
    static func localTime(_ iso: String) -> String {
        guard var t = epochSeconds(iso) else { return iso }
        var local = tm(), today = tm()
        var now = time(nil)
        guard localtime_r(&t, &local) != nil, localtime_r(&now, &today) != nil else { return iso }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if local.tm_yday == today.tm_yday, local.tm_year == today.tm_year {
            return "\(two(local.tm_hour)):\(two(local.tm_min)):\(two(local.tm_sec))"
        }
        return "\(two(local.tm_mon + 1))-\(two(local.tm_mday)) \(two(local.tm_hour)):\(two(local.tm_min))"
    }

    /// `2026-12-02T05:00:00.123Z` as seconds since the epoch.
    static func epochSeconds(_ iso: String) -> time_t? {
        let digits = iso.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard digits.count >= 6 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(digits[0] - 1900)
        parts.tm_mon = Int32(digits[1] - 1)
        parts.tm_mday = Int32(digits[2])
        parts.tm_hour = Int32(digits[3])
        parts.tm_min = Int32(digits[4])
        parts.tm_sec = Int32(digits[5])
        return timegm(&parts)
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
        struct Result: Decodable { let service: String; let from: Int; let to: Int }
        guard let r = try? JSONDecoder().decode(Result.self, from: Data(json)) else { return String(decoding: json, as: UTF8.self) }
        if r.from == r.to { return "\(r.service): \(r.to) instance\(r.to == 1 ? "" : "s") already" }
        let change = r.to > r.from ? "\(r.to - r.from) added" : "\(r.from - r.to) stopped"
        return "\(r.service): \(r.from) → \(r.to) instances (\(change))"
    }

    /// `{"signalled":[...],"restarted":[...]}` of `tend reload NAME...`.
    static func renderServices(_ json: ArraySlice<UInt8>) -> String {
        struct Result: Decodable { let signalled: [String]; let restarted: [String] }
        guard let result = try? JSONDecoder().decode(Result.self, from: Data(json)) else {
            return String(decoding: json, as: UTF8.self)
        }
        var parts: [String] = []
        if !result.signalled.isEmpty { parts.append("signalled \(result.signalled.joined(separator: ", "))") }
        if !result.restarted.isEmpty { parts.append("restarted \(result.restarted.joined(separator: ", "))") }
        return "reloaded: " + (parts.isEmpty ? "nothing was running" : parts.joined(separator: "; "))
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

import FoundationEssentials
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
    }

    struct Result: Decodable {
        let services: [Row]
    }

    static let colours = ["running": "32", "starting": "36", "stopping": "33", "backoff": "33", "failed": "31",
                          "exited": "2", "stopped": "2"]

    static func render(_ json: ArraySlice<UInt8>, colour: Bool) -> String {
        guard let result = try? JSONDecoder().decode(Result.self, from: Data(json)) else {
            return String(decoding: json, as: UTF8.self) + "\n"
        }
        let header = ["NAME", "GROUP", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "STATUS"]
        let rows = result.services.map { r -> [String] in
            let exit = r.last_exit.map { $0.code.map { "code \($0)" } ?? $0.signal ?? "-" } ?? "-"
            return [r.name, r.group ?? "-", r.state, r.pid.map(String.init) ?? "-", r.uptime_s.map(uptime) ?? "-",
                    String(r.restarts), exit, r.status_text ?? ""]
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
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}

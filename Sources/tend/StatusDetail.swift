import Glibc
import TendControl
import TendCore
import TendLinux

/// `tend status NAME` for one service: the daemon's detail, with its processes from /proc and,
/// when its output goes to the journal, its last 10 lines and events (journalctl).
enum StatusDetail {
    static let journalLines = 10

    /// The text or JSON to print; nil when the answer is no detail (a group, a service with
    /// instances: their rows).
    static func render(_ json: ArraySlice<UInt8>, asJSON: Bool, unit: () -> String?) -> String? {
        guard let (detail, adoptedGiven) = StatusWire.detail(json) else { return nil }
        let row = detail.status
        var processes: [(depth: Int, process: ProcessTree.Process)] = []
        if let pid = row.pid {
            processes = ProcessTree.of(pid: pid, among: ProcessTree.around(pid: pid, adopted: adoptedGiven ? detail.adopted : nil), members: detail.adopted)
        }
        let lines = detail.log == "journal" ? journal(detail, unit: unit()) : nil
        if asJSON {
            // The daemon's object, with `processes` and `journal` added at its end.
            let body = String(decoding: json, as: UTF8.self)
            guard body.hasSuffix("}]}") else { return body + "\n" }
            let list = processes.map { "{\"pid\":\($0.process.pid),\"ppid\":\($0.process.ppid),\"command\":\(JSONText.string($0.process.command))}" }
            return String(body.dropLast(3)) + ",\"processes\":[\(list.joined(separator: ","))],\"journal\":"
                + (lines.map { "[\($0.map(JSONText.string).joined(separator: ","))]" } ?? "null") + "}]}\n"
        }
        var out = row.name + (row.group.map { " (group \($0))" } ?? "") + "\n"
        func field(_ key: String, _ value: String) { out += "  " + key + String(repeating: " ", count: max(1, 12 - key.count)) + value + "\n" }
        let age = StatusTable.uptime(max(0, Double(time(nil)) - Double(detail.since) / 1e9))
        field("state", "\(row.state.rawValue) since \(StatusTable.localTime(detail.since)) (\(age))")
        field("command", detail.command)
        field("pid", row.pid.map(String.init) ?? "-")
        var readiness = detail.readiness
        if let after = detail.readyAfter?.seconds, detail.readiness != "started" { readiness += ", ready \(seconds(after)) after the start" }
        field("readiness", readiness)
        field("restarts", String(row.restarts))
        if let cgroup = row.cgroup {
            var usage = [row.tasks.map { "\($0) task" + ($0 == 1 ? "" : "s") }, row.cpu.map { StatusTable.cpuText($0.seconds) + " CPU" },
                         row.memoryBytes.map { StatusTable.bytesText($0) + " memory" }].compactMap { $0 }.joined(separator: ", ")
            if !usage.isEmpty { usage = " (" + usage + ")" }
            field("cgroup", cgroup + usage)
        }
        if !detail.limits.isEmpty { field("limits", detail.limits.joined(separator: "; ")) }
        if let text = row.statusText { field("status", text) }
        if let health = row.health { field("health", health) }
        if let schedule = row.schedule { field("schedule", schedule) }
        if let run = row.lastRun { field("last run", StatusTable.runText(run)) }
        if let next = row.nextRun { field("next run", StatusTable.localTime(next)) }
        if !processes.isEmpty {
            out += "  processes\n"
            for (depth, p) in processes {
                out += "    " + String(repeating: "   ", count: max(0, depth - 1)) + (depth > 0 ? "└─ " : "") + "\(p.pid) \(p.command)\n"
            }
        }
        if !detail.exits.isEmpty {
            out += "  last exits\n"
            for e in detail.exits {
                let how = e.error ?? StatusTable.exitText(e.status)
                out += "    \(StatusTable.localTime(e.at))  \(e.result.rawValue): \(how)" + (e.runtime.map { " after \(seconds($0.seconds))" } ?? "") + "\n"
            }
        }
        if let lines {
            out += "  log (journalctl, the last \(journalLines))\n"
            out += lines.map { "    " + $0 + "\n" }.joined()
        } else {
            field("log", detail.log == "journal" ? "the journal (not readable here)" : detail.log)
        }
        return out
    }

    static func seconds(_ s: Double) -> String { s < 10 ? "\((s * 10).rounded() / 10)s" : StatusTable.uptime(s) }

    /// Its last lines and tend's events about it, as `tend logs NAME -n 10` shows them; nil
    /// when journalctl cannot be run.
    static func journal(_ d: ServiceDetail, unit: String?) -> [String]? {
        let query = LogsQuery(lines: journalLines, output: "short-iso", pager: false)
        let argv = ["journalctl", "--quiet"] + query.arguments(identifiers: [d.identifier], services: [d.status.name], unit: unit)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let cArgv = argv.map { strdup($0) } + [nil]
        defer { cArgv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, "journalctl", &actions, nil, cArgv, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard spawned == 0 else { return nil }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[..<n]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

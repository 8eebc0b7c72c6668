import Foundation
import Testing

/// One `tend run` (or `tend check`) on a config written to a fresh directory, with its output
/// in files there. Waits poll with a deadline; `stop()` ends tend and checks that nothing it
/// started is left behind.
final class TendRun {
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["TEND_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/tend").path
    }

    let dir: String
    let process = Process()
    var configPath: String { dir + "/tend.toml" }

    /// `config` may say `$DIR` for the run's directory.
    /// `passSocket: false` leaves the control socket to the file or the defaults.
    /// `wrapper` runs tend through another command (`prlimit --nofile=64:64`).
    init(_ config: String, arguments: [String] = ["run"], environment: [String: String] = [:],
         passSocket: Bool = true, wrapper: [String] = []) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tend-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try config.replacingOccurrences(of: "$DIR", with: dir).write(toFile: configPath, atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: dir + "/stdout", contents: nil)
        FileManager.default.createFile(atPath: dir + "/stderr", contents: nil)
        process.executableURL = URL(fileURLWithPath: wrapper.first ?? TendRun.binary)
        process.arguments = (wrapper.isEmpty ? [] : Array(wrapper.dropFirst()) + [TendRun.binary])
            + arguments + ["-c", configPath] + (passSocket ? ["--socket", dir + "/control.sock"] : [])
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: dir + "/stdout")
        process.standardError = FileHandle(forWritingAtPath: dir + "/stderr")
        try process.run()
    }

    var socketPath: String { dir + "/control.sock" }

    struct ClientResult {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `tend ARGUMENTS --socket ...` against this tend and waits for it (with a deadline);
    /// `socket: nil` leaves the client to find the socket itself.
    func client(_ arguments: [String], timeout: Double = 30, environment: [String: String] = [:],
                waitForSocket: Bool = true, socket: String? = "", sourceLocation: SourceLocation = #_sourceLocation) -> ClientResult {
        let path = socket.map { $0.isEmpty ? socketPath : $0 }
        if waitForSocket, let path {
            waitFor("the control socket", sourceLocation: sourceLocation) { FileManager.default.fileExists(atPath: path) }
        }
        let client = Process()
        client.executableURL = URL(fileURLWithPath: TendRun.binary)
        client.arguments = arguments + (path.map { ["--socket", $0] } ?? [])
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        client.environment = env
        let out = dir + "/client-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: out + ".out", contents: nil)
        FileManager.default.createFile(atPath: out + ".err", contents: nil)
        client.standardInput = FileHandle.nullDevice
        client.standardOutput = FileHandle(forWritingAtPath: out + ".out")
        client.standardError = FileHandle(forWritingAtPath: out + ".err")
        do { try client.run() } catch {
            Issue.record("cannot run the client: \(error)", sourceLocation: sourceLocation)
            return ClientResult(status: -1, stdout: "", stderr: "")
        }
        waitFor("tend \(arguments.joined(separator: " ")) to finish", timeout: timeout, sourceLocation: sourceLocation) {
            !client.isRunning
        }
        if client.isRunning { client.terminate(); client.waitUntilExit() }
        return ClientResult(status: client.terminationStatus,
                            stdout: (try? String(contentsOfFile: out + ".out", encoding: .utf8)) ?? "",
                            stderr: (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "")
    }

    /// Rewrites the config (for reload tests).
    func rewrite(_ config: String) throws {
        try config.replacingOccurrences(of: "$DIR", with: dir).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var stdout: String { (try? String(contentsOfFile: dir + "/stdout", encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: dir + "/stderr", encoding: .utf8)) ?? "" }

    func file(_ name: String) -> String? { try? String(contentsOfFile: dir + "/" + name, encoding: .utf8) }

    struct EventLine: Equatable {
        let subject: String
        let kind: String
        let pid: Int32?
        let message: String
    }

    /// tend's event lines: `12:00:00.000 api: exited (pid 42): exit code 1; restarting`.
    var events: [EventLine] {
        stderr.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 12, parts[0].contains(":") else { return nil }
            let rest = parts[1]
            guard let colon = rest.range(of: ": ") else { return nil }
            let subject = String(rest[..<colon.lowerBound])
            var tail = rest[colon.upperBound...]
            let kind = String(tail.prefix { $0 != " " && $0 != ":" })
            tail = tail.dropFirst(kind.count)
            var pid: Int32?
            if tail.hasPrefix(" (pid "), let close = tail.firstIndex(of: ")") {
                pid = Int32(tail[tail.index(tail.startIndex, offsetBy: 6)..<close])
                tail = tail[tail.index(after: close)...]
            }
            let message = tail.hasPrefix(": ") ? String(tail.dropFirst(2)) : ""
            return EventLine(subject: subject, kind: kind, pid: pid, message: message)
        }
    }

    func events(_ subject: String, _ kind: String) -> [EventLine] {
        events.filter { $0.subject == subject && $0.kind == kind }
    }

    /// The message of the n-th such event, "" when there is none (a failed expectation, not a crash
    /// that would leave tend running).
    func message(_ subject: String, _ kind: String, _ index: Int = 0) -> String {
        let matching = events(subject, kind)
        return index < matching.count ? matching[index].message : ""
    }

    /// The pid of the service's latest start.
    func pid(_ service: String) -> Int32? { events(service, "started").last?.pid }

    /// Every pid tend reported starting.
    var startedPIDs: [Int32] { events.filter { $0.kind == "started" }.compactMap(\.pid) }

    /// Polls `condition` until it holds or `timeout` passes; on timeout, records what tend said.
    @discardableResult
    func waitFor(_ what: String, timeout: Double = 10, reportTimeout: Bool = true,
                 sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)  // poll interval of a wait with a deadline
        }
        if condition() { return true }
        guard reportTimeout else { return false }
        Issue.record("timed out waiting for \(what)\n--- stderr:\n\(stderr)\n--- stdout:\n\(stdout)", sourceLocation: sourceLocation)
        return false
    }

    func waitForEvent(_ subject: String, _ kind: String, count: Int = 1, timeout: Double = 10,
                      sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        waitFor("\(count) \(kind) event(s) of \(subject)", timeout: timeout, sourceLocation: sourceLocation) {
            events(subject, kind).count >= count
        }
    }

    /// tend's exit status, once it has exited (nil while it runs).
    var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    func waitForExit(timeout: Double = 20, sourceLocation: SourceLocation = #_sourceLocation) -> Int32? {
        waitFor("tend to exit", timeout: timeout, sourceLocation: sourceLocation) { !process.isRunning }
        return exitStatus
    }

    /// SIGTERM, then the exit status. Everything tend started must be gone by then.
    @discardableResult
    func stop(sourceLocation: SourceLocation = #_sourceLocation) -> Int32? {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let status = waitForExit(sourceLocation: sourceLocation)
        for pid in startedPIDs where isAlive(pid) {
            Issue.record("pid \(pid) is still alive after tend exited", sourceLocation: sourceLocation)
        }
        cleanUp()
        return status
    }

    /// Whatever happened, leave nothing behind.
    func cleanUp() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        for pid in startedPIDs where pid > 1 { kill(-pid, SIGKILL); kill(pid, SIGKILL) }
    }

    deinit {
        cleanUp()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// A process that exists and is not a zombie.
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// Exists at all, zombie or not.
func exists(_ pid: Int32) -> Bool { FileManager.default.fileExists(atPath: "/proc/\(pid)") }

/// A loopback port that was free a moment ago.
func freePort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = bind(fd, $0, len)
            _ = getsockname(fd, $0, &len)
        }
    }
    return UInt16(bigEndian: addr.sin_port)
}

import Foundation
import Testing

/// systemd 252 as PID 1 in new namespaces on an overlay of / (box.sh), with tend installed by
/// the project's own `make install`. One box per test; `deinit` kills its PID 1, and the
/// namespaces and their tmpfs go with it, and the cgroup the box lived in (box.sh stop).
final class SystemdBox {
    static let project = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let script = project + "/Tests/TendEndToEndTests/box.sh"

    /// Why no box can be made here, or nil.
    static let unavailable: String? = {
        if getuid() != 0 { return "the systemd box needs root (namespaces, mounts)" }
        if access("/lib/systemd/systemd", X_OK) != 0 { return "no /lib/systemd/systemd on this machine" }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["--pid", "--mount", "--uts", "--ipc", "--cgroup", "--fork", "/bin/true"]
        guard (try? probe.run()) != nil else { return "unshare(1) cannot run" }
        probe.waitUntilExit()
        return probe.terminationStatus == 0 ? nil : "new pid, mount, uts, ipc and cgroup namespaces cannot be made here"
    }()

    let pid: Int32
    /// The cgroup the box lives in ("-": none could be made), removed with it.
    let cgroup: String

    init(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = SystemdBox.run(["/bin/bash", SystemdBox.script, "start", SystemdBox.project], timeout: 60)
        let words = result.stdout.split(whereSeparator: \.isWhitespace)
        guard result.status == 0, words.count == 2, let pid = Int32(words[0]) else {
            Issue.record("the systemd box did not boot: \(result.stderr)", sourceLocation: sourceLocation)
            throw POSIXError(.ECHILD)
        }
        self.pid = pid
        cgroup = String(words[1])
        let install = sh("cd \(SystemdBox.project) && make install", timeout: 300)
        guard install.status == 0 else {
            Issue.record("make install failed in the box: \(install.stdout)\n\(install.stderr)", sourceLocation: sourceLocation)
            throw POSIXError(.ENOEXEC)
        }
    }

    deinit { _ = SystemdBox.run(["/bin/bash", SystemdBox.script, "stop", String(pid), cgroup], timeout: 30) }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// A bash script inside the box, bounded by `timeout` seconds.
    @discardableResult
    func sh(_ script: String, timeout: Int = 60) -> Result {
        SystemdBox.run(["/usr/bin/timeout", String(timeout), "/usr/bin/nsenter", "-t", String(pid), "-a",
                        "/bin/bash", "-c", "set -o pipefail; " + script], timeout: Double(timeout) + 10)
    }

    /// Polls `script` until it exits 0 or `timeout` passes.
    @discardableResult
    func waitFor(_ what: String, _ script: String, timeout: Double = 20,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var last = Result(status: -1, stdout: "", stderr: "")
        while Date() < deadline {
            last = sh(script, timeout: 10)
            if last.status == 0 { return true }
            usleep(100_000)  // poll interval of a wait with a deadline
        }
        let journal = sh("journalctl -u tend --no-pager -n 30").stdout
        Issue.record("timed out waiting for \(what): \(last.stdout)\(last.stderr)\n--- journal:\n\(journal)",
                     sourceLocation: sourceLocation)
        return false
    }

    /// Writes `text` to `path` inside the box.
    func write(_ path: String, _ text: String) {
        let encoded = Data(text.utf8).base64EncodedString()
        sh("mkdir -p \"$(dirname \(path))\" && echo \(encoded) | base64 -d > \(path)")
    }

    /// Runs `argv` with its output in files, waiting for its exit (not for EOF on a pipe: a
    /// process it leaves in the background keeps its fds, and Foundation's Process would wait
    /// for that one too).
    static func run(_ argv: [String], timeout: Double) -> Result {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("tend-e2e-\(UUID().uuidString)").path
        defer {
            unlink(base + ".out")
            unlink(base + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ) == 0 else {
            return Result(status: -1, stdout: "", stderr: "cannot run \(argv[0])")
        }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)  // poll interval of a wait with a deadline
        }
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitStatus,
                      stdout: (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
    }
}

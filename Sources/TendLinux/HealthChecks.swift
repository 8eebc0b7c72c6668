import CTend
import Glibc
import TendCore

/// The health checks in flight, at most one per service. An exec check runs as its service
/// does (user, environment, directory) in a session of its own, its output captured for the
/// event that reports a failure; a tcp check is a non-blocking connect. The core owns the
/// timeout: `cancel` kills the check's whole process group.
final class HealthChecks {
    struct Check {
        let service: ServiceID
        let run: Int
    }

    /// What a failing check said, as much as an event line holds.
    static let outputLimit = 400

    private final class Running {
        let check: Check
        /// -1 once closed.
        var output: Int32
        var captured: [UInt8] = []
        init(check: Check, output: Int32) { self.check = check; self.output = output }
    }

    private let loop: EventLoop
    private let spawner: Spawner
    private var processes: [pid_t: Running] = [:]
    private var processOf: [ServiceID: pid_t] = [:]
    private var sockets: [ServiceID: Int32] = [:]
    /// Reads of checks' output, one at a time (tend has one thread).
    private var buffer = [UInt8](repeating: 0, count: 4096)
    var onResult: (Check, _ passed: Bool, _ detail: String) -> Void = { _, _, _ in }

    init(loop: EventLoop, spawner: Spawner) {
        self.loop = loop
        self.spawner = spawner
    }

    func run(_ check: Check, _ probe: HealthCheck.Probe, spec: ServiceSpec) {
        cancel(check.service)
        switch probe {
        case .tcp(let endpoint):
            connect(check, to: endpoint)
        case .exec(let argv):
            var fds: [Int32] = [0, 0]
            guard tend_output_pipe(&fds) == 0 else { return onResult(check, false, "pipe2: \(String(cString: strerror(errno)))") }
            defer { close(fds[1]) }
            do {
                let pid = try spawner.spawn(spec, argv: argv, io: Spawner.IO(stdout: fds[1], stderr: fds[1]))
                let running = Running(check: check, output: fds[0])
                try loop.register(fds[0]) { [unowned self, unowned running] _ in
                    if !self.read(running) { self.closeOutput(running) }
                }
                processes[pid] = running
                processOf[check.service] = pid
            } catch {
                close(fds[0])
                onResult(check, false, "\(error)")
            }
        }
    }

    /// The reaper found `pid`: true when it was a check.
    func reaped(_ pid: pid_t, _ status: ExitStatus) -> Bool {
        guard let running = processes.removeValue(forKey: pid) else { return false }
        processOf[running.check.service] = nil
        while read(running) {}
        closeOutput(running)
        let passed = status == .exited(0)
        let said = String(decoding: running.captured, as: UTF8.self)
            .split(whereSeparator: \.isNewline).map { $0.drop(while: \.isWhitespace) }.filter { !$0.isEmpty }
            .joined(separator: " / ")
        onResult(running.check, passed, passed ? "" : "\(status)" + (said.isEmpty ? "" : ", said: \(said)"))
        return true
    }

    func cancel(_ service: ServiceID) {
        if let fd = sockets.removeValue(forKey: service) {
            loop.unregister(fd)
            close(fd)
        }
        if let pid = processOf.removeValue(forKey: service), let running = processes.removeValue(forKey: pid) {
            // Reaped later and ignored: it stays in no table.
            closeOutput(running)
            kill(-pid, SIGKILL)
        }
    }

    /// Before a reexec: the new tend runs each check again (it holds no pidfd of these).
    func cancelAll() {
        for service in Set(sockets.keys).union(processOf.keys) { cancel(service) }
    }

    private func connect(_ check: Check, to endpoint: Endpoint) {
        sockets[check.service] = startTCPConnect(to: endpoint, loop: loop) { [unowned self] error in
            self.sockets[check.service] = nil
            self.onResult(check, error == 0, error == 0 ? "" : "connect to \(endpoint): \(String(cString: strerror(error)))")
        }
    }

    /// One read of the check's output: false at end of file or error (EAGAIN included).
    private func read(_ running: Running) -> Bool {
        guard running.output >= 0 else { return false }
        let n = buffer.withUnsafeMutableBytes { Glibc.read(running.output, $0.baseAddress, $0.count) }
        guard n > 0 else { return n < 0 && errno == EINTR }
        let room = HealthChecks.outputLimit - running.captured.count
        if room > 0 { running.captured.append(contentsOf: buffer.prefix(min(room, n))) }
        return true
    }

    private func closeOutput(_ running: Running) {
        guard running.output >= 0 else { return }
        loop.unregister(running.output)
        close(running.output)
        running.output = -1
    }
}

import CTend
import Glibc
import TendCore

/// The tcp and exec readiness probes of starting services. Each attempt reports success or
/// failure once; the core decides when to try again.
final class ReadinessProbes {
    struct Attempt {
        let service: ServiceID
        let run: Int
    }

    private let loop: EventLoop
    private var sockets: [ServiceID: Int32] = [:]
    private var processes: [pid_t: Attempt] = [:]
    private var processOf: [ServiceID: pid_t] = [:]
    var onResult: (Attempt, _ ready: Bool) -> Void = { _, _ in }

    init(loop: EventLoop) { self.loop = loop }

    func connect(_ attempt: Attempt, to endpoint: Endpoint) {
        cancel(attempt.service)
        sockets[attempt.service] = startTCPConnect(to: endpoint, loop: loop) { [unowned self] error in
            self.sockets[attempt.service] = nil
            self.onResult(attempt, error == 0)
        }
    }

    /// An exec probe was spawned as `pid`.
    func watch(_ attempt: Attempt, pid: pid_t) {
        processes[pid] = attempt
        processOf[attempt.service] = pid
    }

    /// The reaper found `pid`: true when it was a probe.
    func reaped(_ pid: pid_t, _ status: ExitStatus) -> Bool {
        guard let attempt = processes.removeValue(forKey: pid) else { return false }
        processOf[attempt.service] = nil
        onResult(attempt, status == .exited(0))
        return true
    }

    func cancel(_ service: ServiceID) {
        closeSocket(service)
        if let pid = processOf.removeValue(forKey: service) {
            // Still reaped later (and ignored): it stays in no table.
            processes[pid] = nil
            kill(-pid, SIGKILL)
        }
    }

    /// Before a reexec: the new tend probes again (it holds no pidfd of these).
    func cancelAll() {
        for service in Set(sockets.keys).union(processOf.keys) { cancel(service) }
    }

    private func closeSocket(_ service: ServiceID) {
        guard let fd = sockets.removeValue(forKey: service) else { return }
        loop.unregister(fd)
        close(fd)
    }
}

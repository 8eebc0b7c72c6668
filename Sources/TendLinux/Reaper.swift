import CTend
import Glibc
import TendCore

/// Every child tend starts is held by its pidfd until it is reaped: its end is a readable
/// pidfd in the loop (one-shot, so a child waiting its turn is not reported again), and it is
/// waited for by that pidfd, in O(1), whatever signal it ended with. A child is seen first and
/// reaped last (`WNOWAIT`), so what tend sends while it decides (the kill of what the child
/// left in its process group) goes out while the zombie still holds the pid and the group's
/// id: no signal of tend's can reach a process that took a recycled pid. Orphans tend adopts
/// as child subreaper have no pidfd: they end with SIGCHLD, and a scan collects them.
final class Reaper {
    struct Exit {
        let pid: pid_t
        let status: ExitStatus
    }

    private let loop: EventLoop
    /// Children tend started and has not reaped yet: pid -> pidfd.
    private var pidfds: [pid_t: Int32] = [:]
    /// Children whose pidfd reported their end, not yet reaped, in the order they ended.
    private var ended: [pid_t] = []
    /// A SIGCHLD came: an orphan may have ended, so tend's children are looked through.
    var orphansMayHaveEnded = false
    /// Ended children whose reaping waits for `release` (their cgroup is not empty yet): still
    /// zombies, so that their pid is not reused before their end is reported.
    private var held: [pid_t] = []
    /// The scan for orphans met a held zombie (waitid would report it first every time): it
    /// goes on once that one is released.
    private var scanWaits = false

    var hasWork: Bool { !ended.isEmpty || orphansMayHaveEnded }
    /// Whether `pid` is a child tend started and has not reaped.
    func holds(_ pid: pid_t) -> Bool { pidfds[pid] != nil }

    init(loop: EventLoop) { self.loop = loop }

    /// Takes the pidfd of a child just started.
    func watch(_ pid: pid_t, pidfd: Int32) {
        pidfds[pid] = pidfd
        do {
            try loop.register(pidfd, events: TEND_EPOLLIN | TEND_EPOLLONESHOT) { [unowned self] _ in self.ended.append(pid) }
        } catch {
            // epoll has no room (ENOMEM): the child's SIGCHLD still sets off a scan that finds it.
        }
    }

    /// Sends `signal` to `pid` (to its process group: `group`) if tend still holds it, alive or a
    /// zombie not yet reaped: through its pidfd, or to the group whose id the held pid keeps.
    func signal(_ pid: pid_t, _ signal: Int32, group: Bool) {
        guard let pidfd = pidfds[pid] else { return }
        if group {
            kill(-pid, signal)
        } else {
            _ = tend_signal_pidfd(pidfd, signal)
        }
    }

    /// Reaps up to `budget` ended children, each handed to `handle` while it is still a
    /// zombie; returns how many. Those reported by their pidfd come first, then the orphans.
    /// `handle` returns false to keep the zombie until `release`.
    func reap(budget: Int, _ handle: (Exit) -> Bool) -> Int {
        var reaped = 0
        var taken = 0
        while reaped < budget, taken < ended.count {
            let pid = ended[taken]
            taken += 1
            if reapHeld(pid, handle) { reaped += 1 }
        }
        ended.removeFirst(taken)
        while reaped < budget, orphansMayHaveEnded {
            var pid: pid_t = 0, kind: Int32 = 0, code: Int32 = 0
            guard tend_peek_any_exited(&pid, &kind, &code) == 1 else {
                orphansMayHaveEnded = false
                break
            }
            if held.contains(pid) {
                orphansMayHaveEnded = false
                scanWaits = true
                break
            }
            reaped += 1
            // One of tend's own whose pidfd event has not been taken yet: the same path.
            if pidfds[pid] != nil {
                _ = reapHeld(pid, handle)
            } else {
                tend_reap_pid(pid)
            }
        }
        return reaped
    }

    /// Reaps `pid`, one of tend's own, if it has ended (it may have been reaped by a scan, or
    /// the pid may be a newer child's that has not ended).
    private func reapHeld(_ pid: pid_t, _ handle: (Exit) -> Bool) -> Bool {
        guard let pidfd = pidfds[pid], !held.contains(pid) else { return false }
        var kind: Int32 = 0, code: Int32 = 0
        guard tend_peek_pidfd(pidfd, &kind, &code) == 1 else { return false }
        let status: ExitStatus
        switch kind {
        case 1: status = .killed(Signal(number: code))
        case 2: status = .dumped(Signal(number: code))
        default: status = .exited(code)
        }
        if handle(Exit(pid: pid, status: status)) {
            finish(pid, pidfd)
        } else {
            held.append(pid)
        }
        return true
    }

    /// Reaps a child `handle` kept.
    func release(_ pid: pid_t) {
        guard let index = held.firstIndex(of: pid), let pidfd = pidfds[pid] else { return }
        held.remove(at: index)
        finish(pid, pidfd)
        if scanWaits {
            scanWaits = false
            orphansMayHaveEnded = true
        }
    }

    /// A child handed to the next tend by `tend reexec`: its pidfd survives the exec.
    struct Handed: Codable {
        let pid: pid_t
        let pidfd: Int32
    }

    /// No end waits to be reported (a zombie held until its cgroup empties): a reexec now
    /// would lose it. Ends seen but not reaped are no such thing: their pidfds stay readable.
    var holdsZombies: Bool { !held.isEmpty }

    /// The children `keep` names; the pidfds of the rest (probes, checks) close at the exec,
    /// and the next tend reaps those as orphans.
    func handOver(_ keep: (pid_t) -> Bool) -> [Handed] {
        pidfds.filter { keep($0.key) }.map { Handed(pid: $0.key, pidfd: $0.value) }
    }

    /// In the new process: the children the old one held, watched again. Those that ended
    /// during the exec have a readable pidfd, and SIGCHLD may have come before the signalfd
    /// existed: everything is looked at once.
    func adopt(_ children: [Handed]) {
        for child in children { watch(child.pid, pidfd: child.pidfd) }
        orphansMayHaveEnded = true
    }

    private func finish(_ pid: pid_t, _ pidfd: Int32) {
        pidfds[pid] = nil
        // Closing the pidfd takes it out of epoll: no EPOLL_CTL_DEL needed.
        loop.forget(pidfd)
        tend_reap_pidfd(pidfd)
    }
}

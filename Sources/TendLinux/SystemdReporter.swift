import CTend
import Glibc
import TendCore

/// sd_notify to the service manager that runs tend (SPEC section 4), from the event loop:
/// READY=1 once the tree is up, STATUS= on change (at most four a second), WATCHDOG=1 every
/// half of WATCHDOG_USEC, RELOADING=1 and READY=1 around a reload, STOPPING=1, and
/// EXTEND_TIMEOUT_USEC= while a long start or stop still makes progress. Every one of these is
/// a deadline of the loop's one timer, armed only when due: without a watchdog, an idle tend
/// makes no system call for systemd.
final class SystemdReporter {
    private let socket: DatagramQueue
    private let watchdogInterval: Duration?
    private var nextWatchdog: Instant?
    private var readySent = false
    private var stopping = false
    private var statusGeneration = -1
    private var lastStatus: String?
    private var lastStatusAt: Instant?
    private var statusDue: Instant?
    private var extendGeneration = -1
    private var nextExtend: Instant?

    /// STATUS= at most this often: a crash storm changes state thousands of times a second.
    static let statusInterval = Duration.milliseconds(250)
    /// How often a start or stop that takes long is looked at for progress.
    static let extendInterval = Duration.seconds(5)

    init(address: String, watchdogInterval: Duration?, loop: EventLoop, now: Instant) {
        socket = DatagramQueue(address: address, loop: loop, limit: 256 * 1024)
        self.watchdogInterval = watchdogInterval
        nextWatchdog = watchdogInterval.map { now + $0 }
        nextExtend = now + SystemdReporter.extendInterval
    }

    func send(_ message: String) {
        socket.send(Array(message.utf8))
    }

    /// After each turn of the loop: READY=1 once, STATUS= when the states changed.
    func update(_ supervisor: Supervisor, now: Instant) {
        let generation = supervisor.stateGeneration
        if !readySent, !stopping, generation != statusGeneration, supervisor.isStartupSettled {
            readySent = true
            nextExtend = nil
            // STATUS= with READY=1: `systemctl status` shows the tree as it came up.
            lastStatus = supervisor.summary
            lastStatusAt = now
            statusGeneration = generation
            send("READY=1\nSTATUS=\(lastStatus!)")
            return
        }
        guard generation != statusGeneration else { return }
        if let last = lastStatusAt, now < last + SystemdReporter.statusInterval {
            statusDue = last + SystemdReporter.statusInterval
            return
        }
        sendStatus(supervisor, now: now)
    }

    private func sendStatus(_ supervisor: Supervisor, now: Instant) {
        statusDue = nil
        statusGeneration = supervisor.stateGeneration
        lastStatusAt = now
        let text = supervisor.summary
        guard text != lastStatus else { return }
        lastStatus = text
        send("STATUS=\(text)")
    }

    var nextDeadline: Instant? {
        [nextWatchdog, statusDue, nextExtend].compactMap { $0 }.min()
    }

    func deadlinesPassed(_ supervisor: Supervisor, now: Instant) {
        if let due = nextWatchdog, due <= now, let interval = watchdogInterval {
            send("WATCHDOG=1")
            nextWatchdog = now + interval
        }
        if let due = statusDue, due <= now { sendStatus(supervisor, now: now) }
        if let due = nextExtend, due <= now {
            nextExtend = now + SystemdReporter.extendInterval
            // Progress since the last look: give the slowest start or stop now under way its
            // whole timeout again, and the next look's interval on top.
            let generation = supervisor.stateGeneration
            if generation != extendGeneration {
                extendGeneration = generation
                let span = (supervisor.longestPendingTimeout ?? .zero) + SystemdReporter.extendInterval * 2
                send("EXTEND_TIMEOUT_USEC=\(span.nanoseconds / 1000)")
            }
        }
    }

    /// A reload begins: systemd shows the unit `reloading` until READY=1.
    func reloading() {
        send("RELOADING=1\nMONOTONIC_USEC=\(tend_monotonic_ns() / 1000)")
    }

    func reloaded() {
        send("READY=1")
    }

    /// What the next tend needs after `tend reexec`: whether READY=1 or STOPPING=1 went out.
    struct Handed: Codable {
        let readySent: Bool
        let stopping: Bool
        /// What the socket had not taken yet (RELOADING=1, the last of them).
        var queue: DatagramQueue.Handed?
    }

    var handed: Handed { Handed(readySent: readySent, stopping: stopping, queue: socket.handed) }

    /// `tend reexec` of a tree that was up: systemd shows the unit `reloading` until the new
    /// tend's READY=1 (`reexecEnded`), or the old one's if the exec failed.
    func reexecBegins() {
        if readySent, !stopping { reloading() }
    }

    /// `reloadPending`: a reload under way says READY=1 once it is applied, not before.
    func reexecEnded(reloadPending: Bool) {
        if readySent, !stopping, !reloadPending { reloaded() }
    }

    /// In the new tend: READY=1 is not sent twice for the start, nor STOPPING=1.
    func adopt(_ handed: Handed) {
        readySent = handed.readySent
        stopping = handed.stopping
        if readySent, !stopping { nextExtend = nil }
        if let queue = handed.queue { socket.adopt(queue) }
    }

    /// The tree is being stopped: systemd shows the unit `deactivating`. Stops take their
    /// timeouts; EXTEND_TIMEOUT_USEC= keeps systemd waiting while they make progress.
    func stoppingBegan(now: Instant) {
        guard !stopping else { return }
        stopping = true
        send("STOPPING=1")
        nextExtend = now + SystemdReporter.extendInterval
    }
}

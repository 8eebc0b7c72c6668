import CTend
import Glibc
import TendControl
import TendCore

/// `tend reexec [--binary PATH]` (SPEC section 9): tend executes a binary in place, with the
/// same pid, and the new one takes the tree over. First a child runs the binary in check mode
/// on a copy of the state; only if it says it takes it over, and once nothing is half done at
/// the edge (actions queued, a zombie held while its cgroup empties, a run waiting for its
/// user), is the binary executed. Until then, and if anything fails, the tree runs on as it was.
extension Daemon {
    struct PendingReexec {
        let connection: ControlServer.Connection
        let binary: String
        let deadline: Instant
        /// The binary as it was checked: executed only if it is the same file, unchanged.
        let identity: BinaryIdentity
        /// The check under way: its pid and the memfd of its output; nil once it passed.
        var check: (pid: pid_t, output: Int32)?
    }

    struct BinaryIdentity: Equatable {
        let device: UInt64, inode: UInt64, size: Int64
        let modified: (Int, Int), changed: (Int, Int)
        let isFile: Bool

        init?(_ path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            (device, inode, size) = (UInt64(st.st_dev), UInt64(st.st_ino), Int64(st.st_size))
            modified = (st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
            changed = (st.st_ctim.tv_sec, st.st_ctim.tv_nsec)
            isFile = st.st_mode & S_IFMT == S_IFREG
        }

        static func == (a: Self, b: Self) -> Bool {
            (a.device, a.inode, a.size) == (b.device, b.inode, b.size) && a.modified == b.modified && a.changed == b.changed
        }
    }

    /// What they asked for goes on in the core: asking again would do it twice.
    static let retryMessage = "tend is re-executing itself: what was asked goes on there (`tend status` shows it)"

    /// tend's binary as installed now: argv[0] when it is a path from the root (a symlink that
    /// an upgrade points elsewhere is followed), else what /proc/self/exe names (a file that
    /// an upgrade replaced: its path holds the new one).
    static func ownExecutable(_ arguments: [String]) -> String? {
        if let first = arguments.first, first.hasPrefix("/") { return first }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A binary replaced since tend started: its path holds the new one.
        return path.hasSuffix(" (deleted)") ? String(path.dropLast(" (deleted)".count)) : path
    }

    func beginReexec(_ binary: String?, timeout: Duration, _ connection: ControlServer.Connection) {
        guard reexec == nil else { return refuseReexec(connection, "one is under way already", tendGoesOn: false) }
        guard !arguments.isEmpty else {
            return refuseReexec(connection, "tend was not started with its arguments known: it cannot start itself again")
        }
        guard let path = binary ?? Daemon.ownExecutable(arguments) else {
            return refuseReexec(connection, "tend does not know which binary it runs from: name one with --binary")
        }
        guard path.hasPrefix("/") else { return refuseReexec(connection, "\(path): not an absolute path") }
        guard let identity = BinaryIdentity(path), access(path, X_OK) == 0 else {
            return refuseReexec(connection, "\(path): \(String(cString: strerror(errno)))")
        }
        guard identity.isFile else { return refuseReexec(connection, "\(path): not a file") }
        do {
            let state = try handover(asker: nil, binary: path).written()
            defer { close(state) }
            // A file, not a pipe: a check that says much never waits for tend to read it.
            let output = try check("memfd_create") { tend_memfd("tend-reexec-check") }
            var io = Spawner.IO(stdout: output, stderr: output)
            io.passed = [(state, "state")]
            io.extraEnvironment = [Handover.fdVariable: "3", Handover.checkVariable: "1"]
            let argv = [path] + arguments.dropFirst()
            let pid: pid_t
            do {
                pid = try spawner.spawn(ServiceSpec(name: "reexec-check", command: .argv(argv)), argv: argv, io: io)
            } catch {
                close(output)
                throw error
            }
            reexec = PendingReexec(connection: connection, binary: path, deadline: clock.now + timeout, identity: identity,
                                   check: (pid, output))
        } catch {
            refuseReexec(connection, "\(error)")
        }
    }

    /// The old tend goes on; the client and the log say why.
    func refuseReexec(_ connection: ControlServer.Connection, _ why: String, tendGoesOn: Bool = true) {
        let message = tendGoesOn ? "\(why); tend goes on as it was" : why
        events.log(Event(kind: .reexecFailed, subject: "", message: message))
        control?.respond(connection, ControlResponse.error("reexec: " + message))
    }

    /// The check child ended: its verdict is its exit status and the line it printed.
    func reexecCheckEnded(_ exit: Reaper.Exit) -> Bool {
        guard let pending = reexec, let check = pending.check, check.pid == exit.pid else { return false }
        let output = CgroupFiles.readAll(check.output) ?? []
        close(check.output)
        reexec?.check = nil
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        if exit.status == .exited(0), lines.contains(where: { $0.hasPrefix(Handover.acceptance) }) { return true }
        reexec = nil
        let said = lines.last { !$0.isEmpty }.map { ": \($0)" } ?? " (it printed nothing: is it a tend?)"
        refuseReexec(pending.connection, "\(pending.binary) cannot take this tend's state over: its check ended with \(exit.status)\(said)")
        return true
    }

    /// A check under way is killed (reaped later, and ignored: `reexec` no longer names it).
    @discardableResult
    private func endCheck(of pending: PendingReexec) -> Bool {
        guard let check = pending.check else { return false }
        close(check.output)
        reaper.signal(check.pid, SIGKILL, group: false)
        return true
    }

    func reexecDeadlinePassed(now: Instant) {
        guard let pending = reexec, pending.deadline <= now else { return }
        reexec = nil
        if endCheck(of: pending) {
            return refuseReexec(pending.connection, "\(pending.binary) did not finish its check within the timeout")
        }
        refuseReexec(pending.connection, "tend stayed busy (starts queued, or a stop waiting for its cgroup to empty) for the whole timeout")
    }

    /// After each turn of the loop: executes the checked binary once nothing is half done.
    func reexecIfQuiet() {
        guard let pending = reexec else { return }
        // A tree that is stopping is not handed over: the new tend would have no SIGTERM to
        // end it with (one came already).
        if supervisor.isShuttingDown {
            reexec = nil
            endCheck(of: pending)
            return refuseReexec(pending.connection, "tend is shutting down", tendGoesOn: false)
        }
        guard pending.check == nil else { return }
        if pending.connection.closed {
            reexec = nil
            return events.log(Event(kind: .reexecFailed, subject: "", message: "reexec: the client that asked went away; tend goes on as it was"))
        }
        let more = supervisor.takeActions()
        guard more.isEmpty else { return queuedActions.insert(contentsOf: more.reversed(), at: 0) }
        guard queuedActions.isEmpty, !reaper.holdsZombies, cgroups?.isWaiting != true, waitingForIdentity.isEmpty else { return }
        reexec = nil
        execute(pending)
    }

    private func execute(_ pending: PendingReexec) {
        let asker = pending.connection
        guard BinaryIdentity(pending.binary) == pending.identity else {
            return refuseReexec(asker, "\(pending.binary) changed since its check (replaced or written to): ask again once it is in place")
        }
        for waiting in pendingActions.map(\.connection) + pendingReloads.map(\.connection) where waiting !== asker {
            control?.respond(waiting, ControlResponse.error(Daemon.retryMessage))
        }
        pendingActions = []
        pendingReloads = []
        control?.letOthersGo(asker)
        // Their processes are not handed over (no pidfd): the new tend asks for each again.
        healthChecks.cancelAll()
        probes.cancelAll()
        // Before the state is taken: what the sockets and the console do not take now is in it.
        systemd?.reexecBegins()
        events.flush()
        console.flush()
        let handover = handover(asker: asker, binary: pending.binary)
        let state: Int32
        do { state = try handover.written() } catch {
            restoreAfterFailedExec()
            return refuseReexec(asker, "\(error)")
        }
        let kept = handover.fds + [state]
        for fd in kept { tend_set_cloexec(fd, 0) }
        var variables = serviceManagerVariables
        variables[Handover.fdVariable] = String(state)
        for (name, value) in variables { setenv(name, value, 1) }
        let argv = CStringArray(arguments)
        execv(pending.binary, argv.pointer)
        // Still here: nothing was given up; the tree runs on.
        let error = errno
        for name in variables.keys { unsetenv(name) }
        for fd in kept { tend_set_cloexec(fd, 1) }
        close(state)
        restoreAfterFailedExec()
        refuseReexec(asker, "execve \(pending.binary): \(String(cString: strerror(error)))")
    }

    /// The exec did not happen: systemd is told the tree is up again, and the checks and
    /// probes cancelled for it are asked for again.
    private func restoreAfterFailedExec() {
        systemd?.reexecEnded(reloadPending: supervisor.isReloading)
        supervisor.resumeAfterRestore()
    }

    /// The whole state of this tend, for the next (`asker`: the connection it answers).
    func handover(asker: ControlServer.Connection?, binary: String) -> Handover {
        Handover(core: supervisor.state, children: reaper.handOver { supervisor.service(forPID: $0) != nil },
                 pipes: outputs.handed, notify: notifySocket.handed, control: control?.handed(asker: asker),
                 listen: listenSockets.handed, fdStore: fdStore.handed, cgroups: cgroups?.handed,
                 cgroupsUnavailable: cgroupsUnavailable, cgroupsSetting: cgroupsSetting, systemd: systemd?.handed,
                 console: console.handed, journal: events.handed, metrics: metrics?.handed, reloadsApplied: reloadsApplied,
                 logsDropped: events.droppedTotal, journalMode: journalMode, noFileSoft: UInt64(spawner.originalNoFile.rlim_cur),
                 noFileHard: UInt64(spawner.originalNoFile.rlim_max), binary: binary, inherited: inherited)
    }

    /// In the new tend, before the loop: what the old one was doing at the edge is asked for
    /// again, on-connection services are watched again, and the client is answered.
    func resumeAfterReexec(asker: Int32?, binary: String) {
        supervisor.resumeAfterRestore()
        for id in supervisor.serviceIDs where supervisor.awaitsConnection(id) { watchConnections(id) }
        if cgroupsLostInReexec, let reason = cgroupsUnavailable {
            events.log(Event(kind: .cgroups, subject: "", message:
                "the services' cgroups could not be taken over (\(reason)): from now on a process that leaves its service's "
                + "process group is not stopped with it, and tasks and CPU time are not shown"))
        }
        let count = supervisor.servicesInTreeOrder.count
        events.log(Event(kind: .reexec, subject: "", pid: getpid(), message:
            "tend re-executed itself from \(binary) (pid \(getpid())) and took over \(count) service\(count == 1 ? "" : "s"), none restarted"))
        if let asker, let control, let connection = control.adoptAsker(asker) {
            control.respond(connection, ControlResponse.ok("{\"pid\":\(getpid()),\"binary\":\(JSONText.string(binary)),\"services\":\(count)}"))
        }
        systemd?.reexecEnded(reloadPending: supervisor.isReloading)
    }
}

import CTend
import Glibc
import TendControl
import TendCore

/// `tend run`: one thread, one epoll loop over a signalfd, a timerfd, the notify socket and
/// the children's output pipes. With nothing happening it sleeps in epoll_wait and makes no
/// system call. It performs what the core decides and feeds it what the kernel reports.
public final class Daemon {
    let supervisor: Supervisor
    let clock = SystemClock()
    let loop: EventLoop
    let console: ConsoleLog
    /// Child output and tend's events go to the journal (SPEC section 5), else to the console.
    let journalMode: Bool
    let events: EventSink
    /// sd_notify to the service manager that runs tend; nil without NOTIFY_SOCKET.
    let systemd: SystemdReporter?
    let spawner: Spawner
    let notifySocket: NotifySocket
    let probes: ReadinessProbes
    let listenSockets: ListenSockets
    let fdStore = FDStore()
    let healthChecks: HealthChecks
    let lookups: AccountLookups
    /// Runs held until their user and group are looked up.
    var waitingForIdentity: [AccountLookups.Key: [(id: ServiceID, run: Int)]] = [:]
    let signalFD: Int32
    let timerFD: Int32
    var armedDeadline: Instant?
    let outputs: OutputRouter
    var exitCode: Int32?
    var control: ControlServer?
    let reloadConfig: (() throws -> TreeSpec)?
    var pendingActions: [PendingAction] = []
    /// `tend reload` and `tend scale` waiting for theirs to be applied, with their timeout.
    var pendingReloads: [(connection: ControlServer.Connection, timeout: Duration)] = []
    let reaper: Reaper
    private var signalNumbers = [Int32](repeating: 0, count: 64)
    private var signalPIDs = [pid_t](repeating: 0, count: 64)
    /// Actions the core asked for that wait for the next turn of the loop, the next one last.
    var queuedActions: [Action] = []
    /// RLIMIT_NOFILE's hard limit (tend's soft limit is raised to it).
    let descriptorLimit: Int
    /// A cgroup per service (SPEC section 8); nil: `cgroups = "off"`, or none can be made here,
    /// for the reason in `cgroupsUnavailable`.
    let cgroups: ServiceCgroups?
    let cgroupsUnavailable: String?
    /// `[supervisor] cgroups` as tend started with it: a reload does not change it.
    let cgroupsSetting: Bool
    /// The first tend's cgroups could not be taken over: said once the new tend runs.
    var cgroupsLostInReexec = false
    /// `GET /metrics` (SPEC section 10), with the counts only tend's edge keeps.
    var metrics: MetricsServer?
    var reloadsApplied = 0
    /// Services with limits told once that they run without (no cgroups).
    var limitsWithoutCgroups: Set<String> = []
    /// `tend reexec`: the arguments tend was started with, and what systemd had put in its
    /// environment.
    let arguments: [String]
    let serviceManagerVariables: [String: String]
    /// fds tend's parent gave the first tend: open in every tend after it too.
    let inherited: [Int32]
    var reexec: PendingReexec?
    /// This tend was executed by `tend reexec`: the connection that asked, and the binary.
    var restored: (asker: Int32?, binary: String)?

    public struct Options {
        /// The control socket's path; nil: no control socket.
        public var controlSocket: String?
        /// A group name or gid whose members may use the control socket (mode 0660).
        public var controlGroup: String?
        /// Reads the file again, for `tend reload` and SIGHUP.
        public var reload: (() throws -> TreeSpec)?
        /// What systemd handed tend (`ServiceManagerEnvironment.take()`).
        public var serviceManager: ServiceManagerEnvironment
        /// true: the journal, false: the console, nil: as SPEC section 5 decides.
        public var journal: Bool?
        /// `[supervisor] cgroups`: "auto" (true) or "off".
        public var cgroups: Bool
        /// argv of `tend run`, which `tend reexec` executes again; empty: no reexec.
        public var arguments: [String]
        /// What `prepareProcess()` returned: fds tend's parent gave it, kept open across reexec.
        public var inherited: [Int32]

        public init(controlSocket: String? = nil, controlGroup: String? = nil, reload: (() throws -> TreeSpec)? = nil,
                    serviceManager: ServiceManagerEnvironment = ServiceManagerEnvironment(), journal: Bool? = nil,
                    cgroups: Bool = true, arguments: [String] = [], inherited: [Int32] = []) {
            self.controlSocket = controlSocket
            self.controlGroup = controlGroup
            self.reload = reload
            self.serviceManager = serviceManager
            self.journal = journal
            self.cgroups = cgroups
            self.arguments = arguments
            self.inherited = inherited
        }
    }

    /// Call `Daemon.prepareProcess()` first, at the very start of main. With `handover`, the
    /// tree as the tend that executed this one ran it (`tend reexec`) is taken over instead.
    public init(tree: TreeSpec, options: Options = Options(), handover: Handover? = nil) throws {
        var noFile = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &noFile)
        if let handover { noFile = rlimit(rlim_cur: rlim_t(handover.noFileSoft), rlim_max: rlim_t(handover.noFileHard)) }
        var raised = noFile
        raised.rlim_cur = noFile.rlim_max
        // Every service holds a pipe: 10,000 services need more than the usual 1024.
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised)
        descriptorLimit = Int(clamping: noFile.rlim_max)  // RLIM_INFINITY is UInt.max: Int.max

        let devNull = try check("open /dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
        loop = try EventLoop()
        reaper = Reaper(loop: loop)
        spawner = Spawner(base: BaseEnvironment.current(), devNull: devNull, originalNoFile: noFile, reaper: reaper)
        console = ConsoleLog(loop: loop)
        journalMode = handover?.journalMode ?? options.journal ?? options.serviceManager.journalPresent
        events = EventSink(journalMode: journalMode, console: console, loop: loop)
        let (now, loop) = (clock.now, loop)
        systemd = options.serviceManager.notifySocket.map {
            SystemdReporter(address: $0, watchdogInterval: options.serviceManager.watchdogInterval, loop: loop, now: now)
        }
        signalFD = try check("signalfd") { tend_signalfd() }
        timerFD = try check("timerfd_create") { tend_timerfd() }
        notifySocket = try handover.map { NotifySocket(handed: $0.notify) } ?? NotifySocket()
        outputs = OutputRouter(loop: loop, console: console, events: events, devNull: devNull, notifyAddress: notifySocket.address)
        probes = ReadinessProbes(loop: loop)
        listenSockets = ListenSockets(loop: loop)
        fdStore.isListenSocket = { [unowned listenSockets] in listenSockets.holds($0) }
        healthChecks = HealthChecks(loop: loop, spawner: spawner)
        lookups = AccountLookups(loop: loop, spawner: spawner, clock: clock)
        spawner.identity = { [unowned lookups] in lookups.lastFound($0) }
        if let handover {
            supervisor = try Supervisor(restoring: handover.core, clock: clock, random: SystemRandom())
            listenSockets.adopt(handover.listen)
            fdStore.adopt(handover.fdStore)
            systemd?.adopt(handover.systemd ?? SystemdReporter.Handed(readySent: false, stopping: false))
            console.adopt(handover.console)
            events.adopt(handover.journal)
            events.droppedTotal = handover.logsDropped
            restored = (handover.control?.asker, handover.binary)
        } else {
            supervisor = Supervisor(tree: tree, clock: clock, random: SystemRandom())
        }
        reloadConfig = options.reload
        arguments = options.arguments
        serviceManagerVariables = options.serviceManager.variables
        inherited = handover?.inherited ?? options.inherited
        if tend_set_child_subreaper() != 0 { throw SystemError("prctl(PR_SET_CHILD_SUBREAPER)") }
        cgroupsSetting = handover?.cgroupsSetting ?? options.cgroups
        if let handover {
            // The layout the first tend made, as it is: nothing made, moved or swept.
            do {
                (cgroups, cgroupsUnavailable) = try (handover.cgroups.map { try ServiceCgroups(loop: loop, handed: $0) }, handover.cgroupsUnavailable)
            } catch {
                (cgroups, cgroupsUnavailable) = (nil, "\(error)")
                cgroupsLostInReexec = true
            }
        } else if options.cgroups {
            (cgroups, cgroupsUnavailable) = Daemon.makeCgroups(loop: loop)
        } else {
            (cgroups, cgroupsUnavailable) = (nil, "cgroups = \"off\" in [supervisor]")
        }
        // What fails from here (a control socket taken by another tend) leaves no cgroup behind.
        do {
            for id in supervisor.serviceIDs { console.register(supervisor.spec(of: id).identifier) }

            try loop.register(signalFD) { [unowned self] _ in self.handleSignals() }
            try loop.register(timerFD) { [unowned self] _ in
                tend_timerfd_drain(self.timerFD)
                self.armedDeadline = nil
                self.supervisor.deadlinesPassed()
                self.control?.handleDeadlines(now: self.clock.now)
                self.metrics?.handleDeadlines(now: self.clock.now)
                self.lookups.handleDeadlines(now: self.clock.now)
                self.systemd?.deadlinesPassed(self.supervisor, now: self.clock.now)
                self.cgroups?.deadlinesPassed(now: self.clock.now)
                self.reexecDeadlinePassed(now: self.clock.now)
            }
            // Cron jobs are armed on the monotonic clock at their wall time's distance: a setting of
            // the clock, or a resume (the monotonic clock stood still), re-plans them.
            let clockSet = tend_clock_set_watch()
            if clockSet >= 0 {
                try loop.register(clockSet) { [unowned self] _ in
                    let set = tend_clock_was_set(clockSet)
                    if set != 0 { self.supervisor.wallClockChanged() }
                    if set < 0 {
                        self.loop.unregister(clockSet)
                        close(clockSet)
                    }
                }
            }
            try loop.register(notifySocket.fd) { [unowned self] _ in self.receiveNotifications() }
            if let handover {
                try outputs.adopt(handover.pipes)
                reaper.adopt(handover.children)
            }
            if let path = options.controlSocket, let handed = handover?.control {
                control = try ControlServer(handed: handed, path: path, loop: loop, clock: clock)
            } else if let path = options.controlSocket {
                var gid: gid_t?
                if let group = options.controlGroup {
                    do {
                        guard let found = try Accounts.group(group) else {
                            throw ControlServer.SetupError(description: "control_group \"\(group)\": no such group")
                        }
                        gid = found
                    } catch let failure as Accounts.Failure {
                        throw ControlServer.SetupError(description: "control_group \"\(group)\": \(failure)")
                    }
                }
                control = try ControlServer(path: path, controlGroup: gid, loop: loop, clock: clock)
            }
            control?.onRequest = { [unowned self] request, connection in self.handle(request, from: connection) }
            if let handover {
                // As the first tend served them (a reload that changed `metrics` waits for a
                // start: nothing is bound after the exec, where a failure could not go back).
                metrics = try handover.metrics.map { try MetricsServer(handed: $0, loop: loop, clock: clock) }
                reloadsApplied = handover.reloadsApplied
            } else if let address = tree.metrics {
                metrics = try MetricsServer(address: address, loop: loop, clock: clock)
            }
            metrics?.render = { [unowned self] openMetrics in self.metricsPage(openMetrics: openMetrics) }
        } catch {
            cgroups?.tearDown()
            throw error
        }
        healthChecks.onResult = { [unowned self] check, passed, detail in
            self.supervisor.healthCheckFinished(check.service, run: check.run, passed: passed, detail: detail)
        }
        // The held runs go next, each checked again (the service may have been stopped meanwhile).
        lookups.onAnswer = { [unowned self] key in
            for held in self.waitingForIdentity.removeValue(forKey: key) ?? [] {
                self.queuedActions.append(.spawn(held.id, run: held.run))
            }
        }
        probes.onResult = { [unowned self] attempt, ready in
            if ready {
                self.supervisor.readinessSucceeded(attempt.service, run: attempt.run)
            } else {
                self.supervisor.readinessProbeFailed(attempt.service, run: attempt.run)
            }
        }
    }

    /// Blocks the signals tend reads from its signalfd. Must run before any thread exists, so
    /// that no thread is left to receive them the old way.
    /// Returns the fds tend inherited (from 3 up), which `tend reexec` keeps open.
    @discardableResult
    public static func prepareProcess() -> [Int32] {
        tend_block_signals()
        // Executed by `tend reexec`: every fd here is one tend keeps (2,000 at 1,000 services)
        // and those its first parent gave it are in the handover: no scan.
        var inherited: [Int32] = []
        if getenv(Handover.fdVariable) != nil {
            tend_cloexec_all()
        } else {
            inherited = [Int32](repeating: -1, count: 1024)
            inherited.removeSubrange(Int(tend_cloexec_inherited(&inherited, Int32(inherited.count)))...)
        }
        // fds 0-2 open, so that nothing tend opens lands on them and is handed to a child as stdio.
        while true {
            let fd = open("/dev/null", O_RDWR)
            if fd > 2 || fd < 0 {
                if fd > 2 { close(fd) }
                break
            }
        }
        _ = tend_spawn_reserve_slots()
        return inherited
    }

    /// Runs until the tree is stopped; returns `tend run`'s exit status.
    public func run() throws -> Int32 {
        if let restored {
            resumeAfterReexec(asker: restored.asker, binary: restored.binary)
        } else {
            if let reason = cgroupsUnavailable {
                events.log(Event(kind: .cgroups, subject: "", message:
                    "services run without a cgroup of their own (\(reason)): a process that leaves its service's process group "
                    + "is not stopped with it, and tasks and CPU time are not shown"))
            }
            checkDescriptorLimit()
            supervisor.start()
        }
        performActions()
        while exitCode == nil {
            // With children still to reap or actions still queued, only peek at the other fds:
            // a control request gets its turn between batches.
            try loop.runOnce(timeoutMilliseconds: reaper.hasWork || !queuedActions.isEmpty || control?.hasReady == true ? 0 : -1)
            if reaper.hasWork { reapChildren() }
            control?.takeReady()
            performActions()
            if reexec != nil { reexecIfQuiet() }
        }
        console.flush()
        events.flush()
        control?.shutdown()
        metrics?.shutdown()
        lookups.cancelAll()
        cgroups?.tearDown()
        listenSockets.closeAll()
        return exitCode ?? 0
    }

    /// Performs what the core asked for, up to `spawnsPerTurn` spawns: the rest waits for the
    /// next turn of the loop, so that signals and control requests are seen during a long
    /// bring-up. Then answers settled requests, writes the console and arms the timer.
    func performActions() {
        var spawns = 0
        while spawns < Daemon.spawnsPerTurn {
            if queuedActions.isEmpty {
                queuedActions = supervisor.takeActions()
                queuedActions.reverse()
                if queuedActions.isEmpty { break }
            }
            let action = queuedActions.removeLast()
            if case .spawn = action { spawns += 1 }
            perform(action)
        }
        // What the last actions led the core to ask for waits behind what is already queued.
        queuedActions.insert(contentsOf: supervisor.takeActions().reversed(), at: 0)
        answerSettledActions()
        systemd?.update(supervisor, now: clock.now)
        events.reportDrops()
        console.flush()
        let next = [supervisor.nextDeadline, control?.nextDeadline, pendingActions.map(\.wait.deadline).min(),
                    systemd?.nextDeadline, lookups.nextDeadline, cgroups?.nextDeadline, reexec?.deadline,
                    metrics?.nextDeadline].compactMap { $0 }.min()
        if next != armedDeadline {
            tend_timerfd_set(timerFD, next.map { Swift.max($0.nanoseconds, 1) } ?? 0)
            armedDeadline = next
        }
    }

    static let spawnsPerTurn = 64

    func perform(_ action: Action) {
        switch action {
        case .spawn(let id, let run):
            spawn(id, run: run)
        case .signal(let pid, let signal, let group):
            // Queued behind spawns, a signal may find its process reaped and the pid free for
            // another: only a child tend still holds (alive, or a zombie not yet reaped) is hit.
            if group, let cgroups, reaper.holds(pid), let id = supervisor.service(forPID: pid) {
                // Every process of the service, in whatever process group or session.
                let spec = supervisor.spec(of: id)
                let done = signal == .kill ? cgroups.killAll(spec.name) : cgroups.signalAll(spec.name, signal.number)
                if !done { reaper.signal(pid, signal.number, group: true) }
                // A main process already ended waits for the rest: that wait ends by stop_timeout from now.
                if signal == .kill { cgroups.giveUp(spec.name, at: clock.now + spec.stopTimeout) }
            } else {
                reaper.signal(pid, signal.number, group: group)
            }
        case .probeReadiness(let id, let run, let readiness):
            probe(id, run: run, readiness)
        case .cancelReadinessProbe(let id):
            probes.cancel(id)
        case .runHealthCheck(let id, let run, let probe):
            healthChecks.run(HealthChecks.Check(service: id, run: run), probe, spec: supervisor.spec(of: id))
        case .cancelHealthCheck(let id):
            healthChecks.cancel(id)
        case .event(let event):
            events.log(event)
        case .exit(let code):
            exitCode = code
        case .reloaded(let summary):
            reloaded(summary)
        case .notifyManager(.stopping):
            systemd?.stoppingBegan(now: clock.now)
        case .notifyManager(.reloading):
            systemd?.reloading()
        case .watchConnections(let id):
            watchConnections(id)
        case .releaseStoredFDs(let id):
            fdStore.release(id)
        }
    }

    func spawn(_ id: ServiceID, run: Int) {
        guard supervisor.isSpawnPending(id, run: run) else { return }
        let spec = supervisor.spec(of: id)
        var owner: (uid: uid_t, gid: gid_t)?
        if spec.user != nil || spec.group != nil {
            let key = AccountLookups.Key(spec)
            switch lookups.forRun(key) {
            case .pending: return waitingForIdentity[key, default: []].append((id, run))
            case .failure(let message): return supervisor.spawnFailed(id, run: run, error: message)
            case .identity(let found): owner = (found.uid, found.gid)
            }
        }
        listenSockets.unwatch(id)
        do {
            var io = try outputs.io(for: id, spec, journal: journalMode && spec.log == .journal)
            defer { if let fd = io.closeAfterSpawn { close(fd) } }
            if !spec.listen.isEmpty {
                do { io.passed = try listenSockets.fds(for: spec, owner: owner) } catch { throw Spawner.Failure(description: error.description) }
            }
            io.passed += fdStore.fds(of: id)
            fdStore.runStarted(id)
            if let cgroups {
                do {
                    let (fd, notApplied) = try cgroups.directoryForRun(of: spec.name, limits: spec.cgroupLimits)
                    io.cgroup = fd
                    for message in notApplied { limitNotApplied(spec, message) }
                } catch {
                    throw Spawner.Failure(description: "\(error)")
                }
            } else if !spec.cgroupLimits.isEmpty, limitsWithoutCgroups.insert(spec.name).inserted {
                limitNotApplied(spec, "\(CgroupLimitFiles.settings(spec.cgroupLimits).map { "\($0.key) \($0.shown)" }.joined(separator: ", ")) "
                                + "not applied: no cgroups (\(cgroupsUnavailable ?? ""))")
            }
            defer { if io.cgroup >= 0 { close(io.cgroup) } }
            let pid: pid_t
            do {
                pid = try spawner.spawn(spec, argv: spec.command.argv, io: io)
                outputs.spawned(with: io)
            } catch {
                guard error.journalRefused else { throw error }
                outputs.journalRefused(error, spec)
                var fallback = try outputs.io(for: id, spec, journal: false)
                fallback.cgroup = io.cgroup
                fallback.passed = io.passed
                defer { if let fd = fallback.closeAfterSpawn { close(fd) } }
                pid = try spawner.spawn(spec, argv: spec.command.argv, io: fallback)
            }
            supervisor.spawned(id, run: run, pid: pid)
        } catch {
            supervisor.spawnFailed(id, run: run, error: "\(error)")
        }
    }

    /// A `start = "on-connection"` service is down: its first connection starts it. Sockets
    /// that cannot be opened are told (a spawn-failed event); `tend start` tries them again.
    func watchConnections(_ id: ServiceID) {
        guard supervisor.awaitsConnection(id) else { return listenSockets.unwatch(id) }
        let spec = supervisor.spec(of: id)
        let owner = spec.user == nil && spec.group == nil ? nil : lookups.lastFound(AccountLookups.Key(spec)).map { (uid: $0.uid, gid: $0.gid) }
        do {
            try listenSockets.watch(id, spec, owner: owner) { [unowned self] in self.supervisor.connectionArrived(id) }
        } catch {
            serviceEvent(.spawnFailed, spec, "\(error); it is not watched for connections until tend start \(spec.name)")
        }
    }

    /// fds tend keeps for itself beside the services' pipes (epoll, signalfd, timerfd, the notify
    /// and control sockets, spawn slots) and room for some control connections, probes and
    /// health checks in flight.
    static let ownDescriptors = 64

    /// Says at once, at start and after a reload, when the tree cannot fit under RLIMIT_NOFILE,
    /// rather than letting the services past the limit fail their starts one by one: each
    /// running child is held by a pidfd, and each service with console output has a pipe.
    func checkDescriptorLimit() {
        let active = supervisor.serviceIDs.filter { supervisor.isActive($0) }
        let pipes = active.filter { supervisor.spec(of: $0).log == .journal && !journalMode }.count
        // Listen sockets once per address (copies share theirs), stored fds up to each store's size.
        let sockets = Set(active.flatMap { supervisor.spec(of: $0).listen.map(\.address) }).count
        let stored = active.reduce(0) { $0 + supervisor.spec(of: $1).fdstoreMax }
        // With metrics, each cgroup's cpu.stat is held open, and scrapers hold connections.
        let scraped = metrics == nil ? 0 : (cgroups != nil ? active.count : 0) + MetricsServer.maxConnections + 1
        let needed = active.count + pipes + sockets + stored + scraped + Daemon.ownDescriptors
        guard needed > descriptorLimit else { return }
        events.log(Event(kind: .fdLimit, subject: "", message:
            "\(active.count) services, \(pipes) of them writing to tend's console through a pipe, \(sockets) listen sockets, "
            + "fd stores of up to \(stored)\(scraped > 0 ? ", metrics (a cpu.stat each)" : ""): about \(needed) file descriptors are needed "
            + "(a pidfd per running child, a pipe per such service, each socket and stored fd), but RLIMIT_NOFILE's hard limit "
            + "is \(descriptorLimit); services past it will fail to start. "
            + "Raise LimitNOFILE= in the unit (or ulimit -Hn where tend is started)"))
    }

    func probe(_ id: ServiceID, run: Int, _ readiness: Readiness) {
        let attempt = ReadinessProbes.Attempt(service: id, run: run)
        switch readiness {
        case .tcp(let endpoint):
            probes.connect(attempt, to: endpoint)
        case .exec(let argv):
            let spec = supervisor.spec(of: id)
            do {
                let pid = try spawner.spawn(spec, argv: argv, io: Spawner.IO(stdout: spawner.devNull, stderr: spawner.devNull))
                probes.watch(attempt, pid: pid)
            } catch {
                probes.onResult(attempt, false)
            }
        case .started, .notify, .exited:
            break
        }
    }

    func handleSignals() {
        while true {
            let count = Int(tend_signalfd_read(signalFD, &signalNumbers, &signalPIDs, 64))
            if count <= 0 { break }
            for i in 0..<count {
                switch signalNumbers[i] {
                case SIGCHLD: reaper.orphansMayHaveEnded = true
                case SIGTERM, SIGINT:
                    supervisor.shutdown()
                    for (connection, _) in pendingReloads { control?.respond(connection, ControlResponse.error("tend is shutting down")) }
                    pendingReloads = []
                case SIGHUP:
                    _ = startReload()
                default: break
                }
            }
        }
        if reaper.hasWork { reapChildren() }
    }

    /// Reaps up to `reapBatch` ended children (each may restart one), so that the loop stays
    /// responsive, and tells whoever started each while it is still a zombie.
    func reapChildren() {
        _ = reaper.reap(budget: Daemon.reapBatch) { exit in
            if probes.reaped(exit.pid, exit.status) || healthChecks.reaped(exit.pid, exit.status)
                || lookups.reaped(exit.pid, exit.status) || reexecCheckEnded(exit) { return true }
            if let cgroups, let id = supervisor.service(forPID: exit.pid) {
                // What the main process left is killed, and the run has ended once its cgroup is
                // empty: a restart never runs beside it, and a stop ends with all of it gone.
                let spec = supervisor.spec(of: id), name = spec.name
                if spec.killMode == .group, cgroups.isPopulated(name) {
                    // A stop that signalled all of them leaves the rest their stop_timeout, when
                    // the core's SIGKILL comes (see perform: the wait then ends stop_timeout
                    // after it at the latest). Else they are killed now (none but the main
                    // process left: its exit is still being counted).
                    var giveUpAt = clock.now + spec.stopTimeout
                    switch cgroups.stopSent(name) {
                    case .signal: giveUpAt = giveUpAt + spec.stopTimeout
                    case .kill: break
                    case .none:
                        if cgroups.processes(name)?.allSatisfy({ $0 == exit.pid }) != true, !cgroups.killAll(name) {
                            reaper.signal(exit.pid, SIGKILL, group: true)
                        }
                    }
                    let waits = cgroups.whenEmpty(name, giveUpAt: giveUpAt) { [unowned self] left in
                        if left > 0 { self.processesLeft(spec, left) }
                        _ = self.supervisor.processExited(pid: exit.pid, status: exit.status, oomKilled: self.cgroups?.oomKilled(name) ?? false)
                        self.reaper.release(exit.pid)
                    }
                    if waits { return false }
                }
                _ = supervisor.processExited(pid: exit.pid, status: exit.status, oomKilled: cgroups.oomKilled(name))
                return true
            }
            if case .mainProcess(killGroup: true) = supervisor.processExited(pid: exit.pid, status: exit.status) {
                reaper.signal(exit.pid, SIGKILL, group: true)
            }
            return true
        }
    }

    /// Processes of the service's last run that did not die within stop_timeout of SIGKILL
    /// (in uninterruptible sleep): its end is reported without them, and says so.
    func processesLeft(_ spec: ServiceSpec, _ count: Int) {
        serviceEvent(.processesLeft, spec, "\(count) process\(count == 1 ? "" : "es") of its last run still in its cgroup \(spec.stopTimeout.humanReadable) after SIGKILL; the run is over without them, and its next start fails (spawn-failed) until they are gone")
    }

    /// A limit the kernel cannot apply: the service runs without it, and says so.
    func limitNotApplied(_ spec: ServiceSpec, _ message: String) { serviceEvent(.limitNotApplied, spec, message) }

    /// An event of the edge's about a service, with its group as the core's events have it.
    func serviceEvent(_ kind: Event.Kind, _ spec: ServiceSpec, _ message: String) {
        let group = supervisor.service(named: spec.name).flatMap { supervisor.status(of: $0).group }
        events.log(Event(kind: kind, subject: spec.name, group: group, message: message))
    }

    /// The cgroup layout of SPEC section 8, or why there is none.
    static func makeCgroups(loop: EventLoop) -> (ServiceCgroups?, String?) {
        func text(_ path: String) -> String { (try? Spawner.readSmallFile(path, limit: 1 << 20).get()) ?? "" }
        do {
            return (try ServiceCgroups(loop: loop, mountinfo: text("/proc/self/mountinfo"), ownCgroup: text("/proc/self/cgroup")), nil)
        } catch {
            return (nil, error.description)
        }
    }

    static let reapBatch = 32

    func receiveNotifications() {
        notifySocket.receiveAll { sender, message, fds in
            // The main process, or any process still in the session the main process leads.
            let session = getsid(sender)
            guard let id = supervisor.service(forPID: sender) ?? (session > 0 ? supervisor.service(forPID: session) : nil)
            else { for fd in fds { FDStore.close(fd) }; return }
            if !fds.isEmpty || message.contains("FDSTOREREMOVE=1") {
                let spec = supervisor.spec(of: id)
                if let refused = fdStore.receive(id, max: spec.fdstoreMax, message: message, fds: fds) {
                    serviceEvent(.fdStore, spec, refused)
                }
            }
            supervisor.notify(id, message: message)
        }
    }
}

import CTend
import Glibc
import TendCore

/// A cgroup v2 directory per service (SPEC section 8): with C tend's cgroup, tend in
/// C/supervisor and service NAME in C/services/NAME; below C/tend.PID when C is the root.
/// Every process a service makes stays in its cgroup, whatever session or process group it
/// moves to, so a stop reaches all of them and "gone" means "the cgroup is empty".
final class ServiceCgroups {
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    /// The directory tend works in: its own cgroup, or the tend.PID it made below the root.
    let base: String
    /// `base` as /proc/PID/cgroup names it (from the hierarchy's root).
    private let basePath: String
    /// The root of the hierarchy, when `base` is a tend.PID tend made there.
    private let madeBelow: String?
    private let loop: EventLoop
    /// base/services, open: each service's files are opened relative to it ("NAME/cgroup.events").
    private let servicesDir: Int32
    /// What tend knows of each cgroup it has made (at the service's first start).
    struct Made: Codable {
        /// Through cgroup.kill: made again before the next run. Linux 6.18 (at least) kills
        /// every child that clone3 puts into such a cgroup with CLONE_INTO_CGROUP, at once
        /// (its kill count no longer matches the forking task's).
        var killed = false
        /// What went to every process of the current run: nothing yet, a stop signal, SIGKILL.
        var stopSent = StopSent.none
        /// The limits in its files (nil: none written yet), and those of them not applied, with why.
        var written: CgroupLimits?
        var notApplied: [String: String] = [:]
        /// The limits whose failures were told (once per value, whatever remakes came since).
        var told: CgroupLimits?
        /// memory.events' oom_kill when the last run ended.
        var oomKills: UInt64 = 0
    }
    private var made: [String: Made] = [:]
    enum StopSent: String, Codable { case none, signal, kill }
    /// Services whose end waits for their cgroup to empty: its cgroup.events (watched), what
    /// then (with how many processes were left, when the wait was given up), and when to give up.
    private var emptyWatches: [String: (fd: Int32, then: (_ left: Int) -> Void, giveUpAt: Instant?)] = [:]
    /// The controllers enabled for the services' cgroups: those of cpu, io, memory and pids
    /// that tend's cgroup has (its cgroup.controllers), enabled in base and in services.
    private(set) var enabled: Set<String> = []

    /// Finds the v2 hierarchy and tend's cgroup in it, makes the layout, moves tend into
    /// `supervisor` and removes the empty cgroups an earlier tend left (a tend.PID whose tend is
    /// gone, service cgroups no process is in). Throws, with what it made removed and tend back
    /// where it was, where that cannot be.
    init(loop: EventLoop, mountinfo: String, ownCgroup: String) throws(Unavailable) {
        guard let mount = CgroupLocation.hierarchy(mountinfo: mountinfo) else {
            throw Unavailable(description: "no cgroup v2 hierarchy is mounted")
        }
        guard let own = CgroupLocation.own(procSelfCgroup: ownCgroup) else {
            throw Unavailable(description: "tend's cgroup v2 path is not in /proc/self/cgroup")
        }
        let pid = getpid()
        // Below a tend.PID of its own when C is the root, or holds other processes (a shell's
        // session scope, where a second tend could start): C is tend's alone only as a unit's
        // cgroup with Delegate=yes.
        func holdsOthers(_ dir: String, unreadable: Bool) -> Bool {
            CgroupFiles.read(AT_FDCWD, dir + "/cgroup.procs").map { CgroupFiles.pids(in: $0).contains { $0 != pid } } ?? unreadable
        }
        // ... or a tend already works there (in C/supervisor): a second one started in C nests.
        let nested = own == "/" || holdsOthers(mount + own, unreadable: true) || holdsOthers(mount + own + "/supervisor", unreadable: false)
        let parent = own == "/" ? mount : mount + own
        let base = nested ? parent + "/tend.\(pid)" : parent
        if nested { ServiceCgroups.sweepEarlierTends(in: parent, except: pid) }
        // tend first, at once: a directory with a process in it is never swept by another tend.
        let made = (nested ? [base] : []) + [base + "/supervisor", base + "/services"]
        var failure: String?
        for dir in made where failure == nil {
            if mkdir(dir, 0o755) != 0, errno != EEXIST {
                failure = "mkdir \(dir): \(String(cString: strerror(errno)))"
            } else if dir.hasSuffix("/supervisor") {
                let error = CgroupFiles.write(AT_FDCWD, dir + "/cgroup.procs", "\(pid)")
                if error != 0 { failure = "moving tend into \(dir): \(String(cString: strerror(error)))" }
            }
        }
        let services = failure == nil ? open(base + "/services", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1
        if failure == nil, services < 0 { failure = "open \(base)/services: \(String(cString: strerror(errno)))" }
        if let failure {
            CgroupFiles.write(AT_FDCWD, mount + own + "/cgroup.procs", "\(pid)")
            ServiceCgroups.removeEmpty(made)
            throw Unavailable(description: failure)
        }
        self.base = base
        basePath = nested ? (own == "/" ? "" : own) + "/tend.\(pid)" : own
        madeBelow = nested ? parent : nil
        self.loop = loop
        servicesDir = services
        ServiceCgroups.sweepServices(servicesDir)
        enabled = ServiceCgroups.enableControllers(in: base)
    }

    /// What `tend reexec` hands over: the layout as made (the same tend.PID: the pid does not
    /// change), and what is known of each service's cgroup.
    struct Handed: Codable {
        let base: String
        let basePath: String
        let madeBelow: String?
        let enabled: [String]
        let made: [String: Made]
    }

    var handed: Handed {
        Handed(base: base, basePath: basePath, madeBelow: madeBelow, enabled: enabled.sorted(), made: made)
    }

    /// A service's end waits for its cgroup to empty: a reexec now would lose that wait.
    var isWaiting: Bool { !emptyWatches.isEmpty }

    /// In the new process: nothing is made, moved or swept (tend is where it was).
    init(loop: EventLoop, handed: Handed) throws(Unavailable) {
        base = handed.base
        basePath = handed.basePath
        madeBelow = handed.madeBelow
        self.loop = loop
        servicesDir = open(base + "/services", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard servicesDir >= 0 else { throw Unavailable(description: "open \(base)/services: \(String(cString: strerror(errno)))") }
        enabled = Set(handed.enabled)
        made = handed.made
    }

    /// For a test: a tree of directories standing for a cgroup (its files made by the test).
    init(loop: EventLoop, testBase base: String) {
        self.base = base
        basePath = base
        madeBelow = nil
        self.loop = loop
        servicesDir = open(base + "/services", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        enabled = ServiceCgroups.enableControllers(in: base)
    }

    /// Enables, on the way down (base, then services), each controller a limit needs that
    /// tend's cgroup has. Only below tend's own cgroup: the host's controllers are not touched.
    private static func enableControllers(in base: String) -> Set<String> {
        let fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        let offered = Set((CgroupFiles.read(fd, "cgroup.controllers") ?? []).split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") }
            .map { String(decoding: $0, as: UTF8.self) })
        var enabled: Set<String> = []
        for controller in ["cpu", "io", "memory", "pids"] where offered.contains(controller) {
            if CgroupFiles.write(fd, "cgroup.subtree_control", "+" + controller) == 0,
               CgroupFiles.write(fd, "services/cgroup.subtree_control", "+" + controller) == 0 {
                enabled.insert(controller)
            }
        }
        return enabled
    }

    /// The directory of service `name`'s cgroup.
    func path(of name: String) -> String { base + "/services/" + name }

    /// Service `name`'s directory for a run about to start (made at its first), open for
    /// clone3: the caller closes it once the child is there. Not kept open: 10,000 services
    /// would hold 10,000 more fds.
    func directoryForRun(of name: String, limits: CgroupLimits) throws(Unavailable) -> (fd: Int32, notApplied: [String]) {
        // Once killed, it would kill the run at birth; it is empty by now (the last run ended
        // once it was), and made again, its limits written into the new one.
        if made[name]?.killed == true { try remake(name, why: "a kill") }
        if made[name] == nil { try make(name) }
        var fd = try openDirectory(name)
        // Controllers the last run enabled for cgroups of its own (a nested supervisor, a
        // container runtime) would refuse the next run (EBUSY): made again.
        if hasControllersForChildren(fd) {
            close(fd)
            try remake(name, why: "the controllers its last run enabled in it")
            fd = try openDirectory(name)
        }
        made[name]?.stopSent = .none
        return (fd, made[name]?.written == limits ? [] : write(limits, to: name))
    }

    /// cpu.stat of each service's cgroup, once a scrape asked (`addMetricsUsage`).
    private var cpuStatFiles: [String: Int32] = [:]

    private func make(_ name: String) throws(Unavailable) {
        if mkdirat(servicesDir, name, 0o755) != 0, errno != EEXIST {
            throw Unavailable(description: "mkdir \(path(of: name)): \(String(cString: strerror(errno)))")
        }
        var record = made[name] ?? Made()
        if enabled.contains("memory") {
            // The OOM killer takes the whole service, not one of its processes.
            CgroupFiles.write(servicesDir, name + "/memory.oom.group", "1")
            // A cgroup an earlier tend left may have counted kills already.
            record.oomKills = read(name, "memory.events", made: true).flatMap { CgroupFiles.value(of: "oom_kill", in: $0) } ?? 0
        }
        made[name] = record
    }

    /// rmdir (child cgroups first) and mkdir: what tend was told of its limits stays.
    private func remake(_ name: String, why: String) throws(Unavailable) {
        forgetCPUStat(name)
        let error = CgroupFiles.removeTree(servicesDir, name)
        guard error == 0 || error == ENOENT else {
            throw Unavailable(description: "remaking \(path(of: name)) after \(why): rmdir: \(String(cString: strerror(error)))")
        }
        made[name]?.killed = false
        made[name]?.written = nil
        try make(name)
    }

    private func openDirectory(_ name: String) throws(Unavailable) -> Int32 {
        let fd = openat(servicesDir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { return fd }
        var error = errno
        // Removed from outside since its last run: made again, once.
        if error == ENOENT {
            try make(name)
            made[name]?.written = nil
            let again = openat(servicesDir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if again >= 0 { return again }
            error = errno
        }
        if error == ENOTDIR {
            throw Unavailable(description: "\(path(of: name)) is one of the cgroup's own files, not a directory: a service cannot have that name")
        }
        throw Unavailable(description: "open \(path(of: name)): \(String(cString: strerror(error)))")
    }

    /// Whether controllers are enabled for the cgroup's children (only where tend has some to
    /// give: no read otherwise). Child cgroups alone do not refuse processes.
    private func hasControllersForChildren(_ fd: Int32) -> Bool {
        guard !enabled.isEmpty, let control = CgroupFiles.read(fd, "cgroup.subtree_control") else { return false }
        return control.contains { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: " ") }
    }

    /// What a stop has sent to every process of the current run (see `StopSent`).
    func stopSent(_ name: String) -> StopSent { made[name]?.stopSent ?? .none }

    /// Writes the limits that changed (and resets those taken away); returns each limit not
    /// applied, saying why.
    private func write(_ limits: CgroupLimits, to name: String) -> [String] {
        let new = CgroupLimitFiles.settings(limits)
        let old = CgroupLimitFiles.settings(made[name]?.written ?? CgroupLimits())
        for gone in old where !new.contains(where: { $0.file == gone.file }) && enabled.contains(gone.controller) {
            CgroupFiles.write(servicesDir, name + "/" + gone.file, CgroupLimitFiles.unlimited[gone.file] ?? "max")
        }
        var failed: [String: String] = [:]
        var messages: [String] = []
        let tell = made[name]?.told != limits
        for setting in new {
            let why: String
            if !enabled.contains(setting.controller) {
                why = "the \(setting.controller) controller is not available to tend's cgroup \(basePath) (not in its cgroup.controllers)"
            } else {
                let error = CgroupFiles.write(servicesDir, name + "/" + setting.file, setting.value)
                guard error != 0 else { continue }
                why = "writing \(setting.file): \(String(cString: strerror(error)))"
            }
            failed[setting.key] = why
            if tell { messages.append("\(setting.key) \(setting.shown) not applied: \(why)") }
        }
        made[name]?.written = limits
        made[name]?.told = limits
        made[name]?.notApplied = failed
        return messages
    }

    /// The service's limits for `tend status NAME`, each with "not enforced" and why where so.
    func limitLines(of name: String, _ limits: CgroupLimits) -> [String] {
        CgroupLimitFiles.settings(limits).map { setting in
            guard let cgroup = made[name], cgroup.written == limits else { return "\(setting.key) \(setting.shown) (written at its next start)" }
            return cgroup.notApplied[setting.key].map { "\(setting.key) \(setting.shown) (not enforced: \($0))" }
                ?? "\(setting.key) \(setting.shown)"
        }
    }

    /// One of service `name`'s files; nil before its first start (`made`: it is being made).
    private func read(_ name: String, _ file: String, made isMade: Bool = false) -> [UInt8]? {
        made[name] == nil && !isMade ? nil : CgroupFiles.read(servicesDir, name + "/" + file)
    }

    /// A status row's cgroup fields: the path for every service, the rest once it has run.
    func addUsage(to row: inout ServiceStatus) {
        row.cgroup = basePath + "/services/" + row.name
        guard made[row.name] != nil else { return }
        row.tasks = tasks(row.name)
        // Since the cgroup was made (the service's first start, or a remake after a kill): a
        // count per run would read cpu.stat as each run ends, 50 us of the kernel's stats flush.
        if let usage = cpuMicroseconds(row.name) { row.cpu = .microseconds(Int64(clamping: usage)) }
        row.memoryBytes = memoryBytes(row.name)
    }

    /// Whether a process is left in the cgroup (a zombie counts as gone).
    func isPopulated(_ name: String) -> Bool {
        guard let events = read(name, "cgroup.events") else { return false }
        return CgroupFiles.value(of: "populated", in: events) == 1
    }

    /// `signal` to every process in the cgroup; false when its processes cannot be read (no
    /// fd left): the caller signals the process group instead.
    func signalAll(_ name: String, _ signal: Int32) -> Bool {
        guard var pids = processes(name) else { return false }
        var signalled: [pid_t] = []
        // Again while new ones appear: a fork between the read and the kills.
        if made[name]?.stopSent == StopSent.none { made[name]?.stopSent = .signal }
        for _ in 0..<4 where !pids.isEmpty {
            for pid in pids { kill(pid, signal) }
            signalled += pids
            pids = (processes(name) ?? []).filter { !signalled.contains($0) }
        }
        return true
    }

    /// SIGKILL to every process in the cgroup, in one write to cgroup.kill (Linux 5.14); before
    /// that, to each pid in cgroup.procs, again while new ones appear (a fork between the read
    /// and the kill). False when neither could be done (no fd left).
    func killAll(_ name: String) -> Bool {
        guard made[name] != nil else { return false }
        made[name]?.stopSent = .kill
        if CgroupFiles.write(servicesDir, name + "/cgroup.kill", "1") == 0 {
            made[name]?.killed = true
            return true
        }
        var killed: [pid_t] = []
        for _ in 0..<16 {
            guard let pids = processes(name) else { return !killed.isEmpty }
            let fresh = pids.filter { !killed.contains($0) }
            if fresh.isEmpty { return true }
            for pid in fresh { kill(pid, SIGKILL) }
            killed += fresh
        }
        return true
    }

    /// Calls `then(0)` once no process is left in the cgroup: cgroup.events, watched in epoll
    /// (the kernel flags a change of the file with EPOLLPRI), read again at each change; or
    /// `then(left)` at `giveUpAt` (see `giveUp`), when processes that cannot die (in
    /// uninterruptible sleep) would hold the service's end for ever. Returns false, and never
    /// calls `then`, when it is empty already or cannot be watched: the caller goes on at once.
    func whenEmpty(_ name: String, giveUpAt: Instant, _ then: @escaping (_ left: Int) -> Void) -> Bool {
        guard made[name] != nil else { return false }
        let fd = openat(servicesDir, name + "/cgroup.events", O_RDONLY | O_CLOEXEC)
        // Read once before watching: a change after this read is reported by epoll at once.
        guard fd >= 0, CgroupFiles.value(of: "populated", at: fd) == 1 else {
            if fd >= 0 { close(fd) }
            return false
        }
        do {
            try loop.register(fd, events: TEND_EPOLLPRI) { [unowned self] _ in self.eventsChanged(name) }
        } catch {
            close(fd)
            return false
        }
        emptyWatches[name] = (fd, then, giveUpAt)
        return true
    }

    /// The wait for `name`'s cgroup to empty ends by `at` at the latest (set once SIGKILL went).
    func giveUp(_ name: String, at deadline: Instant) {
        guard let watch = emptyWatches[name], watch.giveUpAt.map({ $0 > deadline }) ?? true else { return }
        emptyWatches[name]?.giveUpAt = deadline
    }

    /// The soonest a wait is given up.
    var nextDeadline: Instant? { emptyWatches.isEmpty ? nil : emptyWatches.values.compactMap(\.giveUpAt).min() }

    /// Gives up the waits due by `now`.
    func deadlinesPassed(now: Instant) {
        for (name, watch) in emptyWatches where watch.giveUpAt.map({ $0 <= now }) == true {
            endWatch(name, left: processes(name)?.count ?? 0)
        }
    }

    private func eventsChanged(_ name: String) {
        guard let watch = emptyWatches[name] else { return }
        if CgroupFiles.value(of: "populated", at: watch.fd) == 1 { return }
        endWatch(name, left: 0)
    }

    private func endWatch(_ name: String, left: Int) {
        guard let watch = emptyWatches.removeValue(forKey: name) else { return }
        // The next run is not started beside what is left: its remake fails while they are there.
        if left > 0 { made[name]?.killed = true }
        loop.unregister(watch.fd)
        close(watch.fd)
        watch.then(left)
    }

    /// Whether the OOM killer killed in the cgroup since the last run's end (memory.events'
    /// oom_kill grew; the kernel counts a kill before it sends the SIGKILL). Read as a run
    /// ends, only with the memory controller: no read otherwise.
    func oomKilled(_ name: String) -> Bool {
        guard enabled.contains("memory"), let events = read(name, "memory.events"),
              let kills = CgroupFiles.value(of: "oom_kill", in: events), let last = made[name]?.oomKills else { return false }
        made[name]?.oomKills = kills
        return kills > last
    }

    /// The processes in the cgroup and in those below it now; nil when it cannot be read.
    func processes(_ name: String) -> [pid_t]? {
        made[name] == nil ? nil : CgroupFiles.processes(servicesDir, name)
    }

    /// How many processes are in the cgroup now (not in cgroups a service made below it: a
    /// status row stays two reads).
    func tasks(_ name: String) -> Int? {
        guard let procs = read(name, "cgroup.procs") else { return nil }
        return CgroupFiles.processCount(in: procs)
    }

    /// A scrape's cgroup fields: CPU time and memory, not the processes (cgroup.procs). cpu.stat
    /// is held open once a scrape asked for it: a scrape of 1,000 services reads each with one
    /// pread (3 ms here), against 9.4 ms to open, read and close each (a C loop, same machine).
    func addMetricsUsage(to row: inout ServiceStatus) {
        var fd = cpuStatFiles[row.name] ?? -1
        if fd < 0 {
            guard made[row.name] != nil else { return }
            fd = openat(servicesDir, row.name + "/cpu.stat", O_RDONLY | O_CLOEXEC)
            if fd >= 0 { cpuStatFiles[row.name] = fd }
        }
        if fd >= 0, let usage = CgroupFiles.value(of: "usage_usec", at: fd) {
            row.cpu = .microseconds(Int64(clamping: usage))
        } else {
            forgetCPUStat(row.name)  // a cgroup made again since (ENODEV): opened anew next time
        }
        row.memoryBytes = memoryBytes(row.name)
    }

    /// memory.current, where the memory controller is there.
    private func memoryBytes(_ name: String) -> Int64? {
        guard enabled.contains("memory"), let current = read(name, "memory.current") else { return nil }
        return Int64(String(decoding: current.filter { $0 != UInt8(ascii: "\n") }, as: UTF8.self))
    }

    /// The held cpu.stat of a cgroup that goes (removed, or remade).
    private func forgetCPUStat(_ name: String) {
        if let fd = cpuStatFiles.removeValue(forKey: name) { close(fd) }
    }

    /// CPU time its processes used since the cgroup was made, in microseconds (cpu.stat).
    func cpuMicroseconds(_ name: String) -> UInt64? {
        guard let stat = read(name, "cpu.stat") else { return nil }
        return CgroupFiles.value(of: "usage_usec", in: stat)
    }

    /// The service is gone (a reload removed it): its cgroup goes, if no process is left in it
    /// (else the next start of tend removes it once it is empty).
    func remove(_ name: String) {
        forgetCPUStat(name)
        guard made.removeValue(forKey: name) != nil else { return }
        if let watch = emptyWatches.removeValue(forKey: name) {
            loop.unregister(watch.fd)
            close(watch.fd)
        }
        CgroupFiles.removeTree(servicesDir, name)
    }

    /// At tend's exit: every cgroup it made that is empty is removed; tend goes back to the
    /// cgroup it started in so that `supervisor` (and a tend.PID) can go too.
    func tearDown() {
        for name in made.keys.sorted() { remove(name) }
        close(servicesDir)
        ServiceCgroups.sweepServices(base + "/services")
        rmdir(base + "/services")
        let back = madeBelow ?? base
        // A cgroup with controllers enabled for its children takes no process (v2's rule of
        // no internal processes): those tend enabled in C are disabled before it goes back.
        if madeBelow == nil { for controller in enabled { CgroupFiles.write(AT_FDCWD, base + "/cgroup.subtree_control", "-" + controller) } }
        if CgroupFiles.write(AT_FDCWD, back + "/cgroup.procs", "\(getpid())") == 0 {
            rmdir(base + "/supervisor")
            if madeBelow != nil { rmdir(base) }
        }
    }

    // MARK: - What an earlier tend left

    /// tend.PID cgroups whose tend is gone (no process in their `supervisor`): what is empty in
    /// them is removed; a service cgroup with processes still in it stays, and so its parents.
    private static func sweepEarlierTends(in mount: String, except own: pid_t) {
        let dir = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { return }
        let names = CgroupFiles.names(in: dir).filter { name in
            guard name.hasPrefix("tend."), let pid = pid_t(name.dropFirst(5)), pid != own else { return false }
            // A tend of that pid may be making its layout right now (or the pid is another's: its
            // directory waits for the next start after that process).
            return kill(pid, 0) != 0 && errno != EPERM
        }
        close(dir)
        for name in names {
            let earlier = mount + "/" + name
            let fd = open(earlier + "/supervisor", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 {
                let procs = CgroupFiles.read(fd, "cgroup.procs")
                close(fd)
                guard let procs, CgroupFiles.pids(in: procs).isEmpty else { continue }
            }
            sweepServices(earlier + "/services")
            removeEmpty([earlier, earlier + "/supervisor", earlier + "/services"])
        }
    }

    /// Removes every service cgroup under `services` that has no process (rmdir refuses the others).
    private static func sweepServices(_ services: String) {
        let fd = open(services, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        sweepServices(fd)
        close(fd)
    }

    /// Removes each service cgroup (and what is below it) that no process is in.
    private static func sweepServices(_ servicesDir: Int32) {
        for name in CgroupFiles.names(in: servicesDir, directories: true) { CgroupFiles.removeTree(servicesDir, name) }
    }

    /// rmdir, deepest first; a directory that is not empty stays.
    private static func removeEmpty(_ dirs: [String]) {
        for dir in dirs.sorted(by: { $0.count > $1.count }) { rmdir(dir) }
    }
}

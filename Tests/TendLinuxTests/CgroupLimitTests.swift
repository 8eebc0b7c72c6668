import Glibc
import Testing
import TendCore
@testable import TendLinux

/// The limits' file writes, against a tree of directories standing for a cgroup (these
/// machines' v2 hierarchy has no controllers, so the real files are not there).
@Suite struct CgroupLimitTests {
    /// base/ with cgroup.controllers offering `controllers`, and services/api/ with the files
    /// of those controllers.
    func tree(offering controllers: [String]) throws -> String {
        var template = Array("/tmp/tend-cgroup-XXXXXX".utf8CString)
        let base = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        mkdir(base + "/services", 0o755)
        mkdir(base + "/services/api", 0o755)
        write(base + "/cgroup.controllers", controllers.joined(separator: " ") + "\n")
        write(base + "/cgroup.subtree_control", "")
        write(base + "/services/cgroup.subtree_control", "")
        let files = ["memory": ["memory.max", "memory.high", "memory.oom.group"], "cpu": ["cpu.weight", "cpu.max"],
                     "pids": ["pids.max"], "io": ["io.weight"]]
        for controller in controllers { for file in files[controller] ?? [] { write(base + "/services/api/" + file, "") } }
        return base
    }

    func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        close(fd)
    }

    func read(_ path: String) -> String {
        (CgroupFiles.read(AT_FDCWD, path)).map { String(decoding: $0, as: UTF8.self) } ?? "<missing>"
    }

    func remove(_ base: String) { _ = system("rm -rf " + base) }

    var every: CgroupLimits {
        var l = CgroupLimits()
        l.memoryMax = 512 << 20
        l.memoryHigh = 256 << 20
        l.cpuWeight = 200
        l.cpuMax = 150_000
        l.pidsMax = 64
        l.ioWeight = 50
        return l
    }

    @Test func limitsAreWrittenWithTheControllersEnabledOnTheWayDown() throws {
        let base = try tree(offering: ["cpu", "io", "memory", "pids"])
        defer { remove(base) }
        let cgroups = ServiceCgroups(loop: try EventLoop(), testBase: base)
        #expect(cgroups.enabled == ["cpu", "io", "memory", "pids"])
        let (fd, notApplied) = try cgroups.directoryForRun(of: "api", limits: every)
        close(fd)
        #expect(notApplied.isEmpty)
        #expect(read(base + "/services/api/memory.max") == "536870912" && read(base + "/services/api/memory.high") == "268435456")
        #expect(read(base + "/services/api/cpu.weight") == "200" && read(base + "/services/api/cpu.max") == "150000 100000")
        #expect(read(base + "/services/api/pids.max") == "64" && read(base + "/services/api/io.weight") == "default 50")
        #expect(read(base + "/services/api/memory.oom.group") == "1")
        // Each controller enabled in base and in services, one write each (the last one stays in a plain file).
        #expect(read(base + "/cgroup.subtree_control") == "+pids" && read(base + "/services/cgroup.subtree_control") == "+pids")
        #expect(cgroups.limitLines(of: "api", every) == ["memory_max 512M", "memory_high 256M", "cpu_weight 200", "cpu_max 150%",
                                                         "pids_max 64", "io_weight 50"])
    }

    @Test func aLimitTakenAwayIsReset() throws {
        let base = try tree(offering: ["cpu", "memory", "pids"])
        defer { remove(base) }
        let cgroups = ServiceCgroups(loop: try EventLoop(), testBase: base)
        close(try cgroups.directoryForRun(of: "api", limits: every).fd)
        var fewer = CgroupLimits()
        fewer.cpuWeight = 300
        let (fd, _) = try cgroups.directoryForRun(of: "api", limits: fewer)
        close(fd)
        #expect(read(base + "/services/api/cpu.weight") == "300")
        #expect(read(base + "/services/api/memory.max") == "max" && read(base + "/services/api/cpu.max") == "max 100000")
        #expect(read(base + "/services/api/pids.max") == "max")
    }

    @Test func aControllerTendsCgroupLacksIsSaidNotApplied() throws {
        let base = try tree(offering: ["cpu"])
        defer { remove(base) }
        let cgroups = ServiceCgroups(loop: try EventLoop(), testBase: base)
        let (fd, notApplied) = try cgroups.directoryForRun(of: "api", limits: every)
        close(fd)
        #expect(notApplied.count == 4)
        #expect(notApplied.first == "memory_max 512M not applied: the memory controller is not available to tend's cgroup \(base) (not in its cgroup.controllers)")
        #expect(read(base + "/services/api/cpu.max") == "150000 100000")
        #expect(read(base + "/services/api/memory.oom.group") == "<missing>")
        let lines = cgroups.limitLines(of: "api", every)
        #expect(lines[0].hasPrefix("memory_max 512M (not enforced: the memory controller") && lines[2] == "cpu_weight 200")
        // Told once: the same limits at the next start are not written again.
        let again = try cgroups.directoryForRun(of: "api", limits: every)
        close(again.fd)
        #expect(again.notApplied.isEmpty)
    }

    @Test func anOOMKillIsACountThatGrewSinceTheLastRunsEnd() throws {
        let base = try tree(offering: ["memory"])
        defer { remove(base) }
        let cgroups = ServiceCgroups(loop: try EventLoop(), testBase: base)
        #expect(!cgroups.oomKilled("api"), "before its first start")
        close(try cgroups.directoryForRun(of: "api", limits: CgroupLimits()).fd)
        let events = base + "/services/api/memory.events"
        write(events, "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\noom_group_kill 0\n")
        #expect(!cgroups.oomKilled("api"))
        write(events, "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 1\n")
        #expect(cgroups.oomKilled("api"))
        #expect(!cgroups.oomKilled("api"), "the same count at the next run's end")
        // Without the memory controller the file is not read.
        let other = try tree(offering: ["cpu"])
        defer { remove(other) }
        write(other + "/services/api/memory.events", "oom_kill 5\n")
        let none = ServiceCgroups(loop: try EventLoop(), testBase: other)
        close(try none.directoryForRun(of: "api", limits: CgroupLimits()).fd)
        #expect(!none.oomKilled("api"))
    }

    @Test func sharesAndSizesAreShownAsTheFileSaysThem() {
        #expect(CgroupLimits.size(512 << 20) == "512M" && CgroupLimits.size(3 << 30) == "3G" && CgroupLimits.size(1000) == "1000")
        #expect(CgroupLimitFiles.percent(50_000) == "50%" && CgroupLimitFiles.percent(1_234) == "1.2%" && CgroupLimitFiles.percent(200_000) == "200%")
    }
}

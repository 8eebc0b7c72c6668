import Foundation
import Testing

/// The cgroup v2 hierarchy this machine offers tend, if it can write to it: pure v2 at
/// /sys/fs/cgroup, or the hybrid layout's /sys/fs/cgroup/unified.
let cgroupMount: String? = {
    guard getuid() == 0 else { return nil }
    // cgroup.controllers is v2's alone: in the hybrid layout /sys/fs/cgroup is a tmpfs of v1 controllers.
    return ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].first { FileManager.default.fileExists(atPath: $0 + "/cgroup.controllers") }
}()

/// The processes in a cgroup (empty once it is gone).
func cgroupProcs(_ path: String) -> [Int32] {
    ((try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int32($0) }
}

/// A process's cgroup v2 path.
func cgroupOf(_ pid: Int32) -> String? {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)) ?? ""
    return text.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
}

/// Processes whose command line is `argv`, among all (to count daemons that escaped).
func processes(withCommandLine argv: [String]) -> [Int32] {
    let wanted = argv.joined(separator: "\0") + "\0"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: data, as: UTF8.self) == wanted && isAlive(pid)
    }
}

/// A cgroup per service, on the kernel of this machine (its v2 hierarchy; no controllers).
@Suite(.enabled(if: cgroupMount != nil, "needs root and a cgroup v2 hierarchy"))
struct CgroupTests {
    /// A daemon that leaves its service's session and process group, with a duration no other
    /// test uses, so that the copies left anywhere can be counted.
    static func forker(_ seconds: Int, then: String = "exec sleep 1000") -> String {
        "[[service]]\nname = \"forker\"\ncommand = \"setsid sleep \(seconds) & \(then)\"\n"
    }

    /// Where tend works: a tend.PID below the test's own cgroup (the root here; a session
    /// scope on a machine where the tests run from a login shell), as tend's path says.
    func path(_ tend: TendRun) -> String {
        let own = cgroupOf(getpid()) ?? "/"
        return (own == "/" ? "" : own) + "/tend.\(tend.process.processIdentifier)"
    }

    func dir(_ tend: TendRun) -> String { cgroupMount! + path(tend) }

    /// Ends the daemons of `forker(seconds)` that a failing test may have left.
    static func endDaemons(_ seconds: Int) {
        for pid in processes(withCommandLine: ["sleep", "\(seconds)"]) { kill(pid, SIGKILL) }
    }

    @Test func eachServiceRunsInItsOwnCgroupAndTendInSupervisor() throws {
        let tend = try TendRun(CgroupTests.forker(4301) + "[[service]]\nname = \"calm\"\ncommand = \"exec sleep 1000\"\n")
        defer { CgroupTests.endDaemons(4301) }
        defer { tend.stop() }
        #expect(tend.waitForEvent("calm", "started"))
        let base = path(tend)
        #expect(cgroupOf(tend.process.processIdentifier) == base + "/supervisor")
        #expect(cgroupOf(try #require(tend.pid("calm"))) == base + "/services/calm")
        #expect(tend.waitFor("the daemon") { cgroupProcs(dir(tend) + "/services/forker").count == 2 })
        for pid in cgroupProcs(dir(tend) + "/services/forker") { #expect(cgroupOf(pid) == base + "/services/forker") }
    }

    @Test func statusNameShowsADaemonThatLeftItsGroupAndItsParent() throws {
        // Forked twice: its parent gone, it is tend's child, in a session and group of its own.
        let tend = try TendRun("[[service]]\nname = \"double\"\ncommand = \"(setsid sleep 4310 &); exec sleep 1000\"\n")
        defer { CgroupTests.endDaemons(4310) }
        defer { tend.stop() }
        #expect(tend.waitFor("the daemon") { processes(withCommandLine: ["sleep", "4310"]).count == 1 })
        let daemon = try #require(processes(withCommandLine: ["sleep", "4310"]).first)
        let detail = tend.client(["status", "double"]).stdout
        #expect(detail.contains("\(daemon) sleep 4310"), "\(detail)")
    }

    @Test func aStopEndsTheDaemonThatLeftItsSessionAndAStartMakesOnlyOne() throws {
        let tend = try TendRun(CgroupTests.forker(4302))
        defer { CgroupTests.endDaemons(4302) }
        defer { tend.stop() }
        let daemon = ["sleep", "4302"]
        #expect(tend.waitFor("the daemon") { processes(withCommandLine: daemon).count == 1 })
        let first = try #require(processes(withCommandLine: daemon).first)
        #expect(tend.client(["stop", "forker"]).status == 0)
        // Stopped means the cgroup is empty: the daemon is gone when `tend stop` answers.
        #expect(!isAlive(first))
        #expect(cgroupProcs(dir(tend) + "/services/forker").isEmpty)
        #expect(tend.client(["start", "forker"]).status == 0)
        #expect(tend.client(["restart", "forker"]).status == 0)
        #expect(tend.waitFor("one daemon") { processes(withCommandLine: daemon).count == 1 })
        #expect(cgroupProcs(dir(tend) + "/services/forker").count == 2)
    }

    @Test func aCrashLoopLeavesNoDaemonBehindItsRestarts() throws {
        let tend = try TendRun(CgroupTests.forker(4303, then: "sleep 0.05; exit 1") + "backoff = { initial = \"10ms\" }\n")
        defer { CgroupTests.endDaemons(4303) }
        defer { tend.stop() }
        #expect(tend.waitForEvent("forker", "restarting", count: 10, timeout: 20))
        // Each run's daemon was killed before the next run began: one at most, the current run's.
        #expect(processes(withCommandLine: ["sleep", "4303"]).count <= 1)
        #expect(cgroupProcs(dir(tend) + "/services/forker").count <= 2)
    }

    @Test func tendsExitEndsEveryProcessAndRemovesItsCgroups() throws {
        let tend = try TendRun(CgroupTests.forker(4304))
        defer { CgroupTests.endDaemons(4304) }
        let base = dir(tend)
        #expect(tend.waitFor("the daemon") { processes(withCommandLine: ["sleep", "4304"]).count == 1 })
        #expect(FileManager.default.fileExists(atPath: base + "/services/forker"))
        #expect(tend.stop() == 0)
        #expect(processes(withCommandLine: ["sleep", "4304"]).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: base))
    }

    @Test func theCgroupsOfAKilledTendAreRemovedByTheNextOnceEmpty() throws {
        let first = try TendRun(CgroupTests.forker(4305))
        defer { CgroupTests.endDaemons(4305) }
        let base = dir(first)
        #expect(first.waitFor("the daemon") { cgroupProcs(base + "/services/forker").count == 2 })
        let left = cgroupProcs(base + "/services/forker")
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        // Its services outlive a SIGKILL (no systemd here to end them): they are this test's to end.
        #expect(cgroupProcs(base + "/services/forker") == left)
        for pid in left { kill(pid, SIGKILL) }
        #expect(first.waitFor("the cgroup to empty") { cgroupProcs(base + "/services/forker").isEmpty })
        let next = try TendRun("[[service]]\nname = \"calm\"\ncommand = \"exec sleep 1000\"\n")
        defer { next.stop() }
        #expect(next.waitForEvent("calm", "started"))
        #expect(!FileManager.default.fileExists(atPath: base))
    }

    @Test func cgroupsOffRunsServicesInTendsOwnCgroupAndSaysSo() throws {
        let before = cgroupOf(getpid())
        let tend = try TendRun("[supervisor]\ncgroups = \"off\"\n" + CgroupTests.forker(4306))
        defer {
            tend.stop()
            CgroupTests.endDaemons(4306)
        }
        #expect(tend.waitForEvent("forker", "started"))
        #expect(tend.message("tend", "cgroups").contains("cgroups = \"off\" in [supervisor]"))
        #expect(cgroupOf(try #require(tend.pid("forker"))) == before)
        #expect(!FileManager.default.fileExists(atPath: dir(tend)))
        // As before cgroups: the daemon outside the process group outlives the stop.
        #expect(tend.waitFor("the daemon") { processes(withCommandLine: ["sleep", "4306"]).count == 1 })
        #expect(tend.client(["stop", "forker"]).status == 0)
        #expect(processes(withCommandLine: ["sleep", "4306"]).count == 1)
        // Read at start: a reload that turns them on says when that takes effect.
        try CgroupTests.forker(4306).write(toFile: tend.configPath, atomically: true, encoding: .utf8)
        #expect(tend.client(["reload"]).status == 0)
        #expect(tend.waitFor("the cgroups event") { tend.events("tend", "cgroups").count == 2 })
        #expect(tend.events("tend", "cgroups").last?.message.contains("cgroups = \"auto\" in [supervisor] takes effect at tend's next start") == true, "\(tend.stdout)")
    }
}

extension CgroupTests {
    /// tasks and cpu_s from the service's cgroup: the CPU its processes used since it was made.
    @Test func statusShowsTheTasksAndTheCPUTimeOfTheRun() throws {
        let tend = try TendRun("""
            [[service]]
            name = "busy"
            command = "timeout 0.5 sh -c 'while :; do :; done'; exec sleep 1000"
            """)
        defer { tend.stop() }
        func row() -> [String: Any]? {
            let out = tend.client(["status", "--json", "busy"]).stdout
            let services = (try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])?["services"] as? [[String: Any]]
            return services?.first
        }
        #expect(tend.waitFor("half a second of CPU and one task") {
            (row()?["cpu_s"] as? Double ?? 0) >= 0.3 && row()?["tasks"] as? Int == 1
        })
        let base = path(tend)
        #expect(row()?["cgroup"] as? String == base + "/services/busy")
        #expect(row()?["memory_bytes"] is NSNull)
        #expect(tend.client(["status", "busy"]).stdout.contains("cgroup      \(base)/services/busy (1 task, "))
        #expect(tend.client(["status"]).stdout.split(separator: "\n").first?.contains("TASKS  CPU") == true)
        // A restart (SIGTERM is enough: no kill, the same cgroup) adds to the count.
        let before = row()?["cpu_s"] as? Double ?? 0
        #expect(tend.client(["restart", "busy"]).status == 0)
        #expect(tend.waitFor("the second run's half second") { (row()?["cpu_s"] as? Double ?? 0) >= before + 0.3 })
    }
}

extension CgroupTests {
    /// A daemon that ignores SIGTERM outlives the main process: its cgroup is killed
    /// (cgroup.kill) at stop_timeout, and the next run still starts in a cgroup of its own and
    /// stays up.
    @Test func aRunAfterACgroupKillStartsAndStays() throws {
        let tend = try TendRun("""
            [[service]]
            name = "stubborn"
            command = "setsid sh -c 'trap \\"\\" TERM; exec sleep 4307' & exec sleep 1000"
            stop_timeout = "1s"
            """)
        defer { tend.stop() }
        defer { CgroupTests.endDaemons(4307) }
        let cgroup = dir(tend) + "/services/stubborn"
        #expect(tend.waitFor("the daemon") { cgroupProcs(cgroup).count == 2 })
        for _ in 0..<3 {
            #expect(tend.client(["restart", "stubborn"]).status == 0)
            #expect(tend.waitFor("the new run's daemon") { cgroupProcs(cgroup).count == 2 })
        }
        // Two tasks can be the shell before its exec of sleep: wait for the daemon itself.
        #expect(tend.waitFor("one daemon, the last run's") { processes(withCommandLine: ["sleep", "4307"]).count == 1 })
        #expect(tend.events("stubborn", "exited").isEmpty, "\(tend.stdout)")
        #expect(tend.client(["status", "stubborn"]).stdout.contains("running"))
    }
}

extension CgroupTests {
    /// These machines' v2 hierarchy has no memory or pids controller: the limits are not
    /// applied, the service runs, and both the event and `tend status NAME` say so. Where tend's
    /// cgroup has the memory controller (a pure v2 machine), the limit is in memory.max instead.
    @Test func aLimitTheKernelCannotApplyIsSaidAndTheServiceRuns() throws {
        let tend = try TendRun("[[service]]\nname = \"capped\"\ncommand = \"exec sleep 1000\"\nmemory_max = \"512M\"\n")
        defer { tend.stop() }
        #expect(tend.waitForEvent("capped", "started"))
        let controllers = (try? String(contentsOfFile: dir(tend) + "/cgroup.controllers", encoding: .utf8)) ?? ""
        if controllers.contains("memory") {
            let max = try? String(contentsOfFile: dir(tend) + "/services/capped/memory.max", encoding: .utf8)
            #expect(max == "536870912\n")
            #expect(tend.events("capped", "limit-not-applied").isEmpty)
            return
        }
        #expect(tend.waitForEvent("capped", "limit-not-applied"))
        #expect(tend.message("capped", "limit-not-applied").hasPrefix("memory_max 512M not applied: the memory controller is not available"))
        #expect(tend.waitForEvent("capped", "started"))
        #expect(tend.client(["status", "capped"]).stdout.contains("limits      memory_max 512M (not enforced: the memory controller"))
        // Told once, not at every start.
        #expect(tend.client(["restart", "capped"]).status == 0)
        #expect(tend.events("capped", "limit-not-applied").count == 1)
    }

    /// Nor at the start after a cgroup kill, into a cgroup made again: what tend was told stays.
    @Test func aLimitNotAppliedIsToldOnceThroughTheRemakesAfterKills() throws {
        let tend = try TendRun(CgroupTests.forker(4312, then: "sleep 0.2; exit 1").replacingOccurrences(of: "\"forker\"", with: "\"forker\"\nmemory_max = \"512M\"\nmax_restarts = 3\nbackoff = { initial = \"0s\" }"))
        defer { tend.stop() }
        defer { CgroupTests.endDaemons(4312) }
        #expect(tend.waitForEvent("forker", "gave-up", timeout: 30))
        #expect(tend.events("forker", "exited").count == 4, "\(tend.stdout)")
        let controllers = (try? String(contentsOfFile: dir(tend) + "/cgroup.controllers", encoding: .utf8)) ?? ""
        #expect(tend.events("forker", "limit-not-applied").count == (controllers.contains("memory") ? 0 : 1), "\(tend.stdout)")
        #expect(processes(withCommandLine: ["sleep", "4312"]).isEmpty)
    }
}

extension CgroupTests {
    /// A daemon that dies with its main process on SIGTERM: its cgroup empties while tend looks,
    /// and nothing is left held. The daemons it leaves each time (orphans tend adopts) are
    /// reaped: no zombie piles up under tend.
    @Test func stopsWhoseLeftoversDieAtOnceLeaveNoZombie() throws {
        let tend = try TendRun(CgroupTests.forker(4308))
        defer { tend.stop() }
        defer { CgroupTests.endDaemons(4308) }
        for _ in 0..<20 {
            #expect(tend.client(["restart", "forker"]).status == 0)
        }
        #expect(tend.waitFor("the adopted daemons reaped") { !childStates(tend.process.processIdentifier).contains("Z") })
        #expect(tend.waitFor("one daemon") { processes(withCommandLine: ["sleep", "4308"]).count == 1 })
    }

    /// A service's cgroup removed from outside while it is down is made again at its next start.
    @Test func aCgroupRemovedFromOutsideIsMadeAgain() throws {
        let tend = try TendRun(CgroupTests.forker(4309))
        defer { tend.stop() }
        defer { CgroupTests.endDaemons(4309) }
        let cgroup = dir(tend) + "/services/forker"
        #expect(tend.waitFor("the daemon") { cgroupProcs(cgroup).count == 2 })
        #expect(tend.client(["stop", "forker"]).status == 0)
        #expect(rmdir(cgroup) == 0)
        #expect(tend.client(["start", "forker"]).status == 0)
        #expect(tend.waitFor("the daemon again") { cgroupProcs(cgroup).count == 2 })
    }
}

extension CgroupTests {
    /// A service (root here) that makes a cgroup of its own below its cgroup and runs a
    /// process there, as a nested supervisor or a container runtime does: the stop signal
    /// reaches that process too (a stop_timeout of an hour: `tend stop` answers only once it
    /// is gone), the next run starts beside the child cgroup left empty, and tend's exit
    /// removes all of it (child cgroups first). A service named as a file of the cgroup fails
    /// its start saying so.
    @Test func aCgroupTheServiceMadeBelowItsOwnIsStoppedRemadeAndRemoved() throws {
        let tend = try TendRun("""
            [[service]]
            name = "nest"
            command = "d=\(cgroupMount!)$(sed -n 's/^0:://p' /proc/self/cgroup); mkdir -p $d/inner && sh -c \\"echo \\\\$$ > $d/inner/cgroup.procs && exec sleep 4313\\" & exec sleep 1000"
            stop_timeout = "1h"
            [[service]]
            name = "cpu.stat"
            command = "exec sleep 1000"
            """)
        defer { CgroupTests.endDaemons(4313) }
        defer { tend.stop() }
        let cgroup = dir(tend) + "/services/nest"
        #expect(tend.waitFor("the process in the inner cgroup") { cgroupProcs(cgroup + "/inner").count == 1 })
        let inner = try #require(cgroupProcs(cgroup + "/inner").first)
        #expect(tend.client(["stop", "nest"], timeout: 60).status == 0)
        #expect(cgroupProcs(cgroup + "/inner").isEmpty)
        #expect(tend.waitFor("the inner process reaped") { !isAlive(inner) })
        #expect(tend.client(["start", "nest"]).status == 0)
        #expect(tend.waitFor("the next run's inner process") { cgroupProcs(cgroup + "/inner").count == 1 })
        #expect(tend.events("nest", "spawn-failed").isEmpty, "\(tend.stdout)")
        #expect(tend.message("cpu.stat", "spawn-failed").contains("is one of the cgroup's own files, not a directory"), "\(tend.stdout)")
        tend.stop()
        #expect(!FileManager.default.fileExists(atPath: dir(tend)), "tend's cgroups removed at its exit")
    }
}

extension CgroupTests {
    /// A second tend on a control socket the first one answers on exits at start (after it
    /// made its cgroups): it leaves none behind.
    @Test func aTendThatCannotStartLeavesNoCgroup() throws {
        let first = try TendRun("[supervisor]\ncontrol_socket = \"$DIR/c.sock\"\n[[service]]\nname = \"a\"\ncommand = \"exec sleep 1000\"\n", passSocket: false)
        defer { first.stop() }
        #expect(first.waitForEvent("a", "started"))
        let second = try TendRun("[[service]]\nname = \"b\"\ncommand = \"exec sleep 1000\"\n", arguments: ["run", "--socket", first.dir + "/c.sock"], passSocket: false)
        #expect(second.waitForExit() != 0)
        #expect(!FileManager.default.fileExists(atPath: dir(second)), "\(second.stderr)")
    }
}

extension CgroupTests {
    /// A watchdog's SIGABRT goes to the main process only: when it dies of it, what it left is
    /// killed at once and the service restarts, not after stop_timeout (an hour here).
    @Test func aWatchdogsEndKillsTheLeftoversAtOnce() throws {
        let tend = try TendRun("""
            [[service]]
            name = "dog"
            command = ["sh", "-c", "setsid sleep 4314 & exec python3 -c \\"import os, signal, socket\\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\\na = os.environ['NOTIFY_SOCKET']\\ns.connect(chr(0) + a[1:] if a[0] == '@' else a)\\ns.send(b'READY=1')\\nsignal.pause()\\""]
            ready = "notify"
            watchdog = "1s"
            stop_timeout = "1h"
            """)
        defer { tend.stop() }
        defer { CgroupTests.endDaemons(4314) }
        #expect(tend.waitForEvent("dog", "ready"))
        #expect(tend.waitForEvent("dog", "ready", count: 2, timeout: 20), "\(tend.stdout)")
        #expect(processes(withCommandLine: ["sleep", "4314"]).count == 1)
    }
}

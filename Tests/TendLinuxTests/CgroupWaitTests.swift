import Foundation
import Glibc
import Testing
import TendCore
@testable import TendLinux

/// The wait for a service's cgroup to empty, on this machine's kernel (its v2 hierarchy), in a
/// cgroup this test makes below its own and with a child of its own in it.
@Suite(.enabled(if: getuid() == 0 && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs")
                 || getuid() == 0 && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers"), "needs root and cgroup v2"))
struct CgroupWaitTests {
    @Test func theWaitEndsWhenTheCgroupEmptiesOrIsGivenUpAtItsDeadline() throws {
        let mount = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified"
        let own = try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) } ?? "/"
        let base = mount + (own == "/" ? "" : own) + "/tend-wait-test.\(getpid())"
        for dir in [base, base + "/services", base + "/services/api"] { try #require(mkdir(dir, 0o755) == 0) }
        defer { for dir in [base + "/services/api", base + "/services", base] { rmdir(dir) } }
        let pid = fork()
        if pid == 0 { while true { pause() } }
        defer { kill(pid, SIGKILL); waitpid(pid, nil, 0) }
        let loop = try EventLoop()
        let cgroups = ServiceCgroups(loop: loop, testBase: base)
        close(try cgroups.directoryForRun(of: "api", limits: CgroupLimits()).fd)
        try #require(CgroupFiles.write(AT_FDCWD, base + "/services/api/cgroup.procs", "\(pid)") == 0)

        // A process that does not go: the wait ends at its deadline, saying one is left.
        var left: Int?
        #expect(cgroups.whenEmpty("api", giveUpAt: Instant(nanoseconds: 5_000)) { left = $0 })
        #expect(cgroups.nextDeadline == Instant(nanoseconds: 5_000))
        cgroups.giveUp("api", at: Instant(nanoseconds: 9_000))
        #expect(cgroups.nextDeadline == Instant(nanoseconds: 5_000), "a later deadline does not put it off")
        cgroups.deadlinesPassed(now: Instant(nanoseconds: 4_999))
        #expect(left == nil)
        cgroups.deadlinesPassed(now: Instant(nanoseconds: 5_000))
        #expect(left == 1 && cgroups.nextDeadline == nil)

        // It goes: the kernel's change of cgroup.events ends the wait.
        left = nil
        #expect(cgroups.whenEmpty("api", giveUpAt: Instant(nanoseconds: .max)) { left = $0 })
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while left == nil, Date() < deadline { try loop.runOnce(timeoutMilliseconds: 100) }
        #expect(left == 0)
        #expect(!cgroups.whenEmpty("api", giveUpAt: Instant(nanoseconds: .max)) { _ in }, "empty already: no wait")
    }
}

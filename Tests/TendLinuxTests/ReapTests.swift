import CTend
import Foundation
import Glibc
import Testing

/// The reaper's two steps, on a child of this test process only (by its pidfd).
@Suite struct ReapTests {
    @Test func anEndedChildStaysAZombieUntilReaped() throws {
        let pid = fork()
        if pid == 0 { _exit(7) }
        let pidfd = tend_pidfd_open(pid)
        try #require(pidfd >= 0)
        var kind: Int32 = -1, code: Int32 = -1
        let deadline = Date().addingTimeInterval(10)
        while tend_peek_pidfd(pidfd, &kind, &code) == 0, Date() < deadline { usleep(1000) }  // poll interval of a wait with a deadline
        #expect(kind == 0 && code == 7)
        // Seen, not reaped: the pid (and its process group) still belongs to the zombie, and
        // its pidfd still reaches it.
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        #expect(stat.split(separator: ")").last?.split(separator: " ").first == "Z")
        #expect(tend_peek_pidfd(pidfd, &kind, &code) == 1)
        #expect(tend_signal_pidfd(pidfd, 0) == 0)
        tend_reap_pidfd(pidfd)
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"))
        #expect(fcntl(pidfd, F_GETFD) == -1 && errno == EBADF)
    }

    @Test func aKilledChildIsToldApart() throws {
        let pid = fork()
        if pid == 0 { while true { pause() } }
        let pidfd = tend_pidfd_open(pid)
        try #require(pidfd >= 0)
        #expect(tend_signal_pidfd(pidfd, SIGKILL) == 0)
        var kind: Int32 = -1, code: Int32 = -1
        let deadline = Date().addingTimeInterval(10)
        while tend_peek_pidfd(pidfd, &kind, &code) == 0, Date() < deadline { usleep(1000) }  // poll interval of a wait with a deadline
        tend_reap_pidfd(pidfd)
        #expect(kind == 1 && code == SIGKILL)
    }
}

import CTend
import Foundation
import Glibc
import Testing

/// The reaper's two steps, on a child of this test process only (by pid).
@Suite struct ReapTests {
    @Test func anEndedChildStaysAZombieUntilReaped() throws {
        let pid = fork()
        if pid == 0 { _exit(7) }
        var exited: pid_t = 0, kind: Int32 = -1, code: Int32 = -1
        let deadline = Date().addingTimeInterval(10)
        while tend_peek_exited(pid, &exited, &kind, &code) == 0, Date() < deadline { usleep(1000) }
        #expect(exited == pid && kind == 0 && code == 7)
        // Seen, not reaped: the pid (and its process group) still belongs to the zombie.
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        #expect(stat.split(separator: ")").last?.split(separator: " ").first == "Z")
        #expect(tend_peek_exited(pid, &exited, &kind, &code) == 1)
        tend_reap_pid(pid)
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"))
        #expect(tend_peek_exited(pid, &exited, &kind, &code) == -1 && errno == ECHILD)
    }

    @Test func aKilledChildIsToldApart() {
        let pid = fork()
        if pid == 0 { while true { pause() } }
        kill(pid, SIGKILL)
        var exited: pid_t = 0, kind: Int32 = -1, code: Int32 = -1
        let deadline = Date().addingTimeInterval(10)
        while tend_peek_exited(pid, &exited, &kind, &code) == 0, Date() < deadline { usleep(1000) }
        tend_reap_pid(pid)
        #expect(kind == 1 && code == SIGKILL)
    }
}

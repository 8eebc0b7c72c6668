import Foundation
import Testing

/// A name service that does not answer (an LDAP server away), made here by a getent that
/// hangs for one user, bind-mounted over the system's in a mount namespace of tend's own.
@Suite struct AccountLookupTests {
    @Test(.enabled(if: getuid() == 0, "needs root for a mount namespace"))
    func aNameServiceThatDoesNotAnswerHoldsTheStartNotTheLoop() throws {
        let dir = try #require(mkdtemp(strdup("/tmp/tend-nss-XXXXXX")).map { String(cString: $0) })
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "/usr/bin/getent", toPath: "\(dir)/real-getent")
        // getent DATABASE -- KEY
        try """
            #!/bin/sh
            echo "$*" >> \(dir)/asked
            [ "$3" = tend-slow-user ] && exec sleep 30
            exec \(dir)/real-getent "$@"

            """.write(toFile: "\(dir)/getent", atomically: true, encoding: .utf8)
        chmod("\(dir)/getent", 0o755)
        let tend = try TendRun("""
            [[service]]
            name = "s"
            command = "exec sleep 1000"
            user = "nobody"

            [[service]]
            name = "slow"
            command = "exec sleep 1000"
            user = "tend-slow-user"
            backoff = { initial = "100ms", max = "100ms" }
            """, wrapper: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                           "mount --bind \(dir)/getent /usr/bin/getent && exec \"$@\"", "sh"])
        defer { tend.stop() }
        #expect(tend.waitForEvent("s", "started"))
        #expect(tend.waitFor("the hanging lookup") { ((try? String(contentsOfFile: "\(dir)/asked", encoding: .utf8)) ?? "").contains("tend-slow-user") })
        // While getent hangs, tend answers, reaps and restarts.
        let before = Date()
        let status = tend.client(["status"], timeout: 5)
        #expect(status.status == 0 && status.stdout.contains("starting"))
        #expect(Date().timeIntervalSince(before) < 1.5)
        let pid = try #require(tend.pid("s"))
        kill(pid, SIGKILL)
        #expect(tend.waitForEvent("s", "started", count: 2, timeout: 3))
        // getent is killed at its deadline; the start fails with why.
        #expect(tend.waitForEvent("slow", "spawn-failed", timeout: 10))
        #expect(tend.message("slow", "spawn-failed").hasPrefix("getent passwd tend-slow-user: no answer within 5s"))
        // The failure is remembered: the restarts that follow fail at once, without asking again.
        #expect(tend.waitForEvent("slow", "spawn-failed", count: 4, timeout: 5))
        let asked = ((try? String(contentsOfFile: "\(dir)/asked", encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(asked.filter { $0.contains("tend-slow-user") }.count == 1, "\(asked)")
        #expect(tend.exitStatus == nil)
    }
}

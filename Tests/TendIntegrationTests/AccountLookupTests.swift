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
        // Ignores SIGTERM: its stop takes stop_timeout.
        let stubborn = "[[service]]\nname = \"stubborn\"\ncommand = \"trap '' TERM; exec sleep 1000\"\nstop_timeout = \"9s\"\n"
        let config = stubborn + """
            [[service]]
            name = "s"
            command = "exec sleep 1000"
            user = "nobody"

            [[service]]
            name = "slow"
            command = "exec sleep 1000"
            user = "tend-slow-user"
            backoff = { initial = "100ms", max = "100ms" }
            """
        let tend = try TendRun(config, wrapper: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
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
        func askedSlow() -> Int {
            ((try? String(contentsOfFile: "\(dir)/asked", encoding: .utf8)) ?? "").split(separator: "\n")
                .filter { $0.contains("tend-slow-user") }.count
        }
        #expect(askedSlow() == 1)
        // A reload that is refused (another is under way: the one that stops `stubborn`)
        // forgets nothing: the failure is still remembered.
        try tend.rewrite(config.replacingOccurrences(of: stubborn, with: ""))
        let first = try #require(RawClient(tend.socketPath))
        first.send(#"{"version":1,"command":"reload"}"# + "\n")
        #expect(tend.waitForEvent("stubborn", "stopping"))
        // That reload was taken: the user is asked again, and that failure remembered.
        let failed = tend.events("slow", "spawn-failed").count
        #expect(tend.waitForEvent("slow", "spawn-failed", count: failed + 1, timeout: 8))
        #expect(askedSlow() == 2)
        let refused = tend.client(["reload"], timeout: 5)
        #expect(refused.status != 0 && refused.stderr.contains("already under way"), "\(refused.stderr)")
        #expect(tend.waitForEvent("slow", "spawn-failed", count: failed + 4, timeout: 3))
        #expect(askedSlow() == 2)
        #expect(tend.exitStatus == nil)
    }

    @Test(.enabled(if: getuid() == 0, "needs root for a mount namespace"))
    func aLookupBegunBeforeAReloadIsMadeAgainAfterIt() throws {
        let dir = try #require(mkdtemp(strdup("/tmp/tend-nss-XXXXXX")).map { String(cString: $0) })
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "/usr/bin/getent", toPath: "\(dir)/real-getent")
        // The first lookup of nobody answers only once the test lets it (after the reload).
        try """
            #!/bin/sh
            echo "$*" >> \(dir)/asked
            if [ "$3" = nobody ] && mkdir \(dir)/first 2>/dev/null; then
                while [ ! -e \(dir)/release ]; do sleep 0.02; done
            fi
            exec \(dir)/real-getent "$@"

            """.write(toFile: "\(dir)/getent", atomically: true, encoding: .utf8)
        chmod("\(dir)/getent", 0o755)
        let tend = try TendRun("""
            [[service]]
            name = "s"
            command = "exec sleep 1000"
            user = "nobody"
            """, wrapper: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                           "mount --bind \(dir)/getent /usr/bin/getent && exec \"$@\"", "sh"])
        defer { tend.stop() }
        func asked() -> Int {
            ((try? String(contentsOfFile: "\(dir)/asked", encoding: .utf8)) ?? "").split(separator: "\n")
                .filter { $0 == "passwd -- nobody" }.count
        }
        #expect(tend.waitFor("the first lookup") { asked() == 1 })
        #expect(tend.client(["reload"], timeout: 5).status == 0)
        FileManager.default.createFile(atPath: "\(dir)/release", contents: nil)
        // What the first found came from the files as they were before the reload.
        #expect(tend.waitForEvent("s", "started"))
        #expect(asked() == 2)
    }
}

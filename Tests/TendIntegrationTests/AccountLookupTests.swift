import Foundation
import Testing

/// A getent of the test's own, bind-mounted over the system's in a mount namespace of tend's:
/// it notes each question in `asked`, does what `body` says, then asks the real getent.
struct FakeGetent {
    let dir: String

    /// `body` is given the directory of the fake's files.
    init(_ body: (_ dir: String) -> String) throws {
        let dir = try #require(mkdtemp(strdup("/tmp/tend-nss-XXXXXX")).map { String(cString: $0) })
        self.dir = dir
        try FileManager.default.copyItem(atPath: "/usr/bin/getent", toPath: "\(dir)/real-getent")
        // getent DATABASE -- KEY
        try """
            #!/bin/sh
            echo "$*" >> \(dir)/asked
            \(body(dir))
            exec \(dir)/real-getent "$@"

            """.write(toFile: "\(dir)/getent", atomically: true, encoding: .utf8)
        chmod("\(dir)/getent", 0o755)
    }

    /// Runs tend with this getent in place of the system's.
    var wrapper: [String] {
        ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
         "mount --bind \(dir)/getent /usr/bin/getent && exec \"$@\"", "sh"]
    }

    /// The questions asked so far that contain `text`.
    func asked(_ text: String) -> Int {
        ((try? String(contentsOfFile: "\(dir)/asked", encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(text) }.count
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

/// A name service that does not answer (an LDAP server away), made here by a getent that
/// hangs for one user.
@Suite struct AccountLookupTests {
    @Test(.enabled(if: getuid() == 0, "needs root for a mount namespace"))
    func aNameServiceThatDoesNotAnswerHoldsTheStartNotTheLoop() throws {
        let getent = try FakeGetent { _ in "[ \"$3\" = tend-slow-user ] && exec sleep 30" }
        defer { getent.remove() }
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
        let tend = try TendRun(config, wrapper: getent.wrapper)
        defer { tend.stop() }
        #expect(tend.waitForEvent("s", "started"))
        #expect(tend.waitFor("the hanging lookup") { getent.asked("tend-slow-user") > 0 })
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
        #expect(getent.asked("tend-slow-user") == 1)
        // A reload that is refused (another is under way: the one that stops `stubborn`)
        // forgets nothing: the failure is still remembered.
        try tend.rewrite(config.replacingOccurrences(of: stubborn, with: ""))
        let first = try #require(RawClient(tend.socketPath))
        first.send(#"{"version":1,"command":"reload"}"# + "\n")
        #expect(tend.waitForEvent("stubborn", "stopping"))
        // That reload was taken: the user is asked again, and that failure remembered.
        let failed = tend.events("slow", "spawn-failed").count
        #expect(tend.waitForEvent("slow", "spawn-failed", count: failed + 1, timeout: 8))
        #expect(getent.asked("tend-slow-user") == 2)
        let refused = tend.client(["reload"], timeout: 5)
        #expect(refused.status != 0 && refused.stderr.contains("already under way"), "\(refused.stderr)")
        #expect(tend.waitForEvent("slow", "spawn-failed", count: failed + 4, timeout: 3))
        #expect(getent.asked("tend-slow-user") == 2)
        #expect(tend.exitStatus == nil)
    }

    @Test(.enabled(if: getuid() == 0, "needs root for a mount namespace"))
    func aLookupBegunBeforeAReloadIsMadeAgainAfterIt() throws {
        // The first lookup of nobody waits for the test's word (after the reload), read from a
        // FIFO: it blocks, no poll.
        let getent = try FakeGetent { dir in
            "if [ \"$3\" = nobody ] && mkdir \(dir)/first 2>/dev/null; then read -r _ < \(dir)/release; fi"
        }
        defer { getent.remove() }
        #expect(mkfifo("\(getent.dir)/release", 0o600) == 0)
        let tend = try TendRun("""
            [[service]]
            name = "s"
            command = "exec sleep 1000"
            user = "nobody"
            """, wrapper: getent.wrapper)
        defer { tend.stop() }
        func asked() -> Int { getent.asked("passwd -- nobody") }
        #expect(tend.waitFor("the first lookup") { asked() == 1 })
        #expect(tend.client(["reload"], timeout: 5).status == 0)
        // The FIFO opens for writing once the first lookup reads it.
        var release: Int32 = -1
        #expect(tend.waitFor("the first lookup to wait") {
            release = open("\(getent.dir)/release", O_WRONLY | O_NONBLOCK)
            return release >= 0
        })
        _ = write(release, "go\n", 3)
        close(release)
        // What the first found came from the files as they were before the reload.
        #expect(tend.waitForEvent("s", "started"))
        #expect(asked() == 2)
    }
}

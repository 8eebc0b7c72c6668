import Foundation
import Testing

/// SPEC section 4: what tend tells the service manager that runs it, checked on a datagram
/// socket of the test's own passed as NOTIFY_SOCKET.
@Suite struct NotifyTests {
    func run(_ config: String, _ environment: [String: String] = [:]) throws -> (TendRun, FakeNotifySocket) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tend-notify-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let socket = try FakeNotifySocket(directory: directory)
        var env = environment
        env["NOTIFY_SOCKET"] = socket.path
        return (try TendRun(config, environment: env), socket)
    }

    @Test func readyWaitsUntilEveryServiceIsReadyAndComesWithTheStatus() throws {
        let (tend, notify) = try run("""
            [[service]]
            name = "quick"
            command = "exec sleep 1000"
            [[service]]
            name = "gated"
            command = "exec sleep 1000"
            ready = { exec = ["test", "-e", "$DIR/go"] }
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("gated", "started"))
        // The probe has failed at least twice: gated is starting, not ready.
        #expect(tend.waitFor("two probes of gated") { notify.values("STATUS").last == "1/2 running, 1 starting" })
        #expect(notify.received("READY=1").isEmpty)
        FileManager.default.createFile(atPath: tend.dir + "/go", contents: nil)
        #expect(tend.waitFor("READY=1") { !notify.received("READY=1").isEmpty })
        #expect(notify.received("READY=1").count == 1)
        #expect(notify.received("READY=1").first?.text.contains("STATUS=2/2 running") == true)
    }

    /// `tend reexec` while a reload waits for a slow stop: the new tend says READY=1 once the
    /// reload is applied, not at once (systemd would take the reload for done).
    @Test func aReexecDuringAReloadSaysReadyOnceTheReloadIsApplied() throws {
        let config = """
            [[service]]
            name = "slow"
            command = "trap 'while [ ! -e $DIR/go ]; do sleep 0.05; done; exit 0' TERM; sleep 1000 & wait"
            """
        let (tend, notify) = try run(config)
        defer { tend.stop() }
        #expect(tend.waitFor("READY=1") { notify.received("READY=1").count == 1 })
        try tend.rewrite(config + "\nstop_timeout = \"9s\"\n")
        kill(tend.process.processIdentifier, SIGHUP)
        #expect(tend.waitForEvent("slow", "stopping"))
        #expect(tend.client(["reexec"]).status == 0)
        #expect(FileManager.default.createFile(atPath: tend.dir + "/go", contents: nil))
        #expect(tend.waitForEvent("slow", "started", count: 2))
        #expect(tend.waitFor("the reload's READY=1") { notify.received("READY=1").count >= 2 })
        let said = notify.messages.map(\.text).filter { $0.contains("READY=1") || $0.contains("RELOADING=1") }
        #expect(said.map { $0.contains("READY=1") ? "READY" : "RELOADING" } == ["READY", "RELOADING", "RELOADING", "READY"], "\(said)")
    }

    @Test func aServiceInBackoffDoesNotHoldReadyBack() throws {
        let (tend, notify) = try run("""
            [[service]]
            name = "crasher"
            command = "exit 1"
            ready = "notify"
            backoff = { initial = "1h", max = "1h" }
            [[service]]
            name = "behind"
            command = "exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("READY=1") { !notify.received("READY=1").isEmpty })
        #expect(notify.values("STATUS").last == "0/2 running, 1 starting, 1 backoff")
    }

    @Test func statusFollowsChangesAtMostFourTimesASecondDuringACrashStorm() throws {
        var config = ""
        // Short runs and short backoffs: how many are running keeps changing.
        for i in 0..<50 {
            config += "[[service]]\nname = \"c\(i)\"\ncommand = \"sleep 0.0\(i % 10); exit 1\"\n"
                + "backoff = { initial = \"50ms\", max = \"50ms\", jitter = 0.0 }\n"
        }
        let (tend, notify) = try run(config)
        defer { tend.stop() }
        // Read as they come (each stamped when read), while the storm goes on.
        #expect(tend.waitFor("READY=1") { !notify.received("READY=1").isEmpty })
        let first = try #require(notify.received("STATUS=").first?.seconds)
        #expect(tend.waitFor("2 s of STATUS") { (notify.received("STATUS=").last?.seconds ?? 0) - first > 2 })
        #expect(tend.events.filter { $0.kind == "restarting" }.count > 100)
        let statuses = notify.received("STATUS=")
        let span = statuses.last!.seconds - statuses.first!.seconds
        // Hundreds of changes a second; a STATUS= every 250 ms at most (the reads here may
        // lag by a poll interval).
        #expect(Double(statuses.count - 1) <= (span + 0.05) * 4)
        #expect(statuses.count >= 4)
    }

    @Test func watchdogIsSentEveryHalfOfWatchdogUsec() throws {
        let (tend, notify) = try run("""
            [[service]]
            name = "idle"
            command = "exec sleep 1000"
            """, ["WATCHDOG_USEC": "400000"])
        defer { tend.stop() }
        #expect(tend.waitFor("six WATCHDOG=1") { notify.received("WATCHDOG=1").count >= 6 })
        let times = notify.received("WATCHDOG=1").map(\.seconds)
        for (a, b) in zip(times, times.dropFirst()) { #expect(b - a > 0.15 && b - a < 0.35) }
    }

    @Test func aWatchdogMeantForAnotherPidIsNotTends() throws {
        let (tend, notify) = try run("""
            [[service]]
            name = "idle"
            command = "exec sleep 1000"
            """, ["WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"])
        defer { tend.stop() }
        #expect(tend.waitFor("READY=1") { !notify.received("READY=1").isEmpty })
        // Ten periods of the watchdog pass: none is sent.
        #expect(!tend.waitFor("no WATCHDOG=1", timeout: 1, reportTimeout: false) { !notify.received("WATCHDOG=1").isEmpty })
    }

    @Test func reloadIsBetweenReloadingAndReadyAndShutdownSaysStopping() throws {
        let (tend, notify) = try run("""
            [[service]]
            name = "one"
            command = "exec sleep 1000"
            """)
        #expect(tend.waitFor("READY=1") { !notify.received("READY=1").isEmpty })
        try tend.rewrite("""
            [[service]]
            name = "one"
            command = "exec sleep 1000"
            [[service]]
            name = "two"
            command = "exec sleep 1000"
            """)
        #expect(tend.client(["reload"]).status == 0)
        #expect(tend.waitFor("READY=1 after the reload") { notify.received("READY=1").count == 2 })
        let reloading = try #require(notify.received("RELOADING=1").first)
        #expect(reloading.text.contains("MONOTONIC_USEC="))
        #expect(reloading.seconds <= notify.received("READY=1")[1].seconds)
        #expect(tend.waitFor("STATUS of two") { notify.values("STATUS").last == "2/2 running" })
        kill(tend.process.processIdentifier, SIGTERM)
        #expect(tend.waitFor("STOPPING=1") { !notify.received("STOPPING=1").isEmpty })
        #expect(tend.stop() == 0)
    }

    @Test func aLongStartExtendsTheTimeoutWhileItProgresses() throws {
        let (tend, notify) = try run("""
            [[service]]
            name = "gated"
            command = "exec sleep 1000"
            ready = { exec = ["test", "-e", "$DIR/go"] }
            start_timeout = "50s"
            """)
        defer { tend.stop() }
        // Looked at every 5 s: the start under way may take its start_timeout, and 10 s more.
        #expect(tend.waitFor("EXTEND_TIMEOUT_USEC", timeout: 8) { !notify.values("EXTEND_TIMEOUT_USEC").isEmpty })
        #expect(notify.values("EXTEND_TIMEOUT_USEC").first == "60000000")
    }
}

/// The children's notify socket: a name the kernel picks, so nobody can take it first.
@Suite struct ChildNotifySocketTests {
    static let squatter = """
        import os, signal, socket, sys
        pid = os.getpid()
        r, w = os.pipe()
        holder = os.fork()
        if holder == 0:
            # Nothing of the test's: the test runner waits for its pipes to close.
            devnull = os.open('/dev/null', os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.closerange(3, w)
            os.closerange(w + 1, 65536)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind('\\0tend/%d/notify' % pid)
            os.write(w, b'x')
            signal.pause()  # until the test kills it
        os.read(r, 1)
        open(sys.argv[1], 'w').write(str(holder))
        os.execv(sys.argv[2], sys.argv[2:])
        """

    @Test func aNameTakenBeforeTendStartsDoesNotStopIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tend-squat-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ChildNotifySocketTests.squatter.write(toFile: directory + "/squat.py", atomically: true, encoding: .utf8)
        // The old name was tend/<tend's pid>/notify: the wrapper binds it for its own pid, then becomes tend.
        let tend = try TendRun("""
            [[service]]
            name = "n"
            command = '''python3 -c "import os, signal, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a = os.environ['NOTIFY_SOCKET']; s.sendto(b'READY=1', '\\0' + a[1:]); signal.pause()"'''
            ready = "notify"
            """, wrapper: ["/usr/bin/python3", directory + "/squat.py", directory + "/holder"])
        defer {
            tend.stop()
            if let holder = Int32((try? String(contentsOfFile: directory + "/holder", encoding: .utf8)) ?? "") { kill(holder, SIGKILL) }
        }
        #expect(tend.waitForEvent("n", "ready"))
    }
}

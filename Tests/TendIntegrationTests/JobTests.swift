import Foundation
import Testing

/// Scheduled jobs with real processes: runs counted on the clock, never overlapping, run on
/// demand, and as another user.
@Suite struct JobTests {
    func status(_ tend: TendRun, _ name: String) throws -> [String: Any] {
        let result = tend.client(["status", "--json", name])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return try #require((object["services"] as? [[String: Any]])?.first)
    }

    func runs(_ tend: TendRun) -> [Double] {
        (tend.file("runs") ?? "").split(separator: "\n").compactMap { Double($0) }
    }

    @Test func anEveryJobRunsOncePerInterval() throws {
        let tend = try TendRun("""
            [[service]]
            name = "tick"
            command = "date +%s.%N >> $DIR/runs"
            schedule = "every 1s"
            """)
        defer { tend.stop() }
        let started = Date().timeIntervalSince1970
        #expect(tend.waitFor("4 runs") { runs(tend).count >= 4 })
        let times = runs(tend)
        // The first run one interval after the start, then one a second.
        #expect(times[0] - started >= 0.8)
        for (a, b) in zip(times, times.dropFirst()) { #expect(abs(b - a - 1) < 0.25, "runs at \(times)") }
        let row = try status(tend, "tick")
        #expect(row["schedule"] as? String == "every 1s")
        #expect((row["state"] as? String).map { ["scheduled", "running"].contains($0) } == true)
        #expect(row["next_run"] is String)
        let last = try #require(row["last_run"] as? [String: Any])
        #expect(last["start"] is String && ["succeeded", "running"].contains(last["result"] as? String ?? ""))
    }

    @Test func aRunNeverOverlapsTheLastOne() throws {
        let tend = try TendRun("""
            [[service]]
            name = "slow"
            command = "if [ -e $DIR/busy ]; then touch $DIR/overlap; fi; touch $DIR/busy; sleep 1.5; rm $DIR/busy; echo x >> $DIR/done"
            schedule = "every 1s"
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("2 runs done", timeout: 15) { (tend.file("done") ?? "").count >= 4 })
        #expect(tend.events("slow", "skipped").count >= 1)
        #expect(tend.message("slow", "skipped").contains("is still running"))
        #expect(tend.file("overlap") == nil)
    }

    @Test func startRunsAJobNowAndReportsHowItEnded() throws {
        let tend = try TendRun("""
            [[service]]
            name = "yearly"
            command = "echo ran >> $DIR/ran"
            schedule = "@yearly"
            [[service]]
            name = "broken"
            command = "exit 4"
            schedule = "@yearly"
            restart = "never"
            """)
        defer { tend.stop() }
        #expect(tend.client(["status"]).status == 0)
        #expect(tend.file("ran") == nil)
        let ok = tend.client(["start", "yearly"])
        #expect(ok.status == 0)
        #expect(tend.file("ran") == "ran\n")
        let row = try status(tend, "yearly")
        #expect(row["state"] as? String == "scheduled")
        #expect((row["last_run"] as? [String: Any])?["result"] as? String == "succeeded")
        #expect(row["next_run"] is String)
        let failed = try status(tend, "broken")
        #expect(failed["last_run"] is NSNull)
        let bad = tend.client(["start", "broken"])
        #expect(bad.status == 1 && bad.stderr.contains("broken: the run failed: exit code 4"))
        #expect(((try status(tend, "broken"))["last_run"] as? [String: Any])?["result"] as? String == "failed")
        #expect(tend.message("broken", "exited").contains("exit code 4; the run failed"))
    }

    @Test func stopEndsARunAndTheScheduleUntilStartedAgain() throws {
        let tend = try TendRun("""
            [[service]]
            name = "j"
            command = "date +%s.%N >> $DIR/runs; sleep 1000"
            schedule = "every 1s"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("j", "started"))
        let pid = try #require(tend.pid("j"))
        #expect(tend.client(["stop", "j"]).status == 0)
        #expect(!isAlive(pid))
        let row = try status(tend, "j")
        #expect(row["state"] as? String == "stopped" && row["next_run"] is NSNull)
        let count = runs(tend).count
        // Nothing is due any more: another interval passes without a run.
        #expect(!tend.waitFor("no run", timeout: 1.5, reportTimeout: false) { runs(tend).count > count })
    }

    @Test(.enabled(if: getuid() == 0, "needs root to run as another user"))
    func aJobRunsAsItsUser() throws {
        let tend = try TendRun("""
            [[service]]
            name = "as-nobody"
            command = "echo uid=$(id -u) home=$HOME"
            schedule = "every 1s"
            user = "nobody"
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("the job's line") { tend.stdout.contains("as-nobody | uid=65534 home=/nonexistent\n") })
    }
}

/// Health checks and child watchdogs with real processes.
@Suite struct HealthTests {
    @Test func aFailingExecCheckRestartsTheServiceWithTheChecksOutput() throws {
        let tend = try TendRun("""
            [[service]]
            name = "api"
            command = "exec sleep 1000"
            health = { exec = ["sh", "-c", "test -e $DIR/healthy || { echo db is down; exit 2; }"], interval = "200ms", retries = 2 }
            """)
        defer { tend.stop() }
        FileManager.default.createFile(atPath: tend.dir + "/healthy", contents: nil)
        #expect(tend.waitFor("healthy") { tend.client(["status", "--json", "api"]).stdout.contains("\"health\":\"healthy\"") })
        let pid = try #require(tend.pid("api"))
        try FileManager.default.removeItem(atPath: tend.dir + "/healthy")
        #expect(tend.waitForEvent("api", "started", count: 2))
        #expect(!isAlive(pid))
        #expect(tend.message("api", "unhealthy") == "health check 1/2 failed: exit code 2, said: db is down")
        #expect(tend.message("api", "unhealthy", 1) == "health check 2/2 failed: exit code 2, said: db is down")
        #expect(tend.message("api", "exited").hasPrefix("unhealthy: 2 health checks failed in a row"))
        #expect(tend.message("api", "restarting").contains("restart #1"))
    }

    @Test func tcpChecksPassWhileThePortAcceptsAndRestartWhenItDoesNot() throws {
        let port = freePort(), closed = freePort()
        let tend = try TendRun("""
            [[service]]
            name = "web"
            command = ["python3", "-c", "import signal, socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', \(port))); s.listen(); signal.pause()"]
            health = { tcp = "127.0.0.1:\(port)", interval = "200ms", retries = 2, start_period = "20s" }
            [[service]]
            name = "deaf"
            command = "exec sleep 1000"
            health = { tcp = "127.0.0.1:\(closed)", interval = "200ms", retries = 2 }
            backoff = { initial = "1h", max = "1h" }
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("web healthy") { tend.client(["status", "--json", "web"]).stdout.contains("\"health\":\"healthy\"") })
        #expect(tend.waitForEvent("deaf", "restarting"))
        #expect(tend.message("deaf", "unhealthy") == "health check 1/2 failed: connect to 127.0.0.1:\(closed): Connection refused")
        // python may take longer than a check to listen: start_period keeps such failures uncounted.
        #expect(tend.events("web", "unhealthy").isEmpty)
        #expect(tend.client(["status"]).stdout.contains("healthy"))
    }

    @Test func aCheckThatHangsIsKilledWithItsProcessGroupAtItsTimeout() throws {
        let tend = try TendRun("""
            [[service]]
            name = "api"
            command = "exec sleep 1000"
            health = { exec = ["sh", "-c", "sleep 1000 & echo $! > $DIR/sleeper; wait"], interval = "100ms", timeout = "300ms", retries = 5 }
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("api", "unhealthy"))
        #expect(tend.message("api", "unhealthy") == "health check 1/5 failed: timed out after 300ms")
        let sleeper = try #require(Int32((tend.file("sleeper") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(tend.waitFor("the check's child to be killed") { !exists(sleeper) })
    }

    static let dog = """
        import os, signal, socket, sys
        d = sys.argv[1]
        def send(message):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            a = os.environ['NOTIFY_SOCKET']
            s.sendto(message.encode(), '\\0' + a[1:] if a[0] == '@' else a)
        def aborted(*_):
            open(d + '/aborted', 'a').write('%d\\n' % os.getpid())
            os._exit(3)
        signal.signal(signal.SIGABRT, aborted)
        open(d + '/env', 'a').write('%s %s %d\\n' % (os.environ.get('WATCHDOG_USEC'), os.environ.get('WATCHDOG_PID'), os.getpid()))
        def tick(*_):
            # Ten times a second, as a service's own watchdog timer would: ping while told to.
            if os.path.exists(d + '/ping'): send('WATCHDOG=1')
            if os.path.exists(d + '/trigger'):
                os.remove(d + '/trigger')
                send('WATCHDOG=trigger')
        signal.signal(signal.SIGALRM, tick)
        send('READY=1')
        signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)
        while True:
            signal.pause()
        """

    @Test func aSilentWatchdogGetsSIGABRTAndARestartAndTriggerFiresAtOnce() throws {
        let tend = try TendRun("""
            [[service]]
            name = "dog"
            command = ["python3", "$DIR/dog.py", "$DIR"]
            ready = "notify"
            watchdog = "1s"
            """)
        defer { tend.stop() }
        try HealthTests.dog.write(toFile: tend.dir + "/dog.py", atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: tend.dir + "/ping", contents: nil)
        #expect(tend.waitForEvent("dog", "ready", timeout: 15))
        let pid = try #require(tend.pid("dog"))
        #expect(tend.file("env") == "1000000 \(pid) \(pid)\n")
        // Pinged: alive well past its span.
        #expect(!tend.waitFor("no watchdog", timeout: 2.5, reportTimeout: false) { !tend.events("dog", "watchdog").isEmpty })
        try FileManager.default.removeItem(atPath: tend.dir + "/ping")
        #expect(tend.waitForEvent("dog", "started", count: 2))
        #expect(tend.file("aborted") == "\(pid)\n")
        #expect(tend.message("dog", "watchdog") == "no WATCHDOG=1 within 1s; sending SIGABRT")
        #expect(tend.message("dog", "exited").hasPrefix("watchdog: no WATCHDOG=1 within 1s (exit code 3); restarting"))

        FileManager.default.createFile(atPath: tend.dir + "/ping", contents: nil)
        #expect(tend.waitForEvent("dog", "ready", count: 2))
        FileManager.default.createFile(atPath: tend.dir + "/trigger", contents: nil)
        #expect(tend.waitForEvent("dog", "watchdog", count: 2))
        #expect(tend.message("dog", "watchdog", 1) == "the service sent WATCHDOG=trigger; sending SIGABRT")
    }
}

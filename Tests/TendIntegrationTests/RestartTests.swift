import Foundation
import Testing

/// Real /bin/sh children under a real `tend run`.
@Suite struct RestartTests {
    @Test func alwaysRestartsWithBackoffThatGrowsAndResets() throws {
        // Runs 1 and 2 crash at once, run 3 stays up past reset_after, then crashes: the third
        // delay is back at initial.
        let tend = try TendRun("""
            [[service]]
            name = "crashy"
            command = "n=$(cat $DIR/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > $DIR/count; if [ $n -eq 3 ]; then sleep 1.2; fi; exit 1"
            backoff = { initial = "100ms", max = "10s", factor = 2, jitter = 0, reset_after = "1s" }
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("crashy", "restarting", count: 3))
        let delays = tend.events("crashy", "restarting").prefix(3).map { $0.message.split(separator: " ")[1] }
        #expect(delays == ["100ms", "200ms", "100ms"])
        #expect(tend.stop() == 0)
    }

    @Test func onFailureLeavesSuccessExitedAndRestartsFailure() throws {
        let tend = try TendRun("""
            [[service]]
            name = "ok"
            command = "exit 0"
            restart = "on-failure"
            [[service]]
            name = "bad"
            command = "exit 2"
            restart = "on-failure"
            backoff = { initial = "50ms", jitter = 0 }
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("bad", "started", count: 3))
        #expect(tend.events("ok", "exited").first?.message.contains("not restarting") == true)
        #expect(tend.events("ok", "started").count == 1)
    }

    @Test func neverLeavesAnyEndExited() throws {
        let tend = try TendRun("""
            [[service]]
            name = "once"
            command = "exit 3"
            restart = "never"
            [[service]]
            name = "keeper"
            command = "exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("once", "exited"))
        #expect(tend.message("once", "exited") == "exit code 3; not restarting (restart=never)")
        #expect(tend.events("once", "started").count == 1)
    }

    @Test func maxRestartsGivesUpAndTheServiceStaysDown() throws {
        let tend = try TendRun("""
            [[service]]
            name = "hopeless"
            command = "exit 1"
            max_restarts = 2
            backoff = { initial = "10ms", jitter = 0 }
            [[service]]
            name = "keeper"
            command = "exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("hopeless", "gave-up"))
        #expect(tend.events("hopeless", "started").count == 3)
        #expect(tend.message("hopeless", "gave-up").contains("max_restarts=2"))
        #expect(tend.stop() == 0)
    }

    @Test func anExecFailureIsReportedPreciselyAndBackedOff() throws {
        let tend = try TendRun("""
            [[service]]
            name = "typo"
            command = ["/usr/bin/nope-not-here", "--flag"]
            backoff = { initial = "50ms", jitter = 0 }
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("typo", "spawn-failed", count: 2))
        #expect(tend.message("typo", "spawn-failed").hasPrefix("exec /usr/bin/nope-not-here: No such file or directory"))
        #expect(tend.message("typo", "restarting", 1).hasPrefix("in 100ms"))

        // A service in backoff holds back the siblings after it, so this one runs alone.
        let other = try TendRun("""
            [[service]]
            name = "dir"
            command = ["true"]
            working_directory = "/nonexistent-dir"
            """)
        defer { other.stop() }
        #expect(other.waitForEvent("dir", "spawn-failed"))
        #expect(other.message("dir", "spawn-failed").hasPrefix("chdir /nonexistent-dir: No such file or directory"))
    }

    @Test func theRootGivingUpStopsEverythingAndExits1() throws {
        let tend = try TendRun("""
            [supervisor]
            intensity = 3
            period = "30s"
            [[service]]
            name = "steady"
            command = "exec sleep 1000"
            [[service]]
            name = "crashy"
            command = "exit 1"
            backoff = { initial = "0s" }
            """)
        defer { tend.cleanUp() }
        #expect(tend.waitForExit() == 1)
        #expect(tend.events("tend", "gave-up").count == 1)
        #expect(tend.events("steady", "stopped").count == 1)
        #expect(tend.startedPIDs.allSatisfy { !isAlive($0) })
    }
}

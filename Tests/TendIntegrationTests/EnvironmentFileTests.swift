import Foundation
import Testing

/// `environment_file` with real processes: read at every start, under `environment`, a missing
/// required file failing the start (and the restart policy going on), an optional one not.
@Suite struct EnvironmentFileIntegrationTests {
    @Test func readAtEveryStartUnderEnvironment() throws {
        let tend = try TendRun("""
            [[service]]
            name = "env"
            command = "echo \\"$COLOUR $SIZE $SHAPE\\"; exec sleep 1000"
            environment_file = ["$DIR/a.env", "-$DIR/missing.env"]
            environment = { SHAPE = "round" }
            autostart = false
            """)
        defer { tend.stop() }
        try "# colours\nexport COLOUR=red\nSIZE='large'\nSHAPE=square\n".write(toFile: tend.dir + "/a.env", atomically: true, encoding: .utf8)
        #expect(tend.client(["start", "env"]).status == 0)
        #expect(tend.waitFor("the first run's line") { tend.stdout.contains("env | red large round\n") })
        // Edited between runs: the next start reads it again.
        try "COLOUR=\"deep blue\"\nSIZE=small\n".write(toFile: tend.dir + "/a.env", atomically: true, encoding: .utf8)
        #expect(tend.client(["restart", "env"]).status == 0)
        #expect(tend.waitFor("the second run's line") { tend.stdout.contains("env | deep blue small round\n") })
    }

    @Test func aMissingFileFailsTheStartAndTheRestartPolicyGoesOn() throws {
        let tend = try TendRun("""
            [supervisor]
            intensity = 1000
            [[service]]
            name = "bad-line"
            command = "exec sleep 1000"
            environment_file = ["$DIR/bad.env"]
            restart = "never"
            autostart = false
            [[service]]
            name = "needy"
            command = "echo \\"got $TOKEN\\"; exec sleep 1000"
            environment_file = ["$DIR/secret.env"]
            backoff = { initial = "100ms", max = "200ms", jitter = 0 }
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("needy", "spawn-failed", count: 2))
        #expect(tend.message("needy", "spawn-failed").hasPrefix("environment_file \(tend.dir)/secret.env: No such file or directory"))
        try "A=1\nthis is not a line\n".write(toFile: tend.dir + "/bad.env", atomically: true, encoding: .utf8)
        #expect(tend.client(["start", "bad-line"]).status != 0)
        #expect(tend.waitForEvent("bad-line", "spawn-failed"))
        #expect(tend.message("bad-line", "spawn-failed").hasPrefix("environment_file \(tend.dir)/bad.env: line 2: expected KEY=VALUE"))
        // The file appears: the next try starts the service with it.
        try "TOKEN=abc\n".write(toFile: tend.dir + "/secret.env", atomically: true, encoding: .utf8)
        // (Names are padded to the longest: "needy    | ".)
        #expect(tend.waitFor("the start with the file") {
            tend.stdout.split(separator: "\n").contains { $0.hasPrefix("needy ") && $0.hasSuffix("| got abc") }
        })
    }
}

/// `reload_signal` and `tend reload NAME...`.
@Suite struct ReloadSignalTests {
    @Test func aNamedReloadSignalsInPlaceOrRestarts() throws {
        let tend = try TendRun("""
            [[service]]
            name = "hup"
            command = "trap 'echo reloaded' HUP; echo up; while :; do sleep 0.05; done"
            reload_signal = "HUP"
            [[service]]
            name = "plain"
            command = "exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("hup's trap") { tend.stdout.contains("hup   | up\n") })
        #expect(tend.waitForEvent("plain", "started"))
        let (hup, plain) = (try #require(tend.pid("hup")), try #require(tend.pid("plain")))
        let result = tend.client(["reload", "hup", "plain"])
        #expect(result.status == 0 && result.stdout == "reloaded: signalled hup; restarted plain\n")
        #expect(tend.waitFor("hup's reload") { tend.stdout.contains("hup   | reloaded\n") })
        #expect(tend.pid("hup") == hup && isAlive(hup))
        #expect(tend.pid("plain") != plain && tend.events("plain", "started").count == 2)
        // Without names, the file is read again, as before.
        #expect(tend.client(["reload"]).stdout.hasPrefix("reloaded: 0 added"))
    }
}

/// `critical = true` with real processes: the critical service's code is `tend run`'s.
@Suite struct CriticalServiceTests {
    @Test func aCriticalServicesExitCodeBecomesTendRunsOwn() throws {
        let tend = try TendRun("""
            [[service]]
            name = "calm"
            command = "exec sleep 1000"
            [[service]]
            name = "task"
            command = "sleep 0.2; exit 7"
            restart = "never"
            critical = true
            """)
        defer { tend.cleanUp() }
        #expect(tend.waitForExit() == 7)
        #expect(tend.message("tend", "shutdown").contains("task is critical and has ended for good"))
        #expect(tend.events("calm", "stopped").count == 1)
        for pid in tend.startedPIDs { #expect(!isAlive(pid)) }
    }
}

/// `ready = "exited"` with real processes: a migration gates the service that needs it.
@Suite struct OneShotTaskTests {
    @Test func aMigrationGatesTheServiceAfterIt() throws {
        let tend = try TendRun("""
            [[service]]
            name = "migrate"
            command = "sleep 0.3; echo migrated > $DIR/schema"
            ready = "exited"
            restart = "on-failure"
            [[service]]
            name = "api"
            command = "cat $DIR/schema; exec sleep 1000"
            after = ["migrate"]
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("api's line") { tend.stdout.contains("api     | migrated\n") })
        #expect(tend.client(["status", "migrate"]).stdout.contains("exited"))
        #expect(tend.events("migrate", "started").count == 1)
    }
}

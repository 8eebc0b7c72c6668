import Foundation
import Testing

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

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

    @Test func aFIFOIsRefusedWithoutFreezingTend() throws {
        let tend = try TendRun("""
            [[service]]
            name = "calm"
            command = "exec sleep 1000"

            [[service]]
            name = "piped"
            command = "exec sleep 1000"
            environment_file = ["$DIR/fifo.env"]
            restart = "never"
            autostart = false
            """)
        defer { tend.stop() }
        #expect(mkfifo(tend.dir + "/fifo.env", 0o600) == 0)
        #expect(tend.waitForEvent("calm", "started"))
        let start = tend.client(["start", "piped"], timeout: 10)
        #expect(start.status == 1 && start.stderr.contains("not a regular file"), "\(start.stderr)")
        #expect(tend.client(["status", "calm"], timeout: 5).status == 0)
    }
}

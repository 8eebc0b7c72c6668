import Foundation
import Testing

/// Numbers from outside that once killed tend or made it spin: each is now refused with an
/// error naming it, or taken within its range, and tend runs on.
@Suite struct EdgeNumberTests {
    static let config = ControlSocketTests.config
        + "[[service]]\nname = \"many\"\ncommand = \"exec sleep 1000\"\ninstances = 1\n"

    func started(_ config: String = EdgeNumberTests.config, environment: [String: String] = [:]) throws -> TendRun {
        let tend = try TendRun(config, environment: environment)
        #expect(tend.waitForEvent("s", "started"))
        return tend
    }

    @Test func outOfRangeTimeoutsAndCountsOnTheSocketAreRefusedByName() throws {
        let tend = try started()
        defer { tend.stop() }
        let c = try #require(RawClient(tend.socketPath))
        for (request, field) in [
            (#"{"version":1,"command":"restart","names":["s"],"timeout_s":1e300}"#, "timeout_s"),
            (#"{"version":1,"command":"stop","names":["s"],"timeout_s":-1}"#, "timeout_s"),
            (#"{"version":1,"command":"reload","names":["s"],"timeout_s":31536001}"#, "timeout_s"),
            (#"{"version":1,"command":"scale","names":["many"],"count":1000000000}"#, "count"),
            (#"{"version":1,"command":"scale","names":["many"],"count":-5}"#, "count"),
            (#"{"version":1,"command":"scale","names":["many"],"count":9223372036854775807}"#, "count"),
        ] {
            c.send(request + "\n")
            let answer = c.readLine()
            #expect(answer.hasPrefix(#"{"ok":false"#) && answer.contains(field), "\(request): \(answer)")
        }
        #expect(tend.exitStatus == nil)
        #expect(tend.client(["status", "s"]).status == 0)
    }

    @Test func outOfRangeOptionsAreRefusedByTheClient() throws {
        let tend = try started()
        defer { tend.stop() }
        for arguments in [["restart", "s", "--timeout", "1e300"], ["restart", "s", "--timeout", "nan"],
                          ["stop", "s", "--timeout", "inf"], ["reload", "--timeout", "-1"],
                          ["scale", "many", "1000000000"], ["scale", "many", "0"]] {
            let result = tend.client(arguments)
            #expect(result.status == 64 && result.stderr.contains(arguments.contains("--timeout") ? "--timeout" : "count"),
                    "\(arguments): \(result.status) \(result.stderr)")
        }
        #expect(tend.exitStatus == nil)
        #expect(tend.pid("s") != nil && tend.events("s", "started").count == 1)
    }

    @Test func aReloadWithAnOutOfRangeSpanKeepsTheTreeRunning() throws {
        let tend = try started()
        defer { tend.stop() }
        for value in ["inf", "nan", "1e10", "\"1e10\""] {
            try tend.rewrite(ControlSocketTests.config + "stop_timeout = \(value)\n")
            let result = tend.client(["reload"])
            #expect(result.status == 1 && result.stderr.contains("stop_timeout"), "\(value): \(result.stderr)")
        }
        #expect(tend.exitStatus == nil)
        #expect(tend.events("s", "started").count == 1)
    }

    @Test func aHugeWatchdogFromTheServiceManagerDoesNotSpin() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tend-edge-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let notify = try FakeNotifySocket(directory: directory)
        let tend = try started(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "18446744073709551614"])
        defer { tend.stop() }
        #expect(tend.waitFor("READY=1") { !notify.received("READY=1").isEmpty })
        #expect(ticksOverOneSecond(tend.process.processIdentifier) < 30)
    }

    @Test func aChildsHugeWatchdogUsecIsIgnoredWithoutASpin() throws {
        let tend = try started(ControlSocketTests.config + """
            [[service]]
            name = "dog"
            command = ["python3", "-c", "import os, signal, socket\\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\\na = os.environ['NOTIFY_SOCKET']\\ns.connect('\\\\0' + a[1:] if a[0] == '@' else a)\\ns.send(b'READY=1\\\\nWATCHDOG_USEC=18446744073709551615')\\ns.send(b'WATCHDOG_USEC=9223372036854775807')\\nsignal.pause()"]
            ready = "notify"
            watchdog = "30s"

            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("dog", "ready"))
        #expect(ticksOverOneSecond(tend.process.processIdentifier) < 30)
        #expect(tend.client(["status", "dog"]).stdout.contains("running"))
    }
}

import Foundation
import Testing

/// `instances = N` and `tend scale` with real processes.
@Suite struct InstancesTests {
    static func config(_ n: Int) -> String {
        """
        [[service]]
        name = "worker"
        command = "echo \\"I am $TEND_INSTANCE\\"; exec sleep 1000"
        instances = \(n)
        [[service]]
        name = "tail"
        command = "exec sleep 1000"
        """
    }

    @Test func copiesRunWithTheirNumberAndScaleKeepsTheOthers() throws {
        let tend = try TendRun(InstancesTests.config(3))
        defer { tend.stop() }
        #expect(tend.waitForEvent("tail", "started"))
        // Each copy's line comes through its output pipe, maybe after tail has started.
        #expect(tend.waitFor("each copy's line") { (1...3).allSatisfy { tend.stdout.contains("worker@\($0) | I am \($0)\n") } })
        let status = tend.client(["status", "worker", "--json"])
        #expect(status.stdout.components(separatedBy: "\"name\":\"worker@").count - 1 == 3)
        let kept = try (1...3).map { try #require(tend.pid("worker@\($0)")) } + [try #require(tend.pid("tail"))]

        let up = tend.client(["scale", "worker", "5"])
        #expect(up.status == 0 && up.stdout == "worker: 3 → 5 instances (2 added)\n")
        // Answered once settled: the new copies are running.
        let rows = tend.client(["status", "worker@4", "worker@5", "--json"]).stdout
        #expect(rows.components(separatedBy: "\"state\":\"running\"").count - 1 == 2)
        #expect(tend.waitFor("worker@5's line") { tend.stdout.contains("worker@5 | I am 5\n") })

        let down = tend.client(["scale", "worker", "2"])
        #expect(down.status == 0 && down.stdout == "worker: 5 → 2 instances (3 stopped)\n")
        // The highest first, one after another.
        let stopped = tend.events.filter { $0.kind == "stopped" }.map(\.subject)
        #expect(stopped == ["worker@5", "worker@4", "worker@3"])
        #expect(tend.events("worker@1", "started").count == 1 && tend.events("worker@2", "started").count == 1)
        #expect(isAlive(kept[0]) && isAlive(kept[1]) && !exists(kept[2]) && isAlive(kept[3]))
        #expect(tend.client(["scale", "worker", "2"]).stdout == "worker: 2 instances already\n")

        // Errors are said, and change nothing.
        let plain = tend.client(["scale", "tail", "2"])
        #expect(plain.status == 1 && plain.stderr.contains("tail has no instances key"))
        #expect(tend.client(["scale", "worker", "0"]).stderr.contains("expected at least 1"))
    }

    @Test func aReloadChangingOnlyInstancesRestartsNothing() throws {
        let tend = try TendRun(InstancesTests.config(2))
        defer { tend.stop() }
        #expect(tend.waitForEvent("tail", "started"))
        let before = try ["worker@1", "worker@2", "tail"].map { try #require(tend.pid($0)) }
        try tend.rewrite(InstancesTests.config(4))
        let reload = tend.client(["reload"])
        #expect(reload.stdout.hasPrefix("reloaded: 2 added (worker@3, worker@4), 0 removed, 0 restarted, 3 unchanged"))
        #expect(try ["worker@1", "worker@2", "tail"].map { try #require(tend.pid($0)) } == before)
        #expect(tend.events.filter { $0.kind == "stopped" }.isEmpty)
        #expect(tend.waitFor("worker@4's line") { tend.stdout.contains("worker@4 | I am 4\n") })
    }
}

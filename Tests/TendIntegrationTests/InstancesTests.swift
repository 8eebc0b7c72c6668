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
        for i in 1...3 { #expect(tend.stdout.contains("worker@\(i) | I am \(i)\n")) }
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

/// `tend status NAME`: one service in detail.
@Suite struct StatusDetailTests {
    @Test func theDetailShowsTheProcessTreeAndTheLastExits() throws {
        let tend = try TendRun("""
            [[service]]
            name = "tree"
            command = "sleep 1000 & (sleep 999 &); echo forked; exec sleep 1001"
            [[service]]
            name = "crashy"
            command = "exit 3"
            backoff = { initial = "50ms", max = "50ms", jitter = 0 }
            max_restarts = 6
            [[service]]
            name = "copies"
            command = "exec sleep 1000"
            instances = 2
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("tree's line") {
            tend.stdout.split(separator: "\n").contains { $0.hasPrefix("tree ") && $0.hasSuffix("| forked") }
        })
        let main = try #require(tend.pid("tree"))
        // The child's own child (the backgrounded sleep) is under it.
        let grandchild = try #require(try childPIDs(of: main).first)
        let text = tend.client(["status", "tree"]).stdout
        #expect(text.hasPrefix("tree\n  state       running since "), "\(text)")
        #expect(text.contains("\n    \(main) sleep 1001\n    └─ \(grandchild) sleep 1000\n"), "\(text)")
        // Left behind by a double fork: tend's child now, still in the service's process group.
        let leftOver = try #require(try childPIDs(of: tend.process.processIdentifier).first { $0 != main && getpgid($0) == main })
        #expect(text.contains("\n    \(leftOver) sleep 999\n"), "\(text)")
        #expect(text.contains("  pid         \(main)\n") && text.contains("  log         console\n"))
        let json = tend.client(["status", "tree", "--json"]).stdout
        #expect(json.contains("\"processes\":[{\"pid\":\(main),") && json.contains("{\"pid\":\(grandchild),\"ppid\":\(main),\"command\":\"sleep 1000\"}"), "\(json)")
        #expect(json.contains("\"since\":\"") && json.contains("\"journal\":null"))

        // The last 5 exits, the latest first, with their times and codes.
        #expect(tend.waitFor("crashy to fail") { tend.client(["status", "crashy", "--json"]).stdout.contains("\"state\":\"failed\"") })
        let crashy = tend.client(["status", "crashy"]).stdout
        let exits = crashy.split(separator: "\n").filter { $0.hasSuffix("code 3 after 0.0s") }
        #expect(exits.count == 5, "\(crashy)")
        #expect(tend.client(["status", "crashy", "--json"]).stdout.components(separatedBy: "{\"at\":\"").count - 1 == 5)

        // A service with instances, or a group: their rows.
        #expect(tend.client(["status", "copies"]).stdout.hasPrefix("NAME      GROUP  STATE"))
        #expect(tend.client(["status", "copies@2"]).stdout.hasPrefix("copies@2\n"))
    }
}

/// Children of `pid`, from /proc/PID/task/PID/children.
func childPIDs(of pid: Int32) throws -> [Int32] {
    try String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8).split(separator: " ").compactMap { Int32($0) }
}

import Foundation
import Testing

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
        // The daemon names what it adopted in the group (with cgroups, every other process of
        // the service's cgroup): the client asks no getpgid of the rest.
        let row = try #require(((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["services"] as? [[String: Any]])?.first)
        let adopted = Set(try #require(row["adopted"] as? [Int]))
        #expect(adopted == (row["cgroup"] is String ? [Int(grandchild), Int(leftOver)] : [Int(leftOver)]), "\(json)")

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

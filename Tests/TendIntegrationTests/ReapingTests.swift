import Foundation
import Testing

/// tend's children that are zombies now.
func zombieChildren(_ pid: Int32) -> [Int32] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    var zombies: [Int32] = []
    for task in tasks {
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ") {
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z",
                  let number = Int32(child) else { continue }
            zombies.append(number)
        }
    }
    return zombies
}

/// Every child tend makes is reaped, whichever way it ends: before its exec, after it, as a
/// readiness probe or a health check. (That each is reaped by its own pidfd, not only by the
/// scan of every child a SIGCHLD sets off, is ReapTests'.)
@Suite struct ReapingTests {
    /// While children keep ending, none stays a zombie across many of them: those seen now are
    /// gone once `count` more `kind` events of `name` have come. Two looks ordered by events.
    func noZombieOutlives(_ tend: TendRun, _ count: Int, _ kind: String, of name: String) {
        let pid = tend.process.processIdentifier
        let before = Set(zombieChildren(pid))
        #expect(tend.waitForEvent(name, kind, count: tend.events(name, kind).count + count))
        let lingering = before.intersection(zombieChildren(pid))
        #expect(lingering.isEmpty, "zombies of tend's that outlived \(count) \(kind) events: \(lingering)")
    }

    /// Once nothing more is started (the services stopped), no child of tend's is a zombie.
    func noZombieLeftOnceStopped(_ tend: TendRun, _ names: [String]) {
        #expect(tend.client(["stop"] + names).status == 0)  // answered once they are stopped
        let pid = tend.process.processIdentifier
        #expect(tend.waitFor("every zombie of tend's reaped") { zombieChildren(pid).isEmpty })
    }

    @Test func aBinaryThatIsNotThereLeavesNoZombie() throws {
        // Restarted every 10 ms: the root's intensity set out of the way.
        let tend = try TendRun("""
            [supervisor]
            intensity = 1000000
            period = "1s"

            [[service]]
            name = "missing"
            command = ["/nonexistent/tend-test-binary"]
            backoff = { initial = "10ms", max = "10ms", jitter = 0 }

            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("missing", "spawn-failed", count: 5))
        noZombieOutlives(tend, 50, "spawn-failed", of: "missing")
        noZombieLeftOnceStopped(tend, ["missing"])
    }

    /// Nothing here ends after an exec, so no SIGCHLD comes to set off a scan of every child:
    /// each failed child must be reaped by its own identity.
    @Test func probesAndChecksThatCannotStartLeaveNoZombie() throws {
        let tend = try TendRun("""
            [[service]]
            name = "checked"
            command = "exec sleep 1000"
            health = { exec = ["/nonexistent/check"], interval = "50ms", retries = 1000000 }

            [[service]]
            name = "probed"
            command = "exec sleep 1000"
            ready = { exec = ["/nonexistent/probe"] }
            start_timeout = "60s"

            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("probed", "started"))
        #expect(tend.waitForEvent("checked", "unhealthy", count: 3))
        noZombieOutlives(tend, 10, "unhealthy", of: "checked")
        noZombieLeftOnceStopped(tend, ["checked", "probed"])
    }

    @Test func aChildKilledBySignalIsReapedAtOnce() throws {
        let tend = try TendRun("[[service]]\nname = \"victim\"\ncommand = \"exec sleep 1000\"\nrestart = \"never\"\n")
        defer { tend.stop() }
        #expect(tend.waitForEvent("victim", "started"))
        let pid = try #require(tend.pid("victim"))
        kill(pid, SIGKILL)
        #expect(tend.waitForEvent("victim", "exited"))
        #expect(tend.waitFor("the zombie to be reaped") { !exists(pid) })
    }
}

import Foundation
import Testing

/// Strategies, order and readiness with real processes; pids checked.
@Suite struct TreeTests {
    /// a, b, c in one group; b crashes once (its first run), the others run until stopped.
    func trio(_ strategy: String) throws -> TendRun {
        try TendRun("""
            [[group]]
            name = "g"
            strategy = "\(strategy)"
            children = ["a", "b", "c"]
            [[service]]
            name = "a"
            command = "exec sleep 1000"
            [[service]]
            name = "b"
            command = "if [ -e $DIR/b.crashed ]; then exec sleep 1000; fi; touch $DIR/b.crashed; sleep 0.3; exit 1"
            backoff = { initial = "50ms", jitter = 0 }
            [[service]]
            name = "c"
            command = "exec sleep 1000"
            """)
    }

    @Test func oneForOneRestartsOnlyTheDeadChild() throws {
        let tend = try trio("one_for_one")
        defer { tend.stop() }
        #expect(tend.waitForEvent("b", "started", count: 2))
        #expect(tend.events("a", "started").count == 1 && tend.events("c", "started").count == 1)
        let (a, c) = (try #require(tend.pid("a")), try #require(tend.pid("c")))
        #expect(isAlive(a) && isAlive(c))
    }

    @Test func oneForAllRestartsEveryChildInOrder() throws {
        let tend = try trio("one_for_all")
        defer { tend.stop() }
        let (a, c) = try #require(tend.waitForEvent("c", "started") ? (tend.pid("a"), tend.pid("c")) : nil)
        #expect(tend.waitForEvent("c", "started", count: 2))
        #expect(tend.events.filter { $0.kind == "stopped" }.map(\.subject) == ["c", "a"])
        let starts = tend.events.filter { $0.kind == "started" }.map(\.subject)
        #expect(starts == ["a", "b", "c", "a", "b", "c"])
        #expect(tend.pid("a") != a && tend.pid("c") != c)
        let (oldA, oldC) = (try #require(a), try #require(c))
        #expect(!exists(oldA) && !exists(oldC))
    }

    @Test func restForOneRestartsTheDeadChildAndThoseAfterIt() throws {
        let tend = try trio("rest_for_one")
        defer { tend.stop() }
        #expect(tend.waitForEvent("c", "started", count: 2))
        #expect(tend.events("a", "started").count == 1)
        #expect(tend.events.filter { $0.kind == "stopped" }.map(\.subject) == ["c"])
        #expect(isAlive(try #require(tend.pid("a"))))
    }

    @Test func aGroupThatGivesUpIsRestartedByItsParentAndTheRootExits1() throws {
        let tend = try TendRun("""
            [supervisor]
            intensity = 1
            period = "30s"
            [[group]]
            name = "inner"
            intensity = 1
            period = "30s"
            children = ["x", "crashy"]
            [[service]]
            name = "x"
            command = "exec sleep 1000"
            [[service]]
            name = "crashy"
            command = "sleep 0.1; exit 1"
            backoff = { initial = "0s" }
            """)
        defer { tend.cleanUp() }
        #expect(tend.waitForExit() == 1)
        // inner gives up twice: the first time the root restarts it, the second time the root gives up.
        #expect(tend.events("group inner", "gave-up").count == 2)
        #expect(tend.events("group inner", "restarting").count == 1)
        #expect(tend.events("x", "started").count == 2)
        #expect(tend.startedPIDs.allSatisfy { !exists($0) })
    }

    @Test func startIsOrderedAndStopIsReversedOneAtATime() throws {
        let tend = try TendRun("""
            [[service]]
            name = "first"
            command = "exec sleep 1000"
            [[group]]
            name = "g"
            children = ["second", "third"]
            [[service]]
            name = "second"
            command = "trap 'sleep 0.2; exit 0' TERM; while true; do sleep 0.05; done"
            [[service]]
            name = "third"
            command = "exec sleep 1000"
            """)
        defer { tend.cleanUp() }
        #expect(tend.waitForEvent("third", "started"))
        #expect(tend.events.filter { $0.kind == "started" }.map(\.subject) == ["first", "second", "third"])
        #expect(tend.stop() == 0)
        let stops = tend.events.filter { $0.kind == "stopping" || $0.kind == "stopped" }.map { "\($0.kind) \($0.subject)" }
        #expect(stops == ["stopping third", "stopped third", "stopping second", "stopped second",
                          "stopping first", "stopped first"])
    }

    @Test func afterWaitsForTcpReadiness() throws {
        let port = freePort()
        let tend = try TendRun("""
            [[service]]
            name = "db"
            command = "sleep 0.5; exec python3 -c \\"import signal, socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', \(port))); s.listen(); signal.pause()\\""
            ready = { tcp = "127.0.0.1:\(port)" }
            [[group]]
            name = "front"
            children = ["api"]
            [[service]]
            name = "api"
            command = "exec sleep 1000"
            after = ["db"]
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("api", "started"))
        let order = tend.events.filter { ["ready", "started"].contains($0.kind) }.map { "\($0.kind) \($0.subject)" }
        #expect(order == ["started db", "ready db", "started api"])
    }

    @Test func notifyReadinessAcceptsReadyFromTheServicesSession() throws {
        // The shell forks python, which sends READY=1 and STATUS= from its own pid and stays
        // alive (a sender gone before tend reads its message cannot be placed in a session).
        let tend = try TendRun("""
            [[service]]
            name = "notifier"
            command = '''sleep 0.3; python3 -c "import os, signal, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a = os.environ['NOTIFY_SOCKET']; s.sendto(b'STATUS=all good\\nREADY=1', '\\0' + a[1:] if a[0] == '@' else a); signal.pause()" & exec sleep 1000'''
            ready = "notify"
            [[service]]
            name = "next"
            command = "exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("next", "started"))
        let order = tend.events.filter { ["ready", "started"].contains($0.kind) }.map { "\($0.kind) \($0.subject)" }
        #expect(order == ["started notifier", "ready notifier", "started next"])
        #expect(tend.client(["status", "--json", "notifier"]).stdout.contains(#""status_text":"all good""#))
    }

    @Test func aServiceThatNeverGetsReadyFailsItsStart() throws {
        let tend = try TendRun("""
            [[service]]
            name = "mute"
            command = "exec sleep 1000"
            ready = "notify"
            start_timeout = "300ms"
            backoff = { initial = "1s" }
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("mute", "restarting"))
        #expect(tend.message("mute", "exited").hasPrefix("not ready within start_timeout=300ms"))
    }

    @Test func execReadinessRunsTheProbeUntilItSucceeds() throws {
        let tend = try TendRun("""
            [[service]]
            name = "slow"
            command = "sleep 0.4; touch $DIR/up; exec sleep 1000"
            ready = { exec = ["test", "-e", "$DIR/up"] }
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("slow", "ready"))
        #expect(tend.file("up") != nil)
    }
}

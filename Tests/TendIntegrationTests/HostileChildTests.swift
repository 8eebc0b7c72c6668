import Foundation
import Testing

/// tend's peak resident memory (VmHWM), in KiB.
func peakRSS(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

/// The states of a process's children (`Z` for a zombie).
func childStates(_ pid: Int32) -> [Character] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    var states: [Character] = []
    for task in tasks {
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ") {
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            states.append(stat[stat.index(close, offsetBy: 2)])
        }
    }
    return states
}

/// Children that misbehave on purpose: tend keeps running, keeps every other service and its
/// control socket, and holds its memory.
@Suite struct HostileChildTests {
    static let neighbour = "[[service]]\nname = \"calm\"\ncommand = \"exec sleep 1000\"\n"

    @Test func aChildThatClosesStdoutAndFloodsStderrLosesNoLine() throws {
        let tend = try TendRun(HostileChildTests.neighbour + """
            [[service]]
            name = "flood"
            command = "exec >&-; yes 0123456789012345678901234567890123456789012345678 | head -n 200000 >&2; exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("calm", "started"))
        // 10 MB in 200,000 lines: status answers meanwhile, and every line arrives.
        #expect(tend.client(["status", "calm"], timeout: 10).status == 0)
        #expect(tend.waitFor("every line", timeout: 60) {
            tend.stdout.components(separatedBy: "flood | 0123456789012345678901234567890123456789012345678\n").count - 1 == 200_000
        })
        #expect(tend.client(["status", "calm"]).stdout.contains("running"))
    }

    @Test func aLineWithNoEndIsCutAndHoldsNoMemory() throws {
        let tend = try TendRun(HostileChildTests.neighbour + """
            [[service]]
            name = "endless"
            command = "head -c 40000000 /dev/zero | tr '\\\\0' x; echo; echo done; exec sleep 1000"
            """)
        defer { tend.stop() }
        let pid = tend.process.processIdentifier
        #expect(tend.waitForEvent("calm", "started"))
        let before = peakRSS(pid)
        #expect(tend.waitFor("the end of the line", timeout: 60) { tend.stdout.contains("endless | done\n") })
        // 40 MB with no newline went through in pieces of 16 KiB: tend's peak grew by far less.
        #expect(peakRSS(pid) - before < 16 * 1024, "peak RSS grew from \(before) KiB to \(peakRSS(pid)) KiB")
        let pieces = tend.stdout.split(separator: "\n").filter { $0.hasPrefix("endless | x") || $0.hasPrefix("endless ~ x") }
        #expect(pieces.count >= 40_000_000 / (16 * 1024))
        #expect(tend.client(["status", "calm"]).stdout.contains("running"))
    }

    @Test func aThousandGrandchildrenAreAllReaped() throws {
        // The main process leaves 1,000 children behind and exits; kill_mode = "process" lets
        // them live out their second, and tend (the subreaper) reaps every one.
        let tend = try TendRun(HostileChildTests.neighbour + """
            [[service]]
            name = "fork-bomb"
            command = "for i in $(seq 1000); do sleep 1 & done; exit 0"
            restart = "never"
            kill_mode = "process"
            """)
        defer { tend.stop() }
        let pid = tend.process.processIdentifier
        #expect(tend.waitForEvent("fork-bomb", "exited"))
        #expect(tend.waitFor("every grandchild to end and be reaped", timeout: 30) {
            childStates(pid).allSatisfy { $0 != "Z" } && childStates(pid).count == 1  // calm's sleep
        })
        #expect(tend.client(["status", "calm"]).stdout.contains("running"))
    }

    @Test func outOfFDsASpawnFailsBacksOffAndRecovers() throws {
        // A service that ends every 0.2 s, while control clients that wait for answers take
        // every fd tend may have: its restarts fail (pipe2: EMFILE) and back off, the other
        // service runs on, and once the clients go it starts again.
        let tend = try TendRun(ControlAbuseTests.config + """
            [[service]]
            name = "brief"
            command = "sleep 0.2"
            backoff = { initial = "50ms", max = "200ms", jitter = 0 }
            """, wrapper: ["/usr/bin/prlimit", "--nofile=64:64"])
        defer { tend.stop() }
        #expect(tend.waitForEvent("brief", "started"))
        var held = holdEveryFD(tend)
        #expect(tend.waitForEvent("brief", "spawn-failed"))
        #expect(tend.message("brief", "spawn-failed").contains("Too many open files"))
        #expect(ticksOverOneSecond(tend.process.processIdentifier) < 30)
        let started = tend.events("brief", "started").count
        held.removeAll()
        #expect(tend.waitFor("brief to start again") { tend.events("brief", "started").count > started })
        #expect(tend.client(["status", "s"]).stdout.contains("running"))
    }
}

/// Out of processes: tend runs as a user whose RLIMIT_NPROC it has reached, so clone fails
/// with EAGAIN. Needs root to make the user.
@Suite struct ProcessLimitTests {
    static let user = "tend-test-nproc"

    @Test(.enabled(if: getuid() == 0, "needs root to make a user"))
    func aStartThatCannotForkBacksOffAndRecovers() throws {
        _ = ControlPermissionTests.sh("id \(ProcessLimitTests.user) >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin \(ProcessLimitTests.user)")
        // tend and 3 children are all the user may have: the 4th start fails with EAGAIN.
        let tend = try TendRun("""
            [[service]]
            name = "a"
            command = ["sleep", "1000"]
            [[service]]
            name = "b"
            command = ["sleep", "1000"]
            [[service]]
            name = "c"
            command = ["sleep", "1000"]
            [[service]]
            name = "d"
            command = ["sleep", "1000"]
            backoff = { initial = "100ms", max = "500ms", jitter = 0 }
            """, wrapper: ["/bin/sh", "-c",
                           "chown \(ProcessLimitTests.user) \"$(dirname \"$4\")\"; exec /usr/bin/prlimit --nproc=4:4 "
                           + "/usr/bin/setpriv --reuid=\(ProcessLimitTests.user) --regid=\(ProcessLimitTests.user) --clear-groups \"$@\"", "sh"])
        defer { tend.stop() }
        #expect(tend.waitForEvent("d", "spawn-failed", count: 2))
        #expect(tend.message("d", "spawn-failed").hasPrefix("fork: Resource temporarily unavailable"))
        #expect(ticksOverOneSecond(tend.process.processIdentifier) < 30)
        #expect(tend.client(["status", "a", "b", "c"]).stdout.components(separatedBy: "running").count == 4)
        // The fault gone (one process fewer), d starts at its next try.
        #expect(tend.client(["stop", "c"]).status == 0)
        #expect(tend.waitForEvent("d", "started"))
    }
}

extension HostileChildTests {
    @Test func outOfFDsAReadinessProbeFailsAndIsTriedAgain() throws {
        let port = freePort()
        // `probed` listens after a second; by then control clients hold every fd tend may
        // have, so each tcp probe fails at socket() with EMFILE and is tried again.
        let tend = try TendRun(ControlAbuseTests.config + """
            [[service]]
            name = "probed"
            command = "sleep 1; exec python3 -c \\"import signal, socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', \(port))); s.listen(); signal.pause()\\""
            ready = { tcp = "127.0.0.1:\(port)" }
            autostart = false
            log = "null"
            """, wrapper: ["/usr/bin/prlimit", "--nofile=64:64"])
        defer { tend.stop() }
        #expect(tend.waitForEvent("s", "started"))
        let first = try #require(RawClient(tend.socketPath, readTimeout: 30))
        first.send(#"{"version":1,"command":"start","names":["probed"],"timeout_s":60}"# + "\n")
        #expect(tend.waitForEvent("probed", "started"))
        var held = holdEveryFD(tend)
        // Listening now (seen from here), yet not ready: tend cannot open a socket to probe it.
        #expect(tend.waitFor("probed to listen") { canConnect(port) })
        #expect(tend.events("probed", "ready").isEmpty)
        #expect(ticksOverOneSecond(tend.process.processIdentifier) < 30)
        #expect(tend.events("probed", "ready").isEmpty)
        held.removeAll()
        #expect(tend.waitForEvent("probed", "ready"))
        #expect(first.readLine().hasPrefix(#"{"ok":true"#))
    }
}

func canConnect(_ port: UInt16) -> Bool {
    let fd = loopbackSocket(port)
    defer { if fd >= 0 { close(fd) } }
    return fd >= 0
}

/// A TCP socket connected to 127.0.0.1:`port`, or (`listening`) bound there and listening; -1
/// when that fails.
func loopbackSocket(_ port: UInt16, listening: Bool = false) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = port.bigEndian
    let done = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            let length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return listening ? bind(fd, $0, length) == 0 && listen(fd, 1) == 0 : connect(fd, $0, length) == 0
        }
    }
    if done { return fd }
    close(fd)
    return -1
}

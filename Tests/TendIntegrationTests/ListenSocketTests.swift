import Foundation
import Testing

/// `listen` sockets (SPEC section 9) with real processes: a python server that takes its
/// socket from LISTEN_FDS, and a client that counts what it gets.
@Suite struct ListenSocketTests {
    /// The scripts, in a directory of their own made before tend starts.
    final class Scripts {
        let dir: String
        var server: String { dir + "/server.py" }
        var client: String { dir + "/client.py" }

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("tend-listen-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // Checks sd_listen_fds' protocol, says what it got, and answers each connection on
            // fd 3 with its pid. Under ready = "notify", ready once SIGTERM is handled.
            try """
                import os, select, signal, socket
                assert os.environ["LISTEN_PID"] == str(os.getpid())
                print("listen", os.getpid(), os.environ["LISTEN_FDS"], os.environ["LISTEN_FDNAMES"], flush=True)
                # SIGTERM wakes the select through a pipe: the server ends there, between
                # connections, leaving what waits in the backlog to the next run.
                r, w = os.pipe()
                os.set_blocking(w, False)
                signal.set_wakeup_fd(w)
                signal.signal(signal.SIGTERM, lambda *_: None)
                s = socket.socket(fileno=3)
                if "NOTIFY_SOCKET" in os.environ:
                    n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    a = os.environ["NOTIFY_SOCKET"]
                    n.connect("\\0" + a[1:] if a[0] == "@" else a)
                    n.send(b"READY=1")
                while True:
                    if r in select.select([s, r], [], [])[0]:
                        os._exit(0)
                    c, _ = s.accept()
                    c.sendall(b"%d\\n" % os.getpid())
                    c.close()
                """.write(toFile: server, atomically: true, encoding: .utf8)
            // Connects 20 times a second (between connections it waits 50 ms for its stdin to
            // close: the test's word to stop), then writes its counts.
            try """
                import select, socket, sys
                port, result = int(sys.argv[1]), sys.argv[2]
                ok = refused = other = 0
                while True:
                    try:
                        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                            if c.makefile().readline().strip().isdigit():
                                ok += 1
                            else:
                                other += 1
                    except ConnectionRefusedError:
                        refused += 1
                    except OSError:
                        other += 1
                    with open(result + ".progress", "w") as f:
                        f.write(str(ok))
                    if select.select([sys.stdin], [], [], 0.05)[0]:
                        break
                with open(result, "w") as f:
                    f.write("%d %d %d" % (ok, refused, other))
                """.write(toFile: client, atomically: true, encoding: .utf8)
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// Connects once; the server's pid, or nil when refused, cut or not answered in 20 s.
    func answer(_ port: UInt16) -> Int32? {
        let fd = loopbackSocket(port)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var limit = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Runs the client while `during` runs: its counts of answered, refused and other connections.
    func connections(_ port: UInt16, _ scripts: Scripts, _ tend: TendRun, during: () -> Void) throws -> [Int] {
        let result = scripts.dir + "/result"
        let client = Process(), stop = Pipe()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        client.arguments = ["python3", scripts.client, String(port), result]
        client.standardInput = stop
        try client.run()
        defer { if client.isRunning { client.terminate(); client.waitUntilExit() } }
        #expect(tend.waitFor("the client's first answer") { (try? String(contentsOfFile: result + ".progress", encoding: .utf8)) ?? "0" != "0" })
        during()
        try stop.fileHandleForWriting.close()
        #expect(tend.waitFor("the client to finish", timeout: 30) { !client.isRunning })
        let counts = ((try? String(contentsOfFile: result, encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int($0) }
        try #require(counts.count == 3)
        return counts
    }

    @Test func aClientSeesNoRefusedConnectionThroughAHundredRestarts() throws {
        let scripts = try Scripts()
        let port = freePort()
        let tend = try TendRun("""
            [[service]]
            name = "web"
            command = ["python3", "\(scripts.server)"]
            listen = ["tcp:127.0.0.1:\(port) name=http"]
            ready = "notify"
            log = "inherit"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("web", "ready"))
        // Each restart answers once the new run is ready: the client is served between them.
        let counts = try connections(port, scripts, tend) {
            for _ in 0..<100 {
                let restart = tend.client(["restart", "web"])
                #expect(restart.status == 0, "\(restart.stderr)")
            }
        }
        #expect(counts[1] == 0, "refused")
        #expect(counts[2] == 0, "cut or timed out")
        #expect(counts[0] > 20)
        #expect(tend.events("web", "started").count == 101)
        // The socket and its name were the same for every run.
        let lines = tend.stdout.split(separator: "\n").filter { $0.hasPrefix("listen ") }
        #expect(lines.count == 101 && lines.allSatisfy { $0.hasSuffix(" 1 http") })
    }

    /// The sockets are tend's, so they stay open through tend's own exec: a client sees no
    /// refusal, the server is not restarted, and an on-connection service is watched again.
    @Test func aClientSeesNoRefusedConnectionThroughTwentyReexecs() throws {
        let scripts = try Scripts()
        let port = freePort(), lazyPort = freePort()
        let tend = try TendRun("""
            [[service]]
            name = "web"
            command = ["python3", "\(scripts.server)"]
            listen = ["tcp:127.0.0.1:\(port) name=http"]
            ready = "notify"
            log = "inherit"
            [[service]]
            name = "lazy"
            command = ["python3", "\(scripts.server)"]
            listen = ["tcp:127.0.0.1:\(lazyPort)"]
            start = "on-connection"
            log = "inherit"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("web", "ready"))
        let server = tend.pid("web")
        let counts = try connections(port, scripts, tend) {
            for _ in 0..<20 {
                let reexec = tend.client(["reexec"])
                #expect(reexec.status == 0, "\(reexec.stderr)")
            }
        }
        #expect(counts[1] == 0, "refused")
        #expect(counts[2] == 0, "cut or timed out")
        #expect(counts[0] > 5)
        #expect(tend.events("tend", "reexec").count == 20)
        #expect(tend.pid("web") == server && tend.events("web", "started").count == 1)
        // Not started by any of the execs; started by its first connection after them.
        #expect(tend.events("lazy", "started").isEmpty)
        let lazy = answer(lazyPort)
        #expect(lazy != nil && lazy == tend.pid("lazy"))
    }

    @Test func anOnConnectionServiceStartsAtItsFirstConnectionAndAgainAfterAStop() throws {
        let scripts = try Scripts()
        let port = freePort()
        let tend = try TendRun("""
            [[service]]
            name = "lazy"
            command = ["python3", "\(scripts.server)"]
            listen = ["tcp:127.0.0.1:\(port)", "unix:$DIR/lazy.sock name=control"]
            start = "on-connection"
            log = "inherit"
            [[service]]
            name = "other"
            command = "exec sleep 1000"
            """)
        defer { tend.stop() }
        // Listening, and nothing started: the sockets are tend's, the unix one open to all.
        #expect(tend.waitForEvent("other", "started"))
        #expect(tend.events("lazy", "started").isEmpty)
        var st = stat()
        #expect(stat(tend.dir + "/lazy.sock", &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK && st.st_mode & 0o777 == 0o666)
        #expect(tend.client(["status", "lazy"]).stdout.contains("stopped"))

        let first = answer(port)
        #expect(first != nil && first == tend.pid("lazy"))
        #expect(tend.stdout.contains("listen \(first ?? 0) 2 lazy:control"))

        #expect(tend.client(["stop", "lazy"]).status == 0)
        let second = answer(port)
        #expect(second != nil && second != first)
        #expect(tend.events("lazy", "started").count == 2)
    }

    @Test func aReloadThatRemovesTheServiceClosesItsSocketsAndAnAddressInUseFailsItsStart() throws {
        let scripts = try Scripts()
        let (port, taken) = (freePort(), freePort())
        // The second port is held by the test itself: bind fails for tend.
        let holder = loopbackSocket(taken, listening: true)
        #expect(holder >= 0)
        defer { close(holder) }
        // A unix socket the test listens on: live, so tend does not replace it.
        let live = scripts.dir + "/live.sock"
        let unixHolder = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(unixHolder) }
        var unixAddr = sockaddr_un()
        unixAddr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &unixAddr.sun_path) { raw in
            for (i, byte) in live.utf8.enumerated() { raw[i] = byte }
        }
        let unixBound = withUnsafePointer(to: &unixAddr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(unixHolder, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(unixBound == 0 && listen(unixHolder, 1) == 0)
        let config = """
            [[service]]
            name = "web"
            command = ["python3", "\(scripts.server)"]
            listen = ["tcp:127.0.0.1:\(port)", "unix:$DIR/web.sock"]
            log = "inherit"
            [[service]]
            name = "blocked"
            command = ["python3", "\(scripts.server)"]
            listen = ["tcp:127.0.0.1:\(taken)"]
            restart = "never"
            [[service]]
            name = "liveUnix"
            command = ["python3", "\(scripts.server)"]
            listen = ["unix:\(live)"]
            restart = "never"
            """
        let tend = try TendRun(config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("web", "started"))
        #expect(answer(port) == tend.pid("web"))
        #expect(tend.waitForEvent("blocked", "spawn-failed"))
        #expect(tend.message("blocked", "spawn-failed").contains("listen tcp:127.0.0.1:\(taken): bind: Address already in use"))
        #expect(tend.waitForEvent("liveUnix", "spawn-failed"))
        #expect(tend.message("liveUnix", "spawn-failed").contains("listen unix:\(live): \(live): Address already in use"))

        try tend.rewrite("[[service]]\nname = \"other\"\ncommand = \"exec sleep 1000\"\n")
        #expect(tend.client(["reload"]).status == 0)
        #expect(tend.waitForEvent("web", "stopped"))
        #expect(answer(port) == nil)
        #expect(!FileManager.default.fileExists(atPath: tend.dir + "/web.sock"))
    }
}

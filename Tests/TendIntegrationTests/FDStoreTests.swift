import Foundation
import Testing

/// The fd store (SPEC section 9) with real processes: a memfd stored by one run is read back
/// by the next.
@Suite struct FDStoreTests {
    /// Reads its stored memfd back when it was given one; else stores a new one that says its pid.
    static let script = """
        import os, signal, socket
        a = os.environ["NOTIFY_SOCKET"]
        n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        n.connect("\\0" + a[1:] if a[0] == "@" else a)
        if os.environ.get("LISTEN_FDS") == "1":
            os.lseek(3, 0, os.SEEK_SET)
            print("got", os.environ["LISTEN_FDNAMES"], os.read(3, 100).decode(), flush=True)
        else:
            fd = os.memfd_create("state")
            os.write(fd, b"from %d" % os.getpid())
            socket.send_fds(n, [b"FDSTORE=1\\nFDNAME=state"], [fd])
            os.close(fd)
            print("stored", os.getpid(), flush=True)
        n.send(b"READY=1")
        signal.pause()
        """

    func run(fdstoreMax: Int) throws -> TendRun {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tend-fdstore-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FDStoreTests.script.write(toFile: dir + "/store.py", atomically: true, encoding: .utf8)
        return try TendRun("""
            [[service]]
            name = "keeper"
            command = ["python3", "\(dir)/store.py"]
            ready = "notify"
            fdstore_max = \(fdstoreMax)
            log = "inherit"
            backoff = { initial = "10ms", jitter = 0 }
            """)
    }

    @Test func aStoredMemfdOutlivesACrashAndNotAStop() throws {
        let tend = try run(fdstoreMax: 4)
        defer { tend.stop() }
        #expect(tend.waitForEvent("keeper", "ready"))
        let first = try #require(tend.pid("keeper"))
        #expect(tend.stdout.contains("stored \(first)"))
        kill(first, SIGKILL)
        #expect(tend.waitForEvent("keeper", "ready", count: 2))
        #expect(tend.stdout.contains("got state from \(first)"))

        // A stop drops the store: the next run starts without it.
        #expect(tend.client(["stop", "keeper"]).status == 0)
        #expect(tend.client(["start", "keeper"]).status == 0)
        let third = try #require(tend.pid("keeper"))
        #expect(tend.waitFor("a new store") { tend.stdout.contains("stored \(third)") })
        #expect(tend.events("fd-store", "").isEmpty && tend.events("keeper", "fd-store").isEmpty)
    }

    /// The store is tend's: a reexec keeps it, and the run after the exec gets it back.
    @Test func aStoredMemfdOutlivesTendsReexec() throws {
        let tend = try run(fdstoreMax: 4)
        defer { tend.stop() }
        #expect(tend.waitForEvent("keeper", "ready"))
        let first = try #require(tend.pid("keeper"))
        #expect(tend.stdout.contains("stored \(first)"))
        let reexec = tend.client(["reexec"])
        #expect(reexec.status == 0, "\(reexec.stderr)")
        #expect(tend.pid("keeper") == first)
        kill(first, SIGKILL)
        #expect(tend.waitForEvent("keeper", "ready", count: 2))
        #expect(tend.stdout.contains("got state from \(first)"))
    }

    @Test func withoutAnFdStoreTheFdIsClosedAndSaidSo() throws {
        let tend = try run(fdstoreMax: 0)
        defer { tend.stop() }
        #expect(tend.waitForEvent("keeper", "fd-store"))
        #expect(tend.message("keeper", "fd-store") == "1 fd(s) refused: fdstore_max is 0 (no fd store)")
        let first = try #require(tend.pid("keeper"))
        kill(first, SIGKILL)
        #expect(tend.waitForEvent("keeper", "ready", count: 2))
        #expect(!tend.stdout.contains("got "))
    }
}

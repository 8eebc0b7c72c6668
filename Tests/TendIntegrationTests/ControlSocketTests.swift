import Foundation
import Testing

/// A raw connection to the control socket, for what the `tend` client never sends.
final class RawClient {
    let fd: Int32

    init?(_ path: String, readTimeout: Int = 10) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if ok != 0 { close(fd); return nil }
        var timeout = timeval(tv_sec: readTimeout, tv_usec: 0)  // a read's deadline
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a connection tend closed is an EPIPE here, not a SIGPIPE for the tests.
            let n = bytes.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// One response line, or "" on EOF or timeout.
    func readLine() -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 {
            if byte == 0x0A { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
}

@Suite struct ControlSocketTests {
    static let config = "[[service]]\nname = \"s\"\ncommand = \"exec sleep 1000\"\n"

    @Test func theSocketIsOnlyForItsOwner() throws {
        let tend = try TendRun(ControlSocketTests.config)
        defer { tend.stop() }
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let attributes = try FileManager.default.attributesOfItem(atPath: tend.socketPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func malformedRequestsGetAnErrorAndTheConnectionGoesOn() throws {
        let tend = try TendRun(ControlSocketTests.config)
        defer { tend.stop() }
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let c = try #require(RawClient(tend.socketPath))
        c.send("this is not json\n")
        #expect(c.readLine() == #"{"ok":false,"version":1,"error":"malformed request: not a JSON object"}"#)
        c.send(#"{"version":1,"command":"explode"}"# + "\n")
        #expect(c.readLine().contains("unknown command: expected one of status, start, stop, restart, signal, reload"))
        c.send(#"{"version":7,"command":"status"}"# + "\n")
        #expect(c.readLine().contains("unsupported protocol version 7"))
        c.send(#"{"command":"status"}"# + "\n")
        #expect(c.readLine().contains(#"\"version\" is missing"#))
        c.send(#"{"version":1,"command":"status","names":"s"}"# + "\n")
        #expect(c.readLine().contains(#"\"names\" has the wrong type"#))
        c.send(#"{"version":1,"command":"status","names":["s"]}"# + "\n")
        #expect(c.readLine().hasPrefix(#"{"ok":true,"version":1,"result":{"services":[{"name":"s""#))
    }

    @Test func anOversizedRequestIsRefusedAndClosed() throws {
        let tend = try TendRun(ControlSocketTests.config)
        defer { tend.stop() }
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let c = try #require(RawClient(tend.socketPath))
        c.send(String(repeating: "x", count: 70 * 1024))
        #expect(c.readLine().contains("request longer than 65536 bytes"))
        #expect(c.readLine() == "")  // closed
        #expect(tend.client(["status"]).status == 0)
    }

    @Test func aHalfClosedClientIsAnswered() throws {
        let tend = try TendRun(ControlSocketTests.config)
        defer { tend.stop() }
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let c = try #require(RawClient(tend.socketPath))
        c.send(#"{"version":1,"command":"status"}"#)  // no newline: the end of input ends the request
        c.shutdownWrite()
        #expect(c.readLine().hasPrefix(#"{"ok":true"#))
        #expect(c.readLine() == "")
    }

    @Test func aClientThatSendsNothingIsDroppedAfterTenSeconds() throws {
        let tend = try TendRun(ControlSocketTests.config)
        defer { tend.stop() }
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let silent = try #require(RawClient(tend.socketPath, readTimeout: 20))
        let started = Date()
        #expect(silent.readLine() == #"{"ok":false,"version":1,"error":"no request within 10s: closing"}"#)
        #expect(Date().timeIntervalSince(started) > 9)
        #expect(silent.readLine() == "")
    }

    @Test func silentAndVanishingClientsDisturbNoOne() throws {
        let tend = try TendRun(ControlSocketTests.config + "[[service]]\nname = \"mute\"\ncommand = \"exec sleep 1000\"\nready = \"notify\"\nautostart = false\n")
        defer { tend.stop() }
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let silent = try #require(RawClient(tend.socketPath))
        let partial = try #require(RawClient(tend.socketPath))
        partial.send(#"{"version":1,"comm"#)
        do {
            // Asks for a start that will not settle, then goes away.
            let leaving = try #require(RawClient(tend.socketPath))
            leaving.send(#"{"version":1,"command":"start","names":["mute"]}"# + "\n")
        }
        let result = tend.client(["status", "--json", "s"])
        #expect(result.status == 0 && result.stdout.contains("\"state\":\"running\""))
        _ = silent
    }
}

/// A second user: refused unless in control_group. Needs root to make the user.
@Suite(.serialized) struct ControlPermissionTests {
    static let user = "tend-test-user"
    static let group = "tend-test-ctl"

    static func sh(_ command: String) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        // useradd and friends live in sbin, which a CI's PATH may lack.
        p.arguments = ["-c", "PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH; " + command]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// The test user, in no group but its own.
    static func prepareUser() {
        _ = sh("getent group \(group) >/dev/null || groupadd --system \(group)")
        _ = sh("id \(user) >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin \(user)")
        _ = sh("gpasswd -d \(user) \(group) >/dev/null 2>&1; true")
    }

    /// `tend status` as the test user, with a copy of tend it can run.
    func statusAsUser(_ tend: TendRun) -> TendRun.ClientResult {
        let copy = tend.dir + "/tend-copy"
        if !FileManager.default.fileExists(atPath: copy) {
            // Copied by cp, not in this process: a write fd of ours, inherited by a process another
            // test forks meanwhile, would make every exec of the copy fail with ETXTBSY (126).
            _ = ControlPermissionTests.sh("cp \(TendRun.binary) \(copy)")
        }
        chmod(tend.dir, 0o755)
        let out = tend.dir + "/as-user.out", err = tend.dir + "/as-user.err"
        let status = ControlPermissionTests.sh(
            "setpriv --reuid=\(ControlPermissionTests.user) --regid=\(ControlPermissionTests.user) --init-groups "
            + "\(copy) status --socket \(tend.socketPath) >\(out) 2>\(err)")
        return TendRun.ClientResult(status: status, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                                    stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    @Test(.enabled(if: getuid() == 0, "needs root to make a second user"))
    func anotherUserIsRefusedEvenWhenTheSocketIsOpenToAll() throws {
        ControlPermissionTests.prepareUser()
        let tend = try TendRun(ControlSocketTests.config)
        defer { tend.stop() }
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let byMode = statusAsUser(tend)
        #expect(byMode.status == 69 && byMode.stderr.contains("Permission denied"))
        // Past the file mode, tend's own SO_PEERCRED check still says no.
        chmod(tend.socketPath, 0o666)
        let byCredentials = statusAsUser(tend)
        #expect(byCredentials.status == 1)
        #expect(byCredentials.stderr.contains("permission denied: uid"))
        #expect(byCredentials.stdout.isEmpty)
    }

    @Test(.enabled(if: getuid() == 0, "needs root to make a second user"))
    func aMemberOfControlGroupIsAllowed() throws {
        ControlPermissionTests.prepareUser()
        let tend = try TendRun("[supervisor]\ncontrol_group = \"\(ControlPermissionTests.group)\"\n" + ControlSocketTests.config)
        defer { tend.stop() }
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let attributes = try FileManager.default.attributesOfItem(atPath: tend.socketPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o660)
        #expect(attributes[.groupOwnerAccountName] as? String == ControlPermissionTests.group)
        #expect(statusAsUser(tend).status == 69)  // not a member yet: the socket's mode refuses
        #expect(ControlPermissionTests.sh("usermod -aG \(ControlPermissionTests.group) \(ControlPermissionTests.user)") == 0)
        let allowed = statusAsUser(tend)
        #expect(allowed.status == 0 && allowed.stdout.contains("running"))
        _ = ControlPermissionTests.sh("gpasswd -d \(ControlPermissionTests.user) \(ControlPermissionTests.group)")
    }
}

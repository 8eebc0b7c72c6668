import Foundation
import Testing

/// User plus system CPU time of a process, in clock ticks (1/100 s).
func cpuTicks(_ pid: Int32) -> Int {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command: state is field 0, utime 11, stime 12.
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
}

/// The CPU a process burns over one second of wall time, in ticks: a busy loop shows ~100.
/// The window is a poll with a deadline that ends early (and reports a spin) if the process
/// is gone, so a dead tend fails the check at once instead of reading as idle.
func ticksOverOneSecond(_ pid: Int32) -> Int {
    let before = cpuTicks(pid)
    let deadline = Date().addingTimeInterval(1)
    while Date() < deadline {
        guard isAlive(pid) else { return Int.max }
        usleep(20_000)  // poll interval of a wait with a deadline (for an early death; the span is the measure)
    }
    return cpuTicks(pid) - before
}

func openFDs(_ pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
}

/// Clients that misbehave on purpose: each is answered or dropped per the README's limits,
/// tend never spins, and `tend status` still answers.
@Suite struct ControlAbuseTests {
    static let config = ControlSocketTests.config
        + "[[service]]\nname = \"mute\"\ncommand = \"exec sleep 1000\"\nready = \"notify\"\nautostart = false\n"
    static let startMute = #"{"version":1,"command":"start","names":["mute"],"timeout_s":60}"# + "\n"

    func started(_ config: String = ControlAbuseTests.config, wrapper: [String] = []) throws -> TendRun {
        let tend = try TendRun(config, wrapper: wrapper)
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        #expect(tend.waitForEvent("s", "started"))
        return tend
    }

    @Test func aClientThatLeavesWhileWaitingCostsNothing() throws {
        let tend = try started()
        defer { tend.stop() }
        do {
            let leaving = try #require(RawClient(tend.socketPath))
            leaving.send(ControlAbuseTests.startMute)
            #expect(tend.waitForEvent("mute", "started"))
        }
        #expect(ticksOverOneSecond(tend.process.processIdentifier) < 30)
        #expect(tend.client(["status", "s"]).status == 0)
    }

    @Test func blankLinesAndPipelinedRequestsAreTakenInALoop() throws {
        let tend = try started()
        defer { tend.stop() }
        let c = try #require(RawClient(tend.socketPath))
        // 60,000 blank lines, then 1,000 requests in one go: no recursion per line.
        c.send(String(repeating: "\n", count: 60_000))
        c.send(String(repeating: #"{"version":1,"command":"status","names":["s"]}"# + "\n", count: 1000))
        var answered = 0
        while answered < 1000, c.readLine().hasPrefix(#"{"ok":true"#) { answered += 1 }
        #expect(answered == 1000)
        #expect(tend.exitStatus == nil)
    }

    @Test func aStopAndAStartInOneWriteAreBothAnswered() throws {
        let tend = try started()
        defer { tend.stop() }
        let c = try #require(RawClient(tend.socketPath))
        // The start waits in the connection's input while the stop is under way, and is taken
        // once the stop is answered: that answer came from the walk over waiting requests, and
        // taking the start there (which waits too) aborted tend on an access conflict.
        c.send(#"{"version":1,"command":"stop","names":["s"]}"# + "\n" + #"{"version":1,"command":"start","names":["s"]}"# + "\n")
        #expect(c.readLine().hasPrefix(#"{"ok":true"#))
        #expect(c.readLine().hasPrefix(#"{"ok":true"#))
        #expect(tend.exitStatus == nil)
        #expect(tend.client(["status", "s"]).stdout.contains("running"))
    }

    @Test func aNameRepeatedThousandsOfTimesCostsWhatItDoesOnce() throws {
        let tend = try started(ControlSocketTests.config + "[[service]]\nname = \"web\"\ncommand = \"exec sleep 1000\"\ninstances = 2000\n")
        defer { tend.stop() }
        // 2,000 shells started one after the other: 9 s alone here, more beside the other suites.
        #expect(tend.waitForEvent("web@2000", "started", timeout: 60))
        let pid = tend.process.processIdentifier
        let before = peakResidentKiB(pid)
        let c = try #require(RawClient(tend.socketPath, readTimeout: 60))
        // 6,000 times a name of 2,000 instances: 12 million services before they were made
        // distinct (372 MiB at its peak, 6 s), 2,000 now.
        let names = Array(repeating: #""web""#, count: 6000).joined(separator: ",")
        c.send(#"{"version":1,"command":"status","names":["# + names + "]}\n")
        let answer = c.readLine()
        #expect(answer.hasPrefix(#"{"ok":true"#))
        #expect(answer.components(separatedBy: #""web@"#).count - 1 == 2000)
        let grown = peakResidentKiB(pid) - before
        #expect(grown < 64 * 1024, "tend's peak grew by \(grown) KiB")
    }

    @Test func aWaitingConnectionIsNotReadFurther() throws {
        let tend = try started()
        defer { tend.stop() }
        let c = try #require(RawClient(tend.socketPath))
        c.send(ControlAbuseTests.startMute)
        #expect(tend.waitForEvent("mute", "started"))
        // tend takes no more input while a request is pending: the socket's buffers fill.
        _ = fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK)
        let junk = [UInt8](repeating: 0x78, count: 1 << 20)
        var accepted = 0
        for _ in 0..<8 {
            let n = junk.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { accepted += n }
            _ = tend.waitFor("tend to read", timeout: 0.2, reportTimeout: false) { false }
        }
        #expect(accepted < 1 << 20)
        #expect(tend.client(["status", "s"]).status == 0)
    }

    @Test func aClientThatNeverReadsItsAnswersIsDropped() throws {
        let tend = try started()
        defer { tend.stop() }
        let pid = tend.process.processIdentifier
        let baseline = openFDs(pid)
        let c = try #require(RawClient(tend.socketPath))
        _ = fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK)
        // Requests until tend's answers back up; then this client reads nothing.
        let requests = Array(String(repeating: #"{"version":1,"command":"status"}"# + "\n", count: 1000).utf8)
        for _ in 0..<50 {
            _ = requests.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        #expect(tend.waitFor("the connection") { openFDs(pid) == baseline + 1 })
        #expect(tend.waitFor("the stalled client to be dropped", timeout: 25) { openFDs(pid) == baseline })
        #expect(tend.client(["status", "s"]).status == 0)
    }

    @Test func atTheFdLimitConnectionsAreRefusedWithoutSpinning() throws {
        let tend = try started(wrapper: ["/usr/bin/prlimit", "--nofile=64:64"])
        defer { tend.stop() }
        let pid = tend.process.processIdentifier
        // Those past the limit are told why and closed.
        var held = holdEveryFD(tend)
        #expect(held.count == 80)
        #expect(held.last?.readLine().contains("tend is out of file descriptors: try again later") == true)
        #expect(openFDs(pid) >= 60)
        #expect(ticksOverOneSecond(pid) < 30)
        held.removeAll()
        #expect(tend.waitFor("status to answer again") { tend.client(["status", "s"], timeout: 5).status == 0 })
        #expect(tend.exitStatus == nil)
    }

    @Test func aThousandHeldConnectionsLeaveRoomForStatus() throws {
        let tend = try started()
        defer { tend.stop() }
        var held: [RawClient] = []
        for _ in 0..<1000 {
            guard let c = RawClient(tend.socketPath, readTimeout: 1) else { break }
            held.append(c)
        }
        #expect(held.count == 1000)
        let result = tend.client(["status", "s"], timeout: 5)
        #expect(result.status == 0 && result.stdout.contains("running"))
        // The oldest held ones were let go to make room, with a reason.
        #expect(held[0].readLine().contains("too many connections"))
    }
}

/// 80 control clients that each wait for a start that never settles (`mute`, started by the
/// first): none can be let go to make room, so under `prlimit --nofile=64:64` they take every
/// fd tend may have until they are released.
func holdEveryFD(_ tend: TendRun, sourceLocation: SourceLocation = #_sourceLocation) -> [RawClient] {
    var held: [RawClient] = []
    for i in 0..<80 {
        guard let c = RawClient(tend.socketPath, readTimeout: 5) else { break }
        c.send(ControlAbuseTests.startMute)
        held.append(c)
        if i == 0 { #expect(tend.waitForEvent("mute", "started", sourceLocation: sourceLocation), sourceLocation: sourceLocation) }
    }
    return held
}

extension ControlAbuseTests {
    @Test func aHundredMegabyteLineIsRefusedAfterItsFirst64KiB() throws {
        let tend = try started()
        defer { tend.stop() }
        let c = try #require(RawClient(tend.socketPath))
        _ = fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK)
        let block = [UInt8](repeating: 0x61, count: 1 << 20)
        var sent = 0
        // Writes until tend stops reading (the socket fills) or closes (EPIPE).
        while sent < 100 << 20 {
            let n = block.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if errno == EAGAIN, tend.waitFor("room", timeout: 0.2, reportTimeout: false, { false }) == false, sent > 1 << 20 { break }
            if errno != EAGAIN { break }
        }
        #expect(sent < 4 << 20)
        _ = fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) & ~O_NONBLOCK)
        #expect(c.readLine().contains("request longer than 65536 bytes"))
        #expect(tend.client(["status", "s"]).status == 0)
    }

    @Test func aByteAtATimeIsDroppedAfterTheIdleTimeout() throws {
        let tend = try started()
        defer { tend.stop() }
        let c = try #require(RawClient(tend.socketPath, readTimeout: 1))
        let slow = Array(String(repeating: " ", count: 200).utf8)
        var answer = ""
        // A byte every 100 ms never completes a request: 10 s after connecting it is let go.
        for byte in slow where answer.isEmpty {
            var b = byte
            guard Glibc.send(c.fd, &b, 1, Int32(MSG_NOSIGNAL)) == 1 else { break }
            _ = tend.waitFor("a tick", timeout: 0.1, reportTimeout: false) { false }
            var probe = pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)
            if poll(&probe, 1, 0) == 1 { answer = c.readLine() }
        }
        #expect(answer.contains("no request within 10s: closing"))
        #expect(tend.client(["status", "s"]).status == 0)
    }
}

func residentKiB(_ pid: Int32) -> Int { statusKiB(pid, "VmRSS:") }

/// The most memory the process has had resident at once.
func peakResidentKiB(_ pid: Int32) -> Int { statusKiB(pid, "VmHWM:") }

func statusKiB(_ pid: Int32, _ field: String) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix(field) } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

/// Clients that ask and never read: what tend holds for them stays one answer each.
@Suite struct UnreadAnswerTests {
    /// 300 services: an answer to `status` is some tens of KiB.
    static let config = (0..<300).map { "[[service]]\nname = \"s\($0)\"\ncommand = \"exec sleep 1000\"\n" }.joined()
    static let status = Array(String(repeating: #"{"version":1,"command":"status"}"# + "\n", count: 200).utf8)

    /// Sends what the socket takes right now, never blocking; false once tend closed it.
    static func push(_ c: RawClient) -> Bool {
        let n = status.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        return n >= 0 || errno == EAGAIN
    }

    @Test func eightClientsPipeliningWithoutReadingLeaveTendsMemoryAsItWas() throws {
        let tend = try TendRun(UnreadAnswerTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("s299", "started"))
        let pid = tend.process.processIdentifier
        _ = tend.client(["status"])
        let before = residentKiB(pid)
        let clients = (0..<8).compactMap { _ in RawClient(tend.socketPath) }
        #expect(clients.count == 8)
        // Three seconds of requests that are never read: tend answers one each, then waits.
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            for c in clients { _ = UnreadAnswerTests.push(c) }
            _ = tend.waitFor("a tick", timeout: 0.05, reportTimeout: false) { false }
        }
        let grown = residentKiB(pid) - before
        #expect(grown < 16 * 1024, "tend grew by \(grown) KiB")
        #expect(tend.client(["status", "s0"]).status == 0)
    }

    @Test func aClientThatHangsUpWithAnAnswerQueuedCostsNothing() throws {
        let tend = try TendRun(UnreadAnswerTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("s299", "started"))
        let c = try #require(RawClient(tend.socketPath))
        c.send(String(decoding: UnreadAnswerTests.status, as: UTF8.self))
        // Until tend's answers back up: what waits for this client stops growing.
        var last = -1, unchanged = 0
        #expect(tend.waitFor("tend's answers to back up") {
            var queued: Int32 = 0
            _ = ioctl(c.fd, UInt(FIONREAD), &queued)
            unchanged = queued > 64 * 1024 && Int(queued) == last ? unchanged + 1 : 0
            last = Int(queued)
            return unchanged >= 10
        })
        // Both ways shut, not closed: tend's end is hung up but its answer is still queued.
        shutdown(c.fd, Int32(SHUT_RDWR))
        #expect(ticksOverOneSecond(tend.process.processIdentifier) < 30)
        #expect(tend.client(["status", "s0"]).status == 0)
    }

    @Test func aClientThatSendsButNeverReadsIsDroppedAfterTheIdleTimeout() throws {
        let tend = try TendRun(UnreadAnswerTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("s299", "started"))
        let c = try #require(RawClient(tend.socketPath))
        let start = Date()
        // Sending all along is no progress while its answers are not taken.
        var open = true
        while open, Date() < start.addingTimeInterval(25) {
            open = UnreadAnswerTests.push(c)
            _ = tend.waitFor("a tick", timeout: 0.1, reportTimeout: false) { false }
        }
        #expect(!open)
        let after = Date().timeIntervalSince(start)
        #expect(after > 9 && after < 15, "dropped after \(after) s")
        #expect(tend.client(["status", "s0"]).status == 0)
    }
}

import CTend
import Glibc
import TendControl
import TendCore

/// `GET /metrics` over tcp (SPEC section 10), served by tend's own loop: no thread, no timer
/// while no scraper is connected. Anyone who can reach the port is a client, so each is
/// bounded: one request, its head at most 8 KiB, 10 s for the whole exchange, 64 connections
/// (one more lets the oldest still sending go, or is refused), at most 64 MiB of answers
/// queued, and one page written per second whoever asks. Anything but `GET /metrics` is a 404.
final class MetricsServer {
    static let maxConnections = 64
    static let maxRequestBytes = 8192
    static let timeout = Duration.seconds(10)
    static let maxPendingOutput = 64 * 1024 * 1024
    /// A page is written again at most this often: scrapes within it share one.
    static let pageLifetime = Duration.seconds(1)

    private final class Connection {
        let fd: Int32
        let since: Instant
        var input: [UInt8] = []
        /// Bytes of `input` that hold no end of the head.
        var scanned = 0
        var output = OutgoingBytes()
        var answered = false
        var watched = TEND_EPOLLIN

        init(fd: Int32, since: Instant) {
            self.fd = fd
            self.since = since
        }
    }

    let address: ListenAddress
    private let listener: Int32
    private let loop: EventLoop
    private let clock: MonotonicClock
    private var connections: [Int32: Connection] = [:]
    private var chunk = [UInt8](repeating: 0, count: 4096)
    /// Out of fds: the listener rests (it stays readable, and would wake the loop at once).
    private var pausedUntil: Instant?
    /// The last page of each format, and when it was written.
    private var pages: [Bool: (bytes: [UInt8], at: Instant)] = [:]
    /// The page: OpenMetrics when asked for.
    var render: (_ openMetrics: Bool) -> [UInt8] = { _ in [] }

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    convenience init(address: ListenAddress, loop: EventLoop, clock: MonotonicClock) throws {
        var step: Int32 = 0
        let fd = tend_listen_socket(0, address.host, Int32(address.port), 0, 0, 0, &step)
        guard fd >= 0 else {
            throw SetupError(description: "metrics \(address.address.dropFirst("tcp:".count)): \(String(cString: strerror(errno)))")
        }
        try self.init(listener: fd, address: address, loop: loop, clock: clock)
    }

    private init(listener: Int32, address: ListenAddress, loop: EventLoop, clock: MonotonicClock) throws {
        self.listener = listener
        self.address = address
        self.loop = loop
        self.clock = clock
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
        try loop.register(listener) { [unowned self] _ in self.acceptSome() }
    }

    /// For `tend reexec`: the listener, kept open across the exec.
    struct Handed: Codable {
        let listener: Int32
        let address: ListenAddress
    }

    var handed: Handed { Handed(listener: listener, address: address) }

    convenience init(handed: Handed, loop: EventLoop, clock: MonotonicClock) throws {
        try self.init(listener: handed.listener, address: handed.address, loop: loop, clock: clock)
    }

    func shutdown() {
        for c in Array(connections.values) { drop(c) }
        loop.unregister(listener)
        close(listener)
    }

    private func acceptSome() {
        for _ in 0..<MetricsServer.maxConnections {
            let fd = tend_accept(listener)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE {
                    loop.modify(listener, events: 0)
                    pausedUntil = clock.now + ControlServer.exhaustedPause
                }
                return
            }
            if connections.count >= MetricsServer.maxConnections {
                // One still sending its request goes; one being answered is not cut short.
                guard let oldest = connections.values.filter({ !$0.answered }).min(by: { $0.since < $1.since }) else {
                    close(fd)
                    continue
                }
                drop(oldest)
            }
            let c = Connection(fd: fd, since: clock.now)
            do {
                try loop.register(fd) { [unowned self, unowned c] events in self.serve(c, events) }
            } catch {
                close(fd)
                continue
            }
            connections[fd] = c
        }
    }

    private func serve(_ c: Connection, _ events: UInt32) {
        if c.answered { return flush(c) }
        let n = read(c.fd, &chunk, chunk.count)
        if n > 0 {
            c.input.append(contentsOf: chunk[0..<n])
        } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
            return drop(c)
        }
        if let head = MetricsServer.head(c.input, from: c.scanned) {
            answer(c, head)
        } else if c.input.count > MetricsServer.maxRequestBytes {
            respond(c, status: "431 Request Header Fields Too Large", type: "text/plain; charset=utf-8", body: "request head over 8 KiB\n")
        } else {
            c.scanned = c.input.count
        }
    }

    /// The request's head once it is all there (up to its blank line); `scanned` bytes were
    /// looked at before (a line ends with LF or CRLF).
    static func head(_ input: [UInt8], from scanned: Int = 0) -> ArraySlice<UInt8>? {
        let limit = min(input.count, maxRequestBytes)
        var i = max(0, scanned - 2)
        while i + 1 < limit {
            if input[i] == 0x0A, input[i + 1] == 0x0A { return input[..<i] }
            if input[i] == 0x0A, i + 2 < limit, input[i + 1] == 0x0D, input[i + 2] == 0x0A { return input[..<i] }
            i += 1
        }
        return nil
    }

    private func answer(_ c: Connection, _ head: ArraySlice<UInt8>) {
        let text = String(decoding: head, as: UTF8.self)
        // "\r\n" is one Character: split on it as on "\n".
        let lines = text.split { $0 == "\n" || $0 == "\r\n" }
        let request = lines.first?.split(separator: " ") ?? []
        let path = request.count >= 2 ? request[1].prefix { $0 != "?" } : ""
        guard request.count == 3, request[0] == "GET", path == "/metrics", request[2].hasPrefix("HTTP/1.") else {
            return respond(c, status: "404 Not Found", type: "text/plain; charset=utf-8", body: "tend serves GET /metrics only\n")
        }
        let openMetrics = lines.dropFirst().contains { line in
            line.lowercased().hasPrefix("accept:") && line.lowercased().contains("application/openmetrics-text")
        }
        let queued = connections.values.reduce(0) { $0 + $1.output.count }
        guard queued < MetricsServer.maxPendingOutput else {
            return respond(c, status: "503 Service Unavailable", type: "text/plain; charset=utf-8", body: "too many answers not yet taken\n")
        }
        respond(c, status: "200 OK", type: openMetrics ? MetricsText.openMetricsType : MetricsText.prometheusType, body: page(openMetrics))
    }

    /// The page, written again once the last is a second old.
    private func page(_ openMetrics: Bool) -> [UInt8] {
        if let last = pages[openMetrics], clock.now - last.at < MetricsServer.pageLifetime { return last.bytes }
        let bytes = render(openMetrics)
        pages[openMetrics] = (bytes, clock.now)
        return bytes
    }

    private func respond(_ c: Connection, status: String, type: String, body: String) {
        respond(c, status: status, type: type, body: Array(body.utf8))
    }

    private func respond(_ c: Connection, status: String, type: String, body: [UInt8]) {
        c.answered = true
        c.output.append("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n")
        body.withUnsafeBytes { c.output.append($0) }
        flush(c)
    }

    private func flush(_ c: Connection) {
        while !c.output.isEmpty {
            let n = c.output.write { write(c.fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN {
                if c.watched != TEND_EPOLLOUT {
                    c.watched = TEND_EPOLLOUT
                    loop.modify(c.fd, events: TEND_EPOLLOUT)
                }
                return
            }
            if n <= 0 { break }
        }
        drop(c)
    }

    private func drop(_ c: Connection) {
        guard connections.removeValue(forKey: c.fd) != nil else { return }
        loop.unregister(c.fd)
        // Input left unread would make close() reset the connection, and the peer drop the
        // answer's tail: what came after the head is read first (a little, never waited for).
        for _ in 0..<16 where read(c.fd, &chunk, chunk.count) > 0 {}
        close(c.fd)
    }

    /// When the oldest connection is to be let go, or the listener watched again.
    var nextDeadline: Instant? {
        [connections.values.map(\.since).min().map { $0 + MetricsServer.timeout }, pausedUntil].compactMap { $0 }.min()
    }

    func handleDeadlines(now: Instant) {
        if let until = pausedUntil, until <= now {
            pausedUntil = nil
            loop.modify(listener, events: TEND_EPOLLIN)
        }
        for c in Array(connections.values) where c.since + MetricsServer.timeout <= now { drop(c) }
    }
}

import CTend
import Glibc
import TendControl
import TendCore

/// The control socket: a Unix stream socket, mode 0600 (0660 with a control group), each
/// peer checked with SO_PEERCRED. Requests are lines of JSON; a connection carries one
/// request at a time. Oversized, malformed, slow or vanished clients get an error or are
/// dropped; nothing a client does blocks the loop.
final class ControlServer {
    final class Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        /// A request is being answered; further lines wait.
        var busy = false
        /// The client shut its sending side: answer what was asked, then close.
        var readClosed = false
        var idleSince: Instant
        var closed = false

        init(fd: Int32, now: Instant) {
            self.fd = fd
            idleSince = now
        }
    }

    static let maxConnections = 256
    /// A connection that sends no complete request for this long is dropped.
    static let idleTimeout = Duration.seconds(10)
    /// Output a client does not read, beyond this, gets it dropped.
    static let maxPendingOutput = 64 * 1024 * 1024

    let path: String
    private let listener: Int32
    private let controlGroup: gid_t?
    private let loop: EventLoop
    private let clock: MonotonicClock
    private var connections: [Int32: Connection] = [:]
    private var socketIdentity: (dev: UInt64, ino: UInt64)
    var onRequest: (ControlRequest, Connection) -> Void = { _, _ in }

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    init(path: String, controlGroup: gid_t?, loop: EventLoop, clock: MonotonicClock) throws {
        self.path = path
        self.controlGroup = controlGroup
        self.loop = loop
        self.clock = clock
        try ControlServer.prepareDirectory(of: path)
        try ControlServer.removeStaleSocket(at: path)
        listener = tend_listen_unix(path, "\(path).\(getpid()).new", controlGroup == nil ? 0o600 : 0o660,
                                    controlGroup.map { Int($0) } ?? -1)
        guard listener >= 0 else { throw SetupError(description: "control socket \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        stat(path, &st)
        socketIdentity = (UInt64(st.st_dev), UInt64(st.st_ino))
        try loop.register(listener) { [unowned self] _ in self.acceptAll() }
    }

    /// The directory is created if missing (0755: the socket's own mode guards it), and must
    /// be a real directory that only tend's user or root can write to (or sticky, as /tmp).
    static func prepareDirectory(of path: String) throws {
        guard let slash = path.lastIndex(of: "/") else { return }
        let dir = slash == path.startIndex ? "/" : String(path[..<slash])
        var components: [String] = []
        for part in dir.split(separator: "/") {
            components.append(String(part))
            let partial = "/" + components.joined(separator: "/")
            if mkdir(partial, 0o755) != 0, errno != EEXIST {
                throw SetupError(description: "control socket directory \(partial): \(String(cString: strerror(errno)))")
            }
        }
        var st = stat()
        guard lstat(dir, &st) == 0 else {
            throw SetupError(description: "control socket directory \(dir): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw SetupError(description: "control socket directory \(dir) is not a directory (a symlink is refused)")
        }
        let writableByOthers = st.st_mode & (S_IWGRP | S_IWOTH) != 0 && st.st_mode & S_ISVTX == 0
        guard st.st_uid == geteuid() || st.st_uid == 0, !writableByOthers else {
            throw SetupError(description: "control socket directory \(dir) can be written by others: refusing to use it")
        }
    }

    /// A socket file left by a tend that died is removed; one a live tend answers on is not.
    static func removeStaleSocket(at path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw SetupError(description: "control socket \(path) exists and is not a socket")
        }
        let fd = tend_connect_unix(path)
        if fd >= 0 {
            close(fd)
            throw SetupError(description: "control socket \(path): another tend is running there")
        }
        unlink(path)
    }

    /// Closes every connection and removes the socket file, if it is still ours.
    func shutdown() {
        for connection in Array(connections.values) { drop(connection) }
        loop.unregister(listener)
        close(listener)
        var st = stat()
        if stat(path, &st) == 0, UInt64(st.st_dev) == socketIdentity.dev, UInt64(st.st_ino) == socketIdentity.ino {
            unlink(path)
        }
    }

    private func acceptAll() {
        while true {
            let fd = tend_accept(listener)
            if fd < 0 { return }
            var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
            guard tend_peer_credentials(fd, &pid, &uid, &gid) == 0 else {
                close(fd)
                continue
            }
            let allowed = uid == 0 || uid == geteuid()
                || controlGroup.map { gid == $0 || tend_peer_in_group(fd, $0) == 1 } == true
            guard allowed else {
                reject(fd, "permission denied: uid \(uid) is not root, tend's user (uid \(geteuid()))"
                           + (controlGroup.map { " or in control_group (gid \($0))" } ?? " and no control_group is set"))
                continue
            }
            guard connections.count < ControlServer.maxConnections else {
                reject(fd, "too many connections (\(ControlServer.maxConnections))")
                continue
            }
            let connection = Connection(fd: fd, now: clock.now)
            do {
                try loop.register(fd, events: TEND_EPOLLIN | TEND_EPOLLRDHUP) { [unowned self, unowned connection] events in
                    self.serve(connection, events)
                }
                connections[fd] = connection
            } catch {
                close(fd)
            }
        }
    }

    private func reject(_ fd: Int32, _ message: String) {
        writeAll(fd, ControlResponse.error(message))
        close(fd)
    }

    private func serve(_ c: Connection, _ events: UInt32) {
        if events & TEND_EPOLLOUT != 0 { flush(c) }
        if c.closed { return }
        if events & (TEND_EPOLLIN | TEND_EPOLLRDHUP | TEND_EPOLLHUP | TEND_EPOLLERR) != 0, !c.readClosed {
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = read(c.fd, &chunk, chunk.count)
            if n > 0 {
                c.input.append(contentsOf: chunk[0..<n])
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                c.readClosed = true
                // Nothing left to answer: the client is gone.
                if !c.busy, c.output.isEmpty, c.input.isEmpty { return drop(c) }
                loop.modify(c.fd, events: c.output.isEmpty ? 0 : TEND_EPOLLOUT)
            }
        }
        nextRequest(c)
    }

    /// Takes the next complete line (or, at end of input, what is left) as a request.
    private func nextRequest(_ c: Connection) {
        guard !c.busy, !c.closed else { return }
        var line: ArraySlice<UInt8>
        if let newline = c.input.firstIndex(of: 0x0A) {
            line = c.input[..<newline]
            c.input.removeSubrange(...newline)
        } else if c.input.count > ControlProtocol.maxRequestBytes {
            c.input = []
            return fail(c, "request longer than \(ControlProtocol.maxRequestBytes) bytes", close: true)
        } else if c.readClosed, !c.input.isEmpty {
            line = c.input[...]
            c.input = []
        } else {
            if c.readClosed, c.output.isEmpty { drop(c) }
            return
        }
        if line.count > ControlProtocol.maxRequestBytes {
            return fail(c, "request longer than \(ControlProtocol.maxRequestBytes) bytes", close: true)
        }
        if line.last == 0x0D { line = line.dropLast() }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return nextRequest(c) }
        c.idleSince = clock.now
        do {
            let request = try ControlRequest.decode(Array(line))
            c.busy = true
            onRequest(request, c)
        } catch {
            fail(c, error.description, close: false)
        }
    }

    private func fail(_ c: Connection, _ message: String, close: Bool) {
        if close {
            c.readClosed = true
            c.input = []
        }
        respond(c, ControlResponse.error(message))
    }

    /// Sends a response line; the connection then takes its next request.
    func respond(_ c: Connection, _ text: String) {
        guard !c.closed else { return }
        c.busy = false
        c.idleSince = clock.now
        c.output.append(contentsOf: text.utf8)
        guard c.output.count <= ControlServer.maxPendingOutput else { return drop(c) }
        flush(c)
        if !c.closed { nextRequest(c) }
    }

    private func flush(_ c: Connection) {
        while !c.output.isEmpty {
            let n = c.output.withUnsafeBytes { write(c.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                c.output.removeFirst(n)
            } else if n < 0, errno == EINTR {
                continue
            } else if n < 0, errno == EAGAIN {
                loop.modify(c.fd, events: (c.readClosed ? 0 : TEND_EPOLLIN | TEND_EPOLLRDHUP) | TEND_EPOLLOUT)
                return
            } else {
                return drop(c)
            }
        }
        if c.readClosed, !c.busy, c.input.isEmpty { return drop(c) }
        loop.modify(c.fd, events: c.readClosed ? 0 : TEND_EPOLLIN | TEND_EPOLLRDHUP)
    }

    func drop(_ c: Connection) {
        guard !c.closed else { return }
        c.closed = true
        loop.unregister(c.fd)
        close(c.fd)
        connections[c.fd] = nil
    }

    /// The earliest moment an idle connection is to be dropped.
    var nextDeadline: Instant? {
        connections.values.filter { !$0.busy && $0.output.isEmpty }.map { $0.idleSince + ControlServer.idleTimeout }.min()
    }

    func dropIdle(now: Instant) {
        for c in Array(connections.values) where !c.busy && c.output.isEmpty && c.idleSince + ControlServer.idleTimeout <= now {
            writeAll(c.fd, ControlResponse.error("no request within \(ControlServer.idleTimeout.humanReadable): closing"))
            drop(c)
        }
    }
}

import CTend
import Glibc
import TendControl
import TendCore

/// The control socket: a Unix stream socket, mode 0600 (0660 with a control group), each
/// peer checked with SO_PEERCRED. Requests are lines of JSON; a connection carries one
/// request at a time and is not read while one is pending or while its last answer is not
/// yet taken, so a client can make tend hold one request and one answer, no more.
/// Oversized, malformed, slow or vanished clients get an error or are dropped; nothing a
/// client does blocks the loop or makes it spin.
final class ControlServer {
    final class Connection {
        let fd: Int32
        /// Received bytes; those before `consumed` are taken, those before `scanned` hold no newline.
        var input: [UInt8] = []
        var consumed = 0
        var scanned = 0
        var output = OutgoingBytes()
        /// A request is being answered; the connection is not read meanwhile.
        var busy = false
        /// The client shut its sending side: answer what was asked, then close.
        var readClosed = false
        /// Since the last request taken or output written: the last progress.
        var idleSince: Instant
        /// Accepted on the spare fd, which is opened again when this connection closes.
        var onSpare = false
        var closed = false
        /// Requests are being taken: an answer given meanwhile does not take the next one
        /// itself (pipelined requests are a loop, not a recursion).
        var taking = false
        var watched: UInt32 = TEND_EPOLLIN | TEND_EPOLLRDHUP

        init(fd: Int32, now: Instant) {
            self.fd = fd
            idleSince = now
        }
    }

    static let maxConnections = 256
    /// A connection that sends no complete request, or takes none of its answer, for this
    /// long is dropped.
    static let idleTimeout = Duration.seconds(10)
    /// Answers not yet taken by their clients, all connections together: an answer past it
    /// is replaced by an error (each connection holds at most one).
    static let maxPendingOutput = 64 * 1024 * 1024
    /// Connections accepted per turn of the loop: a flood of connects waits its turn.
    static let acceptsPerTurn = 64
    /// When even the spare fd is gone, the listener rests this long instead of spinning.
    static let exhaustedPause = Duration.seconds(1)

    let path: String
    private let listener: Int32
    private let controlGroup: gid_t?
    private let loop: EventLoop
    private let clock: MonotonicClock
    private var connections: [Int32: Connection] = [:]
    private var socketIdentity: (dev: UInt64, ino: UInt64)
    /// Held open so that, out of fds, tend can still serve one client and tell others why.
    private var spares: [Int32] = []
    private var listenerPausedUntil: Instant?
    private var chunk = [UInt8](repeating: 0, count: 16384)
    private var ready: [Connection] = []
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
        restoreSpare()
        restoreSpare()
        try loop.register(listener) { [unowned self] _ in self.acceptSome() }
    }

    /// What `tend reexec` hands the next tend: the listening socket (a client connecting
    /// meanwhile waits in its backlog) and the connection that asked, which the new tend answers.
    struct Handed: Codable {
        let listener: Int32
        let device: UInt64
        let inode: UInt64
        var asker: Int32?
        /// As the first tend looked it up: the next one does not ask again (a group gone since,
        /// or a lookup that fails, would end it after the exec, where nothing can go back).
        let controlGroup: gid_t?
        var fds: [Int32] { [listener] + (asker.map { [$0] } ?? []) }
    }

    func handed(asker: Connection?) -> Handed {
        Handed(listener: listener, device: socketIdentity.dev, inode: socketIdentity.ino, asker: asker?.fd, controlGroup: controlGroup)
    }

    /// Just before the exec: every connection but `asker` is told to try again and closed.
    func letOthersGo(_ asker: Connection) {
        for c in Array(connections.values) where c !== asker { letGo(c, "tend is re-executing itself: try again") }
    }

    init(handed: Handed, path: String, loop: EventLoop, clock: MonotonicClock) throws {
        self.path = path
        controlGroup = handed.controlGroup
        self.loop = loop
        self.clock = clock
        listener = handed.listener
        socketIdentity = (handed.device, handed.inode)
        restoreSpare()
        restoreSpare()
        try loop.register(listener) { [unowned self] _ in self.acceptSome() }
    }

    /// The connection that asked for the reexec, in the new tend: waiting for its answer.
    func adoptAsker(_ fd: Int32) -> Connection? {
        let c = Connection(fd: fd, now: clock.now)
        c.busy = true
        c.watched = 0
        do {
            try loop.register(fd, events: 0) { [unowned self, unowned c] events in self.serve(c, events) }
        } catch {
            close(fd)
            return nil
        }
        connections[fd] = c
        return c
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
        for fd in spares { close(fd) }
        var st = stat()
        if stat(path, &st) == 0, UInt64(st.st_dev) == socketIdentity.dev, UInt64(st.st_ino) == socketIdentity.ino {
            unlink(path)
        }
    }

    private func acceptSome() {
        for _ in 0..<ControlServer.acceptsPerTurn {
            let fd = tend_accept(listener)
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE: if outOfFDs() { continue } else { return }
                default: return  // EAGAIN: none left
                }
            }
            admit(fd, onSpare: false)
        }
    }

    /// A client whose peer is allowed becomes a connection, its first request read at once.
    private func admit(_ fd: Int32, onSpare: Bool) {
        var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
        guard tend_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return release(fd, onSpare) }
        let allowed = uid == 0 || uid == geteuid()
            || controlGroup.map { gid == $0 || tend_peer_in_group(fd, $0) == 1 } == true
        guard allowed else {
            reject(fd, "permission denied: uid \(uid) is not root, tend's user (uid \(geteuid()))"
                       + (controlGroup.map { " or in control_group (gid \($0))" } ?? " and no control_group is set"))
            return release(fd, onSpare)
        }
        if connections.count >= ControlServer.maxConnections {
            guard let idle = longestIdle() else {
                reject(fd, "too many connections (\(ControlServer.maxConnections)), all waiting for answers")
                return release(fd, onSpare)
            }
            letGo(idle, "too many connections (\(ControlServer.maxConnections)): closing the longest idle")
        }
        let connection = Connection(fd: fd, now: clock.now)
        connection.onSpare = onSpare
        do {
            try loop.register(fd, events: connection.watched) { [unowned self, unowned connection] events in
                self.serve(connection, events)
            }
            connections[fd] = connection
        } catch {
            return release(fd, onSpare)
        }
        // A client writes its request right after connecting: reading it now makes the
        // connection busy, so a flood of connects cannot have it let go as idle.
        serve(connection, TEND_EPOLLIN)
    }

    /// Closes an fd never made a connection; one taken from a spare gives it back.
    private func release(_ fd: Int32, _ onSpare: Bool) {
        close(fd)
        if onSpare { restoreSpare() }
    }

    private func restoreSpare() {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd >= 0 { spares.append(fd) }
    }

    /// accept4 failed for want of an fd. It takes the fd before it looks for a client, so
    /// first see whether one waits at all; then serve it on a spare fd while two are left,
    /// or make room by letting the longest idle client go, or tell it why on the last spare,
    /// or else stop watching the listener for a while. True: accept again.
    private func outOfFDs() -> Bool {
        guard tend_readable_now(listener) == 1 else { return false }
        if spares.count >= 2 || (spares.count == 1 && longestIdle() == nil) {
            close(spares.removeLast())
            let fd = tend_accept(listener)
            guard fd >= 0 else { restoreSpare(); return false }
            if spares.isEmpty {
                reject(fd, "tend is out of file descriptors: try again later")
                release(fd, true)
            } else {
                admit(fd, onSpare: true)
            }
            return true
        }
        if let idle = longestIdle() {
            letGo(idle, "tend is out of file descriptors: closing the longest idle connection")
            return true
        }
        loop.modify(listener, events: 0)
        listenerPausedUntil = clock.now + ControlServer.exhaustedPause
        return false
    }

    /// The connection waiting longest for its client, and for nothing of tend's.
    private func longestIdle() -> Connection? {
        connections.values.filter { !$0.busy }.min { $0.idleSince < $1.idleSince }
    }

    /// Drops a connection, telling it why unless an answer is still queued for it.
    private func letGo(_ c: Connection, _ reason: String) {
        if c.output.isEmpty { writeAll(c.fd, ControlResponse.error(reason)) }
        drop(c)
    }

    private func reject(_ fd: Int32, _ message: String) {
        writeAll(fd, ControlResponse.error(message))
    }

    private func serve(_ c: Connection, _ events: UInt32) {
        if events & TEND_EPOLLOUT != 0 { flush(c) }
        if c.closed { return }
        let hangUp = events & (TEND_EPOLLHUP | TEND_EPOLLERR) != 0
        // Gone for good, with nothing left to read: no answer can reach it.
        // An answer still queued: EPOLLHUP stays set while the answer cannot be written, and a
        // connection kept for it would have the loop woken at once, again and again.
        if hangUp, c.busy || c.readClosed || !c.output.isEmpty { return drop(c) }
        if events & (TEND_EPOLLIN | TEND_EPOLLRDHUP) != 0 || hangUp, !c.busy, !c.readClosed, c.output.isEmpty {
            let n = read(c.fd, &chunk, chunk.count)
            if n > 0 {
                c.input.append(contentsOf: chunk[0..<n])
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                c.readClosed = true
            }
        }
        takeRequests(c)
    }

    /// Takes complete lines (and, at end of input, what is left) as requests, one at a time.
    private func takeRequests(_ c: Connection) {
        guard !c.taking else { return }
        c.taking = true
        while !c.busy, !c.closed, c.output.isEmpty, let line = nextLine(c) {
            var line = line
            if line.count > ControlProtocol.maxRequestBytes {
                fail(c, "request longer than \(ControlProtocol.maxRequestBytes) bytes", close: true)
                continue
            }
            if line.last == 0x0D { line = line.dropLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            c.idleSince = clock.now
            do {
                let request = try ControlRequest.decode(Array(line))
                c.busy = true
                onRequest(request, c)
            } catch {
                fail(c, error.description, close: false)
            }
        }
        c.taking = false
        if c.consumed > 0 {
            c.input.removeFirst(c.consumed)
            c.scanned -= c.consumed
            c.consumed = 0
        }
        settle(c)
    }

    private func nextLine(_ c: Connection) -> ArraySlice<UInt8>? {
        if let newline = c.input[c.scanned...].firstIndex(of: 0x0A) {
            let line = c.input[c.consumed..<newline]
            c.consumed = newline + 1
            c.scanned = c.consumed
            return line
        }
        c.scanned = c.input.count
        let rest = c.input.count - c.consumed
        if rest > ControlProtocol.maxRequestBytes {
            c.consumed = c.input.count
            fail(c, "request longer than \(ControlProtocol.maxRequestBytes) bytes", close: true)
            return nil
        }
        guard c.readClosed, rest > 0 else { return nil }
        let line = c.input[c.consumed...]
        c.consumed = c.input.count
        c.scanned = c.consumed
        return line
    }

    private func fail(_ c: Connection, _ message: String, close: Bool) {
        if close {
            c.readClosed = true
            c.consumed = c.input.count
            c.scanned = c.consumed
        }
        respond(c, ControlResponse.error(message))
    }

    /// Sends a response line; once it is taken, the connection takes its next request, at the
    /// loop's next turn (`takeReady`) unless requests are being taken now: an answer is given
    /// from anywhere in tend (amid a walk over the waiting requests, say), where handling the
    /// next request would change what is being walked.
    func respond(_ c: Connection, _ text: String) {
        guard !c.closed else { return }
        c.busy = false
        c.idleSince = clock.now
        let held = connections.values.reduce(0) { $0 + $1.output.count }
        if held + text.utf8.count > ControlServer.maxPendingOutput {
            c.output.append(ControlResponse.error("tend holds \(held / 1024) KiB of answers not yet read by their clients: try again later"))
        } else {
            c.output.append(text)
        }
        flush(c)
        guard !c.taking, !c.closed else { return }
        if c.output.isEmpty { ready.append(c) } else { settle(c) }
    }

    /// Connections whose answer is taken, with their next request (if any) not yet looked at.
    var hasReady: Bool { !ready.isEmpty }

    func takeReady() {
        let taking = ready
        ready = []
        for c in taking { takeRequests(c) }
    }

    private func flush(_ c: Connection) {
        while !c.output.isEmpty, !c.closed {
            let n = c.output.write { write(c.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                c.idleSince = clock.now
            } else if n < 0, errno == EINTR {
                continue
            } else if n < 0, errno == EAGAIN {
                break
            } else {
                drop(c)
            }
        }
    }

    /// Closes a connection that is done, or watches what it now waits for: input only when
    /// no request is pending, output only when some is queued.
    private func settle(_ c: Connection) {
        guard !c.closed else { return }
        if c.readClosed, !c.busy, c.output.isEmpty, c.consumed == c.input.count { return drop(c) }
        let events = c.output.isEmpty ? (c.busy || c.readClosed ? 0 : TEND_EPOLLIN | TEND_EPOLLRDHUP) : TEND_EPOLLOUT
        if events != c.watched {
            c.watched = events
            loop.modify(c.fd, events: events)
        }
    }

    func drop(_ c: Connection) {
        guard !c.closed else { return }
        c.closed = true
        loop.unregister(c.fd)
        close(c.fd)
        connections[c.fd] = nil
        if c.onSpare { restoreSpare() }
    }

    /// The earliest moment an idle or stalled connection is to be dropped, or the listener
    /// watched again.
    var nextDeadline: Instant? {
        let idle = connections.values.filter { !$0.busy }.map { $0.idleSince + ControlServer.idleTimeout }.min()
        return [idle, listenerPausedUntil].compactMap { $0 }.min()
    }

    func handleDeadlines(now: Instant) {
        if let until = listenerPausedUntil, until <= now {
            listenerPausedUntil = nil
            loop.modify(listener, events: TEND_EPOLLIN)
        }
        for c in Array(connections.values) where !c.busy && c.idleSince + ControlServer.idleTimeout <= now {
            letGo(c, "no request within \(ControlServer.idleTimeout.humanReadable): closing")
        }
    }
}

import CTend
import Glibc

/// A connected, non-blocking datagram socket with a bounded queue in front of it: sending
/// never blocks the loop. When the peer's queue is full the datagram waits here and the
/// socket is watched for EPOLLOUT (which a connected Unix datagram socket reports once the
/// peer has room); beyond `limit` bytes waiting, datagrams are dropped and counted. A peer
/// that went away (journald restarted) is connected to again at the next send.
final class DatagramQueue {
    let address: String
    private let loop: EventLoop
    private var fd: Int32 = -1
    private var queue: [[UInt8]] = []
    private var head = 0
    private var queuedBytes = 0
    private let limit: Int
    private var watching = false
    /// Datagrams dropped since the last call of `takeDropped`.
    private(set) var dropped = 0

    init(address: String, loop: EventLoop, limit: Int = 4 * 1024 * 1024) {
        self.address = address
        self.loop = loop
        self.limit = limit
        connect()
    }

    deinit {
        if fd >= 0 {
            if watching { loop.unregister(fd) }
            close(fd)
        }
    }

    var isConnected: Bool { fd >= 0 }
    /// Less than half full: room again after a stall, even while a storm keeps it busy.
    var hasRoom: Bool { queuedBytes < limit / 2 }

    @discardableResult
    private func connect() -> Bool {
        if fd >= 0 { return true }
        fd = tend_connect_datagram(address)
        return fd >= 0
    }

    /// Queues `datagram` and sends what it can. False when it was dropped.
    @discardableResult
    func send(_ datagram: [UInt8]) -> Bool {
        guard queuedBytes + datagram.count <= limit else {
            dropped += 1
            return false
        }
        queue.append(datagram)
        queuedBytes += datagram.count
        flush()
        return true
    }

    func takeDropped() -> Int {
        defer { dropped = 0 }
        return dropped
    }

    /// Sends what is queued until the peer is full.
    func flush() {
        var reconnected = false
        while head < queue.count {
            guard connect() else { return discardAll() }
            let datagram = queue[head]
            let n = datagram.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if n >= 0 {
                pop()
                continue
            }
            switch errno {
            case EINTR:
                continue
            case EAGAIN:
                watch(true)
                return
            case ECONNREFUSED, ENOTCONN, ECONNRESET, EPIPE:
                // The peer is gone: one new connection per flush, or the queue goes.
                reset()
                guard !reconnected, connect() else { return discardAll() }
                reconnected = true
            default:
                // Too large, or refused for good: this one cannot be sent.
                dropped += 1
                pop()
            }
        }
        watch(false)
        if head > 0 {
            queue.removeAll(keepingCapacity: queue.count < 1024)
            head = 0
        }
    }

    /// For `tend reexec`: the datagrams not sent yet and the count dropped (the exec would
    /// lose them); the next tend's queue takes them first.
    struct Handed: Codable {
        let queue: [[UInt8]]
        let dropped: Int
    }

    var handed: Handed { Handed(queue: Array(queue[head...]), dropped: dropped) }

    func adopt(_ handed: Handed) {
        dropped += handed.dropped
        let waiting = Array(queue[head...])
        (queue, head, queuedBytes) = ([], 0, 0)
        for datagram in handed.queue + waiting { send(datagram) }
    }

    private func pop() {
        queuedBytes -= queue[head].count
        queue[head] = []
        head += 1
    }

    private func discardAll() {
        dropped += queue.count - head
        queue.removeAll()
        head = 0
        queuedBytes = 0
        watch(false)
    }

    private func reset() {
        if watching { loop.unregister(fd); watching = false }
        close(fd)
        fd = -1
    }

    private func watch(_ on: Bool) {
        guard on != watching, fd >= 0 else { return }
        if on {
            watching = (try? loop.register(fd, events: TEND_EPOLLOUT) { [unowned self] _ in self.flush() }) != nil
        } else {
            loop.unregister(fd)
            watching = false
        }
    }
}

import CTend
import Glibc

/// One epoll instance, single-threaded. Each registration gets a fresh token packed with the
/// fd into epoll's user data, so an event for an fd that was closed (and maybe reused) earlier
/// in the same batch is recognised as stale and skipped.
final class EventLoop {
    typealias Handler = (_ events: UInt32) -> Void

    private let epoll: Int32
    private var handlers: [UInt32: (fd: Int32, handler: Handler)] = [:]
    private var tokens: [Int32: UInt32] = [:]
    /// Internal for a test of the wrap.
    var nextToken: UInt32 = 1
    private var batchData = [UInt64](repeating: 0, count: 64)
    private var batchEvents = [UInt32](repeating: 0, count: 64)

    init() throws {
        epoll = try check("epoll_create1") { tend_epoll_create() }
    }

    deinit { close(epoll) }

    func register(_ fd: Int32, events: UInt32 = TEND_EPOLLIN, handler: @escaping Handler) throws {
        // After 2^32 registrations the tokens wrap: skip those still in use (the signalfd's, 1).
        while nextToken == 0 || handlers[nextToken] != nil { nextToken &+= 1 }
        let token = nextToken
        nextToken &+= 1
        try check("epoll_ctl ADD") {
            tend_epoll_ctl(epoll, TEND_EPOLL_CTL_ADD, fd, events, UInt64(token) << 32 | UInt64(UInt32(bitPattern: fd)))
        }
        handlers[token] = (fd, handler)
        tokens[fd] = token
    }

    /// Changes the events watched for `fd`.
    func modify(_ fd: Int32, events: UInt32) {
        guard let token = tokens[fd] else { return }
        _ = tend_epoll_ctl(epoll, TEND_EPOLL_CTL_MOD, fd, events, UInt64(token) << 32 | UInt64(UInt32(bitPattern: fd)))
    }

    /// Forgets `fd`; the caller closes it.
    func unregister(_ fd: Int32) {
        guard let token = tokens.removeValue(forKey: fd) else { return }
        handlers[token] = nil
        _ = tend_epoll_ctl(epoll, TEND_EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Forgets `fd` without telling epoll: the caller is about to close it, which takes it out
    /// of the epoll set (it must be the fd's only reference).
    func forget(_ fd: Int32) {
        guard let token = tokens.removeValue(forKey: fd) else { return }
        handlers[token] = nil
    }

    /// Waits (forever when `timeout` is -1) and dispatches one batch of events.
    func runOnce(timeoutMilliseconds timeout: Int32 = -1) throws {
        let n = tend_epoll_wait(epoll, &batchData, &batchEvents, 64, timeout)
        if n < 0 {
            if errno == EINTR { return }
            throw SystemError("epoll_wait")
        }
        for i in 0..<Int(n) {
            let token = UInt32(truncatingIfNeeded: batchData[i] >> 32)
            let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: batchData[i]))
            guard let entry = handlers[token], entry.fd == fd else { continue }
            entry.handler(batchEvents[i])
        }
    }
}

import CTend
import Glibc

/// tend's own stdout or stderr, written without ever blocking the loop: a reader that stalls
/// (a pager, a full pipe) makes lines wait in a bounded buffer, then be dropped and counted,
/// while reaping and control go on. A pipe or terminal is opened again through /proc with
/// O_NONBLOCK, so the flag is tend's alone and not set on a file description tend shares
/// with its parent (a shell's terminal); a socket (a journal stream) is sent to with
/// MSG_DONTWAIT; a regular file is written as it is.
final class ConsoleStream {
    private let fd: Int32
    private let ownsFD: Bool
    private let isSocket: Bool
    private let loop: EventLoop
    private var pending = OutgoingBytes()
    private var watching = false
    static let limit = 4 * 1024 * 1024
    /// Lines dropped since the stream last caught up (told then).
    private(set) var dropped = 0
    /// Called once the stream has caught up after dropping lines, with their count.
    var onCaughtUp: (Int) -> Void = { _ in }

    init(fd original: Int32, loop: EventLoop) {
        self.loop = loop
        var st = stat()
        let kind = fstat(original, &st) == 0 ? st.st_mode & S_IFMT : 0
        isSocket = kind == S_IFSOCK
        var fd = original
        if kind == S_IFIFO || kind == S_IFCHR {
            let reopened = open("/proc/self/fd/\(original)", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
            if reopened >= 0 { fd = reopened }
        }
        self.fd = fd
        ownsFD = fd != original
    }

    deinit {
        if watching { loop.unregister(fd) }
        if ownsFD { close(fd) }
    }

    /// Queues one line (its bytes are copied), or drops it when the buffer is full.
    func append(_ parts: UnsafeRawBufferPointer...) {
        let size = parts.reduce(0) { $0 + $1.count }
        guard pending.count + size <= ConsoleStream.limit else {
            dropped += 1
            return
        }
        for part in parts { pending.append(part) }
        // A busy turn writes as it goes rather than holding megabytes until its end.
        if pending.count > 256 * 1024 { flush() }
    }

    /// Writes what it can now; the rest waits for the fd to become writable.
    func flush() {
        while !pending.isEmpty {
            let n = pending.write { bytes in
                isSocket ? send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                         : write(fd, bytes.baseAddress, bytes.count)
            }
            if n > 0 || (n < 0 && errno == EINTR) { continue }
            if n < 0, errno == EAGAIN {
                watch(true)
                return
            }
            // Closed or broken: nobody reads these lines.
            pending.removeAll()
        }
        watch(false)
        if dropped > 0 {
            let count = dropped
            dropped = 0
            onCaughtUp(count)
        }
    }

    /// For `tend reexec`: lines not written yet and the count dropped, which the next tend
    /// writes and tells (the exec would lose them).
    struct Handed: Codable {
        let pending: [UInt8]
        let dropped: Int
    }

    var handed: Handed { Handed(pending: pending.unwritten, dropped: dropped) }

    func adopt(_ handed: Handed) {
        handed.pending.withUnsafeBytes { pending.append($0) }
        dropped += handed.dropped
        flush()
    }

    private func watch(_ on: Bool) {
        guard on != watching else { return }
        if on {
            // A regular file cannot be watched; it never returns EAGAIN either.
            watching = (try? loop.register(fd, events: TEND_EPOLLOUT) { [unowned self] _ in self.flush() }) != nil
        } else {
            loop.unregister(fd)
            watching = false
        }
    }
}

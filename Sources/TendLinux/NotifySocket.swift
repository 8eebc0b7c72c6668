import CTend
import Glibc

/// tend's own NOTIFY_SOCKET for its children: one datagram socket in the abstract namespace
/// (no file to create, clean up, or make writable for a service's user), its name chosen by
/// the kernel, SO_PASSCRED on, so each message comes with the sender's pid from the kernel.
final class NotifySocket {
    let fd: Int32
    /// The value children get in NOTIFY_SOCKET.
    let address: String
    private var buffer = [CChar](repeating: 0, count: 4097)
    private var passed = [Int32](repeating: -1, count: Int(TEND_NOTIFY_MAX_FDS))

    init() throws {
        var name = [CChar](repeating: 0, count: 108)
        fd = try check("notify socket") { tend_notify_socket(&name, name.count) }
        address = "@" + String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Handed over by `tend reexec`: the same socket, so children keep their NOTIFY_SOCKET and
    /// what they sent during the exec waits in it.
    struct Handed: Codable {
        let fd: Int32
        let address: String
    }

    var handed: Handed { Handed(fd: fd, address: address) }

    init(handed: Handed) {
        fd = handed.fd
        address = handed.address
    }

    /// Datagrams read per turn of the loop: a flooding child must not keep tend from the rest
    /// (the socket stays readable, so the loop comes back for more).
    static let batch = 64

    /// The pending datagrams, up to `batch`, each with its sender's pid and the fds it
    /// passed, which `handle` keeps or closes.
    func receiveAll(_ handle: (_ sender: pid_t, _ message: String, _ fds: [Int32]) -> Void) {
        for _ in 0..<NotifySocket.batch {
            var sender: pid_t = 0
            var count: Int32 = 0
            let n = buffer.withUnsafeMutableBufferPointer { b in
                passed.withUnsafeMutableBufferPointer { tend_notify_receive(fd, b.baseAddress, 4096, &sender, $0.baseAddress, &count) }
            }
            if n < 0 { return }
            let fds = count > 0 ? Array(passed[0..<Int(count)]) : []
            // sd_notify(3) messages are small; one that was truncated is not trusted.
            guard n <= 4096, sender > 0 else {
                for fd in fds { FDStore.close(fd) }
                continue
            }
            let message = buffer.withUnsafeBufferPointer {
                String(decoding: UnsafeRawBufferPointer(start: $0.baseAddress, count: n), as: UTF8.self)
            }
            handle(sender, message, fds)
        }
    }
}

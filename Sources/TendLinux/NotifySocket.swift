import CTend
import Glibc

/// tend's own NOTIFY_SOCKET for its children: one datagram socket in the abstract namespace
/// (no file to create, clean up, or make writable for a service's user), SO_PASSCRED on, so
/// each message comes with the sender's pid from the kernel.
final class NotifySocket {
    let fd: Int32
    /// The value children get in NOTIFY_SOCKET.
    let address: String
    private var buffer = [CChar](repeating: 0, count: 4097)

    init() throws {
        let name = "tend/\(getpid())/notify"
        fd = try check("notify socket \(name)") { tend_notify_socket(name) }
        address = "@" + name
    }

    /// Every pending datagram with its sender's pid.
    func receiveAll(_ handle: (_ sender: pid_t, _ message: String) -> Void) {
        while true {
            var sender: pid_t = 0
            let n = buffer.withUnsafeMutableBufferPointer { tend_notify_receive(fd, $0.baseAddress, 4096, &sender) }
            if n < 0 { return }
            // sd_notify(3) messages are small; one that was truncated is not trusted.
            guard n <= 4096, sender > 0 else { continue }
            let message = buffer.withUnsafeBufferPointer {
                String(decoding: UnsafeRawBufferPointer(start: $0.baseAddress, count: n), as: UTF8.self)
            }
            handle(sender, message)
        }
    }
}

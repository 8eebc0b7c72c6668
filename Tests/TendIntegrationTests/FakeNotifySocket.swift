import Foundation
import Glibc

/// A datagram socket standing in for systemd's NOTIFY_SOCKET: it records what tend sends,
/// each message with the monotonic time it was read.
final class FakeNotifySocket {
    let path: String
    private let fd: Int32
    private(set) var messages: [(seconds: Double, text: String)] = []

    init(directory: String) throws {
        path = directory + "/notify.sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
    }

    deinit { close(fd) }

    /// Reads every datagram waiting.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard n > 0 else { return }
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            messages.append((Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9, String(decoding: buffer[0..<n], as: UTF8.self)))
        }
    }

    /// Every message so far that has a line starting with `prefix`.
    func received(_ prefix: String) -> [(seconds: Double, text: String)] {
        drain()
        return messages.filter { $0.text.split(separator: "\n").contains { $0.hasPrefix(prefix) } }
    }

    /// The value of `key` in each message that has it, in order.
    func values(_ key: String) -> [String] {
        drain()
        return messages.flatMap { message in
            message.text.split(separator: "\n").filter { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }
    }
}

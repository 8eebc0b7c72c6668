import Glibc

/// A failed system call, named, with its errno text.
public struct SystemError: Error, CustomStringConvertible {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// Retries on EINTR and throws on -1.
@discardableResult
func check<T: BinaryInteger>(_ call: String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        if errno != EINTR { throw SystemError(call) }
    }
}

/// Writes all of `bytes`, retrying short writes and EINTR; gives up on other errors and
/// returns their errno (a closed terminal must not take tend down: most callers ignore it).
@discardableResult
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n > 0 { offset += n } else if n < 0, errno == EINTR { continue } else { return n < 0 ? errno : EIO }
    }
    return nil
}

public func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    _ = text.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
}

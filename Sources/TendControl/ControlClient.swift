import CTend
import Glibc

/// The client side: one request, one response line, with a deadline.
public struct ControlClient {
    public enum Failure: Error, CustomStringConvertible {
        /// No tend listens there (exit 69, EX_UNAVAILABLE).
        case unavailable(String)
        /// tend answered with an error.
        case refused(String)
        case timedOut(String)

        public var description: String {
            switch self {
            case .unavailable(let m), .refused(let m), .timedOut(let m): return m
            }
        }
    }

    public let path: String

    public init(path: String) { self.path = path }

    /// Sends `request` and returns the response line (without its newline). Bytes, not a
    /// String: a status of 10,000 services is a megabyte a client only passes on.
    public func send(_ request: ControlRequest, timeout: Double) throws(Failure) -> [UInt8] {
        let fd = tend_connect_unix(path)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw .unavailable("cannot connect to tend at \(path): \(reason) (is `tend run` running? --socket, $TEND_SOCKET and control_socket choose the path)")
        }
        defer { close(fd) }
        var line = request.encoded() + "\n"
        // MSG_NOSIGNAL: tend may have answered (permission denied) and closed before the
        // request was sent; its answer is still there to read.
        var sendError: Int32 = 0
        line.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0, errno == EINTR { continue }
                if n <= 0 { sendError = errno; return }
                offset += n
            }
        }

        var response: [UInt8] = []
        // As much as a socket holds (a status of 10,000 services is 1.9 MB): each read that
        // empties it is a hand-over to tend and back.
        // Not zeroed: a short answer touches only the pages it fills.
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 1)
        defer { chunk.deallocate() }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Double(tend_monotonic_ns()) / 1e9 + timeout
        while true {
            let left = deadline - Double(tend_monotonic_ns()) / 1e9
            guard left > 0 else { throw .timedOut("no answer from tend within \(Int(timeout))s") }
            let ready = poll(&pfd, 1, Int32(min(left * 1000, Double(Int32.max))))
            if ready < 0, errno == EINTR { continue }
            if ready == 0 { continue }
            let n = read(fd, chunk.baseAddress, chunk.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            if let newline = chunk[0..<n].firstIndex(of: 0x0A) {
                response.append(contentsOf: chunk[0..<newline])
                return response
            }
            response.append(contentsOf: chunk[0..<n])
        }
        guard !response.isEmpty else {
            let reason = sendError != 0 ? ": \(String(cString: strerror(sendError)))" : ""
            throw .unavailable("tend at \(path) closed the connection without an answer\(reason)")
        }
        return response
    }

    /// The `result` of an ok response, or the error as a failure.
    public func call(_ request: ControlRequest, timeout: Double) throws(Failure) -> ArraySlice<UInt8> {
        let line = try send(request, timeout: timeout)
        if let result = ControlResponse.result(of: line) { return result }
        throw .refused(ControlResponse.errorMessage(of: line)
            ?? "unreadable answer from tend: \(String(decoding: line.prefix(200), as: UTF8.self))")
    }
}

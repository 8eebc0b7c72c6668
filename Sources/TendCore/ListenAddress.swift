/// One of a service's `listen` sockets (SPEC section 9): `tcp:HOST:PORT`, `udp:HOST:PORT` (HOST
/// an IPv4 address or an IPv6 one in brackets) or `unix:/PATH` (`unix:@NAME`: abstract), then
/// optionally ` name=NAME` for LISTEN_FDNAMES (default: the service's name).
public struct ListenAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, Codable { case tcp, udp, unix }
    public var kind: Kind
    /// tcp, udp: the numeric host, without brackets; unix: the path, or `@NAME`.
    public var host: String
    /// 0 for unix.
    public var port: UInt16
    public var name: String?

    /// The socket without its name: what tend opens once and keys its sockets by.
    public var address: String {
        switch kind {
        case .unix: return "unix:\(host)"
        case .tcp, .udp: return "\(kind.rawValue):\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
    }

    public var description: String { address + (name.map { " name=\($0)" } ?? "") }

    /// sun_path holds 108 bytes with its NUL (an abstract name's leading NUL takes the place of `@`).
    public static let maxPathBytes = 107

    public static func parse(_ text: String) -> Result<ListenAddress, ParseError> {
        var rest = Substring(text)
        var name: String?
        if let range = rest.ranges(of: " name=").last {
            let n = String(rest[range.upperBound...])
            guard isValidName(n) else {
                return .failure(ParseError("name \"\(n)\": 1 to 255 printable ASCII characters, without : or spaces"))
            }
            name = n
            rest = rest[..<range.lowerBound]
        }
        guard let colon = rest.firstIndex(of: ":"), let kind = Kind(rawValue: String(rest[..<colon])) else {
            return .failure(ParseError("\"\(text)\": expected tcp:HOST:PORT, udp:HOST:PORT or unix:/PATH"))
        }
        let target = rest[rest.index(after: colon)...]
        if kind == .unix {
            guard target.hasPrefix("/") || (target.hasPrefix("@") && target.count > 1) else {
                return .failure(ParseError("\"\(text)\": a unix socket's path is absolute (or @NAME for an abstract one)"))
            }
            guard target.utf8.count <= maxPathBytes, !target.contains("\0") else {
                return .failure(ParseError("\"\(text)\": a unix socket's path has at most \(maxPathBytes) bytes"))
            }
            return .success(ListenAddress(kind: kind, host: String(target), port: 0, name: name))
        }
        guard let portColon = target.lastIndex(of: ":"),
              let port = UInt16(target[target.index(after: portColon)...]), port > 0 else {
            return .failure(ParseError("\"\(text)\": expected a port from 1 to 65535 after the host"))
        }
        var host = target[..<portColon]
        if host.hasPrefix("[") && host.hasSuffix("]") && host.count > 2 {
            host = host.dropFirst().dropLast()
            guard host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }), host.contains(":") else {
                return .failure(ParseError("\"\(text)\": \"[\(host)]\" is not an IPv6 address"))
            }
        } else if !isIPv4(host) {
            return .failure(ParseError("\"\(text)\": the host is a numeric address (IPv4, or IPv6 in brackets), got \"\(host)\""))
        }
        return .success(ListenAddress(kind: kind, host: String(host), port: port, name: name))
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// What sd_listen_fds_with_names accepts in LISTEN_FDNAMES (systemd's fdname_is_valid).
    public static func isValidName(_ name: String) -> Bool {
        (1...255).contains(name.utf8.count) && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ":") }
    }

    static func isIPv4(_ host: Substring) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            (1...3).contains(p.count) && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && (Int(p) ?? 256) <= 255
        }
    }
}

import FoundationEssentials
import TendCore

/// The control protocol: one JSON object per line each way over a Unix stream socket.
///
/// Request: `{"version": 1, "command": "status", "names": ["api"]}`; `command` is one of
/// status, start, stop, restart, signal (with `"signal": "HUP"`), reload, scale (one name and
/// `"count": N`), reexec (optionally `"binary": PATH`); start, stop, restart, reload with names and scale take `"timeout_s"` (default 60). Response: `{"ok":true,"version":1,"result":{...}}`
/// or `{"ok":false,"version":1,"error":"..."}`; `result` is always the last member, so a
/// client may print it as it came.
public enum ControlProtocol {
    public static let version = 1
    /// A request line longer than this is refused and the connection closed.
    public static let maxRequestBytes = 64 * 1024
    public static let defaultTimeout = 60.0
}

public struct ControlRequest: Codable, Equatable, Sendable {
    public enum Command: String, Codable, Sendable, CaseIterable {
        case status, start, stop, restart, signal, reload, scale, reexec
    }

    public var version: Int
    public var command: Command
    public var names: [String]?
    public var signal: String?
    public var timeoutSeconds: Double?
    /// `scale`: how many copies.
    public var count: Int?
    /// `status` of one service: its detail (`tend status NAME`).
    public var detail: Bool?
    /// `reexec`: the binary to execute (default: the one tend runs from).
    public var binary: String?

    enum CodingKeys: String, CodingKey {
        case version, command, names, signal, count, detail, binary
        case timeoutSeconds = "timeout_s"
    }

    public init(command: Command, names: [String]? = nil, signal: String? = nil, timeoutSeconds: Double? = nil,
                count: Int? = nil, detail: Bool? = nil, binary: String? = nil) {
        version = ControlProtocol.version
        self.command = command
        self.names = names
        self.signal = signal
        self.timeoutSeconds = timeoutSeconds
        self.count = count
        self.detail = detail
        self.binary = binary
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(Int.self, forKey: .version)
        command = try c.decode(Command.self, forKey: .command)
        names = try c.decodeIfPresent([String].self, forKey: .names)
        signal = try c.decodeIfPresent(String.self, forKey: .signal)
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds)
        detail = try c.decodeIfPresent(Bool.self, forKey: .detail)
        binary = try c.decodeIfPresent(String.self, forKey: .binary)
        // Any JSON number, so that 0.5 or 1e300 is refused as a count, by name.
        count = nil
        if let number = try c.decodeIfPresent(Double.self, forKey: .count) {
            guard number.rounded() == number, let whole = Int(exactly: number) else {
                throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.count], debugDescription: "not a whole number"))
            }
            count = whole
        }
    }

    /// One line, without its newline.
    public func encoded() -> String {
        var out = "{\"version\":\(version),\"command\":" + JSONText.string(command.rawValue)
        if let names {
            out += ",\"names\":["
            for (i, name) in names.enumerated() { out += (i > 0 ? "," : "") + JSONText.string(name) }
            out += "]"
        }
        if let signal { out += ",\"signal\":" + JSONText.string(signal) }
        if let timeoutSeconds { out += ",\"timeout_s\":\(timeoutSeconds)" }
        if let count { out += ",\"count\":\(count)" }
        if let detail { out += ",\"detail\":\(detail)" }
        if let binary { out += ",\"binary\":" + JSONText.string(binary) }
        return out + "}"
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public static func decode(_ line: [UInt8]) throws(Invalid) -> ControlRequest {
        let request: ControlRequest
        do {
            request = try JSONDecoder().decode(ControlRequest.self, from: Data(line))
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.first?.stringValue == "command" {
            let commands = Command.allCases.map(\.rawValue).joined(separator: ", ")
            throw Invalid(description: "unknown command: expected one of \(commands)")
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.first?.stringValue == "count" {
            throw Invalid(description: "count: expected a whole number, at least 1 and at most \(Bounds.maxInstances)")
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            throw Invalid(description: "\(context.codingPath.map(\.stringValue).joined(separator: ".")): not a value this field takes")
        } catch DecodingError.dataCorrupted {
            throw Invalid(description: "malformed request: not a JSON object")
        } catch DecodingError.keyNotFound(let key, _) {
            throw Invalid(description: "malformed request: \"\(key.stringValue)\" is missing")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Invalid(description: "malformed request: \"\(key)\" has the wrong type")
        } catch {
            throw Invalid(description: "malformed request: \(error)")
        }
        guard request.version == ControlProtocol.version else {
            throw Invalid(description: "unsupported protocol version \(request.version) (this tend speaks \(ControlProtocol.version))")
        }
        if let seconds = request.timeoutSeconds, Bounds.span(seconds: seconds) == nil {
            throw Invalid(description: "timeout_s: \(seconds) is out of range 0 to \(Bounds.maxSpanSeconds) seconds")
        }
        if let count = request.count, !(1...Bounds.maxInstances).contains(count) {
            throw Invalid(description: "count: \(count): expected at least 1 and at most \(Bounds.maxInstances)")
        }
        return request
    }

    /// `timeout_s` as a span (checked by `decode`), or the default.
    public var timeout: Duration {
        timeoutSeconds.flatMap { Bounds.span(seconds: $0) } ?? .seconds(Int(ControlProtocol.defaultTimeout))
    }
}

public enum ControlResponse {
    /// `result` is a JSON value, already encoded.
    public static func ok(_ result: String) -> String {
        "{\"ok\":true,\"version\":\(ControlProtocol.version),\"result\":\(result)}\n"
    }

    public static func error(_ message: String) -> String {
        "{\"ok\":false,\"version\":\(ControlProtocol.version),\"error\":\(JSONText.string(message))}\n"
    }

    /// The `result` of an ok response, as it came; nil for an error response.
    public static func result(of line: [UInt8]) -> ArraySlice<UInt8>? {
        let prefix = Array("{\"ok\":true,\"version\":\(ControlProtocol.version),\"result\":".utf8)
        guard line.count > prefix.count, line.starts(with: prefix), line.last == UInt8(ascii: "}") else { return nil }
        return line[prefix.count..<(line.count - 1)]
    }

    /// The message of an error response.
    public static func errorMessage(of line: [UInt8]) -> String? {
        struct ErrorReply: Decodable { let ok: Bool; let error: String? }
        guard let reply = try? JSONDecoder().decode(ErrorReply.self, from: Data(line)), !reply.ok else { return nil }
        return reply.error ?? "unknown error"
    }
}

/// The JSON tend writes by hand: status of 10,000 services is a hot path for monitoring.
public enum JSONText {
    public static func string(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `{"added": [...], "removed": [...], "restarted": [...], "unchanged": [...]}`.
    public static func reload(_ summary: ReloadSummary) -> String {
        "{" + [("added", summary.added), ("removed", summary.removed), ("restarted", summary.restarted),
               ("unchanged", summary.unchanged)]
            .map { "\"\($0.0)\":[\($0.1.map(string).joined(separator: ","))]" }.joined(separator: ",") + "}"
    }

    /// `tend scale`: `{"service", "from", "to", "added": [...], "removed": [...]}`.
    public static func scale(name: String, from: Int, to: Int, added: [String] = [], removed: [String] = []) -> String {
        "{\"service\":\(string(name)),\"from\":\(from),\"to\":\(to),"
            + "\"added\":[\(added.map(string).joined(separator: ","))],\"removed\":[\(removed.map(string).joined(separator: ","))]}"
    }

    /// Seconds with millisecond precision: `12.345`.
    static func seconds(_ d: Duration) -> String {
        let ms = d.nanoseconds / 1_000_000
        let fraction = ms % 1000
        return "\(ms / 1000).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)"
    }
}

/// JSON as bytes, for the large answers.
struct JSONBytes {
    var bytes: [UInt8] = []

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// JSON text made elsewhere; nil is null.
    mutating func text(_ text: String?) {
        guard var text else { return raw("null") }
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func int(_ n: Int64?) {
        guard let n else { return raw("null") }
        if n < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        var magnitude = n.magnitude
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }

    /// A string, escaped only where it needs it (most names need nothing); nil is null.
    mutating func string(_ s: String?) {
        guard var s else { return raw("null") }
        let plain = s.withUTF8 { utf8 in
            !utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        guard plain else { return text(JSONText.string(s)) }
        bytes.append(UInt8(ascii: "\""))
        s.withUTF8 { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
    }
}

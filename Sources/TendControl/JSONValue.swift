/// A JSON document read into values, for the client's side of the control socket. The
/// Codable decoder was most of `tend status` beside 1,000 services (11 of its 18 ms): this
/// reads the same answer in a single pass over its bytes.
public enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in the order written; looked up one by one (objects here have a dozen keys,
    /// fewer than it takes for hashing to pay).
    case object([Member])

    public struct Member: Equatable {
        public let key: String
        public let value: JSONValue
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// nil for a missing key and for JSON's null alike, as Codable's optionals read them.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var double: Double? { if case .number(let n) = self { n } else { nil } }
    public var int: Int? {
        guard case .number(let n) = self, n.rounded() == n, abs(n) < 9.0e15 else { return nil }
        return Int(n)
    }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }

    public init?(parsing bytes: ArraySlice<UInt8>) {
        var reader = Reader(bytes: bytes)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        guard reader.i == bytes.endIndex else { return nil }
        self = value
    }

    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var i: Int

        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            i = bytes.startIndex
        }

        mutating func skipSpace() {
            while i < bytes.endIndex, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard i < bytes.endIndex, bytes[i] == byte else { return false }
            i += 1
            return true
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard bytes.endIndex - i >= count else { return false }
            for k in 0..<count where bytes[i + k] != word.utf8Start[k] { return false }
            i += count
            return true
        }

        mutating func value(depth: Int) -> JSONValue? {
            skipSpace()
            guard i < bytes.endIndex, depth < 64 else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [Member] = []
                if take(UInt8(ascii: "}")) { return .object(members) }
                repeat {
                    skipSpace()
                    guard let key = string(), take(UInt8(ascii: ":")), let v = value(depth: depth + 1) else { return nil }
                    members.append(Member(key: key, value: v))
                } while take(UInt8(ascii: ","))
                return take(UInt8(ascii: "}")) ? .object(members) : nil
            case UInt8(ascii: "["):
                i += 1
                var items: [JSONValue] = []
                if take(UInt8(ascii: "]")) { return .array(items) }
                repeat {
                    guard let v = value(depth: depth + 1) else { return nil }
                    items.append(v)
                } while take(UInt8(ascii: ","))
                return take(UInt8(ascii: "]")) ? .array(items) : nil
            case UInt8(ascii: "\""):
                return string().map { .string($0) }
            case UInt8(ascii: "t"):
                return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"):
                return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"):
                return literal("null") ? .null : nil
            default:
                return number()
            }
        }

        mutating func number() -> JSONValue? {
            let start = i
            var whole = true
            while i < bytes.endIndex {
                let b = bytes[i]
                if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") || b == UInt8(ascii: "+") {
                    whole = false
                } else if !(b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) && b != UInt8(ascii: "-") {
                    break
                }
                i += 1
            }
            // Pids, counts: whole numbers read without a String in between.
            if whole, i - start < 16 {
                var n = 0
                var digits = bytes[start..<i]
                let negative = digits.first == UInt8(ascii: "-")
                if negative { digits = digits.dropFirst() }
                guard !digits.isEmpty, !digits.contains(UInt8(ascii: "-")) else { return nil }
                for d in digits { n = n * 10 + Int(d - UInt8(ascii: "0")) }
                return .number(Double(negative ? -n : n))
            }
            guard i > start, let n = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { return nil }
            return .number(n)
        }

        mutating func string() -> String? {
            guard i < bytes.endIndex, bytes[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            let start = i
            // Most strings have no escape: taken as they are.
            while i < bytes.endIndex, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
            guard i < bytes.endIndex else { return nil }
            if bytes[i] == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: bytes[start..<(i - 1)], as: UTF8.self)
            }
            var out = Array(bytes[start..<i])
            while i < bytes.endIndex {
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                guard b == UInt8(ascii: "\\") else {
                    out.append(b)
                    continue
                }
                guard i < bytes.endIndex else { return nil }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return nil }
                    // A surrogate pair is one scalar; a lone surrogate becomes U+FFFD.
                    if (0xD800..<0xDC00).contains(code), bytes[i...].starts(with: "\\u".utf8) {
                        let mark = i
                        i += 2
                        if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + (code - 0xD800) << 10 + (low - 0xDC00)
                        } else {
                            i = mark
                        }
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(code) ?? "\u{FFFD}")).utf8)
                default:
                    return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard bytes.endIndex - i >= 4 else { return nil }
            var code: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[i]
                let d: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
                default: return nil
                }
                code = code << 4 | d
                i += 1
            }
            return code
        }
    }
}

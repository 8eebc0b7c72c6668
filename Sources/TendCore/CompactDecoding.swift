/// Reads what `CompactEncoder` wrote (the format is on `CompactTag`). Every read is checked
/// against the bytes' end: a truncated or altered text is a `DecodingError`, never a trap.
public struct CompactDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let reader = CompactReader(bytes)
        let value = try reader.value(T.self, at: 0)
        guard try reader.end(ofValueAt: 0) == bytes.count else { throw reader.corrupt("bytes after the value") }
        return value
    }
}

final class CompactReader {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func corrupt(_ why: String) -> DecodingError {
        .dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: why))
    }

    func tag(at offset: Int) throws -> CompactTag {
        guard offset < bytes.count else { throw corrupt("the text ends before a value") }
        guard let tag = CompactTag(rawValue: bytes[offset]) else { throw corrupt("an unknown tag \(bytes[offset])") }
        return tag
    }

    func varint(_ offset: inout Int) throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            guard offset < bytes.count else { throw corrupt("the text ends inside a number") }
            let byte = bytes[offset]
            offset += 1
            guard shift < 63 || byte <= 1 else { throw corrupt("a number of more than 64 bits") }
            value |= UInt64(byte & 0x7f) << UInt64(shift)
            if byte < 0x80 { return value }
        }
        throw corrupt("a number of more than 64 bits")
    }

    /// A count of bytes from `offset` that must lie inside the text.
    func span(_ offset: inout Int) throws -> Range<Int> {
        let count = try varint(&offset)
        guard count <= UInt64(bytes.count - offset) else { throw corrupt("the text ends inside a string") }
        defer { offset += Int(count) }
        return offset..<offset + Int(count)
    }

    func u32(at offset: Int) -> Int {
        Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
    }

    /// A container's count and where its entries begin and end.
    func container(at offset: Int, _ tag: CompactTag) throws -> (count: Int, entries: Range<Int>) {
        let found = try self.tag(at: offset)
        guard found == tag else { throw corrupt("a \(found) where a \(tag) container belongs") }
        guard bytes.count - offset >= CompactTag.headerSize else { throw corrupt("the text ends inside a container") }
        let start = offset + CompactTag.headerSize, length = u32(at: offset + 5)
        guard length <= bytes.count - start else { throw corrupt("the text ends inside a container") }
        // Each entry takes a byte at least: a count beyond that is not believed (an array
        // reserves room for its count before it reads one).
        let count = u32(at: offset + 1)
        guard count <= length else { throw corrupt("a container of \(count) entries in \(length) bytes") }
        return (count, start..<start + length)
    }

    func end(ofValueAt offset: Int) throws -> Int {
        var p = offset + 1
        switch try tag(at: offset) {
        case .null, .no, .yes: return p
        case .int, .uint: _ = try varint(&p); return p
        case .double:
            guard bytes.count - p >= 8 else { throw corrupt("the text ends inside a number") }
            return p + 8
        case .string: return try span(&p).upperBound
        case .keyed, .unkeyed: return try container(at: offset, tag(at: offset)).entries.upperBound
        }
    }

    func value<T: Decodable>(_ type: T.Type, at offset: Int) throws -> T {
        // A Duration (6 of them in a service's spec) is read here, not through containers.
        if T.self == Duration.self { return unsafeBitCast(try duration(at: offset), to: T.self) }
        return try T(from: CompactValueDecoder(reader: self, offset: offset))
    }

    /// As Duration codes itself: a list of the high 64 bits of its attoseconds and the low 64.
    private func duration(at offset: Int) throws -> Duration {
        let (count, entries) = try container(at: offset, .unkeyed)
        guard count == 2 else { throw corrupt("a duration of \(count) numbers") }
        let high = try integer(Int64.self, at: entries.lowerBound), second = try end(ofValueAt: entries.lowerBound)
        let low = try integer(UInt64.self, at: second)
        guard try end(ofValueAt: second) == entries.upperBound else { throw corrupt("a duration of more than its numbers") }
        return Duration(attoseconds: Int128(high) << 64 | Int128(low))
    }

    func null(at offset: Int) throws -> Bool { try tag(at: offset) == .null }

    func bool(at offset: Int) throws -> Bool {
        switch try tag(at: offset) {
        case .no: return false
        case .yes: return true
        case let other: throw mismatch(Bool.self, other)
        }
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) throws -> T {
        var p = offset + 1
        let value: T?
        switch try tag(at: offset) {
        case .int:
            let u = try varint(&p)
            value = T(exactly: Int64(bitPattern: u >> 1) ^ -Int64(bitPattern: u & 1))
        case .uint: value = T(exactly: try varint(&p))
        case let other: throw mismatch(T.self, other)
        }
        guard let value else { throw corrupt("a number out of the range of \(T.self)") }
        return value
    }

    func double(at offset: Int) throws -> Double {
        let tag = try tag(at: offset)
        guard tag == .double else { throw mismatch(Double.self, tag) }
        _ = try end(ofValueAt: offset)
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[offset + 1 + i]) << UInt64(8 * i) }
        return Double(bitPattern: bits)
    }

    func string(at offset: Int) throws -> String {
        let tag = try tag(at: offset)
        guard tag == .string else { throw mismatch(String.self, tag) }
        var p = offset + 1
        return String(decoding: bytes[try span(&p)], as: UTF8.self)
    }

    func mismatch(_ type: Any.Type, _ found: CompactTag) -> DecodingError {
        .typeMismatch(type, DecodingError.Context(codingPath: [], debugDescription: "a \(found) where a \(type) belongs"))
    }

    func keyMatches(_ range: Range<Int>, _ key: some CodingKey) -> Bool {
        var name = key.stringValue
        return name.withUTF8 { $0.elementsEqual(bytes[range]) }
    }

    /// A decoding error thrown below `key`, with the key put in front of its path.
    func at<R>(_ key: any CodingKey, _ body: () throws -> R) throws -> R {
        do { return try body() } catch let error as DecodingError {
            func under(_ c: DecodingError.Context) -> DecodingError.Context {
                DecodingError.Context(codingPath: [key] + c.codingPath, debugDescription: c.debugDescription, underlyingError: c.underlyingError)
            }
            switch error {
            case .dataCorrupted(let c): throw DecodingError.dataCorrupted(under(c))
            case .keyNotFound(let k, let c): throw DecodingError.keyNotFound(k, under(c))
            case .typeMismatch(let t, let c): throw DecodingError.typeMismatch(t, under(c))
            case .valueNotFound(let t, let c): throw DecodingError.valueNotFound(t, under(c))
            @unknown default: throw error
            }
        }
    }
}

struct CompactIndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { String(intValue!) }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

struct CompactValueDecoder: Decoder {
    let reader: CompactReader
    let offset: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try CompactKeyedDecoder<Key>(reader: reader, offset: offset))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { try CompactUnkeyedDecoder(reader: reader, offset: offset) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { CompactSingleDecoder(reader: reader, offset: offset) }
}

/// A keyed container's entry after the last one read: keys read in the order they were
/// written are found there, at once. (Not nested in the generic container: a class of its
/// own for each key type would be looked up for each container.)
final class CompactCursor {
    var index = 0
    var offset: Int
    init(_ offset: Int) { self.offset = offset }
}

struct CompactKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let reader: CompactReader
    let count: Int
    let entries: Range<Int>
    private let cursor: CompactCursor
    var codingPath: [any CodingKey] { [] }

    init(reader: CompactReader, offset: Int) throws {
        self.reader = reader
        (count, entries) = try reader.container(at: offset, .keyed)
        cursor = CompactCursor(entries.lowerBound)
    }

    /// The entry at `offset`: its key, its value, the next entry.
    private func entry(at offset: Int) throws -> (key: Range<Int>, value: Int, next: Int) {
        var p = offset
        let key = try reader.span(&p)
        let next = try reader.end(ofValueAt: p)
        guard next <= entries.upperBound else { throw reader.corrupt("an entry past its container's end") }
        return (key, p, next)
    }

    /// Where the value of `key` is, and the cursor once it is read.
    private func locate(_ key: Key) throws -> (value: Int, index: Int, next: Int)? {
        if cursor.index < count {
            let e = try entry(at: cursor.offset)
            if reader.keyMatches(e.key, key) { return (e.value, cursor.index, e.next) }
        }
        var offset = entries.lowerBound
        for index in 0..<count {
            let e = try entry(at: offset)
            if reader.keyMatches(e.key, key) { return (e.value, index, e.next) }
            offset = e.next
        }
        return nil
    }

    private func take(_ key: Key) throws -> Int {
        guard let found = try locate(key) else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: [], debugDescription: "no \(key.stringValue)"))
        }
        cursor.index = found.index + 1
        cursor.offset = found.next
        return found.value
    }

    var allKeys: [Key] {
        var keys: [Key] = [], offset = entries.lowerBound
        for _ in 0..<count {
            guard let e = try? entry(at: offset) else { break }
            if let key = Key(stringValue: String(decoding: reader.bytes[e.key], as: UTF8.self)) { keys.append(key) }
            offset = e.next
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { (try? locate(key)) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        try reader.at(key) {
            guard let found = try locate(key) else { return true }
            return try reader.null(at: found.value)
        }
    }

    private func read<T>(_ key: Key, _ body: (Int) throws -> T) throws -> T {
        let value = try take(key)
        return try reader.at(key) { try body(value) }
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try read(key) { try reader.bool(at: $0) } }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try read(key) { try reader.string(at: $0) } }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try read(key) { try reader.double(at: $0) } }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try read(key) { Float(try reader.double(at: $0)) } }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try read(key) { try reader.integer(type, at: $0) } }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try read(key) { try reader.integer(type, at: $0) } }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try read(key) { try reader.value(T.self, at: $0) }
    }

    /// One look for an optional (the protocol's own way is three: contains, decodeNil, decode).
    private func optional<T>(_ key: Key, _ body: (Int) throws -> T) throws -> T? {
        guard let found = try locate(key) else { return nil }
        cursor.index = found.index + 1
        cursor.offset = found.next
        return try reader.at(key) { try reader.null(at: found.value) ? nil : try body(found.value) }
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(key) { try reader.bool(at: $0) } }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(key) { try reader.string(at: $0) } }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optional(key) { try reader.double(at: $0) } }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try optional(key) { Float(try reader.double(at: $0)) } }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try optional(key) { try reader.integer(type, at: $0) } }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try optional(key) { try reader.value(T.self, at: $0) }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try read(key) { KeyedDecodingContainer(try CompactKeyedDecoder<NestedKey>(reader: reader, offset: $0)) }
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try read(key) { try CompactUnkeyedDecoder(reader: reader, offset: $0) }
    }

    func superDecoder() throws -> any Decoder {
        guard let key = Key(stringValue: "super") else { throw reader.corrupt("a super decoder for keys without \"super\"") }
        return try superDecoder(forKey: key)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { try read(key) { CompactValueDecoder(reader: reader, offset: $0) } }
}

struct CompactUnkeyedDecoder: UnkeyedDecodingContainer {
    let reader: CompactReader
    let count: Int?
    private(set) var currentIndex = 0
    private var offset: Int
    private let end: Int
    var codingPath: [any CodingKey] { [] }
    var isAtEnd: Bool { currentIndex >= count! }

    init(reader: CompactReader, offset: Int) throws {
        self.reader = reader
        let (count, entries) = try reader.container(at: offset, .unkeyed)
        self.count = count
        self.offset = entries.lowerBound
        end = entries.upperBound
    }

    private mutating func next<T>(_ body: (CompactReader, Int) throws -> T) throws -> T {
        let key = CompactIndexKey(intValue: currentIndex), reader = self.reader, value = offset
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(T.self, DecodingError.Context(codingPath: [key], debugDescription: "the list ends before it"))
        }
        let result = try reader.at(key) {
            let following = try reader.end(ofValueAt: value)
            guard following <= end else { throw reader.corrupt("an entry past its container's end") }
            return (try body(reader, value), following)
        }
        offset = result.1
        currentIndex += 1
        return result.0
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, try reader.null(at: offset) else { return false }
        return try next { _, _ in true }
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next { try $0.bool(at: $1) } }
    mutating func decode(_ type: String.Type) throws -> String { try next { try $0.string(at: $1) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next { try $0.double(at: $1) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next { Float(try $0.double(at: $1)) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next { try $0.integer(type, at: $1) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next { try $0.integer(type, at: $1) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next { try $0.value(T.self, at: $1) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next { KeyedDecodingContainer(try CompactKeyedDecoder<NestedKey>(reader: $0, offset: $1)) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next { try CompactUnkeyedDecoder(reader: $0, offset: $1) }
    }

    mutating func superDecoder() throws -> any Decoder { try next { CompactValueDecoder(reader: $0, offset: $1) } }
}

struct CompactSingleDecoder: SingleValueDecodingContainer {
    let reader: CompactReader
    let offset: Int
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { (try? reader.null(at: offset)) ?? false }
    func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(at: offset) }
    func decode(_ type: String.Type) throws -> String { try reader.string(at: offset) }
    func decode(_ type: Double.Type) throws -> Double { try reader.double(at: offset) }
    func decode(_ type: Float.Type) throws -> Float { Float(try reader.double(at: offset)) }
    func decode(_ type: Int.Type) throws -> Int { try reader.integer(type, at: offset) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(type, at: offset) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(type, at: offset) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(type, at: offset) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(type, at: offset) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(type, at: offset) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(type, at: offset) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(type, at: offset) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(type, at: offset) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(type, at: offset) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try reader.value(T.self, at: offset) }
}

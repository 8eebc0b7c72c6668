/// A compact binary form of a Codable value: what a re-executing tend hands its state over in
/// (SPEC section 9). JSON of 1,000 services' state is 1.8 MB and took 90-100 ms each way, most
/// of it the JSON coders' dictionaries of keys, and the exec waits for both. Here a container is
/// its count and byte length, then its entries in the order they were written; a keyed container
/// is read in that order (any other order searches its entries), so no dictionary is built.
///
/// A value is a tag byte, then: nothing (nil, false, true); a zigzag LEB128 (signed integers);
/// a LEB128 (unsigned); 8 little-endian bytes of IEEE 754 bits (Double, Float); a LEB128 count
/// of UTF-8 bytes (string); or, for a container, a u32 count and the u32 byte length of its
/// entries, each entry of a keyed one its key (count and UTF-8) and a value.
enum CompactTag: UInt8 {
    case null, no, yes, int, uint, double, string, keyed, unkeyed

    static let headerSize = 9
}

public struct CompactEncoder {
    public init() {}

    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let writer = CompactWriter()
        writer.bytes.reserveCapacity(1 << 16)
        try writer.value(value)
        if let misuse = writer.misuse {
            throw EncodingError.invalidValue(value, EncodingError.Context(codingPath: [], debugDescription: misuse))
        }
        return writer.bytes
    }
}

final class CompactWriter {
    var bytes: [UInt8] = []
    /// The headers of the containers still open, innermost last. A container is closed (its
    /// byte length written) once a write lands in one outside it, or its value is done.
    private var open: [Int] = []
    /// A container written to after it was closed: the bytes would not nest.
    var misuse: String?

    func value<T: Encodable>(_ value: T) throws {
        let depth = open.count, start = bytes.count
        // A Duration as it codes itself (`CompactReader.duration`), without its containers.
        if T.self == Duration.self {
            let attoseconds = unsafeBitCast(value, to: Duration.self).attoseconds
            let header = container(.unkeyed)
            entry(of: header)
            int(Int64(truncatingIfNeeded: attoseconds >> 64))
            entry(of: header)
            uint(UInt64(truncatingIfNeeded: attoseconds))
            return close(downTo: depth)
        }
        try value.encode(to: CompactValueEncoder(writer: self))
        close(downTo: depth)
        // A value that wrote nothing (a type without stored properties) is an empty container.
        if bytes.count == start { _ = container(.keyed); close(downTo: depth) }
    }

    private func close(downTo depth: Int) {
        while open.count > depth {
            let header = open.removeLast()
            let length = bytes.count - header - CompactTag.headerSize
            guard length <= Int(UInt32.max) else { misuse = "a container of more than 4 GiB"; continue }
            put(UInt32(length), at: header + 5)
        }
    }

    func container(_ tag: CompactTag) -> Int {
        let header = bytes.count
        bytes.append(tag.rawValue)
        bytes.append(contentsOf: repeatElement(0, count: 8))
        open.append(header)
        return header
    }

    /// Before each entry of the container at `header`: the ones opened inside it are done.
    func entry(of header: Int) {
        guard let depth = open.lastIndex(of: header) else {
            misuse = misuse ?? "a container written to after one beside it was begun"
            return
        }
        close(downTo: depth + 1)
        let count = UInt32(bytes[header + 1]) | UInt32(bytes[header + 2]) << 8 | UInt32(bytes[header + 3]) << 16 | UInt32(bytes[header + 4]) << 24
        put(count &+ 1, at: header + 1)
    }

    func key(_ key: some CodingKey) {
        var name = key.stringValue
        name.withUTF8 { varint(UInt64($0.count)); bytes.append(contentsOf: $0) }
    }

    private func put(_ v: UInt32, at offset: Int) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }

    private func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    func null() { bytes.append(CompactTag.null.rawValue) }
    func bool(_ v: Bool) { bytes.append((v ? CompactTag.yes : .no).rawValue) }
    func int(_ v: Int64) {
        bytes.append(CompactTag.int.rawValue)
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }
    func uint(_ v: UInt64) {
        bytes.append(CompactTag.uint.rawValue)
        varint(v)
    }
    func double(_ v: Double) {
        bytes.append(CompactTag.double.rawValue)
        let bits = v.bitPattern
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * i))) }
    }
    func string(_ v: String) {
        bytes.append(CompactTag.string.rawValue)
        var s = v
        s.withUTF8 { varint(UInt64($0.count)); bytes.append(contentsOf: $0) }
    }
}

/// Coding paths are not kept while encoding (nothing here fails on a value); decoding errors
/// gather theirs as they are thrown out (`CompactReader.at`).
struct CompactValueEncoder: Encoder {
    let writer: CompactWriter
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(CompactKeyedEncoder<Key>(writer: writer, header: writer.container(.keyed)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        CompactUnkeyedEncoder(writer: writer, header: writer.container(.unkeyed))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { CompactSingleEncoder(writer: writer) }
}

struct CompactKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: CompactWriter
    let header: Int
    var codingPath: [any CodingKey] { [] }

    private func begin(_ key: Key) {
        writer.entry(of: header)
        writer.key(key)
    }

    mutating func encodeNil(forKey key: Key) throws { begin(key); writer.null() }
    mutating func encode(_ v: Bool, forKey key: Key) throws { begin(key); writer.bool(v) }
    mutating func encode(_ v: String, forKey key: Key) throws { begin(key); writer.string(v) }
    mutating func encode(_ v: Double, forKey key: Key) throws { begin(key); writer.double(v) }
    mutating func encode(_ v: Float, forKey key: Key) throws { begin(key); writer.double(Double(v)) }
    mutating func encode(_ v: Int, forKey key: Key) throws { begin(key); writer.int(Int64(v)) }
    mutating func encode(_ v: Int8, forKey key: Key) throws { begin(key); writer.int(Int64(v)) }
    mutating func encode(_ v: Int16, forKey key: Key) throws { begin(key); writer.int(Int64(v)) }
    mutating func encode(_ v: Int32, forKey key: Key) throws { begin(key); writer.int(Int64(v)) }
    mutating func encode(_ v: Int64, forKey key: Key) throws { begin(key); writer.int(v) }
    mutating func encode(_ v: UInt, forKey key: Key) throws { begin(key); writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8, forKey key: Key) throws { begin(key); writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16, forKey key: Key) throws { begin(key); writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32, forKey key: Key) throws { begin(key); writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64, forKey key: Key) throws { begin(key); writer.uint(v) }
    mutating func encode<T: Encodable>(_ v: T, forKey key: Key) throws { begin(key); try writer.value(v) }

    // An absent value is written as nil, not left out: every key is then where the reader's
    // cursor looks first, and an optional is not searched for through the whole container.
    private mutating func optional<T>(_ v: T?, _ key: Key, _ write: (inout Self, T) throws -> Void) throws {
        guard let v else { return try encodeNil(forKey: key) }
        try write(&self, v)
    }
    mutating func encodeIfPresent(_ v: Bool?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: String?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: Double?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: Float?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: Int?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: Int8?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: Int16?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: Int32?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: Int64?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: UInt?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: UInt8?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: UInt16?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: UInt32?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent(_ v: UInt64?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }
    mutating func encodeIfPresent<T: Encodable>(_ v: T?, forKey key: Key) throws { try optional(v, key) { try $0.encode($1, forKey: key) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        begin(key)
        return KeyedEncodingContainer(CompactKeyedEncoder<NestedKey>(writer: writer, header: writer.container(.keyed)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        begin(key)
        return CompactUnkeyedEncoder(writer: writer, header: writer.container(.unkeyed))
    }

    mutating func superEncoder() -> any Encoder {
        guard let key = Key(stringValue: "super") else {
            writer.misuse = writer.misuse ?? "a super encoder for keys without \"super\""
            return CompactValueEncoder(writer: writer)
        }
        return superEncoder(forKey: key)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        begin(key)
        return CompactValueEncoder(writer: writer)
    }
}

struct CompactUnkeyedEncoder: UnkeyedEncodingContainer {
    let writer: CompactWriter
    let header: Int
    private(set) var count = 0
    var codingPath: [any CodingKey] { [] }

    init(writer: CompactWriter, header: Int) {
        self.writer = writer
        self.header = header
    }

    private mutating func begin() {
        writer.entry(of: header)
        count += 1
    }

    mutating func encodeNil() throws { begin(); writer.null() }
    mutating func encode(_ v: Bool) throws { begin(); writer.bool(v) }
    mutating func encode(_ v: String) throws { begin(); writer.string(v) }
    mutating func encode(_ v: Double) throws { begin(); writer.double(v) }
    mutating func encode(_ v: Float) throws { begin(); writer.double(Double(v)) }
    mutating func encode(_ v: Int) throws { begin(); writer.int(Int64(v)) }
    mutating func encode(_ v: Int8) throws { begin(); writer.int(Int64(v)) }
    mutating func encode(_ v: Int16) throws { begin(); writer.int(Int64(v)) }
    mutating func encode(_ v: Int32) throws { begin(); writer.int(Int64(v)) }
    mutating func encode(_ v: Int64) throws { begin(); writer.int(v) }
    mutating func encode(_ v: UInt) throws { begin(); writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8) throws { begin(); writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16) throws { begin(); writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32) throws { begin(); writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64) throws { begin(); writer.uint(v) }
    mutating func encode<T: Encodable>(_ v: T) throws { begin(); try writer.value(v) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        begin()
        return KeyedEncodingContainer(CompactKeyedEncoder<NestedKey>(writer: writer, header: writer.container(.keyed)))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        begin()
        return CompactUnkeyedEncoder(writer: writer, header: writer.container(.unkeyed))
    }

    mutating func superEncoder() -> any Encoder {
        begin()
        return CompactValueEncoder(writer: writer)
    }
}

struct CompactSingleEncoder: SingleValueEncodingContainer {
    let writer: CompactWriter
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { writer.null() }
    mutating func encode(_ v: Bool) throws { writer.bool(v) }
    mutating func encode(_ v: String) throws { writer.string(v) }
    mutating func encode(_ v: Double) throws { writer.double(v) }
    mutating func encode(_ v: Float) throws { writer.double(Double(v)) }
    mutating func encode(_ v: Int) throws { writer.int(Int64(v)) }
    mutating func encode(_ v: Int8) throws { writer.int(Int64(v)) }
    mutating func encode(_ v: Int16) throws { writer.int(Int64(v)) }
    mutating func encode(_ v: Int32) throws { writer.int(Int64(v)) }
    mutating func encode(_ v: Int64) throws { writer.int(v) }
    mutating func encode(_ v: UInt) throws { writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8) throws { writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16) throws { writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32) throws { writer.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64) throws { writer.uint(v) }
    mutating func encode<T: Encodable>(_ v: T) throws { try writer.value(v) }
}

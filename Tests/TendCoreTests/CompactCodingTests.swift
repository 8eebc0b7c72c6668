import Testing
@testable import TendCore

/// The compact coding a re-executing tend hands its state over in: every kind of value comes
/// back as it was written, and a text cut or altered anywhere is an error, never a trap.
@Suite struct CompactCodingTests {
    struct Leaf: Codable, Equatable {
        var i: Int, i8: Int8, i16: Int16, i32: Int32, i64: Int64
        var u: UInt, u8: UInt8, u16: UInt16, u32: UInt32, u64: UInt64
        var d: Double, f: Float, b: Bool, s: String
    }

    enum Shape: Codable, Equatable {
        case none
        case one(Int)
        case two(name: String, Leaf?)
    }

    struct Empty: Codable, Equatable {}

    /// Written in one order, read in another (as `DeadlineQueue` does).
    struct Reordered: Codable, Equatable {
        var first: [Int], second: String
        enum CodingKeys: CodingKey { case first, second }
        init(first: [Int], second: String) { (self.first, self.second) = (first, second) }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            second = try c.decode(String.self, forKey: .second)
            first = try c.decode([Int].self, forKey: .first)
        }
    }

    struct Everything: Codable, Equatable {
        var leaves: [Leaf]
        var shapes: [Shape]
        var optionals: [Int?]
        var byNumber: [Int: String]
        var byName: [String: [Shape]]
        var set: Set<Int>
        var empty: Empty
        var emptyList: [Empty]
        var reordered: Reordered
        var span: Duration
        var missing: Int?
    }

    static let leaf = Leaf(i: .min, i8: .min, i16: .max, i32: -1, i64: .max, u: .max, u8: .max, u16: 0, u32: .max, u64: .max,
                           d: -0.0, f: .infinity, b: true, s: "naïve ☃ \u{0}")

    static let everything = Everything(
        leaves: [leaf, Leaf(i: 0, i8: 0, i16: 0, i32: 0, i64: 0, u: 0, u8: 0, u16: 0, u32: 0, u64: 0, d: 1e300, f: 0.5, b: false, s: "")],
        shapes: [.none, .one(-5), .two(name: "x", nil), .two(name: "", leaf)],
        optionals: [1, nil, 0], byNumber: [3: "three", -1: "minus one", 0: ""],
        byName: ["a": [.none], "": []], set: [5, 1, 9], empty: Empty(), emptyList: [Empty(), Empty()],
        reordered: Reordered(first: [1, 2], second: "s"), span: .seconds(-3) + .nanoseconds(7), missing: nil)

    @Test func everyKindOfValueComesBackAsItWasWritten() throws {
        let bytes = try CompactEncoder().encode(Self.everything)
        #expect(try CompactDecoder().decode(Everything.self, from: bytes) == Self.everything)
    }

    /// Every prefix of a text, and the text with any one byte changed: an error or (a change
    /// that still reads) a value, never a trap.
    @Test func aTextCutOrAlteredAnywhereIsAnErrorNeverATrap() throws {
        let bytes = try CompactEncoder().encode(Self.everything)
        for count in 0..<bytes.count {
            #expect(throws: DecodingError.self) { try CompactDecoder().decode(Everything.self, from: Array(bytes[..<count])) }
        }
        var read = 0
        for offset in bytes.indices {
            for value: UInt8 in [0, 1, 0x7f, 0x80, 0xff, bytes[offset] &+ 1] {
                var altered = bytes
                altered[offset] = value
                if (try? CompactDecoder().decode(Everything.self, from: altered)) != nil { read += 1 }
            }
        }
        #expect(read > 0)  // some changes only alter a number or a letter
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(Everything.self, from: bytes + [0]) }
    }

    /// A Duration is read and written without its containers, in the shape its own coding has.
    @Test func aDurationHasTheShapeOfItsOwnCoding() throws {
        struct Parts: Codable, Equatable {
            var high: Int64, low: UInt64
            init(high: Int64, low: UInt64) { (self.high, self.low) = (high, low) }
            init(from decoder: any Decoder) throws {
                var c = try decoder.unkeyedContainer()
                (high, low) = (try c.decode(Int64.self), try c.decode(UInt64.self))
            }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.unkeyedContainer()
                try c.encode(high)
                try c.encode(low)
            }
        }
        let spans: [Duration] = [.zero, .seconds(-3) + .nanoseconds(7), .nanoseconds(Int64.max), .seconds(Int64.min), .seconds(Int64.max)]
        let parts = spans.map { Parts(high: Int64(truncatingIfNeeded: $0.attoseconds >> 64), low: UInt64(truncatingIfNeeded: $0.attoseconds)) }
        #expect(try CompactDecoder().decode([Parts].self, from: CompactEncoder().encode(spans)) == parts)
        #expect(try CompactDecoder().decode([Duration].self, from: CompactEncoder().encode(parts)) == spans)
        #expect(try CompactDecoder().decode([Duration?].self, from: CompactEncoder().encode(spans + [nil])) == spans + [nil])
        #expect(throws: DecodingError.self) { try CompactDecoder().decode(Duration.self, from: CompactEncoder().encode([1, 2, 3])) }
    }

    /// A value's error says where it is.
    @Test func anErrorNamesThePathOfTheValue() throws {
        struct Narrow: Codable { var leaves: [NarrowLeaf] }
        struct NarrowLeaf: Codable { var i: Int8 }
        struct Wide: Codable { var leaves: [WideLeaf] }
        struct WideLeaf: Codable { var i: Int }
        let bytes = try CompactEncoder().encode(Wide(leaves: [WideLeaf(i: 1), WideLeaf(i: 300)]))
        #expect { try CompactDecoder().decode(Narrow.self, from: bytes) } throws: { error in
            guard case .dataCorrupted(let c) = error as? DecodingError else { return false }
            return c.codingPath.map(\.stringValue) == ["leaves", "1", "i"] && c.debugDescription.contains("Int8")
        }
        struct Other: Codable { var leaves: [OtherLeaf] }
        struct OtherLeaf: Codable { var j: Int }
        #expect { try CompactDecoder().decode(Other.self, from: bytes) } throws: { error in
            guard case .keyNotFound(let key, let c) = error as? DecodingError else { return false }
            return key.stringValue == "j" && c.codingPath.map(\.stringValue) == ["leaves", "0"]
        }
    }

    /// Written to after a container beside it was begun: the bytes would not nest, so the
    /// encoder refuses instead of writing them.
    @Test func aContainerWrittenOutOfTurnIsRefused() {
        struct Interleaved: Encodable {
            enum CodingKeys: CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: CodingKeys.self)
                var a = outer.nestedUnkeyedContainer(forKey: .a)
                try outer.encode(1, forKey: .b)
                try a.encode(2)
            }
        }
        #expect(throws: EncodingError.self) { try CompactEncoder().encode(Interleaved()) }
    }
}

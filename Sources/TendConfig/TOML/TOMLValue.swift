/// A parsed TOML document: tables keep their keys in file order and where each value stood,
/// so that an error about a key can point at its line.
enum TOMLValue {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// Dates and times are checked, then kept as written: tend reads none.
    case dateTime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    var string: String? { if case .string(let s) = self { s } else { nil } }
    var int: Int? { if case .integer(let n) = self { n } else { nil } }
    var double: Double? { if case .float(let d) = self { d } else { nil } }
    var bool: Bool? { if case .boolean(let b) = self { b } else { nil } }
    var array: [TOMLValue]? { if case .array(let a) = self { a } else { nil } }
    var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }
}

struct TOMLPosition: Hashable, Sendable {
    let line: Int
    /// In characters from 1, as editors count.
    let column: Int
}

final class TOMLTable {
    /// How the table came to be, which decides what may still be added to it (TOML 1.0).
    enum Origin {
        /// `[a.b]` made `a` without defining it: a later `[a]` may.
        case implicit
        /// Its own `[header]`, or an element of `[[array]]`.
        case header
        /// Made by a dotted key (`a.b = 1` makes `a`): more dotted keys may extend it.
        case dotted
        /// `{ ... }`: closed once written.
        case inline
    }

    var origin: Origin
    private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]
    private var positions: [String: TOMLPosition] = [:]
    /// Keys whose array was made by `[[key]]` headers (a static array cannot be appended to).
    var tableArrays: Set<String> = []
    /// Where its `[header]` or `[[header]]` stands, when it has one.
    var header: TOMLPosition?

    init(origin: Origin, header: TOMLPosition? = nil) {
        self.origin = origin
        self.header = header
    }

    subscript(key: String) -> TOMLValue? { values[key] }

    func contains(key: String) -> Bool { values[key] != nil }

    /// Where the value of `key` begins.
    func position(of key: String) -> TOMLPosition? { positions[key] }

    func insert(_ key: String, _ value: TOMLValue, at position: TOMLPosition) {
        keys.append(key)
        values[key] = value
        positions[key] = position
    }

    /// Appends to the array of tables under `key` without copying it.
    func appendTable(_ table: TOMLTable, to key: String) {
        guard case .array(var list)? = values.removeValue(forKey: key) else { return }
        list.append(.table(table))
        values[key] = .array(list)
    }
}

/// A TOML 1.0 parser over the file's UTF-8 bytes, written for tend: no Foundation, nothing
/// that can abort the process, every error with its line and column. The structure (tables,
/// keys, arrays) is here; strings, numbers and dates are in TOMLScalars.swift.
struct TOMLError: Error, CustomStringConvertible {
    let position: TOMLPosition
    let message: String
    var description: String { message }
}

struct TOMLParser {
    let bytes: [UInt8]
    var i = 0
    var line = 1
    var lineStart = 0
    /// Arrays and inline tables nested deeper than this are refused (the parser recurses).
    static let maxDepth = 100
    var depth = 0

    static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.document()
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
        // A byte-order mark is not part of the first line.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            i = 3
            lineStart = 3
        }
    }

    mutating func document() throws(TOMLError) -> TOMLTable {
        let root = TOMLTable(origin: .header)
        var current = root
        while true {
            skipBlanks()
            guard let b = peek() else { break }
            switch b {
            case .hash, .newline, .carriageReturn:
                try endOfLine()
                continue
            case .openBracket:
                current = try header(in: root)
            default:
                try keyValue(into: current)
            }
            try endOfLine()
        }
        return root
    }

    // MARK: Tables and keys

    /// `[a.b]` or `[[a.b]]`: the table that the following keys go into.
    mutating func header(in root: TOMLTable) throws(TOMLError) -> TOMLTable {
        let start = position()
        i += 1
        let isArray = peek() == .openBracket
        if isArray { i += 1 }
        skipBlanks()
        let path = try key()
        skipBlanks()
        guard peek() == .closeBracket, !isArray || peek(1) == .closeBracket else {
            throw fail(isArray ? "expected ]] to close the table header" : "expected ] to close the table header")
        }
        i += isArray ? 2 : 1
        let name = path.joined(separator: ".")

        var table = root
        for part in path.dropLast() {
            switch table[part] {
            case nil:
                let made = TOMLTable(origin: .implicit)
                table.insert(part, .table(made), at: start)
                table = made
            case .table(let sub)?:
                guard sub.origin != .inline else { throw fail("[\(name)]: \(part) is an inline table, closed once written", at: start) }
                table = sub
            case .array(let list)? where table.tableArrays.contains(part):
                guard case .table(let last)? = list.last else { throw fail("[\(name)]: \(part) is not a table", at: start) }
                table = last
            default:
                throw fail("[\(name)]: \(part) is already a value, not a table", at: start)
            }
        }
        let last = path[path.count - 1]
        let made = TOMLTable(origin: .header, header: start)
        if isArray {
            if table.tableArrays.contains(last) {
                table.appendTable(made, to: last)
            } else if table.contains(key: last) {
                throw fail("[[\(name)]]: \(name) is already defined, not as an array of tables", at: start)
            } else {
                table.insert(last, .array([.table(made)]), at: start)
                table.tableArrays.insert(last)
            }
            return made
        }
        switch table[last] {
        case nil:
            table.insert(last, .table(made), at: start)
            return made
        case .table(let sub)? where sub.origin == .implicit:
            sub.origin = .header
            sub.header = start
            return sub
        default:
            throw fail("[\(name)] is defined twice", at: start)
        }
    }

    /// `key = value`, dotted keys making (or extending) the tables they name.
    mutating func keyValue(into table: TOMLTable) throws(TOMLError) {
        let start = position()
        let path = try key()
        skipBlanks()
        guard peek() == .equals else { throw fail("expected = after the key \(path.joined(separator: "."))") }
        i += 1
        skipBlanks()
        let at = position()
        let value = try self.value()
        var target = table
        for (n, part) in path.dropLast().enumerated() {
            switch target[part] {
            case nil:
                let made = TOMLTable(origin: .dotted)
                target.insert(part, .table(made), at: start)
                target = made
            case .table(let sub)? where sub.origin == .dotted:
                target = sub
            default:
                let name = path[...n].joined(separator: ".")
                throw fail("\(path.joined(separator: ".")): \(name) is already defined, and cannot be extended by a dotted key", at: start)
            }
        }
        let last = path[path.count - 1]
        guard !target.contains(key: last) else { throw fail("\(path.joined(separator: ".")) is defined twice", at: start) }
        target.insert(last, value, at: at)
    }

    /// A key's parts: `a."b.c".'d'` is ["a", "b.c", "d"].
    mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipBlanks()
            switch peek() {
            case .quote?:
                guard peek(1) != .quote || peek(2) != .quote else { throw fail("a key cannot be a multi-line string") }
                parts.append(try basicString())
            case .apostrophe?:
                guard peek(1) != .apostrophe || peek(2) != .apostrophe else { throw fail("a key cannot be a multi-line string") }
                parts.append(try literalString())
            default:
                let start = i
                while let b = peek(), Self.isBareKeyByte(b) { i += 1 }
                guard i > start else { throw fail(expectedKey()) }
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
            }
            skipBlanks()
            guard peek() == .dot else { return parts }
            i += 1
        }
    }

    private func expectedKey() -> String {
        guard let b = peek() else { return "expected a key, got the end of the file" }
        if b == .newline || b == .carriageReturn { return "expected a key, got the end of the line" }
        return "expected a key (letters, digits, _ or -, or a quoted key), got \(describe(at: i))"
    }

    static func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    // MARK: Values

    mutating func value() throws(TOMLError) -> TOMLValue {
        guard let b = peek() else { throw fail("expected a value, got the end of the file") }
        switch b {
        case .quote:
            return .string(peek(1) == .quote && peek(2) == .quote ? try multilineString(.quote) : try basicString())
        case .apostrophe:
            return .string(peek(1) == .apostrophe && peek(2) == .apostrophe ? try multilineString(.apostrophe) : try literalString())
        case .openBracket:
            return try nested { (p: inout TOMLParser) throws(TOMLError) -> TOMLValue in try p.array() }
        case .openBrace:
            return try nested { (p: inout TOMLParser) throws(TOMLError) -> TOMLValue in try p.inlineTable() }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            for (word, value) in [("true", true), ("false", false)] where matches(word) {
                i += word.utf8.count
                return .boolean(value)
            }
            return try scalar()
        default:
            return try scalar()
        }
    }

    private mutating func nested(_ body: (inout TOMLParser) throws(TOMLError) -> TOMLValue) throws(TOMLError) -> TOMLValue {
        guard depth < Self.maxDepth else { throw fail("arrays and inline tables are nested more than \(Self.maxDepth) deep") }
        depth += 1
        defer { depth -= 1 }
        return try body(&self)
    }

    mutating func array() throws(TOMLError) -> TOMLValue {
        i += 1
        var items: [TOMLValue] = []
        while true {
            try skipBlanksAndLines()
            if peek() == .closeBracket { break }
            items.append(try value())
            try skipBlanksAndLines()
            if peek() == .comma {
                i += 1
            } else if peek() != .closeBracket {
                throw fail(peek() == nil ? "the array is not closed with ]" : "expected , or ] in the array, got \(describe(at: i))")
            }
        }
        i += 1
        return .array(items)
    }

    /// `{ a = 1, b.c = 2 }`: on one line, no comma after the last pair (TOML 1.0).
    mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        i += 1
        let table = TOMLTable(origin: .inline)
        skipBlanks()
        if peek() == .closeBrace {
            i += 1
            return .table(table)
        }
        while true {
            try keyValue(into: table)
            skipBlanks()
            if peek() == .closeBrace { break }
            guard peek() == .comma else {
                let got = peek() == nil || peek() == .newline || peek() == .carriageReturn
                    ? "the end of the line (an inline table is written on one line)" : describe(at: i)
                throw fail("expected , or } in the inline table, got \(got)")
            }
            i += 1
            skipBlanks()
            if peek() == .closeBrace { throw fail("an inline table has no comma after its last key") }
        }
        i += 1
        return .table(table)
    }

    // MARK: Blanks, comments, line ends

    func peek(_ ahead: Int = 0) -> UInt8? { i + ahead < bytes.count ? bytes[i + ahead] : nil }

    func matches(_ word: String) -> Bool {
        var j = i
        for b in word.utf8 {
            guard j < bytes.count, bytes[j] == b else { return false }
            j += 1
        }
        return true
    }

    mutating func skipBlanks() {
        while let b = peek(), b == .space || b == .tab { i += 1 }
    }

    /// Inside an array: blanks, comments and line ends.
    mutating func skipBlanksAndLines() throws(TOMLError) {
        while true {
            skipBlanks()
            guard let b = peek(), b == .hash || b == .newline || b == .carriageReturn else { return }
            try endOfLine()
        }
    }

    /// Blanks, a comment, then a line end or the end of the file.
    mutating func endOfLine() throws(TOMLError) {
        skipBlanks()
        if peek() == .hash {
            while let b = peek(), b != .newline, b != .carriageReturn { i += 1 }
        }
        guard let b = peek() else { return }
        if b == .carriageReturn, peek(1) == .newline { i += 1 }
        guard peek() == .newline else {
            throw fail("expected the end of the line, got \(describe(at: i))")
        }
        i += 1
        line += 1
        lineStart = i
    }

    /// Called for each line end inside a multi-line string.
    mutating func passedLineEnd() {
        line += 1
        lineStart = i
    }

    func position(at offset: Int? = nil) -> TOMLPosition {
        let end = min(offset ?? i, bytes.count)
        // Characters, not bytes: a UTF-8 continuation byte starts none.
        let column = bytes[lineStart..<max(lineStart, end)].reduce(1) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        return TOMLPosition(line: line, column: column)
    }

    func fail(_ message: String, at position: TOMLPosition? = nil) -> TOMLError {
        TOMLError(position: position ?? self.position(), message: message)
    }

    /// The character at `offset`, quoted for an error.
    func describe(at offset: Int) -> String {
        guard offset < bytes.count else { return "the end of the file" }
        var end = offset + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "\"\(String(decoding: bytes[offset..<end], as: UTF8.self))\""
    }
}

extension UInt8 {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let hash = UInt8(ascii: "#")
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let backslash = UInt8(ascii: "\\")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let comma = UInt8(ascii: ",")
    static let dot = UInt8(ascii: ".")
    static let equals = UInt8(ascii: "=")
}

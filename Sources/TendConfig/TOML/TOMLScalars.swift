/// Strings, numbers, booleans' neighbours and dates of TOML 1.0.
extension TOMLParser {
    // MARK: Strings

    /// `"..."`, with escapes, on one line.
    mutating func basicString() throws(TOMLError) -> String {
        let open = position()
        i += 1
        var out: [UInt8] = []
        while true {
            guard let b = peek(), b != .newline, b != .carriageReturn else {
                throw fail("the string is not closed with \" on its line", at: open)
            }
            if b == .quote {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b == .backslash {
                try escape(into: &out)
            } else {
                out.append(b)
                i += 1
            }
        }
    }

    /// `'...'`: as written, on one line.
    mutating func literalString() throws(TOMLError) -> String {
        let open = position()
        i += 1
        let start = i
        while true {
            guard let b = peek(), b != .newline, b != .carriageReturn else {
                throw fail("the string is not closed with ' on its line", at: open)
            }
            i += 1
            if b == .apostrophe { return String(decoding: bytes[start..<(i - 1)], as: UTF8.self) }
        }
    }

    /// `"""..."""` or `'''...'''`: a line end right after the opening quotes is dropped; in
    /// the basic form (`"`) escapes apply, and a backslash at the end of a line drops it and the
    /// blanks that follow; the literal form is as written.
    mutating func multilineString(_ quote: UInt8) throws(TOMLError) -> String {
        let open = position()
        i += 3
        skipFirstLineEnd()
        var out: [UInt8] = []
        while true {
            guard let b = peek() else {
                throw fail("the string is not closed with \(String(repeating: Character(Unicode.Scalar(quote)), count: 3))", at: open)
            }
            if b == quote, let quotes = closingQuotes(quote) {
                out.append(contentsOf: repeatElement(quote, count: quotes - 3))
                return String(decoding: out, as: UTF8.self)
            }
            if quote == .quote, b == .backslash {
                if !lineEndingBackslash() { try escape(into: &out) }
            } else {
                try appendRaw(b, to: &out)
            }
        }
    }

    private mutating func skipFirstLineEnd() {
        if peek() == .carriageReturn, peek(1) == .newline { i += 1 }
        if peek() == .newline {
            i += 1
            passedLineEnd()
        }
    }

    /// At a quote inside a multi-line string: three to five in a row close it (the first one
    /// or two belong to the string); fewer are text. Returns how many were consumed.
    private mutating func closingQuotes(_ quote: UInt8) -> Int? {
        var n = 0
        while peek(n) == quote { n += 1 }
        guard n >= 3 else { return nil }
        let taken = min(n, 5)
        i += taken
        return taken
    }

    /// A line end (or a character) taken as written into a multi-line string.
    private mutating func appendRaw(_ b: UInt8, to out: inout [UInt8]) throws(TOMLError) {
        if b == .carriageReturn {
            guard peek(1) == .newline else { throw fail("a carriage return must be followed by a line feed") }
            i += 1
            return
        }
        out.append(b)
        i += 1
        if b == .newline { passedLineEnd() }
    }

    /// A backslash followed by blanks to the end of the line: it, the line end and every blank
    /// and line end after it are dropped.
    private mutating func lineEndingBackslash() -> Bool {
        var j = i + 1
        while j < bytes.count, bytes[j] == .space || bytes[j] == .tab { j += 1 }
        if j < bytes.count, bytes[j] == .carriageReturn { j += 1 }
        guard j < bytes.count, bytes[j] == .newline else { return false }
        i = j
        while let b = peek(), b == .space || b == .tab || b == .newline || b == .carriageReturn {
            i += 1
            if b == .newline { passedLineEnd() }
        }
        return true
    }

    private mutating func escape(into out: inout [UInt8]) throws(TOMLError) {
        let at = position()
        i += 1
        guard let b = peek() else { throw fail("the string ends inside an escape") }
        i += 1
        let simple: UInt8? = switch b {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "r"): 0x0D
        case .quote: .quote
        case .backslash: .backslash
        default: nil
        }
        if let simple {
            out.append(simple)
            return
        }
        let digits = b == UInt8(ascii: "u") ? 4 : b == UInt8(ascii: "U") ? 8 : 0
        guard digits > 0 else { throw fail("\\\(String(decoding: [b], as: UTF8.self)) is not an escape TOML knows", at: at) }
        var code: UInt32 = 0
        for _ in 0..<digits {
            guard let h = peek(), let d = Self.hexValue(h) else {
                throw fail("\\\(String(decoding: [b], as: UTF8.self)) takes \(digits) hexadecimal digits", at: at)
            }
            code = code << 4 | UInt32(d)
            i += 1
        }
        guard let scalar = Unicode.Scalar(code) else {
            throw fail("\\\(String(decoding: [b], as: UTF8.self)) escapes no Unicode scalar value", at: at)
        }
        out.append(contentsOf: String(Character(scalar)).utf8)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Numbers and dates

    /// A number, `inf`/`nan`, or a date or time: the token up to the next separator.
    mutating func scalar() throws(TOMLError) -> TOMLValue {
        let start = i
        let at = position()
        func isTokenByte(_ b: UInt8) -> Bool {
            Self.isBareKeyByte(b) || b == UInt8(ascii: "+") || b == .dot || b == UInt8(ascii: ":")
        }
        while let b = peek(), isTokenByte(b) { i += 1 }
        // "1979-05-27 07:32:00": a date, one space, then a time.
        if i - start == 10, bytes[start + 4] == UInt8(ascii: "-"), peek() == .space, let h = peek(1), Self.isDigit(h),
           peek(3) == UInt8(ascii: ":") {
            i += 1
            while let b = peek(), isTokenByte(b) { i += 1 }
        }
        let token = Array(bytes[start..<i])
        guard !token.isEmpty else { throw fail("expected a value, got \(describe(at: i))") }
        let text = String(decoding: token, as: UTF8.self)
        if let value = Self.number(token) { return value }
        if Self.isDateTime(token) { return .dateTime(text) }
        if token.count >= 5, token[2] == UInt8(ascii: ":") || token[4] == UInt8(ascii: "-") {
            throw fail("\(text) is not a valid date or time", at: at)
        }
        if Self.looksNumeric(token) { throw fail("\(text) is not a valid number (or is too large)", at: at) }
        throw fail("expected a value (a string in quotes, a number, true or false, an array, a table), got \(text)", at: at)
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private static func looksNumeric(_ token: [UInt8]) -> Bool {
        let body = token.first == UInt8(ascii: "+") || token.first == UInt8(ascii: "-") ? token.dropFirst() : token[...]
        return body.first.map { isDigit($0) || $0 == .dot } ?? false || body.elementsEqual("inf".utf8) || body.elementsEqual("nan".utf8)
    }

    /// An integer (decimal, 0x, 0o, 0b) or a float, per TOML's grammar; nil if not one.
    static func number(_ token: [UInt8]) -> TOMLValue? {
        var body = token[...]
        var negative = false
        if let s = body.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
            negative = s == UInt8(ascii: "-")
            body = body.dropFirst()
        }
        if body.elementsEqual("inf".utf8) { return .float(negative ? -.infinity : .infinity) }
        if body.elementsEqual("nan".utf8) { return .float(.nan) }
        if body.count > 2, body.first == UInt8(ascii: "0"), body.count == token.count {
            let radix: Int? = switch body[body.startIndex + 1] {
            case UInt8(ascii: "x"): 16
            case UInt8(ascii: "o"): 8
            case UInt8(ascii: "b"): 2
            default: nil
            }
            if let radix {
                guard let digits = digitRun(body.dropFirst(2), { hexValue($0).map { Int($0) < radix } ?? false }),
                      let n = Int(String(decoding: digits, as: UTF8.self), radix: radix) else { return nil }
                return .integer(n)
            }
        }
        // Decimal: an integer part without leading zeros, then a fraction and an exponent.
        var rest = body
        let integerEnd = rest.firstIndex { $0 == .dot || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") } ?? rest.endIndex
        guard let integer = digitRun(rest[..<integerEnd], isDigit), integer.first != UInt8(ascii: "0") || integer.count == 1 else {
            return nil
        }
        var clean = negative ? [UInt8(ascii: "-")] : []
        clean += integer
        rest = rest[integerEnd...]
        var isFloat = false
        if rest.first == .dot {
            let end = rest.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") } ?? rest.endIndex
            guard let fraction = digitRun(rest.dropFirst()[..<end], isDigit) else { return nil }
            clean += [.dot] + fraction
            rest = rest[end...]
            isFloat = true
        }
        if let e = rest.first {
            guard e == UInt8(ascii: "e") || e == UInt8(ascii: "E") else { return nil }
            var exponent = rest.dropFirst()
            var sign: [UInt8] = []
            if let s = exponent.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
                sign = [s]
                exponent = exponent.dropFirst()
            }
            guard let digits = digitRun(exponent, isDigit) else { return nil }
            clean += [UInt8(ascii: "e")] + sign + digits
            isFloat = true
        }
        let text = String(decoding: clean, as: UTF8.self)
        if isFloat { return Double(text).map { .float($0) } }
        return Int(text).map { .integer($0) }
    }

    /// Digits with single underscores between them, the underscores removed; nil otherwise.
    private static func digitRun(_ run: ArraySlice<UInt8>, _ isDigit: (UInt8) -> Bool) -> [UInt8]? {
        var out: [UInt8] = []
        var previousWasDigit = false
        for b in run {
            if b == UInt8(ascii: "_") {
                guard previousWasDigit else { return nil }
                previousWasDigit = false
            } else {
                guard isDigit(b) else { return nil }
                out.append(b)
                previousWasDigit = true
            }
        }
        return previousWasDigit ? out : nil
    }

    /// `1979-05-27`, `07:32:00`, `1979-05-27T07:32:00.999-07:00` and the forms between.
    static func isDateTime(_ token: [UInt8]) -> Bool {
        var j = 0
        func number(_ count: Int) -> Int? {
            guard j + count <= token.count else { return nil }
            var n = 0
            for b in token[j..<(j + count)] {
                guard isDigit(b) else { return nil }
                n = n * 10 + Int(b - UInt8(ascii: "0"))
            }
            j += count
            return n
        }
        func take(_ c: Character) -> Bool {
            guard j < token.count, token[j] == c.asciiValue! else { return false }
            j += 1
            return true
        }
        func time() -> Bool {
            guard let h = number(2), h < 24, take(":"), let m = number(2), m < 60, take(":"), let s = number(2), s <= 60 else { return false }
            if take(".") {
                let start = j
                while j < token.count, isDigit(token[j]) { j += 1 }
                if j == start { return false }
            }
            return true
        }
        if token.count >= 3, token[2] == UInt8(ascii: ":") { return time() && j == token.count }
        guard let year = number(4), take("-"), let month = number(2), (1...12).contains(month), take("-"), let day = number(2) else {
            return false
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return false }
        if j == token.count { return true }
        guard take("T") || take("t") || take(" "), time() else { return false }
        if j == token.count || take("Z") || take("z") { return j == token.count }
        guard take("+") || take("-"), let oh = number(2), oh < 24, take(":"), let om = number(2), om < 60 else { return false }
        return j == token.count
    }
}

import TendCore

/// Collects the errors of one file; the same error found twice (a bad [defaults] key applies
/// to every service) is reported once.
final class Diagnostics {
    let file: String
    let locator: SourceLocator
    private(set) var errors: [ConfigError] = []
    private var seen: Set<ConfigError> = []

    init(file: String, locator: SourceLocator) {
        self.file = file
        self.locator = locator
    }

    func report(_ table: SourceLocator.Table?, subject: String?, key: String?, _ message: String) {
        let topKey = key.map { String($0.prefix { $0 != "." }) }
        let position = table.flatMap { locator.position($0, key: topKey) }
        let error = ConfigError(file: file, line: position?.line, column: position?.column, subject: subject,
                                key: key, message: message)
        if seen.insert(error).inserted { errors.append(error) }
    }
}

/// One table of the file: typed reads that report what is wrong, and a record of the keys
/// read, so that every other key is reported as unknown (with a suggestion when one is close).
final class TableReader {
    let table: TOMLTable
    let location: SourceLocator.Table
    let subject: String
    let diagnostics: Diagnostics
    /// "backoff." inside an inline table, so that errors name `backoff.initial`.
    let prefix: String
    private var read: Set<String> = []

    init(_ table: TOMLTable, at location: SourceLocator.Table, subject: String, diagnostics: Diagnostics,
         prefix: String = "") {
        self.table = table
        self.location = location
        self.subject = subject
        self.diagnostics = diagnostics
        self.prefix = prefix
    }

    func error(_ key: String?, _ message: String) {
        diagnostics.report(location, subject: subject, key: key.map { prefix + $0 }, message)
    }

    /// The value of `key` with what is needed to report an error about it.
    func field(_ key: String) -> Field? {
        value(key).map { Field(value: $0, key: key, reader: self) }
    }

    func has(_ key: String) -> Bool { table.contains(key: key) }

    func value(_ key: String) -> TOMLValue? {
        read.insert(key)
        return table[key]
    }

    /// Reports every key that was never read.
    func reportUnknownKeys(known: [String]) {
        for key in table.keys.sorted() where !read.contains(key) {
            error(key, "unknown key" + suggestion(for: key, among: known))
        }
    }
}

/// `, did you mean "restart"?` when a known name is a small typo away.
func suggestion(for word: String, among known: [String]) -> String {
    let scored = known.map { ($0, editDistance(word.lowercased(), $0)) }.min { $0.1 < $1.1 }
    guard let (best, distance) = scored, distance <= max(1, min(3, best.count / 3)) else { return "" }
    return ", did you mean \"\(best)\"?"
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where !b.isEmpty {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// How a TOML value is named in an error: `got "sometimes"`, `got an array`.
func describe(_ value: TOMLValue) -> String {
    switch value {
    case .string(let s): "\"\(s)\""
    case .integer(let n): "\(n)"
    case .float(let d): "\(d)"
    case .boolean(let b): "\(b)"
    case .array: "an array"
    case .table: "a table"
    case .dateTime: "a date or time"
    }
}

/// One value of the file and where it came from, with typed reads that report a mismatch.
struct Field {
    let value: TOMLValue
    let key: String
    let reader: TableReader

    func fail<T>(_ message: String) -> T? {
        reader.error(key, message)
        return nil
    }

    func expected<T>(_ what: String) -> T? { fail("expected \(what), got \(describe(value))") }

    var string: String? { value.string ?? expected("a string") }

    var bool: Bool? { value.bool ?? expected("true or false") }

    func int(in range: ClosedRange<Int>) -> Int? {
        guard let n = value.int else { return expected("a whole number") }
        return range.contains(n) ? n : fail("\(n) is out of range \(range.lowerBound)...\(range.upperBound)")
    }

    var double: Double? { value.double ?? value.int.map(Double.init) ?? expected("a number") }

    /// "100ms", "1.5s", "5m", or a number of seconds, from 0s to 365d (`Bounds.maxSpan`).
    var duration: Duration? {
        let seconds: Double
        if let n = value.int {
            seconds = Double(n)
        } else if let d = value.double {
            guard d.isFinite else { return fail("expected a span such as \"10s\" or \"100ms\", got \(d)") }
            seconds = d
        } else if let text = value.string {
            guard let parsed = DurationText.seconds(text) else { return expected("a span such as \"10s\" or \"100ms\"") }
            seconds = parsed
        } else {
            return expected("a span such as \"10s\" or \"100ms\"")
        }
        if seconds < 0 { return fail("a span cannot be negative") }
        return Bounds.span(seconds: seconds) ?? fail("\(describe(value)) is out of range \(Bounds.spanRange)")
    }

    func strings(nonEmpty: Bool = false) -> [String]? {
        guard let array = value.array else { return expected("an array of strings") }
        var result: [String] = []
        for element in array {
            guard let s = element.string else { return expected("an array of strings") }
            result.append(s)
        }
        if nonEmpty, result.isEmpty { return fail("expected at least one string") }
        return result
    }

    func choice<E: RawRepresentable & CaseIterable>(_: E.Type) -> E? where E.RawValue == String {
        guard let text = value.string, let e = E(rawValue: text) else {
            let names = E.allCases.map(\.rawValue)
            let list = names.count == 2 ? "\(names[0]) or \(names[1])"
                : names.dropLast().joined(separator: ", ") + " or " + names.last!
            return expected(list)
        }
        return e
    }

    /// "host:port" or "[v6]:port"; the host an IP address or localhost (no name lookups in the loop).
    var endpoint: Endpoint? {
        guard let text = value.string else { return expected("\"host:port\"") }
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            return fail("expected \"host:port\" with a port from 1 to 65535, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host.isEmpty { host = "127.0.0.1" }
        guard isIPAddress(host) else {
            return fail("\"\(host)\" is not an IP address or localhost (tend does no name lookups)")
        }
        return Endpoint(host: host, port: port)
    }

    /// An inline table, read with the same checks as a top-level one.
    var table: TableReader? {
        guard let t = value.table else { return expected("a table") }
        return TableReader(t, at: reader.location, subject: reader.subject, diagnostics: reader.diagnostics,
                           prefix: reader.prefix + key + ".")
    }
}

func isIPAddress(_ text: String) -> Bool {
    let v4 = text.split(separator: ".", omittingEmptySubsequences: false)
    if v4.count == 4, v4.allSatisfy({ UInt8($0) != nil && !$0.isEmpty }) { return true }
    return text.contains(":") && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
}

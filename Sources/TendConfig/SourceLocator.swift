/// Where keys stand in the file. TOMLKit gives positions only for syntax errors, so this reads
/// the text once more, line by line, for the `[[service]]`, `[[group]]`, `[supervisor]` and
/// `[defaults]` headers and the `key = value` lines under them. Good enough to point at a line;
/// a key it cannot place is reported without one.
struct SourceLocator {
    enum Table: Hashable {
        case service(Int)
        case group(Int)
        case named(String)
    }

    struct Position: Hashable {
        let line: Int
        let column: Int
    }

    private(set) var headers: [Table: Position] = [:]
    private(set) var keys: [Table: [String: Position]] = [:]
    /// `[[service]]` and `[[group]]` entries in file order: the root's children follow it.
    private(set) var order: [Table] = []

    init(text: String) {
        var table = Table.named("")
        var services = 0, groups = 0
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = index + 1
            let indent = rawLine.prefix { $0 == " " || $0 == "\t" }.count
            let content = rawLine.dropFirst(indent)
            if content.hasPrefix("[") {
                let header = content.prefix { $0 != "#" }.filter { $0 != " " && $0 != "\t" }
                switch header {
                case "[[service]]": table = .service(services); services += 1; order.append(table)
                case "[[group]]": table = .group(groups); groups += 1; order.append(table)
                default: table = .named(Substring(header).trimmingCharacters(in: "[]"))
                }
                headers[table] = Position(line: line, column: indent + 1)
                continue
            }
            guard let eq = content.firstIndex(of: "=") else { continue }
            var key = content[..<eq].trimmingCharacters(in: " \t")
            if key.hasPrefix("\""), key.hasSuffix("\""), key.count >= 2 { key = String(key.dropFirst().dropLast()) }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || "_-.\"".contains($0) }) else { continue }
            let afterEq = content[content.index(after: eq)...]
            let valueOffset = afterEq.prefix { $0 == " " || $0 == "\t" }.count
            let column = indent + content.distance(from: content.startIndex, to: eq) + 2 + valueOffset
            if keys[table]?[key] == nil { keys[table, default: [:]][key] = Position(line: line, column: column) }
        }
    }

    func position(_ table: Table, key: String?) -> Position? {
        if let key, let p = keys[table]?[key] { return p }
        return headers[table]
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}

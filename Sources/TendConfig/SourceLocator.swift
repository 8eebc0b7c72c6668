/// Where the tables of tend's file and their keys stand, from the positions the parser kept,
/// so that an error about a key points at its value and one about a table at its header.
struct SourceLocator {
    enum Table: Hashable {
        case service(Int)
        case group(Int)
        case named(String)
    }

    typealias Position = TOMLPosition

    private var tables: [Table: TOMLTable] = [:]
    /// `[[service]]` and `[[group]]` entries in file order: the root's children follow it.
    private(set) var order: [Table] = []

    init(root: TOMLTable) {
        tables[.named("")] = root
        var entries: [(table: Table, at: Position)] = []
        for key in root.keys {
            guard let value = root[key] else { continue }
            if let t = value.table { tables[.named(key)] = t }
            let at = root.position(of: key) ?? Position(line: 0, column: 0)
            for (i, element) in (value.array ?? []).enumerated() {
                guard let t = element.table, key == "service" || key == "group" else { continue }
                let table = key == "service" ? Table.service(i) : .group(i)
                tables[table] = t
                entries.append((table, t.header ?? at))
            }
        }
        // Elements of an inline array share its position: they keep their order in it.
        order = entries.enumerated().sorted {
            ($0.element.at.line, $0.element.at.column, $0.offset) < ($1.element.at.line, $1.element.at.column, $1.offset)
        }.map(\.element.table)
    }

    func position(_ table: Table, key: String?) -> Position? {
        guard let t = tables[table] else { return nil }
        if let key, let p = t.position(of: key) { return p }
        return t.header
    }
}

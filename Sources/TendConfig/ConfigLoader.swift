import Glibc
import TendCore

/// Reads a tend.toml into a validated `TreeSpec`, or every error in it.
public enum ConfigLoader {
    static let topLevelKeys = ["supervisor", "defaults", "service", "group"]
    static let supervisorKeys = ["strategy", "intensity", "period", "parallel", "control_socket", "control_group", "cgroups", "metrics"]
    static let groupKeys = ["name", "strategy", "intensity", "period", "parallel", "children"]
    /// The window when `intensity` is given without `period`.
    public static let defaultPeriod = Duration.seconds(60)

    public static func load(path: String) throws(ConfigErrors) -> TreeSpec {
        let bytes: [UInt8]
        do {
            bytes = try readBytes(path)
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: path, message: "\(error)")])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let at = firstInvalidUTF8(in: bytes)
            throw ConfigErrors(errors: [ConfigError(file: path, line: at.line, column: at.column,
                                                    message: "the file is not UTF-8 text, as TOML must be")])
        }
        return try parse(text, file: path)
    }

    /// Where the first byte stands that does not decode as UTF-8.
    static func firstInvalidUTF8(in bytes: [UInt8]) -> SourceLocator.Position {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var line = 1, column = 1
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) {
            if scalar.elementsEqual([UInt8(ascii: "\n")]) {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return SourceLocator.Position(line: line, column: column)
    }

    public static func parse(_ text: String, file: String) throws(ConfigErrors) -> TreeSpec {
        if let error = controlCharacter(in: text, file: file) { throw ConfigErrors(errors: [error]) }
        let root: TOMLTable
        do {
            root = try TOMLParser.parse(text)
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: file, line: error.position.line, column: error.position.column,
                                                    message: error.message)])
        }
        let diagnostics = Diagnostics(file: file, locator: SourceLocator(root: root))
        let top = TableReader(root, at: .named(""), subject: "", diagnostics: diagnostics)
        let tree = read(top, diagnostics)
        if let tree, diagnostics.errors.isEmpty { return tree }
        throw ConfigErrors(errors: diagnostics.errors)
    }

    /// TOML allows no control character but tab and line ends anywhere in a file (in a
    /// comment or a string neither): refused with its position before the file is parsed.
    static func controlCharacter(in text: String, file: String) -> ConfigError? {
        var line = 1, column = 0
        var bytes = text.utf8.makeIterator()
        var next = bytes.next()
        while let byte = next {
            next = bytes.next()
            // Columns count characters: a UTF-8 continuation byte starts none.
            if byte & 0xC0 != 0x80 { column += 1 }
            let bareReturn = byte == 0x0D && next != 0x0A
            if (byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D) || byte == 0x7F || bareReturn {
                let hex = String(byte, radix: 16, uppercase: true)
                return ConfigError(file: file, line: line, column: column,
                                   message: "control character U+\(hex.count == 1 ? "000" : "00")\(hex) is not allowed in TOML")
            }
            if byte == 0x0A {
                line += 1
                column = 0
            }
        }
        return nil
    }

    static func read(_ top: TableReader, _ diagnostics: Diagnostics) -> TreeSpec? {
        func tables(_ key: String) -> [TOMLTable] {
            guard let value = top.value(key) else { return [] }
            guard let array = value.array, array.allSatisfy({ $0.table != nil }) else {
                diagnostics.report(nil, subject: nil, key: key, "expected [[\(key)]] tables, got \(describe(value))")
                return []
            }
            return array.compactMap { $0.table }
        }
        func table(_ key: String) -> TableReader? {
            guard let value = top.value(key) else { return nil }
            guard let t = value.table else {
                diagnostics.report(nil, subject: nil, key: key, "expected a [\(key)] table, got \(describe(value))")
                return nil
            }
            return TableReader(t, at: .named(key), subject: "[\(key)]", diagnostics: diagnostics)
        }

        var strategy = Strategy.oneForOne
        var intensity: Intensity?
        var parallel = false
        var controlSocket: String?
        var controlGroup: String?
        var cgroups = true
        var metrics: ListenAddress?
        if let supervisor = table("supervisor") {
            (strategy, intensity) = readStrategy(supervisor)
            parallel = supervisor.field("parallel")?.bool ?? false
            if let f = supervisor.field("control_socket"), let path = f.string {
                controlSocket = path.hasPrefix("/") ? path : f.fail("expected an absolute path, got \"\(path)\"")
            }
            if let f = supervisor.field("control_group") { controlGroup = ServiceKeys.readAccount(f) }
            if let f = supervisor.field("cgroups"), let mode = f.string {
                switch mode {
                case "auto": cgroups = true
                case "off": cgroups = false
                default: let _: Bool? = f.fail("expected \"auto\" or \"off\", got \"\(mode)\"")
                }
            }
            if let f = supervisor.field("metrics"), let text = f.string {
                // A tcp address of a host's own: HOST:PORT, the host numeric (IPv6 in brackets).
                switch ListenAddress.parse("tcp:" + text) {
                case .success(let a) where a.name == nil && !text.hasPrefix("tcp:"): metrics = a
                case .success: let _: Bool? = f.fail("expected HOST:PORT (127.0.0.1:9464, [::1]:9464), got \"\(text)\"")
                case .failure(let error): let _: Bool? = f.fail(error.description.replacing("tcp:", with: ""))
                }
            }
            supervisor.reportUnknownKeys(known: supervisorKeys)
        }
        let defaults = table("defaults")
        if let defaults { ServiceKeys.checkDefaults(defaults) }

        // Services and groups with errors in their keys still take part in the checks of the
        // tree's shape (names, children, cycles): every error is reported in one go. Only one
        // without a name is left out.
        var services: [(index: Int, spec: ServiceSpec)] = []
        for (i, t) in tables("service").enumerated() {
            let reader = TableReader(t, at: .service(i), subject: "service #\(i + 1)", diagnostics: diagnostics)
            if let spec = ServiceKeys.read(reader, defaults: defaults) { services.append((i, spec)) }
        }
        var groups: [(index: Int, spec: GroupSpec)] = []
        for (i, t) in tables("group").enumerated() {
            let reader = TableReader(t, at: .group(i), subject: "group #\(i + 1)", diagnostics: diagnostics)
            if let group = readGroup(reader) { groups.append((i, group)) }
        }
        for key in top.table.keys where !topLevelKeys.contains(key) {
            diagnostics.report(nil, subject: nil, key: key, "unknown table or key" + suggestion(for: key, among: topLevelKeys))
        }

        let serviceNames = Dictionary(services.map { ($0.index, $0.spec.name) }, uniquingKeysWith: { a, _ in a })
        let groupNames = Dictionary(groups.map { ($0.index, $0.spec.name) }, uniquingKeysWith: { a, _ in a })
        let order = diagnostics.locator.order.compactMap { table -> String? in
            switch table {
            case .service(let i): return serviceNames[i]
            case .group(let i): return groupNames[i]
            case .named: return nil
            }
        }
        var tree = TreeValidation.build(strategy: strategy, intensity: intensity, services: services.map(\.spec),
                                        groups: groups.map(\.spec), serviceTables: services.map(\.index),
                                        groupTables: groups.map(\.index), fileOrder: order, controlSocket: controlSocket,
                                        diagnostics: diagnostics)
        tree?.controlGroup = controlGroup
        tree?.cgroups = cgroups
        tree?.metrics = metrics
        tree?.root.parallel = parallel
        return tree
    }

    static func readStrategy(_ t: TableReader) -> (Strategy, Intensity?) {
        let strategy = t.field("strategy")?.choice(Strategy.self) ?? .oneForOne
        let restarts = t.field("intensity")?.int(in: 0...1_000_000)
        let period = t.field("period")?.duration
        if let period, period <= .zero { t.error("period", "must be longer than 0s") }
        if period != nil, restarts == nil, !t.has("intensity") {
            t.error("period", "has no effect without intensity")
        }
        return (strategy, restarts.map { Intensity(restarts: $0, period: period ?? defaultPeriod) })
    }

    static func readGroup(_ t: TableReader) -> GroupSpec? {
        guard let nameField = t.field("name") else {
            t.error("name", "missing: every group needs a name")
            return nil
        }
        guard let name = nameField.string else { return nil }
        if !ServiceKeys.isValidName(name) {
            t.error("name", "\"\(name)\" may use only letters, digits, and _ . @ - (and is not . or ..)")
        }
        let reader = TableReader(t.table, at: t.location, subject: "group \"\(name)\"", diagnostics: t.diagnostics)
        _ = reader.value("name")
        let (strategy, intensity) = readStrategy(reader)
        let parallel = reader.field("parallel")?.bool ?? false
        var children: [String]?
        if let f = reader.field("children") {
            children = f.strings(nonEmpty: true)
        } else {
            reader.error("children", "missing: a group lists its children (services or groups) in start order")
        }
        reader.reportUnknownKeys(known: groupKeys)
        // Without readable children it says nothing of the tree's shape.
        guard let children else { return nil }
        return GroupSpec(name: name, strategy: strategy, intensity: intensity, children: children, parallel: parallel)
    }

    /// A file's text (also `tend logs`' reader of /proc).
    public static func readFile(_ path: String) throws -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    static func readBytes(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            if n < 0 { throw FileError(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    struct FileError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "cannot read the file: \(reason)" }
    }
}

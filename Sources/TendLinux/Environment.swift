import Glibc

/// The environment every child starts from: tend's own, less what belongs to tend's place in
/// systemd (its notify socket, watchdog, socket activation, journal stream, invocation).
struct BaseEnvironment {
    static let scrubbedNames: Set<String> = ["NOTIFY_SOCKET", "JOURNAL_STREAM", "INVOCATION_ID"]
    static let scrubbedPrefixes = ["WATCHDOG_", "LISTEN_"]

    /// Each entry with its "KEY=VALUE" string made once: every spawn reuses them.
    let entries: [(key: String, value: String, line: String)]

    init(_ environ: [String: String]) {
        entries = environ.filter { key, _ in
            !BaseEnvironment.scrubbedNames.contains(key)
                && !BaseEnvironment.scrubbedPrefixes.contains(where: key.hasPrefix)
        }.sorted { $0.key < $1.key }.map { ($0.key, $0.value, "\($0.key)=\($0.value)") }
    }

    static func current() -> BaseEnvironment { BaseEnvironment(processEnvironment()) }

    /// "KEY=VALUE" strings: the base, then `overrides` replacing or adding.
    func merged(with overrides: [String: String]) -> [String] {
        var result: [String] = []
        result.reserveCapacity(entries.count + overrides.count)
        for entry in entries where overrides[entry.key] == nil { result.append(entry.line) }
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) { result.append("\(key)=\(value)") }
        return result
    }

    var path: String { entries.first { $0.key == "PATH" }?.value ?? "/usr/local/bin:/usr/bin:/bin" }
}

/// The process's environment as a dictionary.
func processEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let eq = text.firstIndex(of: "=") { result[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
        pointer += 1
    }
    return result
}

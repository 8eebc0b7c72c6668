import Testing
import TendCore
@testable import TendConfig

/// Every duration and count key of the file, walked with boundary values: each is refused with
/// an error naming its key, or accepted within its range. Never a trap.
@Suite struct BoundaryTests {
    /// Values as TOML writes them: floats, integers and strings of every unit.
    static let values: [String] = [
        "inf", "-inf", "nan", "+nan", "-0.0", "0", "-1", "1", "0.5", "1e300", "-1e300", "5e-324",
        "9223372036854775807", "-9223372036854775808", "31536000", "31536001", "1e10", "9.3e9",
        "\"1e10\"", "\"inf\"", "\"nan\"", "\"-0\"", "\"0s\"", "\"365d\"", "\"366d\"", "\"31536000.000000001\"",
        "\"106751991167d\"", "\"9223372036s\"", "\"1e300ns\"", "\"99999999999999999999h\"", "\"1e19us\"",
        "\"0.0000000001ns\"", "\"8760h\"", "\"525601m\"", "\"1.5\"", "\"1s1s1s\"", "\"\"",
    ]

    /// A service line and what it reads back as, for each span key.
    struct SpanKey: Sendable {
        let name: String
        let line: @Sendable (String) -> String
        let read: @Sendable (TreeSpec) -> Duration?
    }

    static func service(_ tree: TreeSpec) -> ServiceSpec { tree.services[0] }

    static let spanKeys: [SpanKey] = [
        SpanKey(name: "start_timeout", line: { "start_timeout = \($0)" }, read: { service($0).startTimeout }),
        SpanKey(name: "stop_timeout", line: { "stop_timeout = \($0)" }, read: { service($0).stopTimeout }),
        SpanKey(name: "watchdog", line: { "ready = \"notify\"\nwatchdog = \($0)" }, read: { service($0).watchdog }),
        SpanKey(name: "backoff.initial", line: { "backoff = { initial = \($0), max = \"365d\" }" }, read: { service($0).backoff.initial }),
        SpanKey(name: "backoff.max", line: { "backoff = { initial = 0, max = \($0) }" }, read: { service($0).backoff.max }),
        SpanKey(name: "backoff.reset_after", line: { "backoff = { reset_after = \($0) }" }, read: { service($0).backoff.resetAfter }),
        SpanKey(name: "health.interval", line: { "health = { exec = [\"true\"], interval = \($0) }" }, read: { service($0).health?.interval }),
        SpanKey(name: "health.timeout", line: { "health = { exec = [\"true\"], timeout = \($0) }" }, read: { service($0).health?.timeout }),
        SpanKey(name: "health.start_period", line: { "health = { exec = [\"true\"], start_period = \($0) }" },
                read: { service($0).health?.startPeriod }),
    ]

    static func file(service line: String, supervisor: String = "") -> String {
        "[supervisor]\n\(supervisor)\n[[service]]\nname = \"a\"\ncommand = \"sleep 1\"\n\(line)\n"
    }

    @Test(arguments: spanKeys)
    func aSpanKeyIsInRangeOrRefusedByName(_ key: SpanKey) {
        for value in Self.values {
            let text = Self.file(service: key.line(value))
            do {
                let tree = try load(text)
                guard let span = key.read(tree) else {
                    Issue.record("\(key.name) = \(value) accepted but not read")
                    continue
                }
                #expect(span >= .zero && span <= Bounds.maxSpan, "\(key.name) = \(value) read as \(span)")
            } catch {
                let lines = error.errors.map(\.description)
                #expect(lines.contains { $0.contains(key.name) }, "\(key.name) = \(value): \(lines)")
            }
        }
    }

    @Test func periodsAndEveryAreInRangeOrRefusedByName() {
        for value in Self.values {
            for (name, text, read) in [
                ("period", Self.file(service: "", supervisor: "intensity = 3\nperiod = \(value)"),
                 { (tree: TreeSpec) in tree.root.intensity?.period ?? .zero }),
                ("schedule", Self.file(service: "schedule = \"every \(value.filter { $0 != "\"" })\""), { (tree: TreeSpec) in
                    if case .every(let span)? = tree.services[0].schedule { return span }
                    return .zero
                }),
            ] {
                do {
                    let span = read(try load(text))
                    #expect(span >= .zero && span <= Bounds.maxSpan, "\(name) = \(value) read as \(span)")
                } catch {
                    let lines = error.errors.map(\.description)
                    #expect(lines.contains { $0.contains(name) }, "\(name) = \(value): \(lines)")
                }
            }
        }
    }

    /// Counts and numbers with a range of their own.
    static var countKeys: [(name: String, line: String, range: ClosedRange<Double>, read: (TreeSpec) -> Double?)] { [
        ("max_restarts", "max_restarts = %", 0...Double(Int32.max), { service($0).maxRestarts.map(Double.init) }),
        ("instances", "instances = %", 1...Double(Bounds.maxInstances), { $0.services.isEmpty ? nil : Double($0.services.count) }),
        ("health.retries", "health = { exec = [\"true\"], retries = % }", 1...1_000_000, { service($0).health.map { Double($0.retries) } }),
        ("backoff.factor", "backoff = { factor = % }", 1...1000, { service($0).backoff.factor }),
        ("backoff.jitter", "backoff = { jitter = % }", 0...1, { service($0).backoff.jitter }),
        ("success_exit_codes", "success_exit_codes = [%]", 0...255, { service($0).successExitCodes.first.map(Double.init) }),
        ("umask", "umask = %", 0...0o777, { service($0).umask.map(Double.init) }),
        ("stop_signal", "stop_signal = %", 1...64, { Double(service($0).stopSignal.number) }),
        ("limits.nofile", "limits = { nofile = % }", 0...Double(UInt64.max), { service($0).limits.values.values.first.map { Double($0) } }),
    ] }

    @Test func aCountIsInRangeOrRefusedByName() {
        for key in Self.countKeys {
            for value in Self.values {
                let text = Self.file(service: key.line.replacingOccurrences(of: "%", with: value))
                do {
                    let tree = try load(text)
                    guard let read = key.read(tree) else {
                        Issue.record("\(key.name) = \(value) accepted but not read")
                        continue
                    }
                    #expect(key.range.contains(read), "\(key.name) = \(value) read as \(read)")
                } catch {
                    let lines = error.errors.map(\.description)
                    #expect(lines.contains { $0.contains(key.name) }, "\(key.name) = \(value): \(lines)")
                }
            }
        }
    }

    @Test func theSupervisorsIntensityIsInRangeOrRefusedByName() {
        for value in Self.values {
            do {
                let tree = try load(Self.file(service: "", supervisor: "intensity = \(value)"))
                #expect((0...1_000_000).contains(tree.root.intensity?.restarts ?? 0), "intensity = \(value)")
            } catch {
                #expect(error.errors.contains { $0.description.contains("intensity") }, "intensity = \(value)")
            }
        }
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

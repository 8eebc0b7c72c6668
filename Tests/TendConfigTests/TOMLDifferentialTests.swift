import Foundation
import Testing
@testable import TendConfig

/// tend's TOML parser beside Python's `tomllib` (Debian 12's python3), on generated documents:
/// well-formed ones, and the same cut, doubled and spliced. Both must give the same values,
/// or both refuse. The one difference TOML allows: an integer past 64 bits, which tend refuses.
@Suite struct TOMLDifferentialTests {
    static let documents = 3000

    /// A small deterministic generator (splitmix64), so a failure is reproducible from its index.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let bareKeys = ["a", "b", "name", "x-1", "_k", "1234", "true", "inf", "Ω"]
    static let scalars = [
        "1", "-0", "+17", "0x7fffffffffffffff", "0o755", "0b1011", "1_000", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "01", "1__0", "0x", "3.14", "-0.0", "1e300", "1e400", "6.02e+23", "1_0.5", "1.", ".5", "1e",
        "inf", "-inf", "+nan", "nan", "true", "false", "True",
        #""plain""#, #""tab\there \u00e9 \U0001F600""#, #""bad \q escape""#, #""\ud800""#, "'literal \\n'", "'''multi\nline'''",
        "\"\"\"\nbasic \\\n   joined\"\"\"", "\"\"\"a\"\"b\"\"\"", "\"unterminated",
        "1979-05-27T07:32:00Z", "1979-05-27 07:32:00.999-07:00", "1979-05-27", "07:32:00", "1979-02-30", "1979-05-27T25:00:00",
    ]

    static func value(_ g: inout Generator, depth: Int) -> String {
        switch depth > 2 ? 0 : g.below(6) {
        case 4:
            let items = (0..<g.below(4)).map { _ in value(&g, depth: depth + 1) }
            return "[" + items.joined(separator: g.pick([", ", ",\n  ", " ,"])) + (g.below(3) == 0 ? ",]" : "]")
        case 5:
            let pairs = (0..<g.below(3)).map { _ in "\(key(&g)) = \(value(&g, depth: depth + 1))" }
            return "{ " + pairs.joined(separator: ", ") + " }"
        default:
            return g.pick(scalars)
        }
    }

    static func key(_ g: inout Generator) -> String {
        let part = { (g: inout Generator) -> String in
            g.below(5) == 0 ? g.pick(["\"quoted key\"", "'lit'", "\"\"", "\"a.b\""]) : g.pick(bareKeys)
        }
        return g.below(4) == 0 ? part(&g) + "." + part(&g) : part(&g)
    }

    static func document(_ g: inout Generator) -> String {
        var lines: [String] = []
        for _ in 0..<(1 + g.below(8)) {
            switch g.below(8) {
            case 0: lines.append("[\(key(&g))]")
            case 1: lines.append("[[\(key(&g))]]")
            case 2: lines.append("# a comment")
            default: lines.append("\(key(&g)) = \(value(&g, depth: 0))" + (g.below(4) == 0 ? " # note" : ""))
            }
        }
        var text = lines.joined(separator: "\n") + "\n"
        // Every other one cut, doubled or spliced: mostly broken, sometimes still valid.
        if g.below(2) == 0, !text.isEmpty {
            var bytes = Array(text.utf8)
            let at = g.below(bytes.count)
            switch g.below(3) {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(bytes[at], at: at)
            default: bytes.insert(g.pick(Array("[]{}=\",.'\n#\\ ".utf8)), at: at)
            }
            text = String(decoding: bytes, as: UTF8.self)
        }
        return text
    }

    /// The value as the Python side writes it: tagged, keys sorted, floats by their bits.
    static func canonical(_ value: TOMLValue) -> Any {
        switch value {
        case .string(let s): return ["s": s]
        case .integer(let n): return ["i": String(n)]
        case .float(let d): return ["f": d.isNaN ? "nan" : String(d.bitPattern, radix: 16)]
        case .boolean(let b): return ["b": b]
        case .dateTime: return ["d": true]
        case .array(let items): return ["a": items.map(canonical)]
        case .table(let t): return ["t": canonical(t)]
        }
    }

    static func canonical(_ table: TOMLTable) -> [String: Any] {
        Dictionary(uniqueKeysWithValues: table.keys.map { ($0, canonical(table[$0]!)) })
    }

    static let python = """
        import json, struct, sys, tomllib, datetime, math
        def c(v):
            if isinstance(v, bool): return {"b": v}
            if isinstance(v, int): return {"i": str(v), "big": not (-2**63 <= v < 2**63)}
            if isinstance(v, float): return {"f": "nan" if math.isnan(v) else format(struct.unpack(">Q", struct.pack(">d", v))[0], "x")}
            if isinstance(v, str): return {"s": v}
            if isinstance(v, (datetime.datetime, datetime.date, datetime.time)): return {"d": True}
            if isinstance(v, list): return {"a": [c(x) for x in v]}
            return {"t": {k: c(x) for k, x in v.items()}}
        out = []
        for doc in json.load(sys.stdin):
            try: out.append(c(tomllib.loads(doc)))
            except Exception: out.append(None)
        json.dump(out, sys.stdout)
        """

    /// Whether Python's value holds an integer past 64 bits (the "big" mark), then drops the marks.
    static func strip(_ value: Any, big: inout Bool) -> Any {
        if let dict = value as? [String: Any] {
            if dict["big"] as? Bool == true { big = true }
            var out: [String: Any] = [:]
            for (k, v) in dict where k != "big" { out[k] = strip(v, big: &big) }
            return out
        }
        if let list = value as? [Any] { return list.map { strip($0, big: &big) } }
        return value
    }

    @Test func tendsParserAgreesWithPythonsTomllib() throws {
        var g = Generator(state: 0x7E4D)
        let docs = (0..<TOMLDifferentialTests.documents).map { _ in TOMLDifferentialTests.document(&g) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", TOMLDifferentialTests.python]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: docs))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let answers = try #require(try JSONSerialization.jsonObject(with: data) as? [Any])
        #expect(answers.count == docs.count)
        var valid = 0, refused = 0, disagreements: [String] = []
        for (i, doc) in docs.enumerated() where i < answers.count {
            let ours: [String: Any]? = (try? TOMLParser.parse(doc)).map { ["t": TOMLDifferentialTests.canonical($0)] }
            var big = false
            let theirs = answers[i] is NSNull ? nil : TOMLDifferentialTests.strip(answers[i], big: &big)
            switch (ours, theirs) {
            case (nil, nil): refused += 1
            case (nil, _) where big: refused += 1
            case (let a?, let b?) where NSDictionary(dictionary: a).isEqual(b): valid += 1
            default:
                disagreements.append("#\(i): tend \(ours == nil ? "refused" : "accepted"), tomllib \(theirs == nil ? "refused" : "accepted"): \(doc.debugDescription)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(5).joined(separator: "\n"))")
        // The generator reaches both sides.
        #expect(valid > 500 && refused > 500, "valid \(valid), refused \(refused)")
    }
}

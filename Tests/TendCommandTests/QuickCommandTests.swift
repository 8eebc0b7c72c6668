import Testing
import TendCore
@testable import tend

/// `tend status` and `tend run` skip the argument parser (QuickCommands.swift): what they take
/// must mean what the parser makes of it, and every option the parser has for them must be
/// taken, so that a new option cannot be read one way by one and another by the other.
@Suite struct QuickCommandTests {
    static let tokens = ["--json", "-c", "a.toml", "--config", "--config=b.toml", "--socket", "s.sock", "--socket=t.sock",
                         "api", "web@2", "-", "--", "-x", "--log", "console", "journal", "--log=auto", "--log=bogus",
                         "--json=1", "-h", "--help", "-cfile", "--conf", ""]

    /// What the parser makes of `arguments`, as a quick command would be; nil if it refuses them.
    static func parsed(_ command: String, _ arguments: [String]) -> QuickCommand? {
        if command == "status" {
            guard let status = try? Status.parse(arguments) else { return nil }
            return .status(status.options.target, names: status.names, json: status.json)
        }
        guard let run = try? Run.parse(arguments) else { return nil }
        return .run(run.options.target, log: run.log)
    }

    @Test(arguments: ["status", "run"])
    func whatTheQuickPathTakesTheParserReadsTheSame(command: String) {
        let random = SeededRandom(seed: command == "status" ? 1 : 2)
        var taken = 0
        for _ in 0..<5000 {
            let count = Int(random.nextUnit() * 6)
            let arguments = (0..<count).map { _ in QuickCommandTests.tokens[Int(random.nextUnit() * Double(QuickCommandTests.tokens.count))] }
            guard let quick = QuickCommand([command][...] + arguments) else { continue }
            taken += 1
            #expect(QuickCommandTests.parsed(command, arguments) == quick, "tend \(command) \(arguments)")
        }
        // Most forms are plain enough for the quick path.
        #expect(taken > 500)
    }

    /// The options in the parser's own help for each command, each taken by the quick path.
    @Test func everyOptionOfTheParserIsTakenByTheQuickPath() {
        for (command, help) in [("status", Status.helpMessage()), ("run", Run.helpMessage())] {
            let usage = help.split(separator: "\n").first { $0.contains("USAGE:") } ?? ""
            let options = usage.split(whereSeparator: { " []<>".contains($0) }).filter { $0.hasPrefix("-") }.map(String.init)
            #expect(!options.isEmpty, "\(help)")
            for option in options {
                let value = option == "--log" ? ["console"] : option == "--json" ? [] : ["x"]
                let quick = QuickCommand([command, option][...] + value)
                #expect(quick != nil, "tend \(command) \(option) is left to the parser")
                #expect(QuickCommandTests.parsed(command, [option] + value) == quick, "tend \(command) \(option)")
            }
        }
    }
}

extension QuickCommand: Equatable {
    public static func == (a: QuickCommand, b: QuickCommand) -> Bool {
        switch (a, b) {
        case let (.status(t1, n1, j1), .status(t2, n2, j2)): return t1 == t2 && n1 == n2 && j1 == j2
        case let (.run(t1, l1), .run(t2, l2)): return t1 == t2 && l1 == l2
        default: return false
        }
    }
}

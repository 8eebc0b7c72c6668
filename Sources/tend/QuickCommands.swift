import ArgumentParser
import Glibc

/// `tend status` and `tend run` without the argument parser. Its parse reflects over every
/// command's properties, each a dynamic cast that scans the binary's conformance records:
/// 2.5 ms of a client's 4.5 ms start-up, and pages of code and metadata that a long-running
/// tend would keep for nothing. Only the plain forms are taken here; help, an unknown flag or
/// anything else goes to the parser, which answers as it always has.
enum QuickCommand {
    case status(Target, names: [String], json: Bool)
    case run(Target, log: Run.LogTarget)

    init?(_ arguments: ArraySlice<String>) {
        guard let command = arguments.first, command == "status" || command == "run" else { return nil }
        var target = Target()
        var names: [String] = []
        var json = false
        var log = Run.LogTarget.auto
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            var (key, value) = (argument, nil as String?)
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                (key, value) = (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
            }
            switch (command, key) {
            case ("status", "--json") where value == nil:
                json = true
            case (_, "--socket"), (_, "-c"), (_, "--config"), ("run", "--log"):
                if value == nil, let next = rest.popFirst(), !next.hasPrefix("-") { value = next }
                guard let value else { return nil }
                switch key {
                case "--socket": target.socket = value
                case "--log":
                    guard let chosen = Run.LogTarget(rawValue: value) else { return nil }
                    log = chosen
                default: target.config = value
                }
            case ("status", _) where !argument.hasPrefix("-"):
                names.append(argument)
            default:
                return nil
            }
        }
        self = command == "status" ? .status(target, names: names, json: json) : .run(target, log: log)
    }

    func run() -> Never {
        do {
            switch self {
            case .status(let target, let names, let json):
                try Status.show(target, names: names, json: json)
                exit(0)
            case .run(let target, let log):
                try Run.run(target, log: log)
            }
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            writeStderr("tend: \(error)\n")
            exit(1)
        }
    }
}

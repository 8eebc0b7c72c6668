import ArgumentParser
import Glibc

/// `tend status` without the argument parser, whose parse (reflection over every command's
/// properties, each a dynamic cast that scans the binary's conformance records) was 2.5 ms of
/// a client's 4.5 ms start-up. Only the plain forms are taken here; help, an unknown flag or
/// anything else goes to the parser, which answers as it always has.
struct QuickStatus {
    var target = ClientTarget()
    var names: [String] = []
    var json = false

    init?(_ arguments: ArraySlice<String>) {
        guard arguments.first == "status" else { return nil }
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            switch argument {
            case "--json":
                json = true
            case "--socket", "-c", "--config":
                guard let value = rest.popFirst(), !value.hasPrefix("-") else { return nil }
                if argument == "--socket" { target.socket = value } else { target.config = value }
            default:
                if argument.hasPrefix("--socket=") {
                    target.socket = String(argument.dropFirst("--socket=".count))
                } else if argument.hasPrefix("--config=") {
                    target.config = String(argument.dropFirst("--config=".count))
                } else if argument.hasPrefix("-") {
                    return nil
                } else {
                    names.append(argument)
                }
            }
        }
    }

    func run() -> Never {
        do {
            try Status.show(target, names: names, json: json)
            exit(0)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            writeStderr("tend: \(error)\n")
            exit(1)
        }
    }
}

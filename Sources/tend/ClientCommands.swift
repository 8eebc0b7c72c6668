import ArgumentParser
import Glibc
import TendControl
import TendCore

/// Sends one request and returns the result; an error answer goes to stderr and exits 1,
/// no answer at all exits 69.
func call(_ target: Target, _ request: ControlRequest, timeout: Double = 10) throws -> ArraySlice<UInt8> {
    do {
        return try ControlClient(path: target.socketPath()).call(request, timeout: timeout)
    } catch {
        writeStderr("tend: \(error)\n")
        if case .unavailable = error { throw ExitCode(exitUnavailable) }
        throw ExitCode(1)
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One row per service: name, group, state, pid, uptime, restarts, last exit, status text.")
    @OptionGroup var options: ConfigOption
    @Flag(help: "Print SPEC's JSON object instead of a table.") var json = false
    @Argument(help: "Services or groups (default: all).") var names: [String] = []

    func run() throws { try Self.show(options.target, names: names, json: json) }

    static func show(_ target: Target, names: [String], json: Bool) throws {
        // Resolved once: with `-c` it means reading the file, and the detail may ask again.
        var target = target
        target.socket = target.socketPath()
        let result = try call(target, ControlRequest(command: .status, names: names.isEmpty ? nil : names,
                                                     detail: names.count == 1 ? true : nil))
        if names.count == 1, let detail = StatusDetail.render(result, asJSON: json, unit: { tendUnit(target) }) {
            writeStdout(Array(detail.utf8)[...])
        } else if json {
            writeStdout(result + [0x0A])
        } else {
            writeStdout(Array(StatusTable.render(result, colour: isatty(1) == 1 && Environment["NO_COLOR"] == nil).utf8)[...])
        }
    }
}

/// `--timeout` as tend takes it: a number of seconds from 0 to 365 days (`Bounds.maxSpan`).
func validateTimeout(_ seconds: Double) throws {
    guard Bounds.span(seconds: seconds) != nil else {
        throw ValidationError("--timeout: \(seconds) is out of range 0 to \(Bounds.maxSpanSeconds) seconds")
    }
}

/// start, stop and restart: each returns when the action has settled.
struct ActionOptions: ParsableArguments {
    @Option(help: "Give up waiting after this many seconds (exit 1).") var timeout: Double = 60
    @Argument(help: "Services or groups.") var names: [String]

    func validate() throws { try validateTimeout(timeout) }

    func perform(_ options: ConfigOption, _ command: ControlRequest.Command) throws {
        _ = try call(options.target, ControlRequest(command: command, names: names, timeoutSeconds: timeout), timeout: timeout + 10)
    }
}

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start services or groups; return once they are ready.")
    @OptionGroup var options: ConfigOption
    @OptionGroup var action: ActionOptions
    func run() throws { try action.perform(options, .start) }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop services or groups; return once they are down.")
    @OptionGroup var options: ConfigOption
    @OptionGroup var action: ActionOptions
    func run() throws { try action.perform(options, .stop) }
}

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop, then start; return once the new runs are ready.")
    @OptionGroup var options: ConfigOption
    @OptionGroup var action: ActionOptions
    func run() throws { try action.perform(options, .restart) }
}

struct SignalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "signal",
                                                    abstract: "Send a signal (HUP, USR1, ...) to services' process groups.")
    @OptionGroup var options: ConfigOption
    @Argument(help: "The signal: HUP, SIGUSR1, 10, ...") var signal: String
    @Argument(help: "Services or groups.") var names: [String]

    func run() throws {
        _ = try call(options.target, ControlRequest(command: .signal, names: names, signal: signal))
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the file and apply the difference (as SIGHUP to tend run); with names, send those services their reload_signal (restart those without one).")
    @OptionGroup var options: ConfigOption
    @Option(help: "Give up waiting after this many seconds (exit 1).") var timeout: Double = 120
    @Argument(help: "Services or groups to reload in place (default: re-read the file).") var names: [String] = []

    func validate() throws { try validateTimeout(timeout) }

    func run() throws {
        let request = ControlRequest(command: .reload, names: names.isEmpty ? nil : names,
                                     timeoutSeconds: names.isEmpty ? nil : timeout)
        let result = try call(options.target, request, timeout: timeout)
        print(names.isEmpty ? ReloadReport.render(result) : ReloadReport.renderServices(result))
    }
}

struct Scale: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run N copies of a service with instances: new ones start in order, surplus ones stop from the highest down; return once settled. A reload makes the count the file's again.")
    @OptionGroup var options: ConfigOption
    @Option(help: "Give up waiting after this many seconds (exit 1).") var timeout: Double = 120
    @Argument(help: "A service with instances.") var name: String
    @Argument(help: "How many copies (at least 1).") var count: Int

    func validate() throws {
        try validateTimeout(timeout)
        guard (1...Bounds.maxInstances).contains(count) else {
            throw ValidationError("count: \(count): expected at least 1 and at most \(Bounds.maxInstances)")
        }
    }

    func run() throws {
        let request = ControlRequest(command: .scale, names: [name], timeoutSeconds: timeout, count: count)
        print(ReloadReport.renderScale(try call(options.target, request, timeout: timeout + 10)))
    }
}

struct Reexec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Execute tend's binary (or --binary PATH) in place, same pid: the new one takes every service over, none is restarted.")
    @OptionGroup var options: ConfigOption
    @Option(help: "The binary to execute (default: the one tend runs from, as installed now).") var binary: String?
    @Option(help: "Give up waiting after this many seconds (exit 1).") var timeout: Double = 60

    func validate() throws { try validateTimeout(timeout) }

    func run() throws {
        // The daemon's working directory may not be this one.
        let path = binary.map { $0.hasPrefix("/") ? $0 : currentDirectory() + "/" + $0 }
        let result = try call(options.target, ControlRequest(command: .reexec, timeoutSeconds: timeout, binary: path), timeout: timeout + 10)
        print(ReexecReport.render(result))
    }

    private func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}

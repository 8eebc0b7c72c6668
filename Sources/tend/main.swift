import ArgumentParser
import Glibc
import TendConfig
import TendCore
import TendLinux

struct Tend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tend",
        abstract: "A process supervisor: runs a tree of services declared in one TOML file.",
        subcommands: [Run.self, Check.self, Status.self, Start.self, Stop.self, Restart.self, SignalCommand.self,
                      Reload.self, Scale.self, Reexec.self, Logs.self])
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the supervisor in the foreground.")
    @OptionGroup var options: ConfigOption

    enum LogTarget: String, ExpressibleByArgument, CaseIterable {
        case auto, journal, console
    }

    @Option(help: ArgumentHelp("Where service output and tend's events go: the journal, the console (stdout and stderr), or auto: the journal under systemd (its socket is there, or JOURNAL_STREAM names tend's stderr).",
                               valueName: "auto|journal|console"))
    var log: LogTarget = .auto

    func run() throws { try Self.run(options.target, log: log) }

    static func run(_ target: Target, log: LogTarget) throws -> Never {
        // Before anything else: the signals tend reads from its signalfd must be blocked
        // before any thread could exist to receive them.
        let inherited = Daemon.prepareProcess()
        // What systemd handed tend, taken out of the environment before anything could pass it on.
        let serviceManager = ServiceManagerEnvironment.take()
        // Executed by `tend reexec`: the tree as the old tend ran it, not the file as it is now.
        let handover = Handover.takeFromEnvironment()
        let tree = try handover?.core.tree ?? target.load()
        let path = target.path
        let code: Int32
        do {
            let daemon = try Daemon(tree: tree, options: Daemon.Options(
                controlSocket: target.socketPath(for: tree), controlGroup: tree.controlGroup,
                reload: { try ConfigLoader.load(path: path) }, serviceManager: serviceManager,
                journal: log == .auto ? nil : log == .journal, cgroups: tree.cgroups,
                arguments: CommandLine.arguments, inherited: inherited), handover: handover)
            code = try daemon.run()
        } catch {
            writeStderr("tend: \(error)\n")
            throw ExitCode(1)
        }
        Glibc.exit(code)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the file and print the tree; exit 78 if invalid.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let tree = try options.target.load()
        print(TreeDescription.render(tree, file: options.target.path))
    }
}

QuickCommand(CommandLine.arguments.dropFirst())?.run()
Tend.main()

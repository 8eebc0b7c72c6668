import ArgumentParser
import Glibc
import TendConfig
import TendCore
import TendLinux

/// EX_CONFIG from sysexits.h: the file is invalid.
let exitConfig: Int32 = 78

struct Tend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tend",
        abstract: "A process supervisor: runs a tree of services declared in one TOML file.",
        subcommands: [Run.self, Check.self])
}

struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The config file (default: $TEND_CONFIG, else /etc/tend/tend.toml).")
    var config: String?

    var path: String {
        if let config { return config }
        if let env = getenv("TEND_CONFIG"), env.pointee != 0 { return String(cString: env) }
        return "/etc/tend/tend.toml"
    }

    /// The tree, or every error on stderr and exit 78.
    func load() throws -> TreeSpec {
        do {
            return try ConfigLoader.load(path: path)
        } catch {
            writeStderr("\(error)\n")
            throw ExitCode(exitConfig)
        }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the supervisor in the foreground.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        // Before anything else: the signals tend reads from its signalfd must be blocked
        // before any thread could exist to receive them.
        Daemon.prepareProcess()
        let tree = try options.load()
        let code: Int32
        do {
            code = try Daemon(tree: tree).run()
        } catch {
            writeStderr("tend: \(error)\n")
            throw ExitCode(1)
        }
        throw ExitCode(code)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the file and print the tree; exit 78 if invalid.")
    @OptionGroup var options: ConfigOption

    func run() throws {
        let tree = try options.load()
        print(TreeDescription.render(tree, file: options.path))
    }
}

func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

Tend.main()

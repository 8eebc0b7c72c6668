import ArgumentParser
import Glibc
import TendConfig
import TendControl
import TendCore
import TendLinux

/// EX_CONFIG from sysexits.h: the file is invalid.
let exitConfig: Int32 = 78
/// EX_UNAVAILABLE: no tend answers on the control socket.
let exitUnavailable: Int32 = 69

struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "The config file (default: $TEND_CONFIG, else /etc/tend/tend.toml).")
    var config: String?

    @Option(help: "The control socket (default: $TEND_SOCKET, control_socket of the file, $RUNTIME_DIRECTORY/control.sock, /run/tend/control.sock).")
    var socket: String?

    var target: Target { Target(config: config, socket: socket) }
}

/// The file and the socket, as plain values: the commands that skip the argument parser
/// (QuickCommands.swift) fill one without it.
struct Target: Equatable {
    var config: String?
    var socket: String?

    var path: String {
        if let config { return config }
        if let env = Environment["TEND_CONFIG"], !env.isEmpty { return env }
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

    /// The socket for `tend run`, which has read the file.
    func socketPath(for tree: TreeSpec) -> String {
        SocketPath.resolve(option: socket, environment: { Environment[$0] }, configured: tree.controlSocket, uid: getuid())
    }

    /// The socket for a client: the file is read only when given with `-c`.
    func socketPath() -> String {
        let configured = config.flatMap { try? ConfigLoader.load(path: $0) }?.controlSocket
        return SocketPath.resolve(option: socket, environment: { Environment[$0] }, configured: configured, uid: getuid())
    }
}

/// tend's own environment, one variable at a time: a client looks up two or three, and a
/// dictionary of all of them costs more than the rest of its start.
enum Environment {
    static subscript(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}

func writeStdout(_ bytes: ArraySlice<UInt8>) {
    bytes.withUnsafeBytes { writeAll(1, $0) }
}

func writeStderr(_ text: String) {
    writeAll(2, text)
}

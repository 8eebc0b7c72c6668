import ArgumentParser
import CTend
import Glibc
import TendConfig
import TendControl
import TendCore

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The services' output and tend's events about them, from the journal (runs journalctl).")
    @OptionGroup var options: ConfigOption
    @Flag(name: .shortAndLong, help: "Keep printing new lines as they come.") var follow = false
    @Option(name: [.customShort("n"), .long], help: "Show the last N lines (journalctl --lines).") var lines: Int?
    @Option(help: "Show lines since then: \"2026-12-01 10:00\", \"1h ago\", \"today\" (journalctl --since).") var since: String?
    @Option(name: [.customShort("o"), .long], help: "journalctl's output format: short, short-precise, cat, json, verbose, ...")
    var output: String?
    @Flag(help: "Do not pipe the output into a pager.") var noPager = false
    @Argument(help: "Services or groups.") var names: [String]

    func run() throws {
        let journalPaths = ["/run/systemd/journal/socket", "/run/log/journal", "/var/log/journal"]
        guard journalPaths.contains(where: { access($0, F_OK) == 0 }) else {
            writeStderr("tend logs: there is no systemd journal on this machine: tend writes service output and its events to its own stdout and stderr here (see `tend run`'s output)\n")
            throw ExitCode(1)
        }
        // The file names the services, their identifiers and the groups; without it the names
        // are taken as services.
        let tree = try? ConfigLoader.load(path: options.target.path)
        let query = LogsQuery(follow: follow, lines: lines, since: since, output: output, pager: !noPager)
        let arguments: [String]
        do {
            arguments = try query.arguments(names: names, tree: tree, unit: tendUnit(options.target))
        } catch {
            writeStderr("tend logs: \(error) in \(options.target.path)\n")
            throw ExitCode(1)
        }
        let argv = ["journalctl"] + arguments
        let cArgv = argv.map { strdup($0) } + [nil]
        execvp("journalctl", cArgv)
        writeStderr("tend logs: cannot run journalctl: \(String(cString: strerror(errno)))\n")
        throw ExitCode(1)
    }
}

/// The unit of the tend that answers on the control socket (its peer's cgroup), so that
/// another tree's services of the same name are left out; nil when none answers.
func tendUnit(_ target: Target) -> String? {
    let fd = tend_connect_unix(target.socketPath())
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
    guard tend_peer_credentials(fd, &pid, &uid, &gid) == 0, let text = try? ConfigLoader.readFile("/proc/\(pid)/cgroup") else { return nil }
    return LogsQuery.unit(fromCgroup: text)
}

import CTend
import Foundation
import Glibc
import TendConfig
import TendCore
import TendLinux

/// The file read for `tend run`, `tend check` and every reload, parsed in a forked child that
/// sends the tree (or the errors) back in TendCore's wire form. Two faults of the TOML parser underneath
/// (toml++, through TOMLKit) stay in that child: it aborts the process on some malformed files
/// instead of failing, which in tend would end the running tree at a reload; and it never
/// frees a parsed document, which in tend would grow with every reload (1.7 MB per reload of
/// 1,000 services, measured).
enum ConfigFile {
    /// A child still parsing after this long is killed, and the file refused.
    static let trialSeconds = 10

    enum Outcome {
        case tree(TreeSpec)
        case errors([ConfigError])

        func write(to w: inout WireWriter) {
            switch self {
            case .tree(let tree):
                w.int(0)
                tree.write(to: &w)
            case .errors(let errors):
                w.int(1)
                w.int(errors.count)
                for e in errors {
                    w.string(e.file)
                    w.optional(e.line) { $0.int($1) }
                    w.optional(e.column) { $0.int($1) }
                    w.optional(e.subject) { $0.string($1) }
                    w.optional(e.key) { $0.string($1) }
                    w.string(e.message)
                }
            }
        }

        init(from r: inout WireReader) throws(WireReader.Malformed) {
            typealias M = WireReader.Malformed
            switch try r.int() {
            case 0:
                self = .tree(try TreeSpec(from: &r))
            case 1:
                var errors: [ConfigError] = []
                for _ in 0..<(try r.count()) {
                    errors.append(ConfigError(file: try r.string(), line: try r.optional { r throws(M) in Int(try r.int()) },
                                              column: try r.optional { r throws(M) in Int(try r.int()) },
                                              subject: try r.optional { r throws(M) in try r.string() },
                                              key: try r.optional { r throws(M) in try r.string() }, message: try r.string()))
                }
                self = .errors(errors)
            default:
                throw M()
            }
            guard r.atEnd else { throw M() }
        }
    }

    static func load(path: String) throws(ConfigErrors) -> TreeSpec {
        let text: String
        do {
            text = try ConfigLoader.readFile(path)
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: path, message: "\(error)")])
        }
        let outcome: Outcome
        do {
            outcome = try parseInChild(text, file: path)
        } catch {
            var refusal = ConfigError(file: path, message: error.description)
            if let line = ConfigLoader.headerWithoutKey(in: text) {
                refusal.line = line
                refusal.message += ": a table header must begin with a key (letters, digits, _ or -, or a quoted key)"
            }
            throw ConfigErrors(errors: [refusal])
        }
        switch outcome {
        case .tree(let tree): return tree
        case .errors(let errors): throw ConfigErrors(errors: errors)
        }
    }

    struct ChildFailure: Error, CustomStringConvertible {
        let description: String
    }

    static func parseHere(_ text: String, file: String) -> Outcome {
        do {
            return .tree(try ConfigLoader.parse(text, file: file))
        } catch {
            return .errors(error.errors)
        }
    }

    static func parseInChild(_ text: String, file: String) throws(ChildFailure) -> Outcome {
        var fds: [Int32] = [0, 0]
        // CLOEXEC, so no child tend spawns meanwhile holds the write end open.
        let piped = pipe(&fds) == 0 && fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0 && fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0
        let pid = piped ? fork() : -1
        if pid == 0 {
            close(fds[0])
            tend_trial_child_prepare()
            var wire = WireWriter()
            parseHere(text, file: file).write(to: &wire)
            wire.bytes.withUnsafeBytes { writeAll(fds[1], $0) }
            _exit(0)
        }
        guard pid > 0 else {
            // No pipe or no process to spare: parse here, as tend did before.
            if piped { close(fds[0]); close(fds[1]) }
            return parseHere(text, file: file)
        }
        close(fds[1])
        let deadline = Date().addingTimeInterval(Double(trialSeconds))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while true {
            var ready = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            let r = poll(&ready, 1, left)
            if r < 0, errno == EINTR { continue }
            if r == 0 {
                timedOut = true
                break
            }
            let n = read(fds[0], &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            received.append(contentsOf: chunk[0..<n])
        }
        close(fds[0])
        var status: Int32 = 0
        if timedOut || tend_wait_exit(pid, Int32(max(0, deadline.timeIntervalSinceNow) * 1000), &status) == 0 {
            kill(pid, SIGKILL)
            _ = tend_wait_exit(pid, -1, &status)
            throw ChildFailure(description: "the TOML parser did not finish within \(trialSeconds)s")
        }
        if status & 0x7F != 0 {
            throw ChildFailure(description: "the TOML parser crashed on this file (signal \(status & 0x7F)): it is not valid TOML")
        }
        var reader = WireReader(received)
        guard let outcome = try? Outcome(from: &reader) else {
            throw ChildFailure(description: "the file could not be read (its parse ended without a result)")
        }
        return outcome
    }
}

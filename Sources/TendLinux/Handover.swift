import CTend
import Glibc
import TendCore

/// What a tend that re-executes itself (`tend reexec`, SPEC section 9) hands the next one: the
/// core's whole state, and the edge's open files by their numbers (execve keeps every fd that
/// is not close-on-exec). One memfd, whose number is in `TEND_RESTORE_FD`: a line naming the
/// format, then the value in the core's compact coding (`CompactEncoder`).
/// The same text, on a copy, is first given to the binary in check mode: only a binary that
/// says it takes it over is executed in place.
public struct Handover: Codable {
    /// Changes with any change of what the edge hands over or how; the core's state has its own.
    static let currentFormat = 3
    public var core: Supervisor.State
    /// The services' main processes, by pidfd.
    var children: [Reaper.Handed]
    var pipes: OutputRouter.Handed
    var notify: NotifySocket.Handed
    var control: ControlServer.Handed?
    var listen: ListenSockets.Handed
    var fdStore: FDStore.Handed
    var cgroups: ServiceCgroups.Handed?
    var cgroupsUnavailable: String?
    /// `[supervisor] cgroups` as the first tend started with it.
    var cgroupsSetting: Bool
    var systemd: SystemdReporter.Handed?
    /// Lines and events not written yet: the console's and the journal's.
    var console: ConsoleLog.Handed
    var journal: DatagramQueue.Handed?
    var metrics: MetricsServer.Handed?
    var reloadsApplied: Int
    var logsDropped: Int
    var journalMode: Bool
    /// RLIMIT_NOFILE as the first tend started with it (children get its soft limit).
    var noFileSoft: UInt64
    var noFileHard: UInt64
    /// What was executed: said in the new tend's event and answer.
    var binary: String
    /// What the first tend's parent gave it: kept open, though no tend uses them.
    var inherited: [Int32]

    /// Every fd the next tend takes over.
    var fds: [Int32] {
        children.map(\.pidfd) + pipes.fds + [notify.fd] + (control?.fds ?? []) + listen.fds + fdStore.fds + inherited
            + (metrics.map { [$0.listener] } ?? [])
    }

    /// The environment variables of the protocol between the two binaries. With
    /// `checkVariable` set, `tend run` only reads the state, prints `acceptance` and exits 0 if
    /// it can take it over, or prints why not and exits 1.
    static let fdVariable = "TEND_RESTORE_FD"
    static let checkVariable = "TEND_RESTORE_CHECK"
    static let acceptance = "tend: can take this state over"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The first line of the memfd: a state of another format is refused by it, before any of
    /// the rest is read.
    static let headerStart = "tend state, reexec format "
    static func header(_ format: Int) -> String { "\(headerStart)\(format)\n" }

    /// A memfd holding the state, at offset 0, close-on-exec.
    func written() throws -> Int32 {
        var bytes = Array(Handover.header(Handover.currentFormat).utf8)
        do { bytes += try CompactEncoder().encode(self) } catch { throw Failure(description: "encoding the state: \(error)") }
        let fd = try check("memfd_create") { tend_memfd("tend-state") }
        if let failed = bytes.withUnsafeBytes({ writeAll(fd, $0) }) {
            close(fd)
            throw SystemError("writing the state", errno: failed)
        }
        lseek(fd, 0, SEEK_SET)
        return fd
    }

    static func read(_ fd: Int32) throws -> Handover {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("\(fdVariable)=\(fd)") }
        // 10,000 services' state is about 15 MB.
        guard st.st_mode & S_IFMT == S_IFREG, st.st_size <= 1 << 30 else {
            throw Failure(description: "\(fdVariable)=\(fd) is not a state (not a file of at most 1 GiB)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) }
            if n > 0 { offset += n } else if n < 0, errno == EINTR { continue } else if n < 0 {
                throw SystemError("reading the state")
            } else {
                throw Failure(description: "the state ends at byte \(offset) of \(bytes.count)")
            }
        }
        let lineEnd = bytes.prefix(64).firstIndex(of: UInt8(ascii: "\n"))
        guard let lineEnd, bytes.starts(with: Array(headerStart.utf8)) else {
            throw Failure(description: "not a state this tend can take over: it does not begin with a tend state's first line")
        }
        let line = String(decoding: bytes[..<lineEnd], as: UTF8.self)
        guard line + "\n" == header(currentFormat) else {
            throw Failure(description: "not a state this tend can take over: \(line.dropFirst("tend state, ".count)), this tend reads reexec format \(currentFormat)")
        }
        do {
            return try CompactDecoder().decode(Handover.self, from: Array(bytes[(lineEnd + 1)...]))
        } catch let error as DecodingError {
            throw Failure(description: "not a state this tend can take over: \(Handover.describe(error))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.isEmpty ? "" : " at " + c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let c): return c.debugDescription + path(c)
        case .keyNotFound(let key, let c): return "no \(key.stringValue)" + path(c)
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return c.debugDescription + path(c)
        @unknown default: return "\(error)"
        }
    }

    /// First thing in `tend run`: the state the tend that executed this one handed over, with
    /// the variables unset (children never see them), or nil for a fresh start. In check mode
    /// it never returns.
    public static func takeFromEnvironment() -> Handover? {
        guard let text = getenv(fdVariable).map({ String(cString: $0) }) else { return nil }
        let checking = getenv(checkVariable) != nil
        unsetenv(fdVariable)
        unsetenv(checkVariable)
        do {
            guard let fd = Int32(text), fd > 2 else { throw Failure(description: "\(fdVariable)=\(text) is not an fd") }
            let handover = try read(fd)
            close(fd)
            guard checking else { return handover }
            // What restoring checks (the nodes add up, match the tree), without running anything.
            do { _ = try Supervisor(restoring: handover.core, clock: SystemClock(), random: SystemRandom()) } catch {
                throw Failure(description: error.description)
            }
            writeAll(1, "\(acceptance): \(handover.core.tree.services.count) services, reexec format \(currentFormat)\n")
            exit(0)
        } catch {
            writeAll(2, "tend: \(error)\n")
            exit(checking ? 1 : 70)
        }
    }
}

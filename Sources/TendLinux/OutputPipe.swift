import CTend
import Glibc

/// The pipe a service writes its stdout and stderr into when there is no journal, one per
/// service for its whole life (s6 and runit keep the logger pipe across restarts the same
/// way): lines from a grandchild of an earlier run still carry the service's name. tend holds
/// only the read end: each run gets a write end opened again from it (/proc/self/fd), so
/// 10,000 services cost 10,000 fds, not 20,000. Between runs, with no writer left, the read
/// end is at end of file and the loop stops watching it.
final class OutputPipe {
    /// A line longer than this is cut into pieces, so one runaway writer cannot grow tend.
    static let maxLine = 16 * 1024
    /// tend reads on one thread only.
    nonisolated(unsafe) private static var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    let name: String
    let readEnd: Int32
    /// Kept only where a write end cannot be opened from the read end (no /proc); closed when
    /// the pipe is retired, so that its end of file comes once the last run's writers are gone.
    private var heldWriteEnd: Int32?
    /// The write end pipe2 made, handed to the first run: no reopening for a first start.
    private var firstWriteEnd: Int32?
    /// The loop watches the read end (a writer was handed out since the last end of file).
    var watched = false
    private var partial: [UInt8] = []
    /// The line being read was cut: what follows is a continuation piece.
    private var cut = false

    /// Whether a pipe's write end can be opened again through /proc/self/fd, tried once.
    static let canReopen: Bool = {
        var fds: [Int32] = [0, 0]
        guard tend_output_pipe(&fds) == 0 else { return false }
        let reopened = reopenWriter(fds[0])
        for fd in [fds[0], fds[1], reopened] where fd >= 0 { Glibc.close(fd) }
        return reopened >= 0
    }()

    /// `reopen` false is what a machine without /proc gets (tests choose it).
    init(name: String, reopen: Bool = OutputPipe.canReopen) throws {
        var fds: [Int32] = [0, 0]
        try check("pipe2") { tend_output_pipe(&fds) }
        readEnd = fds[0]
        self.name = name
        if reopen {
            firstWriteEnd = fds[1]
            heldWriteEnd = nil
        } else {
            heldWriteEnd = fds[1]
        }
    }

    /// What `tend reexec` hands the next tend: the fds (open across the exec) and the line
    /// being read, so that no byte is lost or split.
    struct Handed: Codable {
        let name: String
        let readEnd: Int32
        let heldWriteEnd: Int32?
        let watched: Bool
        let partial: [UInt8]
        let cut: Bool
        var fds: [Int32] { [readEnd] + (heldWriteEnd.map { [$0] } ?? []) }
    }

    var handed: Handed {
        Handed(name: name, readEnd: readEnd, heldWriteEnd: heldWriteEnd, watched: watched, partial: partial, cut: cut)
    }

    init(handed: Handed) {
        name = handed.name
        readEnd = handed.readEnd
        heldWriteEnd = handed.heldWriteEnd
        partial = handed.partial
        cut = handed.cut
    }

    /// A write end for one run; the caller closes it once the child has it.
    func openWriter() throws -> Int32 {
        if let first = firstWriteEnd {
            firstWriteEnd = nil
            return first
        }
        if let held = heldWriteEnd { return try check("fcntl F_DUPFD_CLOEXEC") { fcntl(held, F_DUPFD_CLOEXEC, 3) } }
        return try check("open /proc/self/fd/\(readEnd)") { OutputPipe.reopenWriter(readEnd) }
    }

    /// A pipe's other end is opened like a FIFO's: blocking, since a reader exists.
    private static func reopenWriter(_ readEnd: Int32) -> Int32 {
        open("/proc/self/fd/\(readEnd)", O_WRONLY | O_CLOEXEC)
    }

    func close() {
        Glibc.close(readEnd)
        retire()
    }

    /// No run gets a writer from this pipe again: tend lets go of the write ends it holds, so
    /// the read end reaches end of file once what the children hold is closed too.
    func retire() {
        if let heldWriteEnd { Glibc.close(heldWriteEnd) }
        if let firstWriteEnd { Glibc.close(firstWriteEnd) }
        heldWriteEnd = nil
        firstWriteEnd = nil
    }

    /// Reads what is there (one read: the loop stays fair between busy children) and hands
    /// each line, or each piece of a line longer than `maxLine`, to `emit`. A pipe full of
    /// unread lines makes the child wait; none is lost.
    /// Returns false at end of file: no process holds a write end any more, and the last
    /// bytes without a newline, if any, have been handed over as a line of their own.
    @discardableResult
    func drain(_ emit: (_ line: UnsafeRawBufferPointer, _ continuation: Bool) -> Void) -> Bool {
        let n = OutputPipe.scratch.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
        if n == 0, !partial.isEmpty {
            partial.withUnsafeBytes { emit($0, cut) }
            partial.removeAll(keepingCapacity: true)
            cut = false
        }
        guard n > 0 else { return n < 0 }
        OutputPipe.scratch.withUnsafeBytes { all in
            let chunk = UnsafeRawBufferPointer(rebasing: all[0..<n])
            var start = 0
            while start < n {
                let room = OutputPipe.maxLine - partial.count
                let end = chunk[start..<min(n, start + room)].firstIndex(of: 0x0A)
                if let end {
                    // A complete line (or the last piece of a cut one).
                    piece(UnsafeRawBufferPointer(rebasing: chunk[start..<end]), emit)
                    cut = false
                    start = end + 1
                } else if n - start >= room {
                    // No newline within the cap: a piece, and the rest continues it.
                    piece(UnsafeRawBufferPointer(rebasing: chunk[start..<(start + room)]), emit)
                    cut = true
                    start += room
                } else {
                    partial.append(contentsOf: chunk[start...])
                    start = n
                }
            }
        }
        return true
    }

    private func piece(_ bytes: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer, Bool) -> Void) {
        if partial.isEmpty {
            emit(bytes, cut)
        } else {
            partial.append(contentsOf: bytes)
            partial.withUnsafeBytes { emit($0, cut) }
            partial.removeAll(keepingCapacity: true)
        }
    }
}

import CTend
import Glibc

/// The pipe a service writes its stdout and stderr into when there is no journal, one per
/// service for its whole life (s6 and runit keep the logger pipe across restarts the same
/// way): a restart opens nothing, and lines from a grandchild of an earlier run still carry
/// the service's name.
final class OutputPipe {
    /// A line longer than this is cut into pieces, so one runaway writer cannot grow tend.
    static let maxLine = 16 * 1024
    /// tend reads on one thread only.
    nonisolated(unsafe) private static var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    let name: String
    let readEnd: Int32
    let writeEnd: Int32
    private var partial: [UInt8] = []
    /// The line being read was cut: what follows is a continuation piece.
    private var cut = false

    init(name: String) throws {
        var fds: [Int32] = [0, 0]
        try check("pipe2") { tend_output_pipe(&fds) }
        readEnd = fds[0]
        writeEnd = fds[1]
        self.name = name
    }

    func close() {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }

    /// Reads what is there (one read: the loop stays fair between busy children) and hands
    /// each line, or each piece of a line longer than `maxLine`, to `emit`. A pipe full of
    /// unread lines makes the child wait; none is lost.
    func drain(_ emit: (_ line: UnsafeRawBufferPointer, _ continuation: Bool) -> Void) {
        let n = OutputPipe.scratch.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
        guard n > 0 else { return }
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

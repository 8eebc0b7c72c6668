import CTend
import Glibc

/// The pipe a service writes its stdout and stderr into, one per service for its whole life
/// (s6 and runit keep the logger pipe across restarts the same way): a restart opens nothing,
/// and lines from a grandchild of an earlier run still carry the service's name.
final class OutputPipe {
    /// A line longer than this is cut into pieces, so one runaway writer cannot grow tend.
    static let maxLine = 16 * 1024
    /// tend reads on one thread only.
    nonisolated(unsafe) private static var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    let name: String
    let readEnd: Int32
    let writeEnd: Int32
    private var partial: [UInt8] = []

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
    /// each complete line to `emit`. A pipe full of unread lines makes the child wait; none is lost.
    func drain(_ emit: (UnsafeRawBufferPointer) -> Void) {
        let n = OutputPipe.scratch.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
        guard n > 0 else { return }
        OutputPipe.scratch.withUnsafeBytes { all in
            let chunk = UnsafeRawBufferPointer(rebasing: all[0..<n])
            var start = 0
            while let newline = chunk[start...].firstIndex(of: 0x0A) {
                if partial.isEmpty {
                    emit(UnsafeRawBufferPointer(rebasing: chunk[start..<newline]))
                } else {
                    partial.append(contentsOf: chunk[start..<newline])
                    partial.withUnsafeBytes(emit)
                    partial.removeAll(keepingCapacity: true)
                }
                start = newline + 1
            }
            partial.append(contentsOf: chunk[start...])
            while partial.count >= OutputPipe.maxLine {
                partial.withUnsafeBytes { emit(UnsafeRawBufferPointer(rebasing: $0[0..<OutputPipe.maxLine])) }
                partial.removeFirst(OutputPipe.maxLine)
            }
        }
    }
}

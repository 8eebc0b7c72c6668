import Glibc
import TendCore

/// SPEC section 5 without a journal: child lines on stdout as `NAME | line` (names coloured
/// on a terminal), tend's events on stderr, one readable line each. Lines are gathered during
/// one turn of the event loop and written at its end: one write(2) per stream per turn, not
/// one per line.
final class ConsoleLog {
    private let colour: Bool
    private var stdout: [UInt8] = []
    private var stderr: [UInt8] = []
    /// Written out at once beyond this, so a burst does not pile up in memory.
    private static let flushThreshold = 256 * 1024
    private var widths = 0
    private var colours: [String: String] = [:]
    private static let palette = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"]

    init() {
        colour = isatty(1) == 1 && getenv("NO_COLOR") == nil
    }

    func register(_ name: String) {
        widths = max(widths, name.count)
        if colours[name] == nil { colours[name] = ConsoleLog.palette[colours.count % ConsoleLog.palette.count] }
    }

    func line(_ name: String, _ bytes: UnsafeRawBufferPointer) {
        let padded = name.count < widths ? name + String(repeating: " ", count: widths - name.count) : name
        let prefix = colour ? "\u{1B}[\(colours[name] ?? "36")m\(padded)\u{1B}[0m | " : "\(padded) | "
        stdout.append(contentsOf: prefix.utf8)
        stdout.append(contentsOf: bytes)
        stdout.append(0x0A)
        if stdout.count > ConsoleLog.flushThreshold { flush() }
    }

    func event(_ event: Event) {
        stderr.append(contentsOf: "\(ConsoleLog.timestamp()) \(event)\n".utf8)
        if stderr.count > ConsoleLog.flushThreshold { flush() }
    }

    func flush() {
        if !stdout.isEmpty {
            stdout.withUnsafeBytes { writeAll(1, $0) }
            stdout.removeAll(keepingCapacity: stdout.count <= ConsoleLog.flushThreshold * 2)
        }
        if !stderr.isEmpty {
            stderr.withUnsafeBytes { writeAll(2, $0) }
            stderr.removeAll(keepingCapacity: stderr.count <= ConsoleLog.flushThreshold * 2)
        }
    }

    /// Local wall-clock time, to the millisecond.
    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var seconds = tv.tv_sec
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let ms = Int(tv.tv_usec / 1000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(msText)"
    }
}

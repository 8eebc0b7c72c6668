import Glibc
import TendCore

/// SPEC section 5 without a journal: child lines on stdout as `NAME | line` (names coloured
/// on a terminal), tend's events on stderr, one readable line each.
final class ConsoleLog {
    private let colour: Bool
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
        var out = [UInt8](prefix.utf8)
        out.append(contentsOf: bytes)
        out.append(0x0A)
        out.withUnsafeBytes { writeAll(1, $0) }
    }

    func event(_ event: Event) {
        writeAll(2, "\(ConsoleLog.timestamp()) \(event)\n")
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

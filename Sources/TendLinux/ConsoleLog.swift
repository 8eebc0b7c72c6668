import Glibc
import TendCore

/// SPEC section 5 without a journal: child lines on stdout as `NAME | line` (names coloured
/// on a terminal), tend's events on stderr, one readable line each. Lines are gathered during
/// one turn of the event loop and written at its end, without ever blocking (ConsoleStream).
final class ConsoleLog {
    private let colour: Bool
    let stdout: ConsoleStream
    let stderr: ConsoleStream
    private var widths = 0
    private var colours: [String: String] = [:]
    private static let palette = ["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"]

    init(loop: EventLoop) {
        colour = isatty(1) == 1 && getenv("NO_COLOR") == nil
        stdout = ConsoleStream(fd: 1, loop: loop)
        stderr = ConsoleStream(fd: 2, loop: loop)
    }

    func register(_ name: String) {
        widths = max(widths, name.count)
        if colours[name] == nil { colours[name] = ConsoleLog.palette[colours.count % ConsoleLog.palette.count] }
    }

    /// One line of a child's output. A leading `<N>` (sd-daemon's level prefix) is taken off
    /// the start of a line, never off a continuation piece of a line cut at the length cap.
    func line(_ name: String, _ bytes: UnsafeRawBufferPointer, continuation: Bool) {
        let padded = name.count < widths ? name + String(repeating: " ", count: widths - name.count) : name
        var prefix = colour ? "\u{1B}[\(colours[name] ?? "36")m\(padded)\u{1B}[0m | " : "\(padded) | "
        var text = bytes
        if !continuation, LevelPrefix.level(of: bytes) != nil { text = UnsafeRawBufferPointer(rebasing: bytes[3...]) }
        prefix.withUTF8 { p in
            withUnsafeBytes(of: UInt8(0x0A)) { newline in stdout.append(UnsafeRawBufferPointer(p), text, newline) }
        }
    }

    func event(_ event: Event) {
        var text = "\(ConsoleLog.timestamp()) \(event)\n"
        text.withUTF8 { stderr.append(UnsafeRawBufferPointer($0)) }
    }

    func flush() {
        stdout.flush()
        stderr.flush()
    }

    struct Handed: Codable {
        let stdout: ConsoleStream.Handed
        let stderr: ConsoleStream.Handed
    }

    var handed: Handed { Handed(stdout: stdout.handed, stderr: stderr.handed) }

    func adopt(_ handed: Handed) {
        stdout.adopt(handed.stdout)
        stderr.adopt(handed.stderr)
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

/// sd-daemon(3)'s `<N>` at the start of a line: the syslog level 0-7 of that line.
enum LevelPrefix {
    static func level(of bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 3, bytes[0] == UInt8(ascii: "<"), bytes[2] == UInt8(ascii: ">"),
              (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(bytes[1]) else { return nil }
        return Int(bytes[1] - UInt8(ascii: "0"))
    }
}

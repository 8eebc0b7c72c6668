/// A Linux signal by number, named as `kill -l` names it. The numbers are the kernel's ABI
/// on every Linux architecture tend builds for (x86_64, aarch64).
public struct Signal: Hashable, Sendable, Codable, CustomStringConvertible {
    public let number: Int32

    public init(number: Int32) { self.number = number }

    /// "TERM", "SIGTERM", "term" or "15".
    public init?(parsing text: String) {
        if let n = Int32(text), n > 0, n < 65 { self.init(number: n); return }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        guard let index = Signal.names.firstIndex(of: name), index > 0 else { return nil }
        self.init(number: Int32(index))
    }

    /// "SIGTERM", or "SIG42" for a real-time signal.
    public var description: String {
        Int(number) < Signal.names.count ? "SIG" + Signal.names[Int(number)] : "SIG\(number)"
    }

    static let names = ["", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
                        "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",
                        "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"]

    public static let hup = Signal(number: 1)
    public static let int = Signal(number: 2)
    public static let abrt = Signal(number: 6)
    public static let kill = Signal(number: 9)
    public static let term = Signal(number: 15)
    public static let cont = Signal(number: 18)
}

/// How a child ended, as waitpid reports it.
public enum ExitStatus: Hashable, Sendable, Codable, CustomStringConvertible {
    case exited(Int32)
    case killed(Signal)
    case dumped(Signal)

    public var description: String {
        switch self {
        case .exited(let code): return "exit code \(code)"
        case .killed(let s): return "killed by \(s)"
        case .dumped(let s): return "killed by \(s) (core dumped)"
        }
    }

    /// The shell's convention: the code, or 128 + the signal.
    public var shellCode: Int32 {
        switch self {
        case .exited(let code): return code
        case .killed(let s), .dumped(let s): return 128 + s.number
        }
    }
}

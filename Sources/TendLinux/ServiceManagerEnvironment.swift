import Glibc
import TendCore

/// What systemd hands tend in its environment (SPEC sections 4 and 5), read once at start and
/// then removed from the environment, so that nothing tend starts can inherit it.
public struct ServiceManagerEnvironment: Sendable {
    /// NOTIFY_SOCKET: where READY=1, STATUS=, WATCHDOG=1 ... go; nil when not under systemd.
    public var notifySocket: String?
    /// Half of WATCHDOG_USEC (sd_watchdog_enabled's advice), when the watchdog is meant for
    /// tend: WATCHDOG_PID unset or tend's own pid.
    public var watchdogInterval: Duration?
    /// JOURNAL_STREAM names the socket that is tend's stderr: systemd connected it to the journal.
    public var stderrIsJournal: Bool
    /// The variables as they were: `tend reexec` puts them back for the binary it executes.
    var variables: [String: String] = [:]

    public init(notifySocket: String? = nil, watchdogInterval: Duration? = nil, stderrIsJournal: Bool = false) {
        self.notifySocket = notifySocket
        self.watchdogInterval = watchdogInterval
        self.stderrIsJournal = stderrIsJournal
    }

    static let names = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"]

    /// Reads the variables and unsets them. Call once, first thing in `tend run`.
    public static func take() -> ServiceManagerEnvironment {
        func value(_ name: String) -> String? { getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
        var result = ServiceManagerEnvironment(notifySocket: value("NOTIFY_SOCKET"))
        if let usec = value("WATCHDOG_USEC").flatMap(UInt64.init), usec > 0,
           value("WATCHDOG_PID").map({ Int32($0) == getpid() }) ?? true {
            // Past 365 days (systemd's "infinity" is UINT64_MAX - 1 or so): pinging every
            // 182 days keeps any watchdog fed, and no deadline can wrap.
            result.watchdogInterval = max(Bounds.span(microseconds: usec / 2) ?? Bounds.maxSpan, .milliseconds(1))
        }
        if let stream = value("JOURNAL_STREAM") {
            let parts = stream.split(separator: ":")
            var st = stat()
            if parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]), fstat(2, &st) == 0 {
                result.stderrIsJournal = UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
            }
        }
        for name in names {
            if let value = getenv(name) { result.variables[name] = String(cString: value) }
            unsetenv(name)
        }
        return result
    }

    /// SPEC section 5: the journal is used under systemd, that is when journald's stream
    /// socket is there or systemd connected tend's stderr to the journal.
    public var journalPresent: Bool {
        var st = stat()
        let socketThere = stat(JournalPaths.stream, &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK
        return socketThere || stderrIsJournal
    }
}

enum JournalPaths {
    /// Stream connections: one per child, as systemd's StandardOutput=journal.
    static let stream = "/run/systemd/journal/stdout"
    /// Datagrams in the native protocol: tend's own structured entries.
    static let native = "/run/systemd/journal/socket"
}

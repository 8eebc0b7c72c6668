/// The states operators see (SPEC section 3).
public enum ServiceState: String, Sendable, CaseIterable {
    case stopped, starting, running, stopping, backoff, exited, failed
}

/// One row of `tend status`.
public struct ServiceStatus: Equatable, Sendable {
    public var name: String
    /// nil at the root.
    public var group: String?
    public var state: ServiceState
    public var pid: Int32?
    public var restarts: Int
    public var uptime: Duration?
    public var lastExit: ExitStatus?
    public var statusText: String?

    public init(name: String, group: String?, state: ServiceState, pid: Int32?, restarts: Int, uptime: Duration?,
                lastExit: ExitStatus?, statusText: String?) {
        self.name = name
        self.group = group
        self.state = state
        self.pid = pid
        self.restarts = restarts
        self.uptime = uptime
        self.lastExit = lastExit
        self.statusText = statusText
    }
}

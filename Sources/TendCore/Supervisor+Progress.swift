/// What tend tells its own service manager (SPEC section 4): whether the tree is up, a one-line
/// summary, and how long what is under way may still take.
extension Supervisor {
    /// Changes whenever any service changes state.
    public var stateGeneration: Int { changes.generation }

    /// Every autostart service has been ready once, or has settled where it cannot become
    /// ready without a restart (backoff, exited, failed, stopped), or waits behind one that
    /// has (nothing is starting or stopping).
    public var isStartupSettled: Bool {
        let active = services.filter { !$0.removed }
        let moving = active.contains { $0.phase == .starting || $0.phase == .stopping }
        return active.allSatisfy { s in
            guard s.spec.autostart, !s.everReady else { return true }
            switch s.phase {
            case .backoff, .exited, .failed, .stopped, .running, .scheduled: return true
            case .waiting: return !moving
            case .starting, .stopping: return false
            }
        }
    }

    /// `5/6 running, 1 backoff`: running out of all, then the other states that are not empty.
    public var summary: String {
        var counts: [ServiceState: Int] = [:]
        var total = 0
        for s in services where !s.removed {
            counts[status(of: s.id).state, default: 0] += 1
            total += 1
        }
        let others = ServiceState.allCases.filter { $0 != .running }.compactMap { state in
            counts[state].map { "\($0) \(state.rawValue)" }
        }
        return (["\(counts[.running] ?? 0)/\(total) running"] + others).joined(separator: ", ")
    }

    /// The longest a start or stop now under way may still take by its own timeout (a start
    /// waiting for readiness: start_timeout; a stop: stop_timeout), or nil when none is.
    public var longestPendingTimeout: Duration? {
        services.compactMap { s -> Duration? in
            switch s.phase {
            case .starting where s.pid != nil: return s.spec.startTimeout
            case .stopping: return s.spec.stopTimeout
            default: return nil
            }
        }.max()
    }
}

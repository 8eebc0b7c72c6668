/// What to do with a child that ended without being asked to, and why: the reason is logged.
public enum RestartDecision: Equatable, Sendable {
    case restart(reason: String)
    /// Ended and not to be restarted: the `exited` state.
    case exit(reason: String)
    /// max_restarts reached: the `failed` state, down until started again.
    case giveUp(reason: String)

    public var reason: String {
        switch self {
        case .restart(let r), .exit(let r), .giveUp(let r): return r
        }
    }
}

extension ServiceSpec {
    /// Whether `status` counts as success under `success_exit_codes`; a signal never does.
    public func isSuccess(_ status: ExitStatus) -> Bool {
        if case .exited(let code) = status { return successExitCodes.contains(code) }
        return false
    }

    /// The decision for a run that ended unrequested (`status` nil: it never ran or tend killed
    /// it for a fault, `cause` says which). `failedRuns` counts this run and the runs in a row
    /// before it that ended unrequested.
    public func restartDecision(after status: ExitStatus?, failedRuns: Int, cause: String? = nil) -> RestartDecision {
        let what = cause ?? status.map { "\($0)" } ?? "the start failed"
        switch restart {
        case .never:
            return .exit(reason: "\(what), restart=never")
        case .onFailure where status.map(isSuccess) == true:
            return .exit(reason: "\(what) is a success, restart=on-failure")
        case .always, .onFailure:
            if let max = maxRestarts, failedRuns > max {
                return .giveUp(reason: "\(what), \(failedRuns) failed runs in a row, max_restarts=\(max)")
            }
            return .restart(reason: "\(what), restart=\(restart.rawValue)")
        }
    }
}

extension Backoff {
    /// The delay before the n-th consecutive restart (n >= 1): min(max, initial * factor^(n-1)),
    /// spread by +-jitter with `unit` uniform in [0, 1).
    public func delay(restart n: Int, unit: Double) -> Duration {
        // initial * factor^(n-1), where factor^(n-1) may overflow to infinity (0 * inf is NaN).
        let growth = pow(factor, Double(Swift.max(n, 1) - 1))
        let base = initial == .zero ? 0 : (growth.isFinite ? initial.seconds * growth : .infinity)
        let capped = Swift.min(self.max.seconds, base)
        let spread = capped * (1 + jitter * (2 * unit - 1))
        return .nanoseconds(Int64(Swift.max(0, spread) * 1e9))
    }
}

/// x^n by squaring, for backoff's whole exponents; the core imports no libm.
func pow(_ x: Double, _ y: Double) -> Double {
    var result = 1.0
    var base = x
    var n = Int(y)
    while n > 0, result.isFinite {
        if n & 1 == 1 { result *= base }
        base *= base
        n >>= 1
    }
    return result
}

/// OTP's restart intensity: a sliding window over monotonic time.
public struct IntensityWindow: Sendable {
    public let limit: Intensity
    private(set) var restarts: [Instant] = []

    public init(_ limit: Intensity) { self.limit = limit }

    /// Records a restart at `now`; true when the group must give up (more than `limit.restarts`
    /// within `limit.period`).
    public mutating func record(at now: Instant) -> Bool {
        let horizon = now - limit.period
        restarts.removeAll { $0 <= horizon }
        restarts.append(now)
        return restarts.count > limit.restarts
    }

    public var count: Int { restarts.count }
}

/// Why tend ended a run it had not been asked to end.
public enum Fault: Equatable, Sendable, Codable, CustomStringConvertible {
    /// Not ready within start_timeout.
    case startTimeout(Duration)
    /// `retries` health checks failed in a row; `last`: how the last one failed.
    case unhealthy(retries: Int, last: String)
    /// No WATCHDOG=1 in time, or WATCHDOG=trigger; `why` says which.
    case watchdog(String)

    /// Its word in `RunResult`.
    public var result: RunResult {
        switch self {
        case .startTimeout: return .startTimeout
        case .unhealthy: return .unhealthy
        case .watchdog: return .watchdog
        }
    }

    public var description: String {
        switch self {
        case .startTimeout(let span): return "not ready within start_timeout=\(span.humanReadable)"
        case .unhealthy(let retries, let last): return "unhealthy: \(retries) health checks failed in a row, the last \(last)"
        case .watchdog(let why): return "watchdog: \(why)"
        }
    }
}

/// How a run that nobody asked to stop came to its end: what the restart policy judges.
public enum RunEnd: Equatable, Sendable, CustomStringConvertible {
    /// It exited, or a signal not of tend's ended it.
    case ended(ExitStatus)
    /// It never ran: fork, exec, its user (the edge's words).
    case spawnFailed(String)
    /// tend ended it for `fault`; `status`: how it then ended.
    case fault(Fault, ExitStatus?)
    /// The kernel's OOM killer ended it (its cgroup's memory.events counted a kill), with
    /// SIGKILL; `memoryMax`: the service's memory_max, if it has one.
    case oomKilled(memoryMax: UInt64?)

    /// The exit status a policy weighs: only that of a run that ended by itself.
    public var ownStatus: ExitStatus? {
        if case .ended(let status) = self { return status }
        return nil
    }

    /// How the process ended; nil if it never ran.
    public var status: ExitStatus? {
        switch self {
        case .ended(let status): return status
        case .spawnFailed: return nil
        case .fault(_, let status): return status
        case .oomKilled: return .killed(.kill)
        }
    }

    /// What went wrong besides the exit itself: the fault, or why it could not start.
    public var cause: String? {
        switch self {
        case .ended, .oomKilled: return nil
        case .spawnFailed(let error): return error
        case .fault(let fault, _): return fault.description
        }
    }

    /// Its word, judged by `isSuccess` (the service's success_exit_codes).
    public func result(isSuccess: (ExitStatus) -> Bool) -> RunResult {
        switch self {
        case .ended(let status): return RunResult(status, isSuccess: isSuccess)
        case .spawnFailed: return .spawnFailed
        case .fault(let fault, _): return fault.result
        case .oomKilled: return .oomKill
        }
    }

    /// "exit code 3", "fork: ...", "watchdog: ... (killed by SIGABRT)", "killed by the OOM
    /// killer (memory_max 512M)".
    public var description: String {
        switch self {
        case .ended(let status): return "\(status)"
        case .spawnFailed(let error): return error
        case .fault(let fault, let status?): return "\(fault) (\(status))"
        case .fault(let fault, nil): return "\(fault)"
        case .oomKilled(let max?): return "killed by the OOM killer (memory_max \(CgroupLimits.size(max)))"
        case .oomKilled(nil): return "killed by the OOM killer"
        }
    }
}

/// How a run ended, in one word (systemd's `Result=` names where they mean the same): the
/// journal's `TEND_RESULT`, an exit's `result` in `tend status`.
public enum RunResult: String, Sendable, CaseIterable, Codable {
    /// It exited with a success code.
    case success
    /// It exited with another code.
    case exitCode = "exit-code"
    /// A signal ended it (not tend's stop).
    case signal
    case coreDump = "core-dump"
    /// The kernel's OOM killer ended it (systemd's `oom-kill`).
    case oomKill = "oom-kill"
    /// It never ran: fork, exec, its user, its directory.
    case spawnFailed = "spawn-failed"
    /// tend ended it: not ready within start_timeout.
    case startTimeout = "start-timeout"
    /// tend ended it: its health checks failed.
    case unhealthy
    /// tend ended it: its watchdog expired.
    case watchdog
    /// tend stopped it as asked (an operator, a shutdown, a reload, a group's strategy).
    case stopped

    public init(_ status: ExitStatus, isSuccess: (ExitStatus) -> Bool) {
        switch status {
        case _ where isSuccess(status): self = .success
        case .exited: self = .exitCode
        case .killed: self = .signal
        case .dumped: self = .coreDump
        }
    }
}

/// What to do with a child that ended without being asked to, and why: the why is logged.
public enum RestartDecision: Equatable, Sendable, CustomStringConvertible {
    /// Restarted, as `restart` (always or on-failure) says.
    case restart(RestartPolicy)
    /// Ended and not to be restarted: the `exited` state.
    case exit(ExitReason)
    /// max_restarts reached: the `failed` state, down until started again.
    case giveUp(failedRuns: Int, maxRestarts: Int)

    public enum ExitReason: Equatable, Sendable {
        /// restart = never.
        case neverRestarted
        /// A success, under restart = on-failure.
        case succeeded
    }

    /// Its word: the journal's `TEND_DECISION`.
    public var word: String {
        switch self {
        case .restart: return "restart"
        case .exit(.neverRestarted): return "never"
        case .exit(.succeeded): return "succeeded"
        case .giveUp: return "give-up"
        }
    }

    /// The policy's part of the why: "restart=always", "a success, restart=on-failure",
    /// "4 failed runs in a row, max_restarts=3".
    public var description: String {
        switch self {
        case .restart(let policy): return "restart=\(policy.rawValue)"
        case .exit(.neverRestarted): return "restart=never"
        case .exit(.succeeded): return "a success, restart=on-failure"
        case .giveUp(let runs, let max): return "\(runs) failed runs in a row, max_restarts=\(max)"
        }
    }
}

extension ServiceSpec {
    /// Whether `status` counts as success under `success_exit_codes`; a signal never does.
    public func isSuccess(_ status: ExitStatus) -> Bool {
        if case .exited(let code) = status { return successExitCodes.contains(code) }
        return false
    }

    /// The decision for a run that ended unrequested. `failedRuns` counts this run and the
    /// runs in a row before it that ended unrequested.
    public func restartDecision(after end: RunEnd, failedRuns: Int) -> RestartDecision {
        switch restart {
        case .never:
            return .exit(.neverRestarted)
        case .onFailure where end.ownStatus.map(isSuccess) == true:
            return .exit(.succeeded)
        case .always, .onFailure:
            if let max = maxRestarts, failedRuns > max { return .giveUp(failedRuns: failedRuns, maxRestarts: max) }
            return .restart(restart)
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
public struct IntensityWindow: Sendable, Codable, Equatable {
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

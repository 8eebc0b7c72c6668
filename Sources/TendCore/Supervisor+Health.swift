/// Health checks and child watchdogs: a running service that is alive but not well is
/// restarted through its group's strategy, like a crash (counted toward intensity and backoff).
extension Supervisor {
    /// The run became ready: the first check is one interval away.
    func startHealthChecks(_ s: ServiceNode) {
        s.updateChild { $0.readyAt = now }
        guard let check = s.spec.health, s.pid != nil else { return }
        healthTimers.set(s.id, at: now + check.interval)
    }

    /// The run is ending: no more checks, and the one in flight is killed.
    func stopHealthChecks(_ s: ServiceNode) {
        healthTimers.clear(s.id)
        if s.child?.healthInFlight == true {
            s.updateChild { $0.healthInFlight = false }
            emit(.cancelHealthCheck(s.id))
        }
    }

    /// Time for the next check, or the one in flight ran out of time.
    func healthTimerPassed(_ s: ServiceNode) {
        guard let check = s.spec.health, s.heeds(.health), let child = s.child else { return }
        if child.healthInFlight {
            s.updateChild { $0.healthInFlight = false }
            emit(.cancelHealthCheck(s.id))
            healthResult(s, passed: false, detail: "timed out after \(check.timeout.humanReadable)")
        } else {
            s.updateChild { $0.healthInFlight = true }
            emit(.runHealthCheck(s.id, run: s.run, check.probe))
            healthTimers.set(s.id, at: now + check.timeout)
        }
    }

    /// A check of `run` ended: `detail` is why it failed (its output, or the connect error).
    public func healthCheckFinished(_ id: ServiceID, run: Int, passed: Bool, detail: String) {
        let s = services[id]
        guard s.run == run, s.heeds(.health), s.child?.healthInFlight == true else { return }
        s.updateChild { $0.healthInFlight = false }
        healthResult(s, passed: passed, detail: detail)
        openGates()
    }

    private func healthResult(_ s: ServiceNode, passed: Bool, detail: String) {
        guard let check = s.spec.health, let child = s.child else { return }
        if passed {
            if child.healthFailures > 0 { event(.healthy, s, "the health check passed again after \(child.healthFailures) failures") }
            s.updateChild {
                $0.healthFailures = 0
                $0.healthKnown = true
            }
        } else if let ready = child.readyAt, now - ready < check.startPeriod {
            // Warming up: a failure does not count yet.
        } else {
            let failures = child.healthFailures + 1
            s.updateChild {
                $0.healthFailures = failures
                $0.healthKnown = true
            }
            let what = detail.isEmpty ? "failed" : "failed: \(detail)"
            event(.unhealthy, s, "health check \(failures)/\(check.retries) \(what)")
            if failures >= check.retries {
                let fault = Fault.unhealthy(retries: check.retries, last: what)
                event(.stopping, s, "\(fault); sending \(s.spec.stopSignal)")
                signalStop(s, reason: .fault(fault))
                return
            }
        }
        healthTimers.set(s.id, at: now + check.interval)
    }

    /// `tend status`: nil without a check or while not running.
    func health(of s: ServiceNode) -> String? {
        guard let check = s.spec.health, s.phase == .running, let child = s.child else { return nil }
        if !child.healthKnown { return "starting" }
        return child.healthFailures == 0 ? "healthy" : "unhealthy \(child.healthFailures)/\(check.retries)"
    }

    /// No WATCHDOG=1 in time, or WATCHDOG=trigger: SIGABRT to the main process (a core dump
    /// shows where it hung), SIGKILL after stop_timeout, then a restart by policy.
    /// `forced`: WATCHDOG=trigger, which systemd honours whether or not a span is set.
    func watchdogExpired(_ s: ServiceNode, reason: String, forced: Bool = false) {
        guard s.heeds(.liveness), let pid = s.pid, s.child?.watchdogSpan != nil || forced else { return }
        let fault = Fault.watchdog(reason)
        event(.watchdog, s, "\(reason); sending SIGABRT")
        if s.phase == .starting { stopProbing(s) }
        stopHealthChecks(s)
        watchdogs.clear(s.id)
        s.enter(because: .watchdogFired, stopReason: .fault(fault))
        emit(.signal(pid: pid, .abrt, processGroup: false))
        deadlines.set(.service(s.id), at: now + s.spec.stopTimeout)
    }

    /// WATCHDOG_USEC=N from the child: a new span from now on, for this run (0: off).
    func changeWatchdog(_ s: ServiceNode, microseconds text: String) {
        // Not a number, or past 365 days: ignored, as a malformed line is.
        guard let usec = UInt64(text), let span = Bounds.span(microseconds: usec), s.heeds(.liveness) else { return }
        if usec == 0 {
            s.updateChild { $0.watchdogSpan = nil }
            watchdogs.clear(s.id)
        } else {
            s.updateChild { $0.watchdogSpan = span }
            watchdogs.set(s.id, at: now + span)
        }
    }
}

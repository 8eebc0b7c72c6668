/// A child ended unrequested: decide, then let its group apply its strategy and intensity.
extension Supervisor {
    /// The run ended without tend asking, as `end` says.
    func endedUnrequested(_ s: ServiceNode, _ end: RunEnd, pid: Int32? = nil) {
        deadlines.clear(.service(s.id))
        let status = end.status, result = end.result(isSuccess: s.spec.isSuccess)
        let kind: Event.Kind
        if case .spawnFailed = end { kind = .spawnFailed } else { kind = .exited }

        let g = groups[s.parent]
        if isBeingTornDown(g) || (g.isStopping && g.plan?.contains(.service(s.id)) == true) {
            // It was about to be stopped anyway; a restart plan starts it again.
            event(kind, s, "\(end)", pid: pid, exit: status, result: result)
            enterStopped(s)
            return
        }
        if s.spec.isJob { return jobRunEnded(s, end, kind: kind, pid: pid) }
        if s.spec.ready == .exited, s.phase == .starting, case .ended(.exited(let code)) = end,
           s.spec.successExitCodes.contains(code) {
            return oneShotCompleted(s, status: status, pid: pid)
        }
        if let started = s.child?.startedAt, now - started >= s.spec.backoff.resetAfter { s.failedRuns = 0 }
        s.failedRuns += 1

        let decision = s.spec.restartDecision(after: end, failedRuns: s.failedRuns)
        let verdict: String
        switch decision {
        case .exit: verdict = "not restarting (\(decision))"
        case .giveUp: verdict = "giving up"
        case .restart: verdict = "restarting"
        }
        event(kind, s, "\(end); \(verdict)", pid: pid, exit: status, result: result, decision: decision)
        switch decision {
        case .exit:
            s.enter(because: .ended)
            s.wanted = false
            if s.spec.critical { return criticalEnded(s, code: status.map(Supervisor.exitCode) ?? 1) }
            if g.isStopping { stopNext(g) }
        case .giveUp:
            s.enter(because: .gaveUp)
            s.wanted = false
            event(.gaveUp, s, "\(end.cause ?? "\(end)"), \(decision)", result: result, decision: decision)
            if s.spec.critical { return criticalEnded(s, code: 1) }
            if g.isStopping { stopNext(g) }
        case .restart:
            let delay = s.spec.backoff.delay(restart: s.failedRuns, unit: random.nextUnit())
            s.restarts += 1
            s.enter(because: .restartPlanned)
            event(.restarting, s, "in \(delay.humanReadable) (\(decision), restart #\(s.restarts))", decision: decision,
                  delay: delay)
            restartChild(.service(s.id), in: g, after: delay)
        }
    }

    /// A one-shot task's run exited with a success code: it is ready (what waits for it in
    /// `after` may start) and done; it runs again only when started or restarted.
    func oneShotCompleted(_ s: ServiceNode, status: ExitStatus?, pid: Int32?) {
        stopProbing(s)
        s.failedRuns = 0
        s.enter(because: .ended)
        s.wanted = false
        s.completed = true
        event(.exited, s, "\(status.map { "\($0)" } ?? ""); done (ready = exited)", pid: pid, exit: status, result: .success)
        event(.ready, s, "exited")
        if s.spec.critical { return criticalEnded(s, code: 0) }
        let g = groups[s.parent]
        if g.isStopping { stopNext(g) }
    }

    /// `tend run`'s exit status for a critical service that ended so: its code, or 128+N for
    /// signal N, as a shell reports it.
    static func exitCode(_ status: ExitStatus) -> Int32 {
        switch status {
        case .exited(let code): return code
        case .killed(let signal), .dumped(let signal): return 128 + signal.number
        }
    }

    /// A critical service ended for good: the whole tree stops in reverse order, and `tend run`
    /// exits with `code` (OTP's significant child with auto_shutdown).
    func criticalEnded(_ s: ServiceNode, code: Int32) {
        let root = groups[Supervisor.root]
        guard !shuttingDown else { return }
        shuttingDown = true
        pendingReload = nil
        emit(.notifyManager(.stopping))
        emit(.event(Event(kind: .shutdown, subject: "",
                          message: "\(s.spec.name) is critical and has ended for good: stopping every service \(stopOrder(root)), exit status \(code)")))
        beginStops(root, then: .exit(code))
    }

    /// Counts a restart against `g`'s intensity, then applies its strategy to `child`, which
    /// is down (a service in backoff, or a group that gave up).
    func restartChild(_ child: Node, in g: GroupNode, after delay: Duration) {
        if g.fields.window?.record(at: now) == true {
            if case .service(let id) = child { services[id].enter(because: .dismissed) }
            giveUp(g)
            return
        }
        if case .group(let index) = child {
            event(.restarting, group: groups[index], "restarting the group (its parent's strategy is \(g.spec.strategy.rawValue))")
        }
        switch g.spec.strategy {
        case .oneForOne:
            switch child {
            case .service: deadlines.set(child, at: now + delay)
            case .group: makeWaiting(child)
            }
        case .oneForAll, .restForOne:
            guard let index = g.children.firstIndex(of: child) else { return }
            let affected = g.spec.strategy == .oneForAll ? g.children[...] : g.children[index...]
            let plan = (g.plan ?? []).union(affected)
            g.plan = plan
            g.resumeAt = max(g.resumeAt ?? now, now + delay)
            deadlines.clear(.group(g.index))
            beginStops(g, g.children.filter(plan.contains), then: .restartPlan)
        }
    }

    func giveUp(_ g: GroupNode) {
        let limit = g.spec.intensity.map { "more than \($0.restarts) restarts within \($0.period.humanReadable)" } ?? ""
        if g.index == Supervisor.root {
            // tend exits once the tree is down: a shutdown, so no reload or operator start
            // can begin under it (what it started would outlive the exit).
            shuttingDown = true
            pendingReload = nil
            emit(.notifyManager(.stopping))
            event(.gaveUp, group: g, "\(limit): stopping everything, exit status 1")
            beginStops(g, then: .exit(1))
        } else {
            event(.gaveUp, group: g, "\(limit): stopping its children")
            beginStops(g, then: .gaveUp)
        }
    }

    /// The children a strategy stopped are all down and the backoff has passed: start them in order.
    func resumePlan(_ g: GroupNode) {
        let plan = g.plan ?? []
        g.plan = nil
        g.resumeAt = nil
        deadlines.clear(.group(g.index))
        for child in g.children where plan.contains(child) { makeWaiting(child) }
        // What waited for the plan without being in it (a reload added it meanwhile) may go
        // first: no change of a later sibling wakes it.
        candidates.append(contentsOf: g.children)
    }
}

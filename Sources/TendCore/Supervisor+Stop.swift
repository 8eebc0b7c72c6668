/// Stopping: a group stops its children in reverse order, each gone before the next is
/// signalled, then does what it stopped for (restart some, give up, let its parent go on, exit).
extension Supervisor {
    func signalStop(_ s: ServiceNode, reason: StopReason) {
        guard let pid = s.pid else { return }
        if s.phase == .starting { stopProbing(s) }
        stopHealthChecks(s)
        watchdogs.clear(s.id)
        s.enter(because: .stopSent, stopReason: reason)
        let group = s.spec.killMode == .group
        emit(.signal(pid: pid, s.spec.stopSignal, processGroup: group))
        if s.spec.stopSignal != .kill, s.spec.stopSignal != .cont {
            // A stopped process cannot act on the stop signal until it is continued.
            emit(.signal(pid: pid, .cont, processGroup: group))
        }
        deadlines.set(.service(s.id), at: now + s.spec.stopTimeout)
    }

    /// STOPPING=1 from the service: `stopping` until it exits, no health check or watchdog
    /// meanwhile, SIGKILL if it is still there after stop_timeout.
    func announcedStop(_ s: ServiceNode) {
        if s.phase == .starting { stopProbing(s) }
        stopHealthChecks(s)
        watchdogs.clear(s.id)
        s.enter(because: .stopAnnounced)
        event(.stopping, s, "the service sent STOPPING=1")
        deadlines.set(.service(s.id), at: now + s.spec.stopTimeout)
    }

    /// How `g` stops its children, for the events that say so.
    func stopOrder(_ g: GroupNode) -> String { g.spec.parallel ? "all at once" : "in reverse order" }

    /// Stops `nodes` (default: every child) of `g` in reverse order, then `then`; in a
    /// parallel group all of them at once, then waits for each.
    func beginStops(_ g: GroupNode, _ nodes: [Node]? = nil, then: WhenStopped) {
        var queue = nodes ?? g.children
        // One child at a time: one already stopping stays first in line.
        if let busy = queue.firstIndex(where: isStoppingNow) { queue.append(queue.remove(at: busy)) }
        g.stopQueue = queue
        g.whenStopped = then
        if then != .restartPlan {
            g.plan = nil
            g.resumeAt = nil
            deadlines.clear(.group(g.index))
        }
        // Each asked now; stopNext then goes down the queue as each is gone. (A child group
        // that ends at once may run stopNext meanwhile: what it asked is asked again, harmlessly.)
        if g.spec.parallel { for node in queue.reversed() where g.whenStopped != nil { _ = stopOne(node, in: g) } }
        stopNext(g)
    }

    func isStoppingNow(_ node: Node) -> Bool {
        if case .service(let id) = node { return services[id].phase == .stopping }
        return false
    }

    /// Asks `node`, a child of `g` on its stop queue, to stop; true once it is down (then it
    /// leaves the queue), false while its stop is under way.
    func stopOne(_ node: Node, in g: GroupNode) -> Bool {
        switch node {
        case .service(let id):
            let s = services[id]
            switch s.phase {
            case .starting, .running:
                guard s.pid != nil else {
                    s.enter(because: .dismissed)
                    return true
                }
                event(.stopping, s, "sending \(s.spec.stopSignal)")
                signalStop(s, reason: .requested)
                return false
            case .stopping:
                s.enter(because: .stopAsked)
                return false
            case .waiting, .backoff, .scheduled:
                s.enter(because: .dismissed)
                deadlines.clear(node)
                jobDue.clear(id)
                return true
            case .stopped, .exited, .failed:
                return true
            }
        case .group(let index):
            let h = groups[index]
            if isQuiet(node) {
                quiesce(h)
                return true
            }
            if h.whenStopped != .parentStopping { beginStops(h, then: .parentStopping) }
            return false
        }
    }

    func stopNext(_ g: GroupNode) {
        guard let then = g.whenStopped else { return }
        while let next = g.stopQueue.last {
            guard stopOne(next, in: g) else { return }
            g.fields.stopQueue.removeLast()
        }
        g.whenStopped = nil
        switch then {
        case .restartPlan:
            if let at = g.resumeAt, at > now {
                deadlines.set(.group(g.index), at: at)
            } else {
                resumePlan(g)
            }
        case .gaveUp:
            g.dead = true
            guard let p = g.parent.map({ groups[$0] }) else { return }
            if p.isStopping {
                stopNext(p)
            } else if !isBeingTornDown(p) {
                restartChild(.group(g.index), in: p, after: .zero)
            }
        case .parentStopping:
            if let p = g.parent { stopNext(groups[p]) }
        case .exit(let code):
            emit(.exit(code: code))
        case .operatorStop:
            break
        case .operatorRestart:
            startGroup(g)
        }
    }

    /// No process runs in it.
    func isQuiet(_ node: Node) -> Bool {
        switch node {
        case .service(let id): return services[id].pid == nil && services[id].phase != .stopping
        case .group(let index): return groups[index].children.allSatisfy(isQuiet)
        }
    }

    /// A quiet group forgets what it was about to start.
    func quiesce(_ g: GroupNode) {
        g.waiting = false
        g.plan = nil
        g.resumeAt = nil
        g.stopQueue = []
        g.whenStopped = nil
        deadlines.clear(.group(g.index))
        for child in g.children {
            switch child {
            case .service(let id):
                let s = services[id]
                if [.waiting, .backoff, .starting, .scheduled].contains(s.phase) {
                    s.enter(because: .dismissed)
                    deadlines.clear(child)
                    jobDue.clear(id)
                }
            case .group(let index):
                quiesce(groups[index])
            }
        }
    }

    func enterStopped(_ s: ServiceNode) {
        let startedAt = s.child?.startedAt
        s.enter(because: .stoppedForGood)
        deadlines.clear(.service(s.id))
        jobDue.clear(s.id)
        if s.spec.isJob, s.lastRun?.duration == nil, let started = startedAt {
            s.lastRun?.duration = now - started
            s.lastRun?.exit = s.lastExit
            s.lastRun?.error = "stopped"
        }
        if s.startAfterStop {
            s.startAfterStop = false
            operatorStart(s, ordered: false, runNow: true)
        }
        let g = groups[s.parent]
        if g.isStopping { stopNext(g) }
    }

    /// Shutting down, or inside a group that gave up: nothing here restarts.
    func isBeingTornDown(_ g: GroupNode) -> Bool {
        if shuttingDown { return true }
        var group: GroupNode? = g
        while let h = group {
            if let then = h.whenStopped, then != .restartPlan { return true }
            group = h.parent.map { groups[$0] }
        }
        return false
    }
}

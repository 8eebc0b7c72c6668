/// Starting: start sequences, the gates a waiting child passes, readiness.
extension Supervisor {
    /// Marks a group's wanted children as waiting, in a start sequence.
    func startGroup(_ g: GroupNode) {
        // A group that gave up starts again with its intensity window empty, as an OTP
        // supervisor restarted by its parent does: kept full, it would give up again at the first
        // restart, with no backoff between (its parent restarts it at once), for the whole period.
        if g.dead { g.window = g.spec.intensity.map(IntensityWindow.init) }
        g.dead = false
        g.plan = nil
        for child in g.children { makeWaiting(child) }
    }

    func makeWaiting(_ node: Node) {
        switch node {
        case .service(let id):
            let s = services[id]
            guard s.wanted, s.phase == .stopped || s.phase == .backoff || s.phase == .waiting else { return }
            deadlines.clear(node)
            s.enter(because: .queued)
            s.orderGate = true
        case .group(let index):
            let g = groups[index]
            g.waiting = true
            startGroup(g)
            candidates.append(node)
        }
    }

    /// Starts every waiting child whose gates have opened. Called at the end of each input.
    /// Only what the input changed is looked at: a changed service, the sibling after it and
    /// the services waiting for it, and the same for each group above it. Starting 10,000
    /// services in a row is then linear, not quadratic.
    func openGates() {
        continueReload()
        while true {
            // Reversed, as candidates are taken from the end: what starts at once starts in file order.
            for id in changes.services.reversed() {
                wake(.service(id))
                let s = services[id]
                if s.spec.startOnConnection { watchConnectionsIfDown(s) }
                if s.spec.fdstoreMax > 0 { releaseStoreIfDownForGood(s) }
            }
            changes.services.removeAll(keepingCapacity: true)
            guard let node = candidates.popLast() else { return }
            switch node {
            case .service(let id):
                let s = services[id]
                if s.phase == .waiting, pendingReload?.held.contains(id) != true, mayStart(in: s.parent),
                   !s.orderGate || previousSettled(.service(id), in: s.parent),
                   s.after.allSatisfy(isReady) {
                    if s.spec.isJob, !s.runDue { enterScheduled(s) } else { spawn(s) }
                }
            case .group(let index):
                let h = groups[index]
                if h.waiting, let p = h.parent, mayStart(in: p), previousSettled(node, in: p) {
                    h.waiting = false
                    candidates.append(contentsOf: h.children.reversed())
                }
            }
        }
    }

    /// The fd store goes with a stop, an end with no restart, a give-up; not with a restart
    /// (a strategy's, which keeps the service wanted, or a reload's, which holds it).
    func releaseStoreIfDownForGood(_ s: ServiceNode) {
        guard !s.wanted, pendingReload?.held.contains(s.id) != true else { return }
        switch s.phase {
        case .stopped, .exited, .failed: emit(.releaseStoredFDs(s.id))
        case .waiting, .starting, .running, .stopping, .backoff, .scheduled: break
        }
    }

    /// A change of `node` may open the gates of the node itself, the sibling after it and
    /// the services waiting for it, and the same for each group above it.
    func wake(_ node: Node) {
        // Taken out by a reload: in no group and no one's `after`, it opens no gate.
        if case .service(let id) = node, services[id].removed { return }
        var current = node
        candidates.append(current)
        while true {
            let (parent, index): (Int?, Int)
            switch current {
            case .service(let id): (parent, index) = (services[id].parent, services[id].indexInParent)
            case .group(let i): (parent, index) = (groups[i].parent, groups[i].indexInParent)
            }
            if let dependents = dependents[current] { candidates.append(contentsOf: dependents.map(Node.service)) }
            guard let p = parent else { return }
            let siblings = groups[p].children
            if index + 1 < siblings.count { candidates.append(siblings[index + 1]) }
            current = .group(p)
            candidates.append(current)
        }
    }

    /// No group from `index` up is waiting for its turn, dead, stopping or restarting.
    func mayStart(in index: Int) -> Bool {
        var group: GroupNode? = groups[index]
        while let g = group {
            guard !g.waiting, !g.dead, !g.isStopping, g.plan == nil else { return false }
            group = g.parent.map { groups[$0] }
        }
        return true
    }

    /// In order: the sibling before it is settled. In a parallel group, no order.
    func previousSettled(_ node: Node, in parent: Int) -> Bool {
        if groups[parent].spec.parallel { return true }
        let index: Int
        switch node {
        case .service(let id): index = services[id].indexInParent
        case .group(let i): index = groups[i].indexInParent
        }
        return index == 0 || isSettled(groups[parent].children[index - 1])
    }

    func spawn(_ s: ServiceNode) {
        s.run += 1
        s.enter(because: .gatesOpened)
        s.orderGate = false
        s.statusText = nil
        emit(.spawn(s.id, run: s.run))
    }

    func enterRunning(_ s: ServiceNode) {
        stopProbing(s)
        s.enter(because: .ready)
        deadlines.clear(.service(s.id))
        event(.ready, s, s.spec.ready == .started ? "" : "\(s.spec.ready)")
        startHealthChecks(s)
    }

    func stopProbing(_ s: ServiceNode) {
        guard s.spec.ready != .started else { return }
        probeRetries.clear(s.id)
        emit(.cancelReadinessProbe(s.id))
    }

    /// Done starting, for the start sequence: up, or down where only a new start changes that.
    func isSettled(_ node: Node) -> Bool {
        switch node {
        case .service(let id):
            switch services[id].phase {
            case .running, .stopped, .exited, .failed, .scheduled: return true
            case .waiting, .starting, .stopping, .backoff: return false
            }
        case .group(let index):
            let g = groups[index]
            return !g.waiting && !g.dead && !g.isStopping && g.plan == nil && g.children.allSatisfy(isSettled)
        }
    }

    /// Ready for the services that list it in `after`.
    func isReady(_ node: Node) -> Bool {
        switch node {
        case .service(let id):
            // A job is ready once its schedule is armed: between runs and during one; a
            // one-shot task once its run has exited with a success code.
            let s = services[id]
            return s.phase == .running || s.phase == .scheduled || (s.phase == .exited && s.completed)
        case .group(let index):
            let g = groups[index]
            guard !g.waiting, !g.dead, !g.isStopping, g.plan == nil else { return false }
            return g.children.allSatisfy { child in
                if case .service(let id) = child, !services[id].wanted,
                   [.stopped, .exited].contains(services[id].phase) { return true }
                return isReady(child)
            }
        }
    }

    func serviceDeadline(_ s: ServiceNode) {
        switch s.phase {
        case .backoff:
            s.enter(because: .backoffOver)
        case .starting:
            let fault = Fault.startTimeout(s.spec.startTimeout)
            guard s.pid != nil else { return }
            event(.stopping, s, "\(fault)")
            signalStop(s, reason: .fault(fault))
        case .stopping:
            guard let pid = s.pid else { return }
            event(.stopping, s, "still running after stop_timeout=\(s.spec.stopTimeout.humanReadable), sending SIGKILL")
            emit(.signal(pid: pid, .kill, processGroup: s.spec.killMode == .group))
        case .stopped, .waiting, .running, .exited, .failed, .scheduled:
            break
        }
    }

    func groupDeadline(_ g: GroupNode) {
        if g.plan != nil, !g.isStopping { resumePlan(g) }
    }
}

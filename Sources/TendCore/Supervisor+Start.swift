/// Starting: start sequences, the gates a waiting child passes, readiness.
extension Supervisor {
    /// Marks a group's wanted children as waiting, in a start sequence.
    func startGroup(_ g: GroupNode) {
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
            s.phase = .waiting
            s.orderGate = true
        case .group(let index):
            let g = groups[index]
            g.waiting = true
            startGroup(g)
        }
    }

    /// Starts every waiting child whose gates are open. Called after each input, from the root:
    /// a child's gates depend on siblings and on `after` targets anywhere in the tree.
    func advance(_ g: GroupNode) {
        guard !g.waiting, !g.dead, !g.isStopping, g.plan == nil else { return }
        var previousSettled = true
        for child in g.children {
            switch child {
            case .service(let id):
                let s = services[id]
                if s.phase == .waiting, previousSettled || !s.orderGate, s.after.allSatisfy(isReady) {
                    spawn(s)
                }
            case .group(let index):
                let h = groups[index]
                if h.waiting, previousSettled { h.waiting = false }
                advance(h)
            }
            previousSettled = isSettled(child)
        }
    }

    func spawn(_ s: ServiceNode) {
        s.run += 1
        s.phase = .starting
        s.orderGate = false
        s.statusText = nil
        emit(.spawn(s.id, run: s.run))
    }

    func enterRunning(_ s: ServiceNode) {
        stopProbing(s)
        s.phase = .running
        deadlines.clear(.service(s.id))
        event(.ready, s, s.spec.ready == .started ? "" : "\(s.spec.ready)")
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
            case .running, .stopped, .exited, .failed: return true
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
            return services[id].phase == .running
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
            s.phase = .waiting
        case .starting:
            let reason = "not ready within start_timeout=\(s.spec.startTimeout.humanReadable)"
            guard s.pid != nil else { return }
            event(.stopping, s, reason)
            signalStop(s, reason: .fault(reason))
        case .stopping:
            guard let pid = s.pid else { return }
            event(.stopping, s, "still running after stop_timeout=\(s.spec.stopTimeout.humanReadable), sending SIGKILL")
            emit(.signal(pid: pid, .kill, processGroup: s.spec.killMode == .group))
        default:
            break
        }
    }

    func groupDeadline(_ g: GroupNode) {
        if g.plan != nil, !g.isStopping { resumePlan(g) }
    }
}

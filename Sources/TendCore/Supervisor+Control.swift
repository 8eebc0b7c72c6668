/// What operators ask for through `tend start/stop/restart/signal`. Asked-for stops and
/// starts never count toward a group's intensity, and a start forgets the failed runs before it.
extension Supervisor {
    /// Names that are no service or group.
    public struct UnknownNames: Error, Equatable, CustomStringConvertible {
        public let names: [String]
        public var description: String {
            names.map { "unknown service or group \"\($0)\"" }.joined(separator: "; ")
        }
    }

    /// Every service the names stand for (a group: all services under it), in tree order.
    public func services(named names: [String]) throws(UnknownNames) -> [ServiceID] {
        var seen = Set<ServiceID>()
        return try nodes(names).flatMap(servicesUnder).filter { seen.insert($0).inserted }
    }

    /// Every service in the tree, in start order.
    public var servicesInTreeOrder: [ServiceID] { servicesUnder(.group(Supervisor.root)) }

    func servicesUnder(_ node: Node) -> [ServiceID] {
        switch node {
        case .service(let id): return [id]
        case .group(let index): return groups[index].children.flatMap(servicesUnder)
        }
    }

    public func start(_ names: [String]) throws(UnknownNames) {
        for node in try nodes(names) {
            switch node {
            case .service(let id): operatorStart(services[id], ordered: false, runNow: true)
            case .group(let index): startGroupByOperator(groups[index])
            }
        }
        openGates()
    }

    public func stop(_ names: [String]) throws(UnknownNames) {
        for node in try nodes(names) {
            switch node {
            case .service(let id): operatorStop(services[id])
            case .group(let index):
                let g = groups[index]
                for id in servicesUnder(node) { services[id].wanted = false; services[id].startAfterStop = false }
                // Its parent is stopping it and waits to hear it is done: that stop stands (and
                // takes off what was started under it meanwhile, as it quiesces the group).
                if g.whenStopped == .parentStopping { continue }
                if !isQuiet(node) { event(.stopping, group: g, "stopping its children \(stopOrder(g))") }
                beginStops(g, then: .operatorStop)
            }
        }
        openGates()
    }

    public func restart(_ names: [String]) throws(UnknownNames) {
        for node in try nodes(names) {
            switch node {
            case .service(let id):
                let s = services[id]
                if s.pid != nil {
                    operatorStop(s)
                    s.startAfterStop = true
                } else {
                    operatorStart(s, ordered: false, runNow: true)
                }
            case .group(let index):
                let g = groups[index]
                if g.whenStopped == .parentStopping {
                    // Taken over, the parent's stop would never end: the parent decides what comes next.
                    event(.restarting, group: g, "not restarted now: its parent is stopping it")
                    continue
                }
                for id in servicesUnder(node) { services[id].wanted = true; services[id].failedRuns = 0 }
                event(.restarting, group: g, "restarting its children (asked for)")
                beginStops(g, then: .operatorRestart)
            }
        }
        openGates()
    }

    /// Sends `signal` to the process group of each named service that runs; returns the
    /// services signalled.
    @discardableResult
    public func signal(_ names: [String], _ signal: Signal) throws(UnknownNames) -> [String] {
        var signalled: [String] = []
        for id in try services(named: names) {
            let s = services[id]
            guard let pid = s.pid else { continue }
            emit(.signal(pid: pid, signal, processGroup: true))
            signalled.append(s.spec.name)
        }
        return signalled
    }

    /// How far an asked-for action has come for one service: nil while it is under way.
    public enum Outcome: Equatable, Sendable {
        case done
        case failed(String)
    }

    public enum Request: Sendable {
        case start, stop, restart
    }

    /// The run counter of a service: a start or restart is judged against its value when asked.
    public func run(of id: ServiceID) -> Int { services[id].run }

    public func outcome(of request: Request, for id: ServiceID, sinceRun run: Int) -> Outcome? {
        let s = services[id]
        let ended = s.spawnError ?? s.lastExit.map { "\($0)" } ?? "did not start"
        switch request {
        case .stop:
            return s.pid == nil && s.phase != .stopping && s.phase != .starting ? .done : nil
        case .start, .restart:
            if s.phase == .running, !s.spec.isJob { return request == .start || s.run > run ? .done : nil }
            // A job: done once scheduled; a run asked for (`tend start JOB`) must also have succeeded.
            if s.spec.isJob, s.phase == .scheduled || s.phase == .exited {
                guard s.run > run, let last = s.lastRun else { return .done }
                return last.succeeded ? .done
                    : .failed("\(s.spec.name): the run failed: \(last.error ?? last.exit.map { "\($0)" } ?? "")")
            }
            guard s.run > run || request == .start else { return nil }
            switch s.phase {
            case .failed: return .failed("\(s.spec.name) failed: \(ended)")
            case .exited: return s.run > run ? .failed("\(s.spec.name) exited: \(ended)") : nil
            case .backoff where s.run > run: return .failed("\(s.spec.name) \(ended), now in backoff")
            case .stopped where !s.wanted: return .failed("\(s.spec.name) was stopped")
            default: return nil
            }
        }
    }

    /// Each name once, each node once: a request of 64 KiB can name one service of 100,000
    /// instances 16,000 times, which must not mean 1.6e9 nodes.
    func nodes(_ names: [String]) throws(UnknownNames) -> [Node] {
        var seenNames = Set<String>()
        let distinct = names.filter { seenNames.insert($0).inserted }
        let found = distinct.map(nodes(named:))
        let unknown = zip(distinct, found).filter { $0.1.isEmpty }.map(\.0)
        guard unknown.isEmpty else { throw UnknownNames(names: unknown) }
        var seen = Set<Node>()
        return found.joined().filter { seen.insert($0).inserted }
    }

    /// `runNow`: a job runs at once (`tend start JOB`), rather than only being scheduled.
    func operatorStart(_ s: ServiceNode, ordered: Bool, runNow: Bool = false) {
        s.wanted = true
        s.failedRuns = 0
        s.connectionLimited = false
        let run = s.spec.isJob && runNow
        switch s.phase {
        case .stopped, .exited, .failed, .backoff:
            deadlines.clear(.service(s.id))
            s.enter(because: .queued)
            s.orderGate = ordered
            s.runDue = run
        case .scheduled where run:
            s.runDue = true
            s.enter(because: .runDue)
            s.orderGate = false
        case .waiting where run:
            s.runDue = true
        case .stopping:
            s.startAfterStop = true
        case .waiting, .starting, .running, .scheduled:
            break
        }
    }

    func startGroupByOperator(_ g: GroupNode) {
        g.dead = false
        for child in g.children {
            switch child {
            case .service(let id): operatorStart(services[id], ordered: true)
            case .group(let index): startGroupByOperator(groups[index])
            }
        }
    }

    func operatorStop(_ s: ServiceNode) {
        s.wanted = false
        s.startAfterStop = false
        switch s.phase {
        case .starting, .running:
            if s.pid != nil {
                event(.stopping, s, "sending \(s.spec.stopSignal) (asked for)")
                signalStop(s, reason: .requested)
            } else {
                s.enter(because: .dismissed)
            }
        case .waiting, .backoff, .scheduled:
            deadlines.clear(.service(s.id))
            jobDue.clear(s.id)
            s.enter(because: .dismissed)
        case .stopping:
            s.enter(because: .stopAsked)
        case .stopped, .exited, .failed:
            break
        }
    }
}

/// What a reload does, for the log and for `tend reload`.
public struct ReloadSummary: Equatable, Sendable, Decodable, CustomStringConvertible {
    public var added: [String] = []
    public var removed: [String] = []
    public var restarted: [String] = []
    public var unchanged: [String] = []
    /// The services the reload starts, with their run counter before it: `tend reload`
    /// answers once they have settled.
    public var starting: [ServiceID: Int] = [:]
    /// A `tend scale`: the service and its count before and after.
    public struct Scale: Equatable, Sendable, Codable {
        public var name: String
        public var from: Int
        public var to: Int
    }
    public var scale: Scale?

    public init() {}

    /// What `tend reload` receives: the names; `starting` stays inside tend.
    enum CodingKeys: String, CodingKey {
        case added, removed, restarted, unchanged
    }

    public var description: String {
        if let scale {
            let change = scale.to > scale.from ? "\(scale.to - scale.from) added" : "\(scale.from - scale.to) stopped"
            return "\(scale.name): \(scale.from) → \(scale.to) instances (\(change))"
        }
        func part(_ names: [String], _ what: String) -> String {
            names.isEmpty ? "0 \(what)" : "\(names.count) \(what) (\(names.joined(separator: ", ")))"
        }
        return [part(added, "added"), part(removed, "removed"), part(restarted, "restarted"),
                "\(unchanged.count) unchanged"].joined(separator: ", ")
    }
}

/// Reload: stop what was removed or changed (one at a time, in reverse tree order), then take
/// the new shape and start what is new or changed. Everything else keeps its process.
extension Supervisor {
    struct PendingReload: Equatable {
        let tree: TreeSpec
        let summary: ReloadSummary
        /// Services still to stop, the next one last.
        var stopQueue: [ServiceID]
        /// Every service the reload stops: none of them starts again until it is applied.
        let held: Set<ServiceID>
        /// Groups that start again as a whole.
        let restartedGroups: Set<String>
    }

    public enum ReloadRefusal: Error, Equatable, CustomStringConvertible {
        case inProgress
        case shuttingDown
        case unknown(String)
        case notReplicated(String)
        case badCount(String, Int)
        public var description: String {
            switch self {
            case .inProgress: return "a reload or scale is already under way"
            case .shuttingDown: return "tend is shutting down"
            case .unknown(let name): return "unknown service \"\(name)\""
            case .notReplicated(let name):
                return "\(name) has no instances key: set instances in the file (instances = 1 keeps one) to scale it"
            case .badCount(let name, let n):
                return "\(name): \(n) instances: expected at least 1 (tend stop \(name) stops them all)"
            }
        }
    }

    /// `tend scale NAME N`: new copies start in order, surplus ones stop from the highest down;
    /// the others keep their process. `.reloaded` (with `scale` set) is emitted once it is
    /// applied; nil when the count is already N (nothing to do).
    @discardableResult
    public func scale(_ name: String, to count: Int) throws(ReloadRefusal) -> Bool {
        guard let index = tree.services.firstIndex(where: { $0.name == name }) else {
            throw instancesByName[name] == nil && servicesByName[name] == nil ? .unknown(name) : .notReplicated(name)
        }
        guard let from = tree.services[index].instances else { throw .notReplicated(name) }
        guard count >= 1 else { throw .badCount(name, count) }
        guard count != from else { return false }
        var scaled = tree
        scaled.services[index].instances = count
        try reload(scaled, scale: ReloadSummary.Scale(name: name, from: from, to: count))
        return true
    }

    /// Starts applying `tree`; `.reloaded` is emitted once it is applied.
    public func reload(_ tree: TreeSpec) throws(ReloadRefusal) {
        try reload(tree, scale: nil)
    }

    private func reload(_ tree: TreeSpec, scale: ReloadSummary.Scale?) throws(ReloadRefusal) {
        guard !shuttingDown else { throw .shuttingDown }
        guard pendingReload == nil else { throw .inProgress }
        // Before what the reload does: RELOADING=1 comes before the READY=1 of `.reloaded`.
        if scale == nil { emit(.notifyManager(.reloading)) }
        let oldGroups = Dictionary(uniqueKeysWithValues: groupsByName.map { ($0.key, groups[$0.value].spec) })
        let newGroups = Dictionary(uniqueKeysWithValues: ([tree.root] + tree.groups).map { ($0.name, $0) })
        // The root is never restarted: adding a service must not restart every other one.
        let changedGroups = Set(oldGroups.keys).union(newGroups.keys).filter { name in
            guard !name.isEmpty else { return false }
            guard let old = oldGroups[name], let new = newGroups[name] else { return true }
            return old.strategy != new.strategy || old.children != new.children
        }
        var newParent: [String: String] = [:]
        for group in newGroups.values { for child in group.children { newParent[child] = group.name } }

        var summary = ReloadSummary()
        summary.scale = scale
        var toStop = Set<ServiceID>()
        let expanded = tree.services.flatMap(\.instanceSpecs)
        let newServices = Dictionary(uniqueKeysWithValues: expanded.map { ($0.name, $0) })
        for id in servicesInTreeOrder {
            let s = services[id]
            let oldParent = groups[s.parent].spec.name
            guard let spec = newServices[s.spec.name] else {
                summary.removed.append(s.spec.name)
                toStop.insert(id)
                continue
            }
            let parent = newParent[spec.baseName] ?? ""
            if spec != s.spec || changedGroups.contains(oldParent) || changedGroups.contains(parent) || oldParent != parent {
                summary.restarted.append(s.spec.name)
                toStop.insert(id)
            } else {
                summary.unchanged.append(s.spec.name)
            }
        }
        summary.added = expanded.map(\.name).filter { servicesByName[$0] == nil }

        for id in toStop {
            services[id].wanted = false
            services[id].startAfterStop = false
        }
        pendingReload = PendingReload(tree: tree, summary: summary,
                                      stopQueue: servicesInTreeOrder.filter(toStop.contains), held: toStop,
                                      restartedGroups: changedGroups)
        if let scale {
            scaleEvent(.scaling, scale.name, summary)
        } else {
            event(.reloading, group: groups[Supervisor.root], summary.description, reload: summary)
        }
        openGates()
    }

    /// Stops the next service of a pending reload, or applies it once all are down.
    func continueReload() {
        guard var reload = pendingReload else { return }
        while let id = reload.stopQueue.last {
            let s = services[id]
            if s.pid != nil {
                if s.phase != .stopping {
                    event(.stopping, s, "sending \(s.spec.stopSignal) (reload)")
                    signalStop(s, reason: .requested)
                }
                pendingReload = reload
                return
            }
            if [.waiting, .backoff, .starting, .scheduled].contains(s.phase) {
                deadlines.clear(.service(id))
                jobDue.clear(id)
                s.enter(because: .dismissed)
            }
            reload.stopQueue.removeLast()
        }
        // A group's stop under way (a strategy's restart, a give-up, `tend stop GROUP`) ends
        // before the shape changes: moved out of that group, a child it waits for would never
        // report to it. Each such stop is bounded by its services' stop_timeout.
        if groups.contains(where: { !$0.removed && $0.isStopping }) {
            pendingReload = reload
            return
        }
        pendingReload = nil
        apply(reload)
    }

    private func apply(_ reload: PendingReload) {
        var summary = reload.summary
        let before = Set(servicesByName.values)
        // New copies of a scaled service start only if its copies are up: a scale of a stopped
        // service adds stopped copies, which `tend start NAME` then starts with the others.
        let copiesUp = summary.scale.map { scale in instancesByName[scale.name]?.contains { services[$0].wanted } ?? false } ?? true
        // Restarts a strategy has stopped and not yet started again (their backoff runs).
        let plans = groups.compactMap { g in g.plan.map { (g, $0) } }
        install(reload.tree)
        let restarted = Set(reload.summary.restarted)
        for s in services where !s.removed && (!before.contains(s.id) || restarted.contains(s.spec.name)) {
            let id = s.id
            s.wanted = s.spec.autostart && copiesUp
            s.restarts = 0
            s.failedRuns = 0
            s.statusText = nil
            s.runDue = false
            if s.wanted {
                summary.starting[id] = s.run
                s.enter(because: .queued)
                s.orderGate = true
            } else {
                watchConnectionsIfDown(s)
            }
        }
        for name in reload.restartedGroups.sorted() {
            guard let index = groupsByName[name] else { continue }
            let g = groups[index]
            g.window = g.spec.intensity.map(IntensityWindow.init)
            g.dead = false
            g.plan = nil
            g.resumeAt = nil
            deadlines.clear(.group(index))
            g.waiting = true
            candidates.append(.group(index))
        }
        // What a plan stopped starts again even where the reload leaves it alone: the whole
        // plan of a group the reload restarts (its plan is gone), the nodes that moved out of
        // any other.
        for (g, plan) in plans {
            let kept = g.removed || reload.restartedGroups.contains(g.spec.name) ? [] : plan.intersection(g.children)
            if g.plan != nil { g.plan = kept }
            // In one order whatever the set's: groups, then services, each by number.
            let order = plan.subtracting(kept).sorted { a, b in
                switch (a, b) {
                case (.group(let x), .group(let y)), (.service(let x), .service(let y)): return x < y
                case (.group, .service): return true
                case (.service, .group): return false
                }
            }
            for node in order {
                // A removed service is no longer wanted; a removed group has no place to start in.
                if case .group(let index) = node, groups[index].removed { continue }
                makeWaiting(node)
            }
        }
        if let scale = summary.scale {
            scaleEvent(.scaled, scale.name, summary)
        } else {
            event(.reloaded, group: groups[Supervisor.root], summary.description, reload: summary)
        }
        emit(.reloaded(summary))
    }

    /// About a service with `instances` as a whole: its name, its group, the copies added or taken out.
    private func scaleEvent(_ kind: Event.Kind, _ name: String, _ summary: ReloadSummary) {
        let group = instancesByName[name]?.first.map { groups[services[$0].parent] }
        emit(.event(Event(kind: kind, subject: name, group: group.flatMap { $0.index == Supervisor.root ? nil : $0.spec.name },
                          reload: summary, message: summary.description)))
    }
}

extension Supervisor.PendingReload: Codable {
    // The summary whole: its own coding is what `tend reload` reads, the names only.
    private enum CodingKeys: String, CodingKey {
        case tree, stopQueue, held, restartedGroups, added, removed, restarted, unchanged, starting, scale
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tree = try c.decode(TreeSpec.self, forKey: .tree)
        stopQueue = try c.decode([ServiceID].self, forKey: .stopQueue)
        held = try c.decode(Set<ServiceID>.self, forKey: .held)
        restartedGroups = try c.decode(Set<String>.self, forKey: .restartedGroups)
        var summary = ReloadSummary()
        summary.added = try c.decode([String].self, forKey: .added)
        summary.removed = try c.decode([String].self, forKey: .removed)
        summary.restarted = try c.decode([String].self, forKey: .restarted)
        summary.unchanged = try c.decode([String].self, forKey: .unchanged)
        summary.starting = try c.decode([ServiceID: Int].self, forKey: .starting)
        summary.scale = try c.decodeIfPresent(ReloadSummary.Scale.self, forKey: .scale)
        self.summary = summary
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tree, forKey: .tree)
        try c.encode(stopQueue, forKey: .stopQueue)
        try c.encode(held, forKey: .held)
        try c.encode(restartedGroups, forKey: .restartedGroups)
        try c.encode(summary.added, forKey: .added)
        try c.encode(summary.removed, forKey: .removed)
        try c.encode(summary.restarted, forKey: .restarted)
        try c.encode(summary.unchanged, forKey: .unchanged)
        try c.encode(summary.starting, forKey: .starting)
        try c.encodeIfPresent(summary.scale, forKey: .scale)
    }
}

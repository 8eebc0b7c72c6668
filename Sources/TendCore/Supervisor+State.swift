/// The supervisor's whole state as one value, and a supervisor made again from it: what a tend
/// that re-executes itself hands to the next (SPEC section 9), and what the tests compare.
/// Only what cannot be derived is in it: the indexes by name and by pid are rebuilt from the
/// nodes, and `link` derives the rest (parents, children and places, `after`, dependents,
/// each service's copies).
extension Supervisor {
    public struct State: Codable, Equatable {
        /// Changes with any change of what a state holds or means: a restore refuses another.
        static let currentFormat = 5
        /// Decoded first (the first key): a state of another format is refused by its number,
        /// before any key it may not have.
        var format = Format()
        public internal(set) var tree: TreeSpec
        /// Every node ever made (removed ones too: ids and indexes are never reused).
        var services: [ServiceNode.Fields]
        var groups: [GroupNode.Fields]
        var deadlines: DeadlineQueue<Node>
        var probeRetries: DeadlineQueue<ServiceID>
        var jobDue: DeadlineQueue<ServiceID>
        var healthTimers: DeadlineQueue<ServiceID>
        var watchdogs: DeadlineQueue<ServiceID>
        var candidates: [Node]
        /// `Changes`: the services whose phase changed since the gates were looked at, and the count.
        var changed: [ServiceID]
        var generation: Int
        var shuttingDown: Bool
        var pendingReload: PendingReload?
    }

    /// The services' specs by name, as the tree makes them.
    static func instanceSpecs(of tree: TreeSpec) -> [String: ServiceSpec] {
        Dictionary(tree.services.flatMap(\.instanceSpecs).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The number a state is written with; reading another one fails.
    struct Format: Codable, Equatable {
        var number = State.currentFormat

        init() {}

        init(from decoder: any Decoder) throws {
            number = try decoder.singleValueContainer().decode(Int.self)
            guard number == State.currentFormat else {
                throw DecodingError.dataCorrupted(DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "state format \(number), this tend reads format \(State.currentFormat)"))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(number)
        }
    }

    /// The state between two inputs. Actions are not part of it: take it once the edge has
    /// performed every action it took (its queue empty), and in the new process call
    /// `resumeAfterRestore()`, which asks again for what the edge was doing.
    public var state: State {
        State(tree: tree, services: services.map(\.fields), groups: groups.map(\.fields), deadlines: deadlines,
              probeRetries: probeRetries, jobDue: jobDue, healthTimers: healthTimers, watchdogs: watchdogs,
              candidates: candidates, changed: changes.services, generation: changes.generation,
              shuttingDown: shuttingDown, pendingReload: pendingReload)
    }

    /// A state that is not one a supervisor could be in: another format, nodes that do not
    /// add up, or that do not match the tree. Nothing of it is used.
    public struct RestoreError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The supervisor `state` was taken from, as it was then: it goes on with the same inputs
    /// exactly as the first would have.
    public convenience init(restoring state: State, clock: WallClock, random: RandomSource) throws(RestoreError) {
        try Supervisor.check(state)
        self.init(tree: state.tree, clock: clock, random: random, root: GroupNode(restoring: state.groups[Supervisor.root]))
        groups += state.groups.dropFirst().map(GroupNode.init(restoring:))
        services = state.services.map { ServiceNode(restoring: $0, changes: changes) }
        for g in groups where !g.removed { groupsByName[g.spec.name] = g.index }
        for s in services {
            if !s.removed { servicesByName[s.spec.name] = s.id }
            if let pid = s.pid { servicesByPID[pid] = s.id }
        }
        deadlines = state.deadlines
        probeRetries = state.probeRetries
        jobDue = state.jobDue
        healthTimers = state.healthTimers
        watchdogs = state.watchdogs
        candidates = state.candidates
        changes.services = state.changed
        changes.generation = state.generation
        shuttingDown = state.shuttingDown
        pendingReload = state.pendingReload
        link()
    }

    /// What the rest of the supervisor takes for granted of its nodes: every index in range,
    /// one live node per name of the tree, and the specs the tree's (so what `link` derives from
    /// the nodes is the tree's shape). The tree itself is the caller's to validate, as a file's
    /// is (TendConfig's rules: no rings of groups, spans and counts in range).
    private static func check(_ state: State) throws(RestoreError) {
        func fail(_ why: String) -> RestoreError { RestoreError(description: "not a state tend can restore: \(why)") }
        guard state.format.number == State.currentFormat else {
            throw fail("format \(state.format.number), this tend reads format \(State.currentFormat)")
        }
        guard state.tree.services.allSatisfy({ ($0.instances ?? 1) <= Bounds.maxInstances }) else {
            throw fail("more instances than \(Bounds.maxInstances)")
        }
        guard let root = state.groups.first, root.parent == nil, !root.removed, root.spec.name.isEmpty else {
            throw fail("no root group")
        }
        let services = state.services.indices, groups = state.groups.indices
        func isNode(_ node: Node) -> Bool {
            switch node {
            case .service(let id): return services.contains(id)
            case .group(let index): return groups.contains(index)
            }
        }
        for (i, s) in state.services.enumerated() where s.id != i || !groups.contains(s.parent) {
            throw fail("service \(i) (\(s.spec.name)) is out of place")
        }
        for (i, g) in state.groups.enumerated() where g.index != i || (i != Supervisor.root && !(g.parent.map(groups.contains) ?? true)) {
            throw fail("group \(i) (\(g.spec.name)) is out of place")
        }
        var referenced: [Node] = state.candidates + state.deadlines.owners
        for g in state.groups { referenced += g.stopQueue + (g.plan ?? []) }
        var ids: [ServiceID] = state.changed + state.probeRetries.owners + state.jobDue.owners
        ids += state.healthTimers.owners + state.watchdogs.owners
        if let reload = state.pendingReload { ids += reload.stopQueue + reload.held + reload.summary.starting.keys }
        guard referenced.allSatisfy(isNode), ids.allSatisfy(services.contains) else { throw fail("a node that does not exist") }

        // The tree's services and groups are the nodes still in it, one node each, with its spec.
        let specs = state.tree.services.flatMap(\.instanceSpecs)
        let specByName = Dictionary(specs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let live = state.services.filter { !$0.removed }
        guard specByName.count == specs.count, live.count == specs.count,
              live.allSatisfy({ specByName[$0.spec.name] == $0.spec }) else {
            throw fail("the services do not match the tree")
        }
        let groupByName = Dictionary(state.tree.groups.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let liveGroups = state.groups.dropFirst().filter { !$0.removed }
        guard root.spec == state.tree.root, groupByName.count == state.tree.groups.count,
              liveGroups.count == groupByName.count, liveGroups.allSatisfy({ groupByName[$0.spec.name] == $0.spec }) else {
            throw fail("the groups do not match the tree")
        }
        guard state.services.allSatisfy({ $0.exits.count <= ServiceDetail.keptExits }) else {
            throw fail("more than \(ServiceDetail.keptExits) exits kept")
        }
        // A run is without a pid only before its spawn; a lost pid would be waited for forever.
        guard state.services.allSatisfy({ $0.stage.phase == .starting || $0.stage.child.map { $0.pid != nil } ?? true }) else {
            throw fail("a service running or stopping without a pid")
        }
        // A reload takes a service out once its process is gone: one left would outlive tend.
        guard state.services.allSatisfy({ !$0.removed || $0.stage.child == nil }) else {
            throw fail("a removed service with a run")
        }
        // 0 and 1 as process groups are kill(0) and kill(-1): every process tend may signal.
        guard state.services.allSatisfy({ ($0.stage.child?.pid ?? 2) > 1 }) else { throw fail("a pid below 2") }
        let pids = state.services.compactMap(\.stage.child?.pid)
        guard Set(pids).count == pids.count else { throw fail("two services with one pid") }
    }
}

/// A live service's spec is its tree's (a restore checks that): written once, in the tree, and
/// the node by its name; only the others (removed services) are written whole. Half of a
/// state's values are its specs: this halves the time to write and read it.
extension Supervisor.State {
    private enum CodingKeys: CodingKey {
        case format, tree, names, ownSpecs, services, groups, deadlines, probeRetries, jobDue, healthTimers, watchdogs
        case candidates, changed, generation, shuttingDown, pendingReload
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(tree, forKey: .tree)
        let inTree = Supervisor.instanceSpecs(of: tree)
        try c.encode(services.map(\.spec.name), forKey: .names)
        var own: [Int: ServiceSpec] = [:]
        for (i, s) in services.enumerated() where inTree[s.spec.name] != s.spec { own[i] = s.spec }
        try c.encode(own, forKey: .ownSpecs)
        try c.encode(services, forKey: .services)
        try c.encode(groups, forKey: .groups)
        try c.encode(deadlines, forKey: .deadlines)
        try c.encode(probeRetries, forKey: .probeRetries)
        try c.encode(jobDue, forKey: .jobDue)
        try c.encode(healthTimers, forKey: .healthTimers)
        try c.encode(watchdogs, forKey: .watchdogs)
        try c.encode(candidates, forKey: .candidates)
        try c.encode(changed, forKey: .changed)
        try c.encode(generation, forKey: .generation)
        try c.encode(shuttingDown, forKey: .shuttingDown)
        try c.encodeIfPresent(pendingReload, forKey: .pendingReload)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(Supervisor.Format.self, forKey: .format)
        tree = try c.decode(TreeSpec.self, forKey: .tree)
        let names = try c.decode([String].self, forKey: .names)
        let own = try c.decode([Int: ServiceSpec].self, forKey: .ownSpecs)
        services = try c.decode([Supervisor.ServiceNode.Fields].self, forKey: .services)
        guard names.count == services.count else {
            throw DecodingError.dataCorruptedError(forKey: .names, in: c, debugDescription: "\(names.count) names for \(services.count) services")
        }
        let inTree = Supervisor.instanceSpecs(of: tree)
        for i in services.indices {
            guard let spec = own[i] ?? inTree[names[i]] else {
                throw DecodingError.dataCorruptedError(forKey: .names, in: c, debugDescription: "service \(i) (\(names[i])) has no spec")
            }
            services[i].spec = spec
        }
        groups = try c.decode([Supervisor.GroupNode.Fields].self, forKey: .groups)
        deadlines = try c.decode(DeadlineQueue<Supervisor.Node>.self, forKey: .deadlines)
        probeRetries = try c.decode(DeadlineQueue<ServiceID>.self, forKey: .probeRetries)
        jobDue = try c.decode(DeadlineQueue<ServiceID>.self, forKey: .jobDue)
        healthTimers = try c.decode(DeadlineQueue<ServiceID>.self, forKey: .healthTimers)
        watchdogs = try c.decode(DeadlineQueue<ServiceID>.self, forKey: .watchdogs)
        candidates = try c.decode([Supervisor.Node].self, forKey: .candidates)
        changed = try c.decode([ServiceID].self, forKey: .changed)
        generation = try c.decode(Int.self, forKey: .generation)
        shuttingDown = try c.decode(Bool.self, forKey: .shuttingDown)
        pendingReload = try c.decodeIfPresent(Supervisor.PendingReload.self, forKey: .pendingReload)
    }
}

extension Supervisor {
    /// In a new process, after `init(restoring:)`: what the edge was doing is gone with the old
    /// one (spawns it had not made, readiness probes and health checks in flight). Asks again
    /// for each: the spawn, the probe (unless a retry is armed), the check, its timeout anew.
    public func resumeAfterRestore() {
        for s in services where !s.removed {
            switch s.phase {
            case .starting where s.pid == nil:
                emit(.spawn(s.id, run: s.run))
            case .starting:
                switch s.spec.ready {
                case .tcp, .exec:
                    if probeRetries.deadline(of: s.id) == nil { emit(.probeReadiness(s.id, run: s.run, s.spec.ready)) }
                case .started, .notify, .exited:
                    break
                }
            case .running where s.child?.healthInFlight == true:
                guard let check = s.spec.health else { break }
                emit(.runHealthCheck(s.id, run: s.run, check.probe))
                healthTimers.set(s.id, at: now + check.timeout)
            default:
                break
            }
        }
    }
}

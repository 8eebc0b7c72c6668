/// The supervisor's whole state as one value, and a supervisor made again from it: what a tend
/// that re-executes itself hands to the next (SPEC section 9), and what the tests compare.
/// Only what cannot be derived is in it; the indexes by name and by pid, the groups' children
/// and the services' `after` are derived again from the tree (`link`).
extension Supervisor {
    public struct State: Codable, Equatable {
        /// Changes with any change of what a state holds or means: a restore refuses another.
        static let currentFormat = 1
        var format = State.currentFormat
        var tree: TreeSpec
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

    /// The state between two inputs. Actions not yet taken are not part of it: take it after
    /// `takeActions()`, as the edge does at the end of a turn of its loop.
    public var state: State {
        State(tree: tree, services: services.map(\.fields), groups: groups.map(\.fields), deadlines: deadlines,
              probeRetries: probeRetries, jobDue: jobDue, healthTimers: healthTimers, watchdogs: watchdogs,
              candidates: candidates, changed: changes.services, generation: changes.generation,
              shuttingDown: shuttingDown, pendingReload: pendingReload)
    }

    /// A state that is not one a supervisor could be in: another format, or nodes that do not
    /// add up. Nothing of it is used.
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

    /// What the rest of the supervisor takes for granted of its nodes, so that no index of a
    /// state read back can be out of range.
    private static func check(_ state: State) throws(RestoreError) {
        func fail(_ why: String) -> RestoreError { RestoreError(description: "not a state tend can restore: \(why)") }
        guard state.format == State.currentFormat else {
            throw fail("format \(state.format), this tend reads format \(State.currentFormat)")
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

        // The names of the tree are those of the nodes still in it, one node each.
        let live = state.services.filter { !$0.removed }.map(\.spec.name)
        guard Set(live).count == live.count, Set(live) == Set(state.tree.services.flatMap(\.instanceSpecs).map(\.name)) else {
            throw fail("the services do not match the tree")
        }
        let liveGroups = state.groups.dropFirst().filter { !$0.removed }.map(\.spec.name)
        guard Set(liveGroups).count == liveGroups.count, Set(liveGroups) == Set(state.tree.groups.map(\.name)) else {
            throw fail("the groups do not match the tree")
        }
        let pids = state.services.compactMap(\.pid)
        guard Set(pids).count == pids.count else { throw fail("two services with one pid") }
    }
}

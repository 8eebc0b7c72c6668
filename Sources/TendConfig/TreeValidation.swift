import TendCore

/// The checks that span the file: unique names, group membership, `after` targets, and
/// cycles in what waits for what.
enum TreeValidation {
    /// `serviceTables` and `groupTables` give each spec's [[service]] or [[group]] table in the
    /// file (its index in the arrays when nil), for the line and column of an error.
    static func build(strategy: Strategy, intensity: Intensity?, services: [ServiceSpec], groups: [GroupSpec],
                      serviceTables: [Int]? = nil, groupTables: [Int]? = nil,
                      fileOrder: [String], controlSocket: String?, diagnostics d: Diagnostics) -> TreeSpec? {
        let before = d.errors.count
        func service(_ i: Int) -> SourceLocator.Table { .service(serviceTables?[i] ?? i) }
        func group(_ i: Int) -> SourceLocator.Table { .group(groupTables?[i] ?? i) }
        var kinds: [String: SourceLocator.Table] = [:]
        for (i, s) in services.enumerated() {
            if kinds[s.name] != nil {
                d.report(service(i), subject: "service \"\(s.name)\"", key: "name", "\"\(s.name)\" is used twice")
            }
            kinds[s.name] = service(i)
        }
        for (i, g) in groups.enumerated() {
            if kinds[g.name] != nil {
                d.report(group(i), subject: "group \"\(g.name)\"", key: "name", "\"\(g.name)\" is used twice")
            }
            kinds[g.name] = group(i)
        }
        // NAME@i is the name of a copy of a service with `instances` (any i, as `tend scale` may add it).
        for s in services where s.instances != nil {
            for other in kinds.keys.sorted() where other.hasPrefix(s.name + "@") {
                let table = kinds[other]!
                let subject = if case .group = table { "group \"\(other)\"" } else { "service \"\(other)\"" }
                d.report(table, subject: subject, key: "name",
                         "\"\(other)\" is taken: \(s.name)@N names the copies of \(s.name), which has instances")
            }
        }

        // One socket per address: a service's copies share theirs, two services cannot.
        var listener: [String: String] = [:]
        for (i, s) in services.enumerated() {
            for a in s.listen {
                if a.kind == .unix, a.host == controlSocket {
                    d.report(service(i), subject: "service \"\(s.name)\"", key: "listen", "\(a.address) is tend's control socket")
                }
                if let other = listener[a.address], other != s.name {
                    d.report(service(i), subject: "service \"\(s.name)\"", key: "listen", "\(a.address) is service \"\(other)\"'s already")
                }
                listener[a.address] = listener[a.address] ?? s.name
            }
        }

        var parent: [String: String] = [:]
        for (i, g) in groups.enumerated() {
            for child in g.children {
                let subject = "group \"\(g.name)\""
                if kinds[child] == nil {
                    d.report(group(i), subject: subject, key: "children",
                             "no service or group is named \"\(child)\"" + suggestion(for: child, among: Array(kinds.keys)))
                } else if child == g.name {
                    d.report(group(i), subject: subject, key: "children", "a group cannot contain itself")
                } else if let other = parent[child] {
                    d.report(group(i), subject: subject, key: "children",
                             "\"\(child)\" is already a child of group \"\(other)\"")
                } else {
                    parent[child] = g.name
                }
            }
        }
        // Groups nested in a ring belong to no root: each one's chain of parents must end.
        for (i, g) in groups.enumerated() {
            var seen: Set<String> = [g.name]
            var current = g.name
            while let p = parent[current] {
                if seen.contains(p) {
                    d.report(group(i), subject: "group \"\(g.name)\"", key: "children", "groups contain each other in a ring")
                    break
                }
                seen.insert(p)
                current = p
            }
        }
        for (i, s) in services.enumerated() {
            for target in s.after where kinds[target] == nil || target == s.name {
                let message = target == s.name ? "a service cannot wait for itself"
                    : "no service or group is named \"\(target)\"" + suggestion(for: target, among: Array(kinds.keys))
                d.report(service(i), subject: "service \"\(s.name)\"", key: "after", message)
            }
        }
        guard d.errors.count == before else { return nil }

        let claimed = Set(parent.keys)
        let root = GroupSpec(name: "", strategy: strategy, intensity: intensity,
                             children: fileOrder.filter { !claimed.contains($0) })
        let tree = TreeSpec(root: root, services: services, groups: groups, controlSocket: controlSocket)
        if var cycle = WaitGraph(tree).cycle() {
            // Name it from a service whose `after` is part of it: that is the key to change.
            cycle.removeLast()
            let withAfter = Set(services.filter { !$0.after.isEmpty }.map(\.name))
            if let start = cycle.firstIndex(where: withAfter.contains) {
                cycle = Array(cycle[start...] + cycle[..<start])
            }
            cycle.append(cycle[0])
            let first = cycle[0]
            let index = services.firstIndex { $0.name == first } ?? 0
            d.report(service(index), subject: "service \"\(first)\"", key: "after",
                     "waits for itself: " + cycle.joined(separator: " -> ")
                        + " (a service waits for its after targets and for the sibling before it)")
            return nil
        }
        return tree
    }
}

/// What waits for what when a tree starts. A service waits for its `after` targets, for the
/// sibling before it, and for whatever its group waits for; a group is ready when all its
/// children are. A cycle here would leave part of the tree waiting forever.
struct WaitGraph {
    enum Vertex: Hashable {
        case service(String)
        /// The moment a group's turn comes.
        case groupStart(String)
        /// A group with every child ready.
        case groupReady(String)
    }

    private(set) var edges: [Vertex: [Vertex]] = [:]
    /// The vertices in the order they were met, so that the cycle reported is always the same.
    private var order: [Vertex] = []

    private mutating func add(_ from: Vertex, _ to: [Vertex]) {
        if edges[from] == nil { order.append(from) }
        edges[from, default: []].append(contentsOf: to)
    }

    init(_ tree: TreeSpec) {
        let groupNames = Set(tree.groups.map(\.name))
        func ready(_ name: String) -> Vertex { groupNames.contains(name) ? .groupReady(name) : .service(name) }
        func start(_ name: String) -> Vertex { groupNames.contains(name) ? .groupStart(name) : .service(name) }

        for group in [tree.root] + tree.groups {
            let isRoot = group.name.isEmpty
            for (i, child) in group.children.enumerated() {
                if i > 0 { add(start(child), [ready(group.children[i - 1])]) }
                if !isRoot { add(start(child), [.groupStart(group.name)]) }
                if !isRoot { add(.groupReady(group.name), [ready(child)]) }
            }
        }
        for service in tree.services {
            add(.service(service.name), service.after.map(ready))
        }
    }

    /// The names along one cycle, first name repeated at the end; nil when there is none.
    /// Iterative, so that a root with 100,000 children in a row does not exhaust the stack.
    func cycle() -> [String]? {
        var done: Set<Vertex> = []
        var onPath: Set<Vertex> = []
        for root in order where !done.contains(root) {
            var path: [Vertex] = [root]
            var next: [Int] = [0]
            onPath.insert(root)
            while let v = path.last {
                let targets = edges[v] ?? []
                let i = next[next.count - 1]
                if i == targets.count {
                    path.removeLast()
                    next.removeLast()
                    onPath.remove(v)
                    done.insert(v)
                    continue
                }
                next[next.count - 1] += 1
                let w = targets[i]
                if onPath.contains(w) {
                    return names(Array(path[path.firstIndex(of: w)!...]))
                }
                if !done.contains(w) {
                    path.append(w)
                    next.append(0)
                    onPath.insert(w)
                }
            }
        }
        return nil
    }

    /// The services along a cycle of vertices, the first repeated at the end.
    private func names(_ cycle: [Vertex]) -> [String]? {
        var unique: [String] = []
        for case .service(let name) in cycle where unique.last != name { unique.append(name) }
        guard let first = unique.first else { return nil }
        return unique + [first]
    }
}

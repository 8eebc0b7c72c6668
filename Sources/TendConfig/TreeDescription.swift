import TendCore

/// The tree as `tend check` prints it.
public enum TreeDescription {
    public static func render(_ tree: TreeSpec, file: String) -> String {
        let services = Dictionary(uniqueKeysWithValues: tree.services.map { ($0.name, $0) })
        let groups = Dictionary(uniqueKeysWithValues: tree.groups.map { ($0.name, $0) })
        var lines = ["\(file): \(tree.services.count) service\(tree.services.count == 1 ? "" : "s"), "
            + "\(tree.groups.count) group\(tree.groups.count == 1 ? "" : "s")",
                     "root \(groupSummary(tree.root))"]

        func walk(_ children: [String], indent: String) {
            for (i, name) in children.enumerated() {
                let last = i == children.count - 1
                let branch = indent + (last ? "└─ " : "├─ ")
                if let g = groups[name] {
                    lines.append(branch + "\(name) \(groupSummary(g))")
                    walk(g.children, indent: indent + (last ? "   " : "│  "))
                } else if let s = services[name] {
                    lines.append(branch + "\(name): \(serviceSummary(s))")
                }
            }
        }
        walk(tree.root.children, indent: "")
        return lines.joined(separator: "\n")
    }

    static func groupSummary(_ g: GroupSpec) -> String {
        let intensity = g.intensity.map { ", gives up after \($0.restarts) restarts in \($0.period.humanReadable)" } ?? ""
        return "(\(g.strategy.rawValue)\(intensity))"
    }

    static func serviceSummary(_ s: ServiceSpec) -> String {
        var parts = ["restart=\(s.restart.rawValue)"]
        if let n = s.instances { parts.append("instances=\(n) (\(s.name)@1\(n > 1 ? "..\(s.name)@\(n)" : ""))") }
        if s.critical { parts.append("critical") }
        if s.ready != .started { parts.append("ready=\(s.ready)") }
        if !s.after.isEmpty { parts.append("after=\(s.after.joined(separator: ","))") }
        if let schedule = s.schedule { parts.append("schedule=\"\(schedule)\"") }
        if let check = s.health { parts.append("health=\"\(check.probe)\" every \(check.interval.humanReadable)") }
        if let span = s.watchdog { parts.append("watchdog=\(span.humanReadable)") }
        if !s.autostart { parts.append("autostart=false") }
        return "\(s.command) [\(parts.joined(separator: " "))]"
    }
}

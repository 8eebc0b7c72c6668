import TendCore

/// `tend logs NAME...` as journalctl's arguments: the services' own lines (their
/// SYSLOG_IDENTIFIER) OR tend's events about them (TEND_SERVICE=, TEND_GROUP= for a group),
/// each scoped to tend's unit when it is known, interleaved in time by journalctl.
public struct LogsQuery: Equatable {
    public var follow = false
    public var lines: Int?
    public var since: String?
    public var output: String?
    public var pager = true

    public init(follow: Bool = false, lines: Int? = nil, since: String? = nil, output: String? = nil, pager: Bool = true) {
        self.follow = follow
        self.lines = lines
        self.since = since
        self.output = output
        self.pager = pager
    }

    public struct UnknownName: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "unknown service or group \"\(name)\"" }
    }

    /// journalctl's arguments. `tree` expands groups and gives each service's log_identifier
    /// (nil: the names are taken as services whose identifier is their name); `unit` is
    /// tend's unit (nil: not scoped).
    public func arguments(names: [String], tree: TreeSpec?, unit: String?) throws(UnknownName) -> [String] {
        var identifiers: [String] = []
        var services: [String] = []
        var groups: [String] = []
        func add(_ name: String) throws(UnknownName) {
            guard let tree else {
                identifiers.append(name)
                services.append(name)
                return
            }
            if let service = tree.services.first(where: { $0.name == name }) {
                // A service with instances: its copies' lines and events, and its own (scale) events.
                if service.instances != nil { services.append(service.name) }
                for copy in service.instanceSpecs {
                    identifiers.append(copy.identifier)
                    services.append(copy.name)
                }
            } else if let at = name.lastIndex(of: "@"), let i = Int(name[name.index(after: at)...]), i >= 1,
                      let service = tree.services.first(where: { $0.name == name[..<at] && $0.instances != nil }) {
                // One copy, whatever the file's count (`tend scale` may have added it).
                let spec = service.instanceSpec(i)
                identifiers.append(spec.identifier)
                services.append(spec.name)
            } else if let group = tree.groups.first(where: { $0.name == name }) {
                groups.append(group.name)
                for child in group.children { try add(child) }
            } else {
                throw UnknownName(name: name)
            }
        }
        for name in names { try add(name) }
        return arguments(identifiers: identifiers, services: services, groups: groups, unit: unit)
    }

    /// journalctl's arguments for lines under these identifiers OR events about these
    /// services or groups.
    public func arguments(identifiers: [String], services: [String], groups: [String] = [], unit: String?) -> [String] {
        var args: [String] = []
        if follow { args.append("--follow") }
        if let lines { args.append("--lines=\(lines)") }
        if let since { args.append("--since=\(since)") }
        if let output { args.append("--output=\(output)") }
        if !pager { args.append("--no-pager") }
        let scope = unit.map { ["_SYSTEMD_UNIT=\($0)"] } ?? []
        func unique(_ values: [String]) -> [String] {
            var seen = Set<String>()
            return values.filter { seen.insert($0).inserted }
        }
        var terms = [unique(identifiers).map { "SYSLOG_IDENTIFIER=\($0)" }, unique(services).map { "TEND_SERVICE=\($0)" }]
        if !groups.isEmpty { terms.append(unique(groups).map { "TEND_GROUP=\($0)" }) }
        for (i, term) in terms.enumerated() where !term.isEmpty {
            if i > 0 { args.append("+") }
            args += scope + term
        }
        return args
    }

    /// The unit a process runs in, from its /proc/PID/cgroup text: the last component of the
    /// unified (or name=systemd) hierarchy's path, when it is a service or scope.
    public static func unit(fromCgroup text: String) -> String? {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[1].isEmpty || fields[1] == "name=systemd" else { continue }
            guard let last = fields[2].split(separator: "/").last,
                  last.hasSuffix(".service") || last.hasSuffix(".scope") else { continue }
            return String(last)
        }
        return nil
    }
}

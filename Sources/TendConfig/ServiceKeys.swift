import TendCore

/// The keys of a `[[service]]` (and of `[defaults]`, which may hold any of them but `name`).
enum ServiceKeys {
    static let all = ["name", "command", "restart", "success_exit_codes", "backoff", "max_restarts", "ready",
                      "start_timeout", "after", "stop_signal", "reload_signal", "stop_timeout", "kill_mode", "watchdog", "health",
                      "schedule", "environment", "environment_file", "working_directory", "user", "group", "umask", "limits", "log",
                      "log_identifier", "autostart", "critical", "instances", "listen", "start", "fdstore_max"] + CgroupLimitKeys.all
    /// As many as the tree is measured to carry, with room.
    static let maxInstances = Bounds.maxInstances
    /// With the listen sockets, what a start passes stays within spawn.c's TEND_MAX_PASSED_FDS (2048).
    static let maxStoredFDs = 1024
    static let maxListen = 1024
    static let backoffKeys = ["initial", "max", "factor", "jitter", "reset_after"]
    static let healthKeys = ["exec", "tcp", "interval", "timeout", "retries", "start_period"]

    static func isValidName(_ name: String) -> Bool {
        // "." and ".." would name a service's cgroup directory tend's own or its parent.
        !name.isEmpty && name != "." && name != ".." && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.@-".contains($0)) }
    }

    /// Reads one service; `defaults` supplies the keys the service does not set. Returns nil
    /// only when it has no name. A spec with errors (in `service.diagnostics`) still comes
    /// back, with defaults in place of what is invalid, so that the tree's shape is checked
    /// too and every error of the file is reported at once.
    static func read(_ service: TableReader, defaults: TableReader?) -> ServiceSpec? {
        guard let nameField = service.field("name") else {
            service.error("name", "missing: every service needs a name")
            return nil
        }
        guard let name = nameField.string else { return nil }
        if !isValidName(name) {
            service.error("name", "\"\(name)\" may use only letters, digits, and _ . @ - (and is not . or ..)")
        } else if name.hasPrefix("cgroup.") {
            service.error("name", "\"\(name)\" begins with \"cgroup.\" as the kernel's files of a cgroup do (its cgroup directory cannot have that name)")
        }
        let reader = TableReader(service.table, at: service.location, subject: "service \"\(name)\"",
                                 diagnostics: service.diagnostics)
        // Re-read through a reader that names the service, now that its name is known.
        return readNamed(reader, name: name, defaults: defaults)
    }

    /// Checks `[defaults]` on its own, so that a bad default is reported even where every
    /// service overrides it.
    static func checkDefaults(_ defaults: TableReader) {
        if defaults.has("name") { defaults.error("name", "a name cannot have a default") }
        _ = defaults.value("name")
        _ = readNamed(defaults, name: "", defaults: nil, isDefaults: true)
    }

    private static func readNamed(_ service: TableReader, name: String, defaults: TableReader?,
                                  isDefaults: Bool = false) -> ServiceSpec {
        // A key from [defaults] is read (and its errors reported) as [defaults]'s.
        func field(_ key: String) -> Field? {
            service.has(key) ? service.field(key) : defaults?.field(key)
        }
        _ = service.value("name")

        var command: Command?
        if let f = field("command") {
            if let text = f.value.string {
                command = text.trimmingWhitespace().isEmpty ? f.fail("expected a command, got an empty string") : .shell(text)
            } else if let argv = f.strings(nonEmpty: true) {
                command = argv[0].isEmpty ? f.fail("argv[0] is empty") : .argv(argv)
            }
        } else if !isDefaults {
            service.error("command", "missing: every service needs a command (an array of argv, or a string for /bin/sh -c)")
        }
        var spec = ServiceSpec(name: name, command: command ?? .argv(["/bin/false"]))

        func set<T>(_ key: String, _ read: (Field) -> T?, _ apply: (T) -> Void) {
            guard let f = field(key), let value = read(f) else { return }
            apply(value)
        }

        set("restart", { $0.choice(RestartPolicy.self) }) { spec.restart = $0 }
        set("success_exit_codes", { f -> Set<Int32>? in
            guard let array = f.value.array else { return f.expected("an array of exit codes") }
            var codes = Set<Int32>()
            for element in array {
                guard let code = element.int, (0...255).contains(code) else {
                    return f.fail("expected exit codes from 0 to 255, got \(describe(element))")
                }
                codes.insert(Int32(code))
            }
            return codes
        }) { spec.successExitCodes = $0 }
        set("backoff", readBackoff) { spec.backoff = $0 }
        set("max_restarts", { $0.int(in: 0...Int(Int32.max)) }) { spec.maxRestarts = $0 }
        set("ready", readReadiness) { spec.ready = $0 }
        set("start_timeout", { $0.duration }) { spec.startTimeout = $0 }
        set("after", { $0.strings() }) { spec.after = $0 }
        set("stop_signal", readSignal) { spec.stopSignal = $0 }
        set("reload_signal", readSignal) { spec.reloadSignal = $0 }
        set("stop_timeout", { $0.duration }) { spec.stopTimeout = $0 }
        set("kill_mode", { $0.choice(KillMode.self) }) { spec.killMode = $0 }
        set("watchdog", { f -> Duration? in
            guard let d = f.duration else { return nil }
            return d > .zero ? d : f.fail("must be longer than 0s")
        }) { spec.watchdog = $0 }
        set("health", readHealth) { spec.health = $0 }
        set("schedule", readSchedule) { spec.schedule = $0 }
        set("environment", readEnvironment) { spec.environment = $0 }
        set("environment_file", { f -> [EnvironmentFileRef]? in
            guard let paths = f.strings() else { return nil }
            var files: [EnvironmentFileRef] = []
            for text in paths {
                let optional = text.hasPrefix("-")
                let path = optional ? String(text.dropFirst()) : text
                guard path.hasPrefix("/") else {
                    return f.fail("expected absolute paths (a leading - makes one optional), got \"\(text)\"")
                }
                files.append(EnvironmentFileRef(path: path, optional: optional))
            }
            return files
        }) { spec.environmentFiles = $0 }
        set("working_directory", { f -> String? in
            guard let path = f.string else { return nil }
            return path.hasPrefix("/") ? path : f.fail("expected an absolute path, got \"\(path)\"")
        }) { spec.workingDirectory = $0 }
        set("user", readAccount) { spec.user = $0 }
        set("group", readAccount) { spec.group = $0 }
        set("umask", readUmask) { spec.umask = $0 }
        set("limits", readLimits) { spec.limits = $0 }
        set("log", { $0.choice(LogTarget.self) }) { spec.log = $0 }
        set("log_identifier", { f -> String? in
            guard let id = f.string else { return nil }
            return id.isEmpty || id.contains(where: \.isWhitespace) ? f.fail("expected a word, got \"\(id)\"") : id
        }) { spec.logIdentifier = $0 }
        set("autostart", { $0.bool }) { spec.autostart = $0 }
        set("critical", { $0.bool }) { spec.critical = $0 }
        set("instances", { f -> Int? in
            guard let n = f.value.int else { return f.expected("a whole number of copies") }
            return (1...maxInstances).contains(n) ? n
                : f.fail("\(n) copies: expected 1 to \(maxInstances) (autostart = false starts none)")
        }) { spec.instances = $0 }
        spec.cgroupLimits = CgroupLimitKeys.read(field)
        set("listen", { f -> [ListenAddress]? in
            guard let texts = f.strings() else { return nil }
            guard texts.count <= maxListen else { return f.fail("\(texts.count) sockets: at most \(maxListen)") }
            var addresses: [ListenAddress] = []
            for text in texts {
                switch ListenAddress.parse(text) {
                case .success(let a):
                    if addresses.contains(where: { $0.address == a.address }) { return f.fail("\(a.address) is listed twice") }
                    addresses.append(a)
                case .failure(let error): return f.fail(error.description)
                }
            }
            return addresses
        }) { spec.listen = $0 }
        // tend's socket accepts whether the service runs or not: such a check would say nothing.
        if case .tcp(let endpoint) = spec.ready, let a = spec.listen.first(where: {
            $0.kind == .tcp && $0.port == endpoint.port && ($0.host == endpoint.host || $0.host == "0.0.0.0" || $0.host == "::")
        }) {
            service.error("ready", "\(endpoint) is \(a.address), which tend holds and accepts on whether the service runs or not: use ready = \"notify\"")
        }
        set("start", { f -> Bool? in
            switch f.string {
            case "at-start": return false
            case "on-connection": return true
            case let other?: return f.fail("expected \"at-start\" or \"on-connection\", got \"\(other)\"")
            case nil: return nil
            }
        }) { spec.startOnConnection = $0 }
        set("fdstore_max", { f -> Int? in
            guard let n = f.value.int else { return f.expected("a whole number of fds") }
            return (0...maxStoredFDs).contains(n) ? n : f.fail("\(n): expected 0 (no fd store) to \(maxStoredFDs)")
        }) { spec.fdstoreMax = $0 }
        if spec.startOnConnection, !isDefaults {
            // Not at the tree's start: at the first connection, whenever it is down.
            spec.autostart = false
            if spec.listen.isEmpty { service.error("start", "\"on-connection\" needs listen: the sockets whose connections start it") }
            if field("autostart") != nil { service.error("autostart", "start = \"on-connection\" starts it at a connection: leave autostart out") }
            if spec.isJob { service.error("start", "a job (with schedule) starts on its schedule, not on a connection") }
            if spec.instances != nil { service.error("start", "\"on-connection\" starts one service: it cannot have instances (nor be scaled)") }
        }

        if spec.isJob {
            // A job runs to completion: it is never "ready" but by starting, and has no health to watch.
            if spec.ready != .started { service.error("ready", "a job (with schedule) is ready when its run starts: leave ready out") }
            if spec.health != nil { service.error("health", "a job (with schedule) runs to completion and has no health check") }
            if spec.watchdog != nil { service.error("watchdog", "a job (with schedule) has no watchdog") }
            if spec.critical { service.error("critical", "a job (with schedule) never ends for good: it cannot be critical") }
        } else if spec.watchdog != nil, spec.ready != .notify {
            service.error("watchdog", "needs ready = \"notify\": the child reports WATCHDOG=1 on the notify socket")
        }
        service.reportUnknownKeys(known: all)
        return spec
    }

    static func readBackoff(_ f: Field) -> Backoff? {
        guard let t = f.table else { return nil }
        var backoff = Backoff()
        var valid = true
        func span(_ key: String, _ apply: (Duration) -> Void) {
            guard let g = t.field(key) else { return }
            if let d = g.duration { apply(d) } else { valid = false }
        }
        span("initial") { backoff.initial = $0 }
        span("max") { backoff.max = $0 }
        span("reset_after") { backoff.resetAfter = $0 }
        if let g = t.field("factor") {
            if let x = g.double, (1...1000).contains(x) { backoff.factor = x } else { valid = false; if g.value.double != nil || g.value.int != nil { t.error("factor", "must be from 1 to 1000") } }
        }
        if let g = t.field("jitter") {
            if let x = g.double, (0...1).contains(x) { backoff.jitter = x } else { valid = false; if g.value.double != nil || g.value.int != nil { t.error("jitter", "must be from 0 to 1") } }
        }
        if backoff.max < backoff.initial {
            t.error("max", "is shorter than initial (\(backoff.initial.humanReadable))")
            valid = false
        }
        t.reportUnknownKeys(known: backoffKeys)
        return valid ? backoff : nil
    }

    static func readReadiness(_ f: Field) -> Readiness? {
        if let text = f.value.string {
            switch text {
            case "started": return .started
            case "notify": return .notify
            case "exited": return .exited
            default: return f.fail("expected \"started\", \"notify\", \"exited\", { tcp = \"host:port\" } or { exec = [argv] }, got \"\(text)\"")
            }
        }
        guard let t = f.table else { return nil }
        defer { t.reportUnknownKeys(known: ["tcp", "exec"]) }
        switch (t.has("tcp"), t.has("exec")) {
        case (true, false): return t.field("tcp")?.endpoint.map(Readiness.tcp)
        case (false, true): return t.field("exec")?.strings(nonEmpty: true).map(Readiness.exec)
        default: return f.fail("expected exactly one of tcp or exec")
        }
    }

    static func readHealth(_ f: Field) -> HealthCheck? {
        guard let t = f.table else { return nil }
        defer { t.reportUnknownKeys(known: healthKeys) }
        let probe: HealthCheck.Probe?
        switch (t.has("tcp"), t.has("exec")) {
        case (true, false): probe = t.field("tcp")?.endpoint.map(HealthCheck.Probe.tcp)
        case (false, true): probe = t.field("exec")?.strings(nonEmpty: true).map(HealthCheck.Probe.exec)
        default: return f.fail("expected exactly one of tcp or exec")
        }
        guard let probe else { return nil }
        var check = HealthCheck(probe: probe)
        var valid = true
        if let g = t.field("interval") { if let d = g.duration, d > .zero { check.interval = d } else { valid = false; if g.duration != nil { t.error("interval", "must be longer than 0s") } } }
        if let g = t.field("timeout") { if let d = g.duration { check.timeout = d } else { valid = false } }
        if let g = t.field("retries") { if let n = g.int(in: 1...1_000_000) { check.retries = n } else { valid = false } }
        if let g = t.field("start_period") { if let d = g.duration { check.startPeriod = d } else { valid = false } }
        return valid ? check : nil
    }

    static func readSchedule(_ f: Field) -> Schedule? {
        guard let text = f.string else { return nil }
        let trimmed = text.trimmingWhitespace()
        if trimmed.lowercased() == "@reboot" { return .reboot }
        if trimmed.hasPrefix("every ") {
            guard let seconds = DurationText.seconds(String(trimmed.dropFirst(6))), seconds > 0 else {
                return f.fail("expected \"every\" and a span, such as \"every 5m\", got \"\(text)\"")
            }
            return Bounds.span(seconds: seconds).map(Schedule.every)
                ?? f.fail("\"\(text)\": the span is out of range \(Bounds.spanRange)")
        }
        do {
            return .cron(try CronExpression(parsing: trimmed))
        } catch {
            return f.fail("\"\(text)\": \(error)")
        }
    }

    static func readSignal(_ f: Field) -> Signal? {
        if let n = f.value.int {
            return (1...64).contains(n) ? Signal(number: Int32(n)) : f.fail("\(n) is not a signal number")
        }
        guard let text = f.string else { return nil }
        return Signal(parsing: text) ?? f.fail("\"\(text)\" is not a signal name such as TERM, INT, HUP, QUIT, USR1")
    }

    static func readEnvironment(_ f: Field) -> [String: String]? {
        guard let t = f.value.table else { return f.expected("a table of NAME = \"value\"") }
        var result: [String: String] = [:]
        for key in t.keys {
            guard let value = t[key] else { continue }
            guard !key.isEmpty, !key.contains("="), !key.contains("\0") else {
                return f.fail("\"\(key)\" is not a variable name")
            }
            switch value {
            case .string(let s): result[key] = s
            case .integer(let n): result[key] = String(n)
            case .float(let d): result[key] = String(d)
            case .boolean(let b): result[key] = String(b)
            default: return f.fail("\(key): expected a string, got \(describe(value))")
            }
        }
        return result
    }

    static func readAccount(_ f: Field) -> String? {
        if let n = f.value.int { return n >= 0 ? String(n) : f.fail("\(n) is not an id") }
        guard let name = f.string else { return nil }
        return name.isEmpty ? f.fail("expected a name or a number") : name
    }

    static func readUmask(_ f: Field) -> UInt32? {
        if let n = f.value.int { return (0...0o777).contains(n) ? UInt32(n) : f.fail("expected 0 to 0o777") }
        guard let text = f.string else { return nil }
        guard let mask = UInt32(text, radix: 8), mask <= 0o777 else {
            return f.fail("expected an octal mask such as \"0022\", got \"\(text)\"")
        }
        return mask
    }

    static func readLimits(_ f: Field) -> ResourceLimits? {
        guard let t = f.table else { return nil }
        var limits = ResourceLimits()
        var valid = true
        for (name, resource) in ResourceLimits.known {
            guard let g = t.field(name) else { continue }
            if let n = g.value.int, n >= 0 {
                limits.values[resource] = UInt64(n)
            } else if g.value.string == "infinity" {
                limits.values[resource] = UInt64.max
            } else {
                valid = false
                t.error(name, "expected a number of 0 or more, or \"infinity\", got \(describe(g.value))")
            }
        }
        t.reportUnknownKeys(known: ResourceLimits.known.map(\.name))
        return valid ? limits : nil
    }
}

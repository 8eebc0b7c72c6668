import TendCore

/// What a control request does to the tree, decided against the core alone: no socket, and
/// no clock but the core's. The daemon carries out the outcome (answers, or waits for the
/// services to settle); the control fuzzer runs every request it decodes through this too.
public enum ControlDispatch {
    /// start, stop, restart (or a reload of services without reload_signal): answered once
    /// every service named has settled, or at `deadline`.
    public struct Wait {
        public let request: Supervisor.Request
        public let services: [(id: ServiceID, run: Int)]
        public let deadline: Instant
        public let timeout: Duration
        /// The result once all is done; nil: the names of the services.
        public var result: String?
        /// Put before the failures when some did not start (a reload's summary).
        public var failurePrefix = ""

        public init(request: Supervisor.Request, services: [(id: ServiceID, run: Int)], deadline: Instant, timeout: Duration,
                    result: String? = nil, failurePrefix: String = "") {
            self.request = request
            self.services = services
            self.deadline = deadline
            self.timeout = timeout
            self.result = result
            self.failurePrefix = failurePrefix
        }
    }

    /// The answer to `wait` once every service it names has settled (done, or failed with
    /// why), or once its time is up (with what each still is); nil while it waits.
    public static func answer(to wait: Wait, _ supervisor: Supervisor, now: Instant) -> String? {
        let outcomes = wait.services.map { supervisor.outcome(of: wait.request, for: $0.id, sinceRun: $0.run) }
        if outcomes.allSatisfy({ $0 != nil }) {
            let failures = outcomes.compactMap { outcome -> String? in
                if case .failed(let why)? = outcome { return why }
                return nil
            }
            guard failures.isEmpty else { return ControlResponse.error(wait.failurePrefix + failures.joined(separator: "; ")) }
            let names = wait.services.map { JSONText.string(supervisor.spec(of: $0.id).name) }
            return ControlResponse.ok(wait.result ?? "{\"done\":[\(names.joined(separator: ","))]}")
        }
        guard now >= wait.deadline else { return nil }
        let waiting = zip(wait.services, outcomes).filter { $0.1 == nil }.map { service, _ in
            let status = supervisor.status(of: service.id)
            return "\(status.name) is \(status.state.rawValue)"
        }
        return ControlResponse.error("not settled within \(wait.timeout.humanReadable): \(waiting.joined(separator: ", "))")
    }

    public enum Outcome {
        case answer(String)
        /// One service in detail: the daemon adds what only it knows (its adopted children).
        case detail(ServiceID)
        case wait(Wait)
        /// Read the file again and apply it; answered once applied.
        case reloadFile(timeout: Duration)
        /// A scale was begun: answered once applied, as a reload is.
        case scaling(timeout: Duration)
        /// `tend reexec`: check `binary` (nil: tend's own), then execute it in place.
        case reexec(binary: String?, timeout: Duration)
    }

    /// `usage` adds to a row what the edge knows of the service's cgroup.
    public static func decide(_ request: ControlRequest, _ supervisor: Supervisor, now: Instant,
                              usage: (inout ServiceStatus) -> Void = { _ in }) -> Outcome {
        let names = request.names ?? []
        func row(_ id: ServiceID) -> ServiceStatus {
            var row = supervisor.status(of: id)
            usage(&row)
            return row
        }
        do {
            switch request.command {
            case .status where request.detail == true && names.count == 1:
                // One service in detail; a group or a service with instances: their rows.
                let ids = try supervisor.services(named: names)
                guard ids.count == 1, supervisor.service(named: names[0]) != nil else {
                    return .answer(ControlResponse.ok(StatusWire.status(ids.map(row))))
                }
                return .detail(ids[0])
            case .status:
                let rows = try (names.isEmpty ? supervisor.servicesInTreeOrder : supervisor.services(named: names)).map(row)
                return .answer(ControlResponse.ok(StatusWire.status(rows)))
            case .start, .stop, .restart:
                guard !names.isEmpty else { return .answer(ControlResponse.error("\(request.command.rawValue): name at least one service or group")) }
                guard !supervisor.isShuttingDown else { return .answer(ControlResponse.error("tend is shutting down")) }
                let ids = try supervisor.services(named: names)
                let runs = ids.map { (id: $0, run: supervisor.run(of: $0)) }
                let kind: Supervisor.Request
                switch request.command {
                case .start: kind = .start; try supervisor.start(names)
                case .stop: kind = .stop; try supervisor.stop(names)
                default: kind = .restart; try supervisor.restart(names)
                }
                return .wait(Wait(request: kind, services: runs, deadline: now + request.timeout, timeout: request.timeout))
            case .signal:
                guard let text = request.signal, let signal = Signal(parsing: text) else {
                    return .answer(ControlResponse.error("signal: \"\(request.signal ?? "")\" is not a signal name such as HUP, USR1, TERM"))
                }
                guard !names.isEmpty else { return .answer(ControlResponse.error("signal: name at least one service or group")) }
                let signalled = try supervisor.signal(names, signal)
                if signalled.isEmpty { return .answer(ControlResponse.error("signal: none of \(names.joined(separator: ", ")) is running")) }
                return .answer(ControlResponse.ok("{\"signalled\":[\(signalled.map(JSONText.string).joined(separator: ","))]}"))
            case .reload where !names.isEmpty:
                guard !supervisor.isShuttingDown else { return .answer(ControlResponse.error("tend is shutting down")) }
                return try reloadServices(names, request.timeout, supervisor, now: now)
            case .reload:
                return .reloadFile(timeout: request.timeout)
            case .scale:
                guard names.count == 1, let count = request.count else {
                    return .answer(ControlResponse.error("scale: name one service and a count"))
                }
                if try supervisor.scale(names[0], to: count) { return .scaling(timeout: request.timeout) }
                return .answer(ControlResponse.ok(JSONText.scale(name: names[0], from: count, to: count)))
            case .reexec:
                guard !supervisor.isShuttingDown else { return .answer(ControlResponse.error("tend is shutting down")) }
                return .reexec(binary: request.binary, timeout: request.timeout)
            }
        } catch {
            return .answer(ControlResponse.error("\(error)"))
        }
    }

    /// `tend reload NAME...`: services with a `reload_signal` get it (their process group, the
    /// pid unchanged); the others are restarted, answered once the restarts have settled.
    static func reloadServices(_ names: [String], _ timeout: Duration, _ supervisor: Supervisor, now: Instant) throws -> Outcome {
        var signalled: [String] = [], restarted: [(id: ServiceID, run: Int)] = []
        for id in try supervisor.services(named: names) {
            let spec = supervisor.spec(of: id)
            if let signal = spec.reloadSignal {
                signalled += try supervisor.signal([spec.name], signal)
            } else {
                restarted.append((id: id, run: supervisor.run(of: id)))
            }
        }
        let restartedNames = restarted.map { supervisor.spec(of: $0.id).name }
        let result = "{\"signalled\":[\(signalled.map(JSONText.string).joined(separator: ","))],"
            + "\"restarted\":[\(restartedNames.map(JSONText.string).joined(separator: ","))]}"
        guard !restarted.isEmpty else { return .answer(ControlResponse.ok(result)) }
        try supervisor.restart(restartedNames)
        return .wait(Wait(request: .restart, services: restarted, deadline: now + timeout, timeout: timeout, result: result))
    }
}

import Glibc
import TendControl
import TendCore

/// The daemon's side of `tend status/start/stop/restart/signal/reload`.
extension Daemon {
    /// start, stop or restart: answered once every service it names has settled.
    struct PendingAction {
        let connection: ControlServer.Connection
        let request: Supervisor.Request
        let services: [(id: ServiceID, run: Int)]
        let deadline: Instant
        let timeout: Duration
        /// The result once all is done; nil: the names of the services.
        var result: String? = nil
        /// Put before the failures when some did not start.
        var failurePrefix = ""
    }

    func handle(_ request: ControlRequest, from connection: ControlServer.Connection) {
        guard let control else { return }
        let names = request.names ?? []
        do {
            switch request.command {
            case .status where request.detail == true && names.count == 1:
                // One service in detail; a group or a service with instances: their rows.
                let ids = try supervisor.services(named: names)
                guard ids.count == 1, supervisor.service(named: names[0]) != nil else {
                    return control.respond(connection, ControlResponse.ok(JSONText.status(ids.map(supervisor.status(of:)))))
                }
                var detail = supervisor.detail(of: ids[0])
                // Where its lines go in fact: `tend run` in a terminal writes them to its console.
                if detail.log == LogTarget.journal.rawValue, !journalMode { detail.log = "console" }
                if let pid = supervisor.pid(of: ids[0]) { detail.adopted = adoptedChildren(inGroup: pid) }
                control.respond(connection, ControlResponse.ok(JSONText.detail(detail)))
            case .status:
                let rows = names.isEmpty ? supervisor.statuses : try supervisor.services(named: names).map(supervisor.status(of:))
                control.respond(connection, ControlResponse.ok(JSONText.status(rows)))
            case .start, .stop, .restart:
                guard !names.isEmpty else { return control.respond(connection, ControlResponse.error("\(request.command.rawValue): name at least one service or group")) }
                guard !supervisor.isShuttingDown else { return control.respond(connection, ControlResponse.error("tend is shutting down")) }
                let ids = try supervisor.services(named: names)
                let runs = ids.map { (id: $0, run: supervisor.run(of: $0)) }
                let kind: Supervisor.Request
                switch request.command {
                case .start: kind = .start; try supervisor.start(names)
                case .stop: kind = .stop; try supervisor.stop(names)
                default: kind = .restart; try supervisor.restart(names)
                }
                pendingActions.append(PendingAction(connection: connection, request: kind, services: runs,
                                                    deadline: clock.now + request.timeout, timeout: request.timeout))
            case .signal:
                guard let text = request.signal, let signal = Signal(parsing: text) else {
                    return control.respond(connection, ControlResponse.error("signal: \"\(request.signal ?? "")\" is not a signal name such as HUP, USR1, TERM"))
                }
                guard !names.isEmpty else { return control.respond(connection, ControlResponse.error("signal: name at least one service or group")) }
                let signalled = try supervisor.signal(names, signal)
                if signalled.isEmpty {
                    control.respond(connection, ControlResponse.error("signal: none of \(names.joined(separator: ", ")) is running"))
                } else {
                    control.respond(connection, ControlResponse.ok("{\"signalled\":[\(signalled.map(JSONText.string).joined(separator: ","))]}"))
                }
            case .reload where !names.isEmpty:
                guard !supervisor.isShuttingDown else { return control.respond(connection, ControlResponse.error("tend is shutting down")) }
                try reloadServices(names, timeout: request.timeout, for: connection)
            case .reload:
                if let error = startReload() {
                    control.respond(connection, ControlResponse.error(error))
                } else {
                    pendingReloads.append((connection, request.timeout))
                }
            case .scale:
                guard names.count == 1, let count = request.count else {
                    return control.respond(connection, ControlResponse.error("scale: name one service and a count"))
                }
                if try supervisor.scale(names[0], to: count) {
                    pendingReloads.append((connection, request.timeout))
                } else {
                    control.respond(connection, ControlResponse.ok(JSONText.scale(name: names[0], from: count, to: count)))
                }
            }
        } catch {
            control.respond(connection, ControlResponse.error("\(error)"))
        }
    }

    /// tend's children that it did not spawn (orphans it adopted) and that are in process group
    /// `group`: one read of tend's own `children` file, and a getpgid for each stranger only
    /// (none, usually), so that a client need not ask it of every child tend has.
    func adoptedChildren(inGroup group: pid_t) -> [pid_t] {
        ProcessTree.children(of: getpid()).filter {
            !reaper.holds($0) && getpgid($0) == group
        }
    }

    /// Answers the start/stop/restart requests whose services have all settled, or whose
    /// time is up.
    func answerSettledActions() {
        guard !pendingActions.isEmpty, let control else { return }
        let now = clock.now
        pendingActions.removeAll { pending in
            if pending.connection.closed { return true }
            let outcomes = pending.services.map { supervisor.outcome(of: pending.request, for: $0.id, sinceRun: $0.run) }
            if outcomes.allSatisfy({ $0 != nil }) {
                let failures = outcomes.compactMap { outcome -> String? in
                    if case .failed(let why)? = outcome { return why }
                    return nil
                }
                if failures.isEmpty {
                    let names = pending.services.map { JSONText.string(supervisor.spec(of: $0.id).name) }
                    control.respond(pending.connection,
                                    ControlResponse.ok(pending.result ?? "{\"done\":[\(names.joined(separator: ","))]}"))
                } else {
                    control.respond(pending.connection,
                                    ControlResponse.error(pending.failurePrefix + failures.joined(separator: "; ")))
                }
                return true
            }
            guard now >= pending.deadline else { return false }
            let waiting = zip(pending.services, outcomes).filter { $0.1 == nil }.map { service, _ in
                let status = supervisor.status(of: service.id)
                return "\(status.name) is \(status.state.rawValue)"
            }
            control.respond(pending.connection, ControlResponse.error(
                "not settled within \(pending.timeout.humanReadable): \(waiting.joined(separator: ", "))"))
            return true
        }
    }

    /// `tend reload NAME...`: services with a `reload_signal` get it (their process group, the
    /// pid unchanged); the others are restarted. Answered once the restarts have settled.
    func reloadServices(_ names: [String], timeout: Duration, for connection: ControlServer.Connection) throws(Supervisor.UnknownNames) {
        guard let control else { return }
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
        guard !restarted.isEmpty else { return control.respond(connection, ControlResponse.ok(result)) }
        try supervisor.restart(restartedNames)
        pendingActions.append(PendingAction(connection: connection, request: .restart, services: restarted,
                                            deadline: clock.now + timeout, timeout: timeout, result: result))
    }

    /// Reads the file again and starts applying it. Returns the error when the file is
    /// invalid (nothing changes then) or a reload cannot start now.
    func startReload() -> String? {
        guard let reloadConfig else { return "reload: tend was started without a file to read again" }
        do {
            let tree = try reloadConfig()
            // Users and groups are looked up again for the new tree, once each.
            lookups.reloaded()
            try supervisor.reload(tree)
            systemd?.reloading()
            return nil
        } catch {
            let message = "reload failed, nothing changed: \(error)"
            log(Event(kind: .reloadFailed, subject: "", message: message))
            return message
        }
    }

    func reloaded(_ summary: ReloadSummary) {
        systemd?.reloaded()
        checkDescriptorLimit()
        for id in supervisor.serviceIDs {
            let spec = supervisor.spec(of: id)
            console.register(spec.identifier)
            // A removed or restarted service gets a fresh pipe (its identifier may have changed).
            // The old run may still be writing (a removed service is being stopped now): its
            // pipe is read until the last writer is gone, then closed.
            if let pipe = outputs[id], !supervisor.isActive(id) || summary.restarted.contains(spec.name) {
                outputs[id] = nil
                if pipe.watched {
                    pipe.retire()
                    retiredOutputs[pipe.readEnd] = pipe
                } else {
                    pipe.close()
                }
            }
        }
        let result = summary.scale.map {
            JSONText.scale(name: $0.name, from: $0.from, to: $0.to, added: summary.added, removed: summary.removed)
        } ?? JSONText.reload(summary)
        // Answered once what the reload or scale started has settled, as `tend start` is.
        let started = summary.starting.sorted { $0.key < $1.key }.map { (id: $0.key, run: $0.value) }
        for (connection, timeout) in pendingReloads {
            pendingActions.append(PendingAction(connection: connection, request: .start, services: started,
                                                deadline: clock.now + timeout, timeout: timeout, result: result,
                                                failurePrefix: "\(summary.scale == nil ? "reloaded" : "scaled") (\(summary)), but: "))
        }
        pendingReloads = []
    }
}

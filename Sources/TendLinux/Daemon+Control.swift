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

    /// Carries out what `ControlDispatch` decided for the request.
    func handle(_ request: ControlRequest, from connection: ControlServer.Connection) {
        guard let control else { return }
        switch ControlDispatch.decide(request, supervisor, now: clock.now) {
        case .answer(let line):
            control.respond(connection, line)
        case .detail(let id):
            var detail = supervisor.detail(of: id)
            // Where its lines go in fact: `tend run` in a terminal writes them to its console.
            if detail.log == LogTarget.journal.rawValue, !journalMode { detail.log = "console" }
            if let pid = supervisor.pid(of: id) { detail.adopted = adoptedChildren(inGroup: pid) }
            control.respond(connection, ControlResponse.ok(StatusWire.detail(detail)))
        case .wait(let wait):
            pendingActions.append(PendingAction(connection: connection, request: wait.request, services: wait.services,
                                                deadline: wait.deadline, timeout: wait.timeout, result: wait.result))
        case .reloadFile(let timeout):
            if let error = startReload() {
                control.respond(connection, ControlResponse.error(error))
            } else {
                pendingReloads.append((connection, timeout))
            }
        case .scaling(let timeout):
            pendingReloads.append((connection, timeout))
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

    /// Reads the file again and starts applying it. Returns the error when the file is
    /// invalid (nothing changes then) or a reload cannot start now.
    func startReload() -> String? {
        guard let reloadConfig else { return "reload: tend was started without a file to read again" }
        do {
            let tree = try reloadConfig()
            try supervisor.reload(tree)
            // Users and groups are looked up again for the new tree, once each (the starts it
            // asks for are carried out after this).
            lookups.reloaded()
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

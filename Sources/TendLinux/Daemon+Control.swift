import Glibc
import TendControl
import TendCore

/// The daemon's side of `tend status/start/stop/restart/signal/reload`.
extension Daemon {
    /// start, stop or restart (or a reload, a scale): answered once what it asked for has settled.
    struct PendingAction {
        let connection: ControlServer.Connection
        let wait: ControlDispatch.Wait
    }

    /// Carries out what `ControlDispatch` decided for the request.
    func handle(_ request: ControlRequest, from connection: ControlServer.Connection) {
        guard let control else { return }
        switch ControlDispatch.decide(request, supervisor, now: clock.now, usage: { [cgroups] in cgroups?.addUsage(to: &$0) }) {
        case .answer(let line):
            control.respond(connection, line)
        case .detail(let id):
            var detail = supervisor.detail(of: id)
            cgroups?.addUsage(to: &detail.status)
            let limits = supervisor.spec(of: id).cgroupLimits
            detail.limits = cgroups?.limitLines(of: detail.status.name, limits) ?? CgroupLimitFiles.settings(limits).map {
                "\($0.key) \($0.shown) (not enforced: no cgroups)"
            }
            // Where its lines go in fact: `tend run` in a terminal writes them to its console.
            if detail.log == LogTarget.journal.rawValue, !journalMode { detail.log = "console" }
            if let pid = supervisor.pid(of: id) {
                // With a cgroup, all of its processes: a daemon that left the group is still the service's.
                detail.adopted = cgroups?.processes(detail.status.name).map { $0.filter { $0 != pid } } ?? adoptedChildren(inGroup: pid)
            }
            control.respond(connection, ControlResponse.ok(StatusWire.detail(detail)))
        case .wait(let wait):
            pendingActions.append(PendingAction(connection: connection, wait: wait))
        case .reloadFile(let timeout):
            if let error = startReload() {
                control.respond(connection, ControlResponse.error(error))
            } else {
                pendingReloads.append((connection, timeout))
            }
        case .scaling(let timeout):
            pendingReloads.append((connection, timeout))
        case .reexec(let binary, let timeout):
            beginReexec(binary, timeout: timeout, connection)
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

    /// Answers the waiting requests whose services have all settled, or whose time is up.
    func answerSettledActions() {
        guard !pendingActions.isEmpty, let control else { return }
        let now = clock.now
        var answers: [(ControlServer.Connection, String)] = []
        pendingActions.removeAll { pending in
            if pending.connection.closed { return true }
            guard let answer = ControlDispatch.answer(to: pending.wait, supervisor, now: now) else { return false }
            answers.append((pending.connection, answer))
            return true
        }
        // After the walk: an answer lets its connection take its next request.
        for (connection, answer) in answers { control.respond(connection, answer) }
    }

    /// `GET /metrics`: every service's row with what its cgroup says.
    func metricsPage(openMetrics: Bool) -> [UInt8] {
        var rows = supervisor.statuses
        if let cgroups { for i in rows.indices { cgroups.addMetricsUsage(to: &rows[i]) } }
        return MetricsText.render(rows, tend: MetricsText.Tend(reloads: reloadsApplied, logsDropped: events.droppedSoFar), openMetrics: openMetrics)
    }

    /// Reads the file again and starts applying it. Returns the error when the file is
    /// invalid (nothing changes then) or a reload cannot start now.
    func startReload() -> String? {
        guard let reloadConfig else { return "reload: tend was started without a file to read again" }
        do {
            let tree = try reloadConfig()
            try supervisor.reload(tree)
            if tree.cgroups != cgroupsSetting {
                let setting = tree.cgroups ? "auto" : "off"
                events.log(Event(kind: .cgroups, subject: "", message: "cgroups = \"\(setting)\" in [supervisor] takes effect at tend's next start: a reload keeps the services as they run"))
            }
            if tree.metrics != metrics?.address {
                let now = metrics.map { "stays \($0.address.address.dropFirst("tcp:".count))" } ?? "stays off"
                events.log(Event(kind: .reloading, subject: "", message: "metrics in [supervisor] takes effect at tend's next start: it \(now)"))
            }
            // Users and groups are looked up again for the new tree, once each (the starts it
            // asks for are carried out after this).
            lookups.reloaded()
            return nil
        } catch {
            let message = "reload failed, nothing changed: \(error)"
            events.log(Event(kind: .reloadFailed, subject: "", message: message))
            return message
        }
    }

    func reloaded(_ summary: ReloadSummary) {
        systemd?.reloaded()
        reloadsApplied += 1
        checkDescriptorLimit()
        for id in supervisor.serviceIDs { console.register(supervisor.spec(of: id).identifier) }
        outputs.reloaded(supervisor, restarted: summary.restarted)
        for name in summary.removed { cgroups?.remove(name) }
        // The sockets of the tree as it is now; each watched service watched as its spec is now.
        listenSockets.retain(Set(supervisor.servicesInTreeOrder.flatMap { supervisor.spec(of: $0).listen.map(\.address) }))
        for id in listenSockets.watchedServices { watchConnections(id) }
        fdStore.retain(Set(supervisor.servicesInTreeOrder))
        let result = summary.scale.map {
            JSONText.scale(name: $0.name, from: $0.from, to: $0.to, added: summary.added, removed: summary.removed)
        } ?? JSONText.reload(summary)
        // Answered once what the reload or scale started has settled, as `tend start` is.
        let started = summary.starting.sorted { $0.key < $1.key }.map { (id: $0.key, run: $0.value) }
        for (connection, timeout) in pendingReloads {
            pendingActions.append(PendingAction(connection: connection, wait: ControlDispatch.Wait(
                request: .start, services: started, deadline: clock.now + timeout, timeout: timeout, result: result,
                failurePrefix: "\(summary.scale == nil ? "reloaded" : "scaled") (\(summary)), but: ")))
        }
        pendingReloads = []
    }
}

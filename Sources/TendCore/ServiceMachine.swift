/// A service's phase and every way it changes, in one place: the table `next(from:on:)` gives
/// for each phase and each input the phase it leads to, or nil where the phase ignores the
/// input (every cell is written out: the compiler refuses a missing one), and
/// `ServiceNode.enter(because:)` is the only code that changes a phase. What else an input
/// does (signals, timers, events) is the handlers' (Supervisor+Start, +Stop, +Restart, ...);
/// the README's state diagram is drawn from this table (`stateDiagramIsTheOneInTheREADME`).
extension Supervisor {
    /// Finer than `ServiceState`: `waiting` is shown as `starting` without a pid.
    enum Phase: String, Codable, CaseIterable {
        case stopped, waiting, starting, running, stopping, backoff, exited, failed
        /// A job between runs.
        case scheduled

        var state: ServiceState {
            switch self {
            case .stopped: return .stopped
            case .waiting, .starting: return .starting
            case .running: return .running
            case .stopping: return .stopping
            case .backoff: return .backoff
            case .exited: return .exited
            case .failed: return .failed
            case .scheduled: return .scheduled
            }
        }
    }

    /// A phase with what is valid only in it: a run's process (`Child`) exists from the spawn
    /// asked for to the end of its stop, and why it is being stopped only while it stops.
    enum Stage: Codable, Equatable {
        case stopped, waiting
        case starting(Child)
        case running(Child)
        case stopping(Child, StopReason)
        case backoff, exited, failed, scheduled

        var phase: Phase {
            switch self {
            case .stopped: return .stopped
            case .waiting: return .waiting
            case .starting: return .starting
            case .running: return .running
            case .stopping: return .stopping
            case .backoff: return .backoff
            case .exited: return .exited
            case .failed: return .failed
            case .scheduled: return .scheduled
            }
        }

        var child: Child? {
            switch self {
            case .starting(let c), .running(let c), .stopping(let c, _): return c
            case .stopped, .waiting, .backoff, .exited, .failed, .scheduled: return nil
            }
        }
    }

    /// A run's process and what is known of it while it lasts.
    struct Child: Codable, Equatable {
        /// nil until the edge reports the spawn, and once reaped while its end is handled.
        var pid: Int32?
        var startedAt: Instant?
        /// The run's watchdog span: the spec's, or what the child set with WATCHDOG_USEC=.
        var watchdogSpan: Duration?
        var readyAt: Instant?
        var healthFailures = 0
        /// A check has reported since the run became ready.
        var healthKnown = false
        var healthInFlight = false
    }

    /// What changes a service's phase.
    enum ServiceInput: String, CaseIterable {
        /// Its turn in a start sequence is coming: a group starts, an operator's start, a restart
        /// plan resumes, a reload adds or restarts it.
        case queued
        /// Its backoff has passed.
        case backoffOver
        /// A job's time came (or a retry's, which it replaces).
        case runDue
        /// Its gates opened (start sequence, `after`, its groups): spawned now.
        case gatesOpened
        /// `ready = "started"`, or a job: up at exec.
        case spawnedUp
        /// Its readiness probe passed, or READY=1.
        case ready
        /// tend sent its stop signal (asked for, or for a fault such as start_timeout).
        case stopSent
        /// Asked to stop while it stops for a fault or by STOPPING=1: its end is a stop asked for.
        case stopAsked
        /// Its watchdog expired, or WATCHDOG=trigger: SIGABRT.
        case watchdogFired
        /// STOPPING=1 from the service.
        case stopAnnounced
        /// It exited after a stop tend asked for, or ended while its tree is torn down.
        case stoppedForGood
        /// Taken off before it runs, or with no process left: a stop, a group's stop, a reload.
        case dismissed
        /// It ended and its policy does not restart it (or a one-shot task completed).
        case ended
        /// It ended more often than max_restarts allows.
        case gaveUp
        /// It ended and is restarted after its backoff (a job: its run is retried).
        case restartPlanned
        /// A job is between runs (its next is armed).
        case betweenRuns
        /// An `@reboot` job after its one run.
        case bootRunDone
    }

    enum ServiceMachine {
        /// The phase `input` leads to from `phase`; nil: the phase ignores it.
        static func next(from phase: Phase, on input: ServiceInput) -> Phase? {
            switch (input, phase) {
            case (.queued, .stopped), (.queued, .exited), (.queued, .failed), (.queued, .backoff), (.queued, .waiting),
                 (.queued, .scheduled):
                return .waiting
            case (.queued, .starting), (.queued, .running), (.queued, .stopping):
                return nil

            case (.backoffOver, .backoff):
                return .waiting
            case (.backoffOver, .stopped), (.backoffOver, .waiting), (.backoffOver, .starting), (.backoffOver, .running),
                 (.backoffOver, .stopping), (.backoffOver, .exited), (.backoffOver, .failed), (.backoffOver, .scheduled):
                return nil

            case (.runDue, .scheduled), (.runDue, .backoff):
                return .waiting
            case (.runDue, .stopped), (.runDue, .waiting), (.runDue, .starting), (.runDue, .running), (.runDue, .stopping),
                 (.runDue, .exited), (.runDue, .failed):
                return nil

            case (.gatesOpened, .waiting):
                return .starting
            case (.gatesOpened, .stopped), (.gatesOpened, .starting), (.gatesOpened, .running), (.gatesOpened, .stopping),
                 (.gatesOpened, .backoff), (.gatesOpened, .exited), (.gatesOpened, .failed), (.gatesOpened, .scheduled):
                return nil

            case (.spawnedUp, .starting), (.ready, .starting):
                return .running
            case (.spawnedUp, .stopped), (.spawnedUp, .waiting), (.spawnedUp, .running), (.spawnedUp, .stopping),
                 (.spawnedUp, .backoff), (.spawnedUp, .exited), (.spawnedUp, .failed), (.spawnedUp, .scheduled),
                 (.ready, .stopped), (.ready, .waiting), (.ready, .running), (.ready, .stopping), (.ready, .backoff),
                 (.ready, .exited), (.ready, .failed), (.ready, .scheduled):
                return nil

            case (.stopSent, .starting), (.stopSent, .running), (.watchdogFired, .starting), (.watchdogFired, .running),
                 (.stopAnnounced, .starting), (.stopAnnounced, .running):
                return .stopping
            case (.stopAsked, .stopping):
                return .stopping
            case (.stopAsked, .stopped), (.stopAsked, .waiting), (.stopAsked, .starting), (.stopAsked, .running),
                 (.stopAsked, .backoff), (.stopAsked, .exited), (.stopAsked, .failed), (.stopAsked, .scheduled):
                return nil
            case (.stopSent, .stopped), (.stopSent, .waiting), (.stopSent, .stopping), (.stopSent, .backoff),
                 (.stopSent, .exited), (.stopSent, .failed), (.stopSent, .scheduled),
                 (.watchdogFired, .stopped), (.watchdogFired, .waiting), (.watchdogFired, .stopping),
                 (.watchdogFired, .backoff), (.watchdogFired, .exited), (.watchdogFired, .failed), (.watchdogFired, .scheduled),
                 (.stopAnnounced, .stopped), (.stopAnnounced, .waiting), (.stopAnnounced, .stopping),
                 (.stopAnnounced, .backoff), (.stopAnnounced, .exited), (.stopAnnounced, .failed), (.stopAnnounced, .scheduled):
                return nil

            case (.stoppedForGood, .starting), (.stoppedForGood, .running), (.stoppedForGood, .stopping),
                 (.stoppedForGood, .stopped):
                return .stopped
            case (.stoppedForGood, .waiting), (.stoppedForGood, .backoff), (.stoppedForGood, .exited),
                 (.stoppedForGood, .failed), (.stoppedForGood, .scheduled):
                return nil

            case (.dismissed, .waiting), (.dismissed, .backoff), (.dismissed, .scheduled), (.dismissed, .starting),
                 (.dismissed, .running), (.dismissed, .stopped):
                return .stopped
            case (.dismissed, .stopping), (.dismissed, .exited), (.dismissed, .failed):
                return nil

            case (.ended, .starting), (.ended, .running), (.ended, .stopping):
                return .exited
            case (.gaveUp, .starting), (.gaveUp, .running), (.gaveUp, .stopping):
                return .failed
            case (.restartPlanned, .starting), (.restartPlanned, .running), (.restartPlanned, .stopping):
                return .backoff
            case (.ended, .stopped), (.ended, .waiting), (.ended, .backoff), (.ended, .exited), (.ended, .failed),
                 (.ended, .scheduled),
                 (.gaveUp, .stopped), (.gaveUp, .waiting), (.gaveUp, .backoff), (.gaveUp, .exited), (.gaveUp, .failed),
                 (.gaveUp, .scheduled),
                 (.restartPlanned, .stopped), (.restartPlanned, .waiting), (.restartPlanned, .backoff),
                 (.restartPlanned, .exited), (.restartPlanned, .failed), (.restartPlanned, .scheduled):
                return nil

            case (.betweenRuns, .waiting), (.betweenRuns, .starting), (.betweenRuns, .running), (.betweenRuns, .stopping),
                 (.betweenRuns, .scheduled):
                return .scheduled
            case (.bootRunDone, .waiting), (.bootRunDone, .starting), (.bootRunDone, .running), (.bootRunDone, .stopping):
                return .exited
            case (.betweenRuns, .stopped), (.betweenRuns, .backoff), (.betweenRuns, .exited), (.betweenRuns, .failed),
                 (.bootRunDone, .stopped), (.bootRunDone, .backoff), (.bootRunDone, .exited), (.bootRunDone, .failed),
                 (.bootRunDone, .scheduled):
                return nil
            }
        }

        /// Whether a report about a run is acted on in `stage`; elsewhere it is ignored. Reports
        /// arrive late (after a stop, a restart, a spawn that failed), so every cell says.
        static func heeds(_ report: Report, in stage: Stage) -> Bool {
            switch (report, stage) {
            case (.spawnResult, .starting(let child)):
                return child.pid == nil
            case (.probe, .starting(let child)), (.readyNotice, .starting(let child)), (.liveness, .starting(let child)),
                 (.liveness, .running(let child)), (.health, .running(let child)):
                return child.pid != nil
            case (.spawnResult, .running), (.probe, .running), (.readyNotice, .running), (.health, .starting),
                 (_, .stopping), (_, .stopped), (_, .waiting), (_, .backoff), (_, .exited), (_, .failed), (_, .scheduled):
                return false
            }
        }
    }

    /// What the edge or the service reports about a run (the run's number matched first).
    enum Report: String, CaseIterable {
        /// The fork and exec asked for succeeded or failed.
        case spawnResult
        /// A readiness probe's result, or the time of its retry.
        case probe
        /// READY=1.
        case readyNotice
        /// STOPPING=1, WATCHDOG=1, WATCHDOG=trigger, WATCHDOG_USEC=, or the watchdog's expiry.
        case liveness
        /// A health check's time, or its result.
        case health
    }

    /// A service's node: its fields as one value (what `Supervisor.State` saves, and the same
    /// names read through the node, `s.pid` for `s.fields.pid`), and what the tree's shape
    /// gives it again on a restore (`link`).
    @dynamicMemberLookup
    final class ServiceNode {
        /// Written whole only here, so that `phase` changes only in `enter(because:)`.
        fileprivate(set) var fields: Fields
        var indexInParent = 0
        var after: [Node] = []
        private let changes: Changes

        struct Fields: Codable, Equatable {
            let id: ServiceID
            /// Not in its coding: the state writes a live service's spec once, in its tree.
            var spec = ServiceSpec(name: "", command: .argv([]))
            var parent: Int
            /// Changed only by `enter(because:)`, as the table says, and the child's data in it
            /// only by `updateChild`.
            fileprivate(set) var stage = Stage.stopped
            /// When the state operators see last changed.
            var stateSince: Instant
            /// The last runs' ends, the latest last (at most `ServiceDetail.keptExits`).
            var exits: [ExitRecord] = []
            /// Every run's end since tend started, by how it ended (`tend_service_exits_total`).
            var exitCounts: [RunResult: Int] = [:]
            /// Counts the spawns asked for: an edge's report names the run it is about.
            var run = 0
            /// Has been ready at least once: counts toward READY=1 to systemd.
            var everReady = false
            /// Should be up: false once exited, failed or stopped by the operator.
            var wanted: Bool
            /// Waits for the sibling before it (a start sequence), not only for `after`.
            var orderGate = false
            /// `tend restart`: start again once the stop is done.
            var startAfterStop = false
            /// Taken out of the tree by a reload; its id is never reused.
            var removed = false
            var failedRuns = 0
            var restarts = 0
            /// A one-shot task (`ready = "exited"`) whose last run exited with a success code.
            var completed = false
            var lastExit: ExitStatus?
            /// Why the last spawn failed, until a spawn succeeds.
            var spawnError: String?
            var statusText: String?
            /// `start = "on-connection"`: the starts connections made lately (systemd's trigger
            /// limit), and whether they made too many: not watched again until `tend start`.
            var connectionStarts: IntensityWindow?
            var connectionLimited = false

            // Jobs.
            /// A run is due (its time came, or `tend start` asked): the gates lead to a spawn, not
            /// to `scheduled`. Stays set through the backoff of a failed run.
            var runDue = false
            /// When the armed next run is due, on the wall clock (ns since the epoch).
            var nextRunWall: Int64?
            var lastRun: JobRun?

            enum CodingKeys: CodingKey {
                case id, parent, stage, stateSince, exits, exitCounts, run, everReady, wanted, orderGate, startAfterStop, removed
                case failedRuns, restarts, completed, lastExit, spawnError, statusText, connectionStarts, connectionLimited
                case runDue, nextRunWall, lastRun
            }
        }

        var phase: Phase { fields.stage.phase }
        var child: Child? { fields.stage.child }
        var pid: Int32? { fields.stage.child?.pid }

        init(id: ServiceID, spec: ServiceSpec, parent: Int, changes: Changes) {
            fields = Fields(id: id, spec: spec, parent: parent, stateSince: changes.clock.now, wanted: spec.autostart)
            self.changes = changes
        }

        init(restoring fields: Fields, changes: Changes) {
            self.fields = fields
            self.changes = changes
        }

        subscript<T>(dynamicMember field: KeyPath<Fields, T>) -> T { fields[keyPath: field] }

        subscript<T>(dynamicMember field: WritableKeyPath<Fields, T>) -> T {
            get { fields[keyPath: field] }
            set { fields[keyPath: field] = newValue }
        }
    }

}

extension Supervisor.ServiceNode {
    /// Moves to the phase the table gives for `input`; false (and no change) where the current
    /// phase ignores it.
    /// `stopReason`: why, for an input that leads to `stopping`.
    @discardableResult
    func enter(because input: Supervisor.ServiceInput, stopReason: Supervisor.StopReason = .requested) -> Bool {
        let before = phase
        guard let next = Supervisor.ServiceMachine.next(from: before, on: input) else { return false }
        // The run's process goes with it from starting to running to stopping, not beyond.
        let child = fields.stage.child ?? Supervisor.Child()
        switch next {
        case .stopped: fields.stage = .stopped
        case .waiting: fields.stage = .waiting
        case .starting: fields.stage = .starting(child)
        case .running: fields.stage = .running(child)
        case .stopping: fields.stage = .stopping(child, input == .stopAnnounced ? .announced : stopReason)
        case .backoff: fields.stage = .backoff
        case .exited: fields.stage = .exited
        case .failed: fields.stage = .failed
        case .scheduled: fields.stage = .scheduled
        }
        if next != before {
            changes.services.append(fields.id)
            changes.generation &+= 1
            if next == .running || next == .scheduled { fields.everReady = true }
            if next.state != before.state { fields.stateSince = changes.clock.now }
        }
        return true
    }

    func heeds(_ report: Supervisor.Report) -> Bool { Supervisor.ServiceMachine.heeds(report, in: fields.stage) }

    /// Changes what is known of the run's process, in the phase it is in.
    func updateChild(_ change: (inout Supervisor.Child) -> Void) {
        switch fields.stage {
        case .starting(var c): change(&c); fields.stage = .starting(c)
        case .running(var c): change(&c); fields.stage = .running(c)
        case .stopping(var c, let reason): change(&c); fields.stage = .stopping(c, reason)
        case .stopped, .waiting, .backoff, .exited, .failed, .scheduled: assertionFailure("\(fields.spec.name): no run in \(phase)")
        }
    }
}

extension Supervisor.ServiceNode {
    /// Keeps the last `ServiceDetail.keptExits` ends, for `tend status NAME`.
    func recordExit(_ record: ExitRecord) {
        if fields.exits.count >= ServiceDetail.keptExits { fields.exits.removeFirst(fields.exits.count - ServiceDetail.keptExits + 1) }
        fields.exits.append(record)
        fields.exitCounts[record.result, default: 0] += 1
    }
}

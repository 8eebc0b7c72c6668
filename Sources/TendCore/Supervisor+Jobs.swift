/// Jobs: services with a `schedule`. A job is `scheduled` between runs; at each due time it
/// runs once its `after` targets are ready, to completion, never beside a run of its own (a run
/// due meanwhile is skipped). A failed run is retried by `restart` and `backoff` (not counted
/// toward the group's intensity: a failing job never takes its group down), then the job waits
/// for its next time.
extension Supervisor {
    /// Between runs: arms the next run unless one is armed.
    func enterScheduled(_ s: ServiceNode) {
        s.runDue = false
        if case .reboot = s.spec.schedule {
            // Once, when tend starts the job: a first arrival here runs it, a later one ends it.
            if s.lastRun == nil {
                s.runDue = true
                spawn(s)
            } else {
                s.enter(because: .bootRunDone)
                s.wanted = false
            }
            return
        }
        if jobDue.deadline(of: s.id) == nil { armNextRun(s, previous: nil) }
        s.enter(because: .betweenRuns)
    }

    /// Arms the run after `previous` (for cron, the due time just reached; for `every`, when
    /// the last run started or was skipped), or the first one.
    func armNextRun(_ s: ServiceNode, previous: (at: Instant, wall: Int64)?) {
        switch s.spec.schedule {
        case .every(let interval)?:
            // As systemd's OnUnitActiveSec: an interval after the last run began. Jobs started
            // together drift apart by their own start times rather than all coming due at once.
            var next = (previous?.at ?? now) + interval
            while next <= now { next = next + interval }
            jobDue.set(s.id, at: next)
            s.nextRunWall = clock.epochNanoseconds + (next - now).nanoseconds
        case .cron(let expression)?:
            let wallNow = clock.epochNanoseconds
            let after = max(previous?.wall ?? 0, floorDiv(wallNow, 1_000_000_000))
            guard let due = expression.next(after: after, in: clock.zone) else {
                s.nextRunWall = nil
                return
            }
            s.nextRunWall = due * 1_000_000_000
            jobDue.set(s.id, at: now + .nanoseconds(due * 1_000_000_000 - wallNow))
        case .reboot?, nil:
            s.nextRunWall = nil
        }
    }

    /// The system clock was set, or the machine resumed from suspend (when the monotonic
    /// clock stood still): each cron job's armed run is due at its wall time again, at once
    /// if that time has passed.
    public func wallClockChanged() {
        let wallNow = clock.epochNanoseconds
        for s in services where s.spec.isJob {
            guard case .cron = s.spec.schedule, let wall = s.nextRunWall, jobDue.deadline(of: s.id) != nil else { continue }
            jobDue.set(s.id, at: now + .nanoseconds(max(0, wall.subtractingReportingOverflow(wallNow).partialValue)))
        }
    }

    /// The job's time came: run it now, or skip it if its last run still goes on.
    func runCameDue(_ s: ServiceNode) {
        guard s.spec.isJob, s.wanted, !s.removed, ![.stopped, .exited, .failed].contains(s.phase) else { return }
        let dueWall = s.nextRunWall ?? clock.epochNanoseconds
        if case .cron = s.spec.schedule, clock.epochNanoseconds < dueWall - 1_000_000 {
            // The system clock was set back since the run was armed: wait for the wall time.
            jobDue.set(s.id, at: now + .nanoseconds(dueWall - clock.epochNanoseconds))
            return
        }
        let runsNow = s.phase == .scheduled || s.phase == .backoff
        if case .every = s.spec.schedule, runsNow {
            // Armed when the run begins (see `runBegan`).
        } else {
            armNextRun(s, previous: (now, floorDiv(dueWall, 1_000_000_000)))
        }
        switch s.phase {
        case .scheduled, .backoff:
            deadlines.clear(.service(s.id))
            if s.phase == .backoff { s.failedRuns = 0 }
            s.runDue = true
            s.enter(because: .runDue)
            s.orderGate = false
        default:
            let why = s.pid.map { "the last run (pid \($0)) is still running" } ?? "the last run still waits for its after targets"
            event(.skipped, s, "run due now skipped: \(why)\(nextRunText(s))")
        }
    }

    /// A run (not a retry of one) was spawned: the next `every` run is an interval away.
    func runBegan(_ s: ServiceNode) {
        s.lastRun = JobRun(start: clock.epochNanoseconds)
        if case .every = s.spec.schedule, s.failedRuns == 0 { armNextRun(s, previous: nil) }
    }

    /// A run ended by itself (or could not start): record it, then retry it or wait for the
    /// next time.
    func jobRunEnded(_ s: ServiceNode, _ end: RunEnd, kind: Event.Kind, pid: Int32?) {
        let what = "\(end)", status = end.status, result = end.result(isSuccess: s.spec.isSuccess)
        let succeeded = end.ownStatus.map(s.spec.isSuccess) == true
        // A run that never started has no record from `runBegan`.
        var run = (kind == .spawnFailed ? nil : s.lastRun) ?? JobRun(start: clock.epochNanoseconds)
        run.duration = s.child?.startedAt.map { now - $0 } ?? .zero
        run.exit = status
        run.error = end.cause
        run.succeeded = succeeded
        s.lastRun = run
        let g = groups[s.parent]
        if succeeded {
            s.failedRuns = 0
            finishRun(s)
            event(kind, s, "\(what); the run succeeded in \(run.duration!.humanReadable)\(nextRunText(s))", pid: pid, exit: status,
                  result: result)
            if g.isStopping { stopNext(g) }
            return
        }
        s.failedRuns += 1
        let decision = s.spec.restartDecision(after: end, failedRuns: s.failedRuns)
        switch decision {
        case .exit, .giveUp:
            let retries = s.failedRuns - 1
            finishRun(s)
            let why = s.spec.restart == .never ? "restart=never" : "max_restarts=\(s.spec.maxRestarts ?? 0) retries done"
            event(kind, s, "\(what); the run failed, \(retries == 0 ? "" : "after \(retries) retries, ")not retrying (\(why))\(nextRunText(s))",
                  pid: pid, exit: status, result: result, decision: decision)
            if g.isStopping { stopNext(g) }
        case .restart:
            let delay = s.spec.backoff.delay(restart: s.failedRuns, unit: random.nextUnit())
            s.restarts += 1
            s.enter(because: .restartPlanned)
            event(kind, s, "\(what); the run failed", pid: pid, exit: status, result: result, decision: decision)
            event(.restarting, s, "retrying the run in \(delay.humanReadable) (restart=\(s.spec.restart.rawValue), retry #\(s.failedRuns))",
                  decision: decision, delay: delay)
            deadlines.set(.service(s.id), at: now + delay)
        }
    }

    /// The run is over, retries included.
    private func finishRun(_ s: ServiceNode) {
        s.failedRuns = 0
        enterScheduled(s)
    }

    func nextRunText(_ s: ServiceNode) -> String {
        guard jobDue.deadline(of: s.id) != nil, let wall = s.nextRunWall else { return "" }
        return "; next run at \(WallTime(epochNanoseconds: wall, zone: clock.zone))"
    }
}

/// A wall-clock time as logs show it: `2026-12-02 06:00:00 +0100`.
public struct WallTime: CustomStringConvertible {
    public let epochNanoseconds: Int64
    public let zone: ZoneRules

    public init(epochNanoseconds: Int64, zone: ZoneRules) {
        self.epochNanoseconds = epochNanoseconds
        self.zone = zone
    }

    /// `2026-12-02T05:00:00.250Z`: what `tend status --json` writes (UTC, milliseconds).
    public static func iso8601(epochNanoseconds: Int64) -> String {
        let ms = floorDiv(epochNanoseconds, 1_000_000) - floorDiv(epochNanoseconds, 1_000_000_000) * 1000
        return civil(floorDiv(epochNanoseconds, 1_000_000_000), separator: "T")
            + "." + (ms < 10 ? "00" : ms < 100 ? "0" : "") + "\(ms)Z"
    }

    /// What `iso8601` wrote, read back; nil for other text.
    public static func epochNanoseconds(iso8601 text: String) -> Int64? {
        // YEAR-MM-DDTHH:MM:SS.mmmZ: the year is as long as it is.
        let u = Array(text.utf8)
        guard u.count >= 21 else { return nil }
        let tail = u.count - 20
        let separators: [(Int, Character)] = [(0, "-"), (3, "-"), (6, "T"), (9, ":"), (12, ":"), (15, "."), (19, "Z")]
        guard separators.allSatisfy({ u[tail + $0.0] == $0.1.asciiValue }) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int64? {
            var n: Int64 = 0
            for byte in u[from..<(from + count)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                n = n * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return n
        }
        let negative = u[0] == UInt8(ascii: "-")
        guard (1...6).contains(tail - (negative ? 1 : 0)), let year = number(negative ? 1 : 0, tail - (negative ? 1 : 0)),
              let month = number(tail + 1, 2), let day = number(tail + 4, 2), let hour = number(tail + 7, 2),
              let minute = number(tail + 10, 2), let second = number(tail + 13, 2), let ms = number(tail + 16, 3),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        let days = Civil.days(year: negative ? -year : year, month: month, day: day)
        let (seconds, o1) = days.multipliedReportingOverflow(by: 86400)
        let (ns, o2) = (seconds + hour * 3600 + minute * 60 + second).multipliedReportingOverflow(by: 1_000_000_000)
        guard !o1, !o2 else { return nil }
        let (total, o3) = ns.addingReportingOverflow(ms * 1_000_000)
        return o3 ? nil : total
    }

    public var description: String {
        let utc = floorDiv(epochNanoseconds, 1_000_000_000)
        let offset = zone.offset(at: utc)
        let minutes = abs(offset) / 60
        return WallTime.civil(utc + offset, separator: " ") + " \(offset < 0 ? "-" : "+")"
            + WallTime.two(minutes / 60) + WallTime.two(minutes % 60)
    }

    /// `2026-12-02 05:00:00` of seconds since the epoch read as if local were UTC.
    static func civil(_ seconds: Int64, separator: String) -> String {
        let days = floorDiv(seconds, 86400)
        let date = Civil.date(days: days)
        let second = seconds - days * 86400
        return "\(date.year)-\(two(date.month))-\(two(date.day))\(separator)"
            + "\(two(second / 3600)):\(two(second % 3600 / 60)):\(two(second % 60))"
    }

    static func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

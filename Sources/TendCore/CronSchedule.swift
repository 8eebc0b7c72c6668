/// A time zone as the scheduler needs it: the offset from UTC in effect at an instant. The
/// edge reads the machine's zone; tests inject one with the transitions they need.
public protocol ZoneRules {
    /// Seconds east of UTC in effect at `utc` (seconds since the epoch).
    func offset(at utc: Int64) -> Int64
}

/// A zone whose offset changes at given instants (a daylight-saving rule written out).
public struct TransitionZone: ZoneRules, Sendable {
    public let initialOffset: Int64
    /// (instant, offset from then on), in order.
    public let transitions: [(at: Int64, offset: Int64)]

    public init(initialOffset: Int64, transitions: [(at: Int64, offset: Int64)] = []) {
        self.initialOffset = initialOffset
        self.transitions = transitions
    }

    public func offset(at utc: Int64) -> Int64 {
        transitions.last { $0.at <= utc }?.offset ?? initialOffset
    }
}

/// Civil dates without Foundation (Howard Hinnant's days-from-civil algorithms).
enum Civil {
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func date(days z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension CronExpression {
    /// Runs every hour: across a fall-back such a job goes on in real time through the repeated
    /// hour, as cron does, where a job at a fixed hour runs once.
    var everyHour: Bool { hours.count == 24 }

    /// Whether the job fires on a civil date, with crontab(5)'s rule: when both day fields are
    /// restricted, either one matching is enough.
    func matchesDay(month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        let dom = daysOfMonth.contains(day), dow = daysOfWeek.contains(weekday)
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): return dom || dow
        case (true, false): return dom
        case (false, true): return dow
        case (false, false): return true
        }
    }

    /// The first instant after `after` (seconds since the epoch, UTC) at which the job fires
    /// in `zone`, or nil when it never does (within 30 years: `0 0 30 2 *`). A job at fixed
    /// hours fires once at each local time it names: a time a spring-forward skips fires at the
    /// first minute that exists after it, and a time a fall-back repeats fires at its first
    /// occurrence only. A job that runs every hour goes on in real time across both changes
    /// (as cron does): it fires through the repeated hour, and not at minutes that do not exist.
    public func next(after: Int64, in zone: ZoneRules) -> Int64? {
        var offset = zone.offset(at: after)
        var from = after + offset
        for _ in 0..<64 {
            guard let civil = nextCivil(after: from) else { return nil }
            if !everyHour {
                if let instant = instant(civil: civil, after: after, in: zone) { return instant }
                from = civil
                continue
            }
            // Real time: the civil time read with the offset in effect, unless the offset
            // changes before then; then go on from the change with the new offset.
            let candidate = civil - offset
            if zone.offset(at: candidate) == offset { return candidate }
            let change = firstInstant(from: from - offset, to: candidate, in: zone) { $0 != offset }
            offset = zone.offset(at: change)
            from = change + offset - 1
        }
        return nil
    }

    /// The first civil minute after `civil` (seconds since the epoch as if local were UTC) that
    /// the expression names, within 30 years.
    func nextCivil(after civil: Int64) -> Int64? {
        var day = floorDiv(civil, 86400)
        var minuteOfDay = floorDiv(civil - day * 86400, 60) + 1
        let lastDay = day + 30 * 366
        while day <= lastDay {
            let date = Civil.date(days: day)
            let weekday = Int((day % 7 + 11) % 7)  // 1970-01-01 was a Thursday (4)
            if matchesDay(month: Int(date.month), day: Int(date.day), weekday: weekday) {
                while minuteOfDay < 1440 {
                    let hour = Int(minuteOfDay / 60), minute = Int(minuteOfDay % 60)
                    if hours.contains(hour), minutes.contains(minute) { return day * 86400 + minuteOfDay * 60 }
                    minuteOfDay += hours.contains(hour) ? 1 : 60 - Int64(minute)
                }
            }
            day += 1
            minuteOfDay = 0
        }
        return nil
    }

    /// The instant a civil time stands for, for a job at fixed hours, when it is after `after`.
    private func instant(civil: Int64, after: Int64, in zone: ZoneRules) -> Int64? {
        // Offsets are within a day of UTC, and zones change them at most once a day.
        let before = zone.offset(at: civil - 86400), later = zone.offset(at: civil + 86400)
        let instants = Set([before, later]).map { civil - $0 }.filter { zone.offset(at: $0) == civil - $0 }
        guard let first = instants.min() else {
            // Skipped by a spring-forward: the first minute after it that exists is the change.
            let change = firstInstant(from: civil - max(before, later), to: civil - min(before, later), in: zone) { $0 == later }
            return change > after ? change : nil
        }
        return first > after ? first : nil
    }

    /// The first instant in `low...high` whose offset satisfies `test` (which holds at `high`
    /// and, from there on, up to it).
    private func firstInstant(from low: Int64, to high: Int64, in zone: ZoneRules, _ test: (Int64) -> Bool) -> Int64 {
        var low = low, high = high
        while low < high {
            let middle = low + (high - low) / 2
            if test(zone.offset(at: middle)) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : -((-a + b - 1) / b)
}

import Testing
@testable import TendCore

/// When a cron job fires next: fields, month ends, Feb 29, crontab's day-of-month OR
/// day-of-week, and daylight saving in an injected zone (never the machine's).
@Suite struct CronScheduleTests {
    static let utcZone = TransitionZone(initialOffset: 0)
    /// Central European time in 2026: CET (+1) until 29 March 01:00 UTC, CEST (+2) until
    /// 25 October 01:00 UTC, then CET again.
    static let berlin = TransitionZone(initialOffset: 3600, transitions: [
        (at: at(2026, 3, 29, 1, 0), offset: 7200), (at: at(2026, 10, 25, 1, 0), offset: 3600),
    ])

    /// Seconds since the epoch of a UTC time.
    static func at(_ y: Int64, _ mo: Int64, _ d: Int64, _ h: Int64, _ mi: Int64) -> Int64 {
        Civil.days(year: y, month: mo, day: d) * 86400 + h * 3600 + mi * 60
    }

    func u(_ y: Int64, _ mo: Int64, _ d: Int64, _ h: Int64, _ mi: Int64) -> Int64 { CronScheduleTests.at(y, mo, d, h, mi) }

    func next(_ cron: String, after: Int64, in zone: ZoneRules = CronScheduleTests.utcZone) throws -> Int64? {
        try CronExpression(parsing: cron).next(after: after, in: zone)
    }

    /// Successive firings from `start`.
    func firings(_ cron: String, from start: Int64, count: Int, in zone: ZoneRules) throws -> [Int64] {
        var result: [Int64] = []
        var t = start
        for _ in 0..<count {
            guard let n = try next(cron, after: t, in: zone) else { break }
            result.append(n)
            t = n
        }
        return result
    }

    @Test func civilDatesRoundTrip() {
        #expect(Civil.days(year: 1970, month: 1, day: 1) == 0)
        #expect(Civil.days(year: 2000, month: 3, day: 1) == 11017)
        for day in stride(from: Int64(-800_000), through: 800_000, by: 997) {
            let d = Civil.date(days: day)
            #expect(Civil.days(year: d.year, month: d.month, day: d.day) == day)
        }
    }

    @Test func minutesHoursAndSteps() throws {
        #expect(try next("*/15 * * * *", after: u(2026, 5, 4, 10, 7)) == u(2026, 5, 4, 10, 15))
        #expect(try next("*/15 * * * *", after: u(2026, 5, 4, 10, 15)) == u(2026, 5, 4, 10, 30))
        #expect(try next("* * * * *", after: u(2026, 5, 4, 10, 7) + 59) == u(2026, 5, 4, 10, 8))
        #expect(try next("30 6 * * *", after: u(2026, 5, 4, 10, 7)) == u(2026, 5, 5, 6, 30))
        #expect(try next("0 9-17/4 * * *", after: u(2026, 5, 4, 13, 0)) == u(2026, 5, 4, 17, 0))
        #expect(try next("@hourly", after: u(2026, 12, 31, 23, 30)) == u(2027, 1, 1, 0, 0))
        #expect(try next("@yearly", after: u(2026, 1, 1, 0, 0)) == u(2027, 1, 1, 0, 0))
        #expect(try next("@monthly", after: u(2026, 1, 31, 12, 0)) == u(2026, 2, 1, 0, 0))
    }

    @Test func monthEndsAndLeapDays() throws {
        #expect(try next("0 0 31 * *", after: u(2026, 1, 31, 0, 0)) == u(2026, 3, 31, 0, 0))
        #expect(try next("0 0 30 * *", after: u(2026, 1, 30, 0, 0)) == u(2026, 3, 30, 0, 0))
        #expect(try next("0 0 29 2 *", after: u(2025, 3, 1, 0, 0)) == u(2028, 2, 29, 0, 0))
        #expect(try next("0 0 29 2 *", after: u(2096, 2, 29, 0, 0)) == u(2104, 2, 29, 0, 0))
        #expect(try next("0 0 * feb *", after: u(2028, 2, 28, 12, 0)) == u(2028, 2, 29, 0, 0))
        #expect(try next("0 0 30 2 *", after: u(2026, 1, 1, 0, 0)) == nil)
    }

    @Test func dayOfMonthOrDayOfWeekAsCronHasIt() throws {
        // 2026-02-11 is a Wednesday. The 13th (a Friday) or any Monday.
        #expect(try next("0 0 13 * mon", after: u(2026, 2, 11, 0, 0)) == u(2026, 2, 13, 0, 0))
        #expect(try next("0 0 13 * mon", after: u(2026, 2, 13, 0, 0)) == u(2026, 2, 16, 0, 0))
        // Only one restricted: that one decides.
        #expect(try next("0 0 * * mon", after: u(2026, 2, 11, 0, 0)) == u(2026, 2, 16, 0, 0))
        #expect(try next("0 0 13 * *", after: u(2026, 2, 13, 0, 0)) == u(2026, 3, 13, 0, 0))
        // Sunday is 0 and 7.
        #expect(try next("0 12 * * 7", after: u(2026, 2, 11, 0, 0)) == u(2026, 2, 15, 12, 0))
        #expect(try next("0 12 * * sun", after: u(2026, 2, 11, 0, 0)) == u(2026, 2, 15, 12, 0))
        // A restricted day of week with a step from *: still restricted (crontab reads "*/2" as "*").
        #expect(try next("0 0 1 * 1-5", after: u(2026, 2, 27, 0, 0)) == u(2026, 3, 1, 0, 0))
    }

    @Test func aFixedTimeInTheSpringForwardGapRunsOnceAtTheFirstMinuteAfter() throws {
        let berlin = CronScheduleTests.berlin
        // 02:30 local: 01:30 UTC in CET; on 29 March 02:30 does not exist: 03:00 CEST = 01:00 UTC.
        let runs = try firings("30 2 * * *", from: u(2026, 3, 27, 12, 0), count: 4, in: berlin)
        #expect(runs == [u(2026, 3, 28, 1, 30), u(2026, 3, 29, 1, 0), u(2026, 3, 30, 0, 30), u(2026, 3, 31, 0, 30)])
    }

    @Test func aFixedTimeInTheFallBackOverlapRunsOnce() throws {
        let berlin = CronScheduleTests.berlin
        // 02:30 local on 25 October: first 00:30 UTC (CEST), again 01:30 UTC (CET): once.
        let runs = try firings("30 2 * * *", from: u(2026, 10, 24, 12, 0), count: 3, in: berlin)
        #expect(runs == [u(2026, 10, 25, 0, 30), u(2026, 10, 26, 1, 30), u(2026, 10, 27, 1, 30)])
    }

    @Test func anEveryHourJobGoesOnInRealTimeAcrossBothChanges() throws {
        let berlin = CronScheduleTests.berlin
        let spring = try firings("*/30 * * * *", from: u(2026, 3, 29, 0, 0), count: 4, in: berlin)
        #expect(spring == [u(2026, 3, 29, 0, 30), u(2026, 3, 29, 1, 0), u(2026, 3, 29, 1, 30), u(2026, 3, 29, 2, 0)])
        let autumn = try firings("*/30 * * * *", from: u(2026, 10, 24, 23, 45), count: 5, in: berlin)
        #expect(autumn == [u(2026, 10, 25, 0, 0), u(2026, 10, 25, 0, 30), u(2026, 10, 25, 1, 0),
                           u(2026, 10, 25, 1, 30), u(2026, 10, 25, 2, 0)])
    }

    @Test func aZoneWestOfUTCAndTimesBeforeTheEpoch() throws {
        let newYork = TransitionZone(initialOffset: -5 * 3600)
        #expect(try next("0 9 * * *", after: u(2026, 5, 4, 20, 0), in: newYork) == u(2026, 5, 5, 14, 0))
        #expect(try next("0 0 1 1 *", after: u(1969, 6, 1, 0, 0)) == u(1970, 1, 1, 0, 0))
        #expect(try next("59 23 31 12 *", after: u(1899, 12, 31, 23, 58)) == u(1899, 12, 31, 23, 59))
    }
}

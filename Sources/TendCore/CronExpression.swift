/// A five-field cron expression (minute hour day-of-month month day-of-week), as crontab(5)
/// reads it: `*`, lists, ranges, steps, month and weekday names, and the `@daily` shorthands.
public struct CronExpression: Hashable, Sendable, Codable, CustomStringConvertible {
    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    /// 0 = Sunday; 7 is read as 0.
    public let daysOfWeek: Set<Int>
    /// crontab(5): when both day fields are restricted, a day matching either one matches.
    public let dayOfMonthRestricted: Bool
    public let dayOfWeekRestricted: Bool
    public let description: String

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    static let shorthands = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(parsing text: String) throws {
        let expanded = CronExpression.shorthands[text.lowercased()] ?? text
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(description: "expected 5 fields (minute hour day month weekday), got \(fields.count)")
        }
        minutes = try CronExpression.field(fields[0], "minute", 0...59, names: [])
        hours = try CronExpression.field(fields[1], "hour", 0...23, names: [])
        daysOfMonth = try CronExpression.field(fields[2], "day of month", 1...31, names: [])
        months = try CronExpression.field(fields[3], "month", 1...12, names: CronExpression.monthNames, nameBase: 1)
        let dow = try CronExpression.field(fields[4], "day of week", 0...7, names: CronExpression.dayNames)
        daysOfWeek = Set(dow.map { $0 % 7 })
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")
        description = text
    }

    private static func field(_ text: String, _ what: String, _ range: ClosedRange<Int>,
                              names: [String], nameBase: Int = 0) throws -> Set<Int> {
        func value(_ s: Substring) throws -> Int {
            if let n = Int(s), range.contains(n) { return n }
            if let i = names.firstIndex(of: s.lowercased()) { return i + nameBase }
            throw ParseError(description: "\(what): \"\(s)\" is not in \(range.lowerBound)-\(range.upperBound)")
        }
        var result = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, !pieces[0].isEmpty else {
                throw ParseError(description: "\(what): cannot read \"\(part)\"")
            }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else {
                    throw ParseError(description: "\(what): step \"\(pieces[1])\" is not a positive number")
                }
                step = s
            }
            let bounds: ClosedRange<Int>
            if pieces[0] == "*" {
                bounds = range
            } else {
                let ends = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2 else { throw ParseError(description: "\(what): cannot read \"\(part)\"") }
                let low = try value(ends[0])
                let high = ends.count == 2 ? try value(ends[1]) : (pieces.count == 2 ? range.upperBound : low)
                guard low <= high else { throw ParseError(description: "\(what): range \"\(pieces[0])\" is backwards") }
                bounds = low...high
            }
            result.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return result
    }
}

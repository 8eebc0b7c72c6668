/// The one boundary for numbers from outside (the file, control requests, notify datagrams,
/// the service manager's environment): each becomes a span or a count here, range-checked, or
/// is refused by the caller with an error that names it. Past this point nothing converts a
/// number that could trap or wrap.
public enum Bounds {
    /// The longest span tend takes anywhere: a timeout, an interval, a backoff, a period.
    public static let maxSpanSeconds: Int64 = 365 * 86_400
    public static let maxSpan = Duration.seconds(maxSpanSeconds)
    /// "0s to 365d", for errors.
    public static let spanRange = "0s to 365d"
    /// Copies of one service (`instances`, `tend scale`).
    public static let maxInstances = 100_000
    /// Linux's largest pid_max (2^22): no more tasks can exist (`pids_max`).
    public static let maxPID = 4_194_304

    /// `seconds` as a span: nil when not finite, negative or past `maxSpan`.
    public static func span(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0, seconds <= Double(maxSpanSeconds) else { return nil }
        // Whole nanoseconds: at most 3.2e16, exact enough in a Double and far from Int64's end.
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// A whole number of seconds as a span, or nil out of range.
    public static func span(seconds: Int) -> Duration? {
        (0...Int(maxSpanSeconds)).contains(seconds) ? .seconds(seconds) : nil
    }

    /// A whole number of microseconds (WATCHDOG_USEC=) as a span, or nil out of range.
    public static func span(microseconds: UInt64) -> Duration? {
        microseconds <= UInt64(maxSpanSeconds) * 1_000_000 ? .microseconds(Int64(microseconds)) : nil
    }
}

/// A point on the monotonic clock, in nanoseconds since an arbitrary origin.
public struct Instant: Comparable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    // Coded as its number, not a struct of one: a state holds thousands of instants.
    public init(from decoder: any Decoder) throws { nanoseconds = try decoder.singleValueContainer().decode(Int64.self) }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(nanoseconds)
    }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
    // Deadline arithmetic saturates, as `Duration.nanoseconds` does: a span too long for the
    // clock lands at the end of time, never (wrapped) in the past.
    public static func + (a: Instant, d: Duration) -> Instant { Instant(nanoseconds: a.nanoseconds.saturatingAdd(d.nanoseconds)) }
    public static func - (a: Instant, b: Instant) -> Duration { .nanoseconds(a.nanoseconds.saturatingSubtract(b.nanoseconds)) }
    public static func - (a: Instant, d: Duration) -> Instant { Instant(nanoseconds: a.nanoseconds.saturatingSubtract(d.nanoseconds)) }
    /// Later than any deadline: what a span too long for the clock saturates to.
    public static let distantFuture = Instant(nanoseconds: .max)
    public var description: String { "\(Double(nanoseconds) / 1e9)s" }
}

extension Int64 {
    func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }
}

extension Duration {
    /// Whole nanoseconds, saturating far beyond any span a config can hold.
    public var nanoseconds: Int64 {
        let (s, atto) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (s < 0 ? .min : .max) : ns.saturatingAdd(atto / 1_000_000_000)
    }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// "1.5s", "100ms", "0s": short and exact enough for logs and `tend check`.
    public var humanReadable: String {
        let ns = nanoseconds
        if ns == 0 { return "0s" }
        if ns % 1_000_000_000 == 0 {
            let s = ns / 1_000_000_000
            if s % 3600 == 0 { return "\(s / 3600)h" }
            if s % 60 == 0 { return "\(s / 60)m" }
            return "\(s)s"
        }
        if ns % 1_000_000 == 0, ns < 1_000_000_000 { return "\(ns / 1_000_000)ms" }
        if ns < 1_000_000 { return "\(ns / 1000)us" }
        let ms = (Double(ns) / 1e6).rounded()
        return ms < 1000 ? "\(Int(ms))ms" : "\(((Double(ns) / 1e7).rounded()) / 100)s"
    }
}

/// Where the core reads time from: the system's monotonic clock in tend, a manual one in tests.
public protocol MonotonicClock: AnyObject {
    var now: Instant { get }
}

/// The calendar side of time, for jobs at fixed times and for the times `tend status` shows:
/// the wall clock and the zone its times are read in.
public protocol WallClock: MonotonicClock {
    /// Nanoseconds since the epoch (CLOCK_REALTIME).
    var epochNanoseconds: Int64 { get }
    var zone: ZoneRules { get }
}

/// A clock that moves only when told to. Its wall clock moves with it, from `epoch`, unless
/// set apart (a step of the system clock).
public final class ManualClock: WallClock {
    public var now: Instant
    public var epochNanoseconds: Int64
    public var zone: ZoneRules
    public init(_ start: Instant = Instant(nanoseconds: 1_000_000_000), epochSeconds: Int64 = 1_788_000_000,
                zone: ZoneRules = TransitionZone(initialOffset: 0)) {
        now = start
        epochNanoseconds = epochSeconds * 1_000_000_000
        self.zone = zone
    }
    public func advance(by d: Duration) {
        now = now + d
        epochNanoseconds += d.nanoseconds
    }
}

/// Uniform doubles in [0, 1) for jitter; seeded in tests so every delay is reproducible.
public protocol RandomSource: AnyObject {
    func nextUnit() -> Double
}

/// A small deterministic generator (SplitMix64).
public final class SeededRandom: RandomSource {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public func nextUnit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }
}

/// The system's generator, for `tend run`.
public final class SystemRandom: RandomSource {
    private var generator = SystemRandomNumberGenerator()
    public init() {}
    public func nextUnit() -> Double { Double.random(in: 0..<1, using: &generator) }
}

import CTend
import Glibc
import TendCore

/// CLOCK_MONOTONIC and CLOCK_REALTIME, read through the vDSO: no system call.
final class SystemClock: WallClock {
    var now: Instant { Instant(nanoseconds: tend_monotonic_ns()) }
    var epochNanoseconds: Int64 { tend_realtime_ns() }
    let zone: ZoneRules = LocalZone()
}

/// The machine's time zone (TZ, else /etc/localtime), as the C library reads it once: a zone
/// changed under a running tend applies from its next start.
struct LocalZone: ZoneRules {
    init() { tzset() }

    func offset(at utc: Int64) -> Int64 {
        var t = time_t(utc)
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return 0 }
        return Int64(parts.tm_gmtoff)
    }
}

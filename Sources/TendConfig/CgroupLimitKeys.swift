import TendCore

/// The limits of a service's cgroup (SPEC section 8): sizes with units, weights, a CPU share.
enum CgroupLimitKeys {
    static let all = ["memory_max", "memory_high", "cpu_weight", "cpu_max", "pids_max", "io_weight"]

    /// The limits among the service's keys (`field` finds a key in the service or [defaults]).
    static func read(_ field: (String) -> Field?) -> CgroupLimits {
        var limits = CgroupLimits()
        if let f = field("memory_max") { limits.memoryMax = bytes(f) }
        if let f = field("memory_high") { limits.memoryHigh = bytes(f) }
        if let f = field("cpu_weight") { limits.cpuWeight = f.int(in: 1...10_000) }
        if let f = field("cpu_max") { limits.cpuMax = cpuMax(f) }
        if let f = field("pids_max") { limits.pidsMax = f.int(in: 1...Bounds.maxPID) }
        if let f = field("io_weight") { limits.ioWeight = f.int(in: 1...10_000) }
        return limits
    }

    static let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]

    /// "512M", "2G", "64K", "1T" (powers of 1024, as systemd's MemoryMax=), or a number of bytes.
    static func bytes(_ f: Field) -> UInt64? {
        let expected = "expected a size of at least 1M such as \"512M\" or \"2G\" (K, M, G, T: powers of 1024) or a number of bytes"
        // Below 1M no service runs: `memory_max = 512` (bytes, not MB) would only kill it.
        if let n = f.value.int { return n >= 1 << 20 ? UInt64(n) : f.fail("\(expected), got \(n)") }
        guard let text = f.value.string else { return f.fail("\(expected), got \(describe(f.value))") }
        var digits = Substring(text), scale: UInt64 = 1
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits = digits.dropLast()
        }
        guard isDecimal(digits, fraction: false), let n = UInt64(digits), n <= UInt64(Int64.max) / scale, n * scale >= 1 << 20 else {
            return f.fail("\(expected), got \"\(text)\"")
        }
        return n * scale
    }

    /// Digits, and with `fraction` at most one "." between digits.
    static func isDecimal(_ text: Substring, fraction: Bool) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count <= (fraction ? 2 : 1) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    /// "50%" of one CPU, or a number of CPUs ("2", 1.5): microseconds per period of 100 ms.
    static func cpuMax(_ f: Field) -> Int? {
        var percent: Double?
        if let n = f.value.int {
            percent = Double(n) * 100
        } else if let d = f.value.double {
            percent = d * 100
        } else if let text = f.value.string {
            let number = text.hasSuffix("%") ? Substring(text.dropLast()) : Substring(text)
            // Double() alone would take "+50", "1e3", "0x10" and "nan".
            if isDecimal(number, fraction: true) { percent = Double(number).map { text.hasSuffix("%") ? $0 : $0 * 100 } }
        }
        // 1% is the kernel's least quota (1 ms per 100 ms); 1,000 CPUs is more than any machine here.
        guard let p = percent, p.isFinite, p >= 1, p <= 100_000 else {
            return f.fail("expected a share of one CPU such as \"50%\" or a number of CPUs such as \"2\" (1% to 1000 CPUs), got \(describe(f.value))")
        }
        return Int((p * Double(CgroupLimits.cpuPeriod) / 100).rounded())
    }
}

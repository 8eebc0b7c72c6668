import TendCore

/// SPEC section 8's limits as the files of a service's cgroup, and what each file holds
/// without the limit (for a reload that takes one away).
enum CgroupLimitFiles {
    struct Setting: Equatable {
        /// The service key, as the file names it.
        let key: String
        let controller: String
        let file: String
        /// What is written; `shown`: the value as an operator reads it ("512M", "50%").
        let value: String
        let shown: String
    }

    static func settings(_ l: CgroupLimits) -> [Setting] {
        var out: [Setting] = []
        if let v = l.memoryMax { out.append(Setting(key: "memory_max", controller: "memory", file: "memory.max", value: "\(v)", shown: CgroupLimits.size(v))) }
        if let v = l.memoryHigh { out.append(Setting(key: "memory_high", controller: "memory", file: "memory.high", value: "\(v)", shown: CgroupLimits.size(v))) }
        if let v = l.cpuWeight { out.append(Setting(key: "cpu_weight", controller: "cpu", file: "cpu.weight", value: "\(v)", shown: "\(v)")) }
        if let v = l.cpuMax {
            out.append(Setting(key: "cpu_max", controller: "cpu", file: "cpu.max", value: "\(v) \(CgroupLimits.cpuPeriod)", shown: percent(v)))
        }
        if let v = l.pidsMax { out.append(Setting(key: "pids_max", controller: "pids", file: "pids.max", value: "\(v)", shown: "\(v)")) }
        if let v = l.ioWeight { out.append(Setting(key: "io_weight", controller: "io", file: "io.weight", value: "default \(v)", shown: "\(v)")) }
        return out
    }

    /// The kernel's value of each file with no limit set.
    static let unlimited = ["memory.max": "max", "memory.high": "max", "cpu.weight": "100", "cpu.max": "max \(CgroupLimits.cpuPeriod)",
                            "pids.max": "max", "io.weight": "default 100"]

    /// A quota per 100 ms as a share of one CPU: 50000 -> "50%", 150000 -> "150%".
    static func percent(_ quota: Int) -> String {
        let tenths = (quota * 10 + CgroupLimits.cpuPeriod / 200) / (CgroupLimits.cpuPeriod / 100)
        return tenths % 10 == 0 ? "\(tenths / 10)%" : "\(tenths / 10).\(tenths % 10)%"
    }
}

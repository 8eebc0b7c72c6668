/// Where the cgroup v2 hierarchy is mounted and where tend is in it, from the text of
/// /proc/self/mountinfo and /proc/self/cgroup (pure: tested on both layouts).
enum CgroupLocation {
    /// The mount point of the cgroup v2 hierarchy: /sys/fs/cgroup on a pure v2 machine, the
    /// hybrid layout's /sys/fs/cgroup/unified, else the first cgroup2 mount listed.
    static func hierarchy(mountinfo: String) -> String? {
        var mounts: [String] = []
        for line in mountinfo.split(separator: "\n") {
            // "36 25 0:31 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw": the type follows " - ".
            let fields = line.split(separator: " ")
            guard fields.count > 4, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count,
                  fields[dash + 1] == "cgroup2", fields[3] == "/" else { continue }
            mounts.append(unescape(fields[4]))
        }
        return mounts.first { $0 == "/sys/fs/cgroup" } ?? mounts.first { $0 == "/sys/fs/cgroup/unified" } ?? mounts.first
    }

    /// tend's cgroup in the v2 hierarchy ("/" for its root), from the "0::" line.
    static func own(procSelfCgroup: String) -> String? {
        for line in procSelfCgroup.split(separator: "\n") where line.hasPrefix("0::") {
            let path = String(line.dropFirst(3))
            // "/foo (deleted)" or a path outside the namespace's root ("/../x"): not one to work in.
            guard path.hasPrefix("/"), !path.contains("/.."), !path.hasSuffix(" (deleted)") else { return nil }
            return path
        }
        return nil
    }

    /// mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134.
    static func unescape(_ field: Substring) -> String {
        var out: [UInt8] = []
        let bytes = Array(field.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
               let value = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(value)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import Glibc

/// Reads and writes of the small files of a cgroup directory, relative to its fd.
enum CgroupFiles {
    /// The file's bytes (at most 1 MiB), or nil with errno set.
    static func read(_ dir: Int32, _ name: String) -> [UInt8]? {
        let fd = openat(dir, name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    /// From offset 0 of an open file (a kernfs file is read again from its start).
    static func readAll(_ fd: Int32) -> [UInt8]? {
        // Read into the array itself (a status row reads two of these files per service).
        var bytes = [UInt8](repeating: 0, count: 4096)
        var used = 0
        while used < 1 << 20 {
            if used == bytes.count { bytes += repeatElement(0, count: bytes.count) }
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + used, $0.count - used, off_t(used)) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            used += n
        }
        // Cut at 1 MiB: the last line, maybe cut too, is left out (a pid cut short is another's).
        if used >= 1 << 20 { used = (bytes[..<min(used, bytes.count)].lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1 }
        bytes.removeLast(bytes.count - min(used, bytes.count))
        return bytes
    }

    /// Writes `text` in one write; 0 or the errno.
    @discardableResult
    static func write(_ dir: Int32, _ name: String, _ text: String) -> Int32 {
        // O_TRUNC: the kernel's files ignore it; a plain file standing for one (tests) then holds the last write.
        let fd = openat(dir, name, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        let n = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        return n < 0 ? errno : 0
    }

    /// The value of `key` in a flat keyed file ("populated 1\nfrozen 0\n", cpu.stat).
    static func value(of key: String, in bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBufferPointer { value(of: key, in: $0) }
    }

    /// The value of `key` in the flat keyed file open at `fd`, read from offset 0 with one
    /// pread into a buffer on the stack: kernfs writes such a file whole at each read, so a read
    /// shorter than the buffer is all of it (a scrape reads 1,000 cpu.stat, a stop as many
    /// cgroup.events: no array, no second read to see the end). nil with errno set.
    static func value(of key: String, at fd: Int32) -> UInt64? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { buffer in
            var n: Int
            repeat { n = pread(fd, buffer.baseAddress, buffer.count, 0) } while n < 0 && errno == EINTR
            if n < 0 { return nil }
            if n == buffer.count { return readAll(fd).flatMap { value(of: key, in: $0) } }
            return value(of: key, in: UnsafeBufferPointer(rebasing: buffer[..<n]))
        }
    }

    private static func value(of key: String, in bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var key = key
        return key.withUTF8 { key in
            var i = 0
            while i < bytes.count {
                var end = i
                while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                let space = i + key.count
                if space < end, bytes[space] == UInt8(ascii: " "), bytes[i..<space].elementsEqual(key) {
                    return number(bytes[(space + 1)..<end])
                }
                i = end + 1
            }
            return nil
        }
    }

    /// A decimal number that fills `digits`, or nil.
    private static func number(_ digits: some Collection<UInt8>) -> UInt64? {
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// The names in directory `dir` but . and .. (read through a copy of the fd); none if
    /// unreadable. `directories`: only those of directories (a cgroup's child cgroups, not its files).
    static func names(in dir: Int32, directories: Bool = false) -> [String] {
        let copy = dup(dir)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return []
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            if directories, entry.pointee.d_type != UInt8(DT_DIR) { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// The pids in cgroup `name` (below `dir`) and in the cgroups a service made below it (a
    /// container runtime, a nested supervisor: their processes are not in its cgroup.procs).
    /// nil when `name`'s own list cannot be read.
    static func processes(_ dir: Int32, _ name: String, depth: Int = 0) -> [pid_t]? {
        guard let procs = read(dir, name + "/cgroup.procs") else { return nil }
        var pids = self.pids(in: procs)
        // A directory's link count is 2 + its subdirectories (kernfs keeps it so, as tmpfs
        // does): one stat, not an open and a listing, for the cgroup without child cgroups.
        var st = stat()
        if fstatat(dir, name, &st, 0) == 0, st.st_nlink <= 2 { return pids }
        let sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard sub >= 0 else { return pids }
        defer { close(sub) }
        // 16 levels: the kernel's default cgroup.max.depth is unlimited, a service's own tree is not that deep.
        for child in depth < 16 ? names(in: sub, directories: true) : [] {
            pids += processes(sub, child, depth: depth + 1) ?? []
        }
        return pids
    }

    /// rmdir of cgroup `name` below `dir`, its child cgroups first; errno of the last rmdir, or 0.
    @discardableResult
    static func removeTree(_ dir: Int32, _ name: String, depth: Int = 0) -> Int32 {
        let sub = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if sub >= 0 {
            for child in depth < 16 ? names(in: sub, directories: true) : [] { removeTree(sub, child, depth: depth + 1) }
            close(sub)
        }
        return unlinkat(dir, name, AT_REMOVEDIR) == 0 ? 0 : errno
    }

    /// The pids in a cgroup.procs file (a 0, a task outside tend's pid namespace, left out:
    /// kill(0) would be tend's own process group).
    static func pids(in bytes: [UInt8]) -> [pid_t] {
        bytes.split(separator: UInt8(ascii: "\n")).compactMap { number($0).flatMap { pid_t(exactly: $0) } }.filter { $0 > 0 }
    }

    /// How many processes a cgroup.procs file names (as `pids(in:)` counts them, without the array).
    static func processCount(in bytes: [UInt8]) -> Int {
        var count = 0, start = 0
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            if let pid = number(bytes[start..<i]).flatMap({ pid_t(exactly: $0) }), pid > 0 { count += 1 }
            start = i + 1
        }
        if let pid = number(bytes[start...]).flatMap({ pid_t(exactly: $0) }), pid > 0 { count += 1 }
        return count
    }
}

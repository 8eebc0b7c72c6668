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
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = pread(fd, &chunk, chunk.count, off_t(bytes.count))
            if n < 0, errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
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
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let parts = line.split(separator: UInt8(ascii: " "))
            guard parts.count == 2, parts[0].elementsEqual(key.utf8) else { continue }
            return UInt64(String(decoding: parts[1], as: UTF8.self))
        }
        return nil
    }

    /// The names in directory `dir` but . and .. (read through a copy of the fd); none if unreadable.
    static func names(in dir: Int32) -> [String] {
        let copy = dup(dir)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return []
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// The pids in a cgroup.procs file (a 0, a task outside tend's pid namespace, left out:
    /// kill(0) would be tend's own process group).
    static func pids(in bytes: [UInt8]) -> [pid_t] {
        bytes.split(separator: UInt8(ascii: "\n")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) }.filter { $0 > 0 }
    }
}

import Glibc

/// A service's processes as /proc shows them: its main process and what descends from it, and
/// what else is left in its process group (a daemon that double-forked is tend's child, not
/// the main process's, but stays in the group).
public enum ProcessTree {
    public struct Process: Equatable, Sendable {
        public var pid: Int32
        public var ppid: Int32
        public var pgid: Int32
        public var command: String
        public init(pid: Int32, ppid: Int32, pgid: Int32, command: String) {
            self.pid = pid
            self.ppid = ppid
            self.pgid = pgid
            self.command = command
        }
    }

    /// pid, ppid and pgrp from a /proc/PID/stat line; the name in parentheses may hold
    /// spaces and parentheses, so the fields are counted from the last ")".
    public static func parseStat(_ line: String) -> (pid: Int32, ppid: Int32, pgid: Int32, name: String)? {
        guard let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")"), open < close,
              let pid = Int32(line[..<open].trimmingSpaces) else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count >= 4, let ppid = Int32(fields[1]), let pgid = Int32(fields[2]) else { return nil }
        return (pid, ppid, pgid, String(line[line.index(after: open)..<close]))
    }

    /// The processes of the service whose main process (and process group) is `pid`, each with
    /// its depth under its parent, in tree order. `members`: pids that are the service's
    /// whatever their group (its cgroup's), shown beside the main process when not under it.
    public static func of(pid root: Int32, among all: [Process], members: [Int32] = []) -> [(depth: Int, process: Process)] {
        // A service's processes are few: linear looks cost less than a Dictionary and a Set
        // (each a generic type the runtime instantiates when a client starts).
        var out: [(Int, Process)] = []
        var seen: [Int32] = []
        func walk(_ p: Process, _ depth: Int) {
            guard !seen.contains(p.pid) else { return }
            seen.append(p.pid)
            out.append((depth, p))
            for child in all.filter({ $0.ppid == p.pid }).sorted(by: { $0.pid < $1.pid }) { walk(child, depth + 1) }
        }
        if let main = all.first(where: { $0.pid == root }) { walk(main, 0) }
        // Left in the group (or the cgroup) but no longer under the main process: shown beside
        // it, with their own.
        func isMember(_ p: Process) -> Bool { p.pgid == root || members.contains(p.pid) }
        for p in all.sorted(by: { $0.pid < $1.pid }) where isMember(p) && !seen.contains(p.pid) {
            if let parent = all.first(where: { $0.pid == p.ppid }), isMember(parent), !seen.contains(parent.pid) { continue }
            walk(p, 0)
        }
        return out
    }

    /// The processes `of(pid:among:)` needs, read from /proc without a scan of every process
    /// (10,000 services are 10,000 processes): the main process and its descendants, and the
    /// processes tend adopted that are in its process group (`adopted`: the daemon names them;
    /// nil: found here among the children of the main process's parent, tend), with theirs.
    /// Processes that vanish meanwhile are left out.
    public static func around(pid root: Int32, adopted: [Int32]?) -> [Process] {
        guard let main = process(root) else { return [] }
        var queue = [root] + (adopted ?? children(of: main.ppid).filter { $0 != root && getpgid($0) == root })
        var found: [Process] = []
        while let pid = queue.popLast() {
            // A service's processes are few: a linear look beats building a Set.
            guard !found.contains(where: { $0.pid == pid }), let p = pid == root ? main : process(pid) else { continue }
            found.append(p)
            queue += children(of: pid)
        }
        return found
    }

    private static func process(_ pid: Int32) -> Process? {
        guard let stat = read("/proc/\(pid)/stat"), let fields = parseStat(String(decoding: stat, as: UTF8.self)) else { return nil }
        // argv joined by spaces; a kernel thread or a zombie has none: its name in brackets.
        var cmdline = read("/proc/\(pid)/cmdline") ?? []
        while cmdline.last == 0 { cmdline.removeLast() }
        let argv = String(decoding: cmdline.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
        return Process(pid: fields.pid, ppid: fields.ppid, pgid: fields.pgid, command: argv.isEmpty ? "[\(fields.name)]" : argv)
    }

    /// Every thread's children (CONFIG_PROC_CHILDREN, as in Debian's kernels).
    static func children(of pid: Int32) -> [Int32] {
        let dir = open("/proc/\(pid)/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { return [] }
        defer { close(dir) }
        var pids: [Int32] = []
        for name in CgroupFiles.names(in: dir) {
            guard let tid = Int32(name), let list = read("/proc/\(pid)/task/\(tid)/children") else { continue }
            // "12 345 6789 ": digits read as they come (tend's own list holds every service).
            var value: Int32 = 0, digits = false
            for byte in list {
                if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    value = value &* 10 &+ Int32(byte - UInt8(ascii: "0"))
                    digits = true
                } else if digits {
                    pids.append(value)
                    value = 0
                    digits = false
                }
            }
            if digits { pids.append(value) }
        }
        return pids
    }

    private static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        // Large: each read of a `children` file walks the task's child list from its start again.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        while bytes.count < 1 << 20 {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            guard n > 0 else { break }
            bytes += buffer[..<n]
        }
        return bytes
    }
}

private extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

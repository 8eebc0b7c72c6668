import CTend
import Glibc
import TendCore

/// Turns a spec into a `tend_spawn_request`: every lookup (PATH) happens here in the parent,
/// users and groups before (`AccountLookups`), so the child only makes system calls.
final class Spawner {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        /// journald refused the child's stream (down, or its backlog full).
        var journalRefused = false
    }

    let base: BaseEnvironment
    /// Takes every child's pidfd.
    let reaper: Reaper
    /// /dev/null, open once, CLOEXEC, above fd 2.
    let devNull: Int32
    /// The soft RLIMIT_NOFILE tend started with: children get it back (tend raises its own).
    let originalNoFile: rlimit
    /// Signals not at SIG_DFL in tend (read once: tend never changes them after start).
    let signalsToReset = tend_nondefault_signals()
    /// argv[0] -> path, per PATH: a lookup costs an access(2) per directory, on every restart.
    /// An entry is dropped when its exec fails, so a moved binary is looked up again.
    private var resolved: [String: String] = [:]
    /// What a spec's user and group were found to be (`AccountLookups`), nil if not yet.
    var identity: (AccountLookups.Key) -> Accounts.Identity? = { _ in nil }
    /// What each service's environment files gave its last run: its readiness probes and
    /// health checks run with the same, without reading the files again every time.
    private var fileEnvironments: [String: [String: String]] = [:]

    init(base: BaseEnvironment, devNull: Int32, originalNoFile: rlimit, reaper: Reaper) {
        self.base = base
        self.reaper = reaper
        self.devNull = devNull
        self.originalNoFile = originalNoFile
    }

    /// What one spawn needs beside the spec.
    struct IO {
        var stdout: Int32
        var stderr: Int32
        var extraEnvironment: [String: String] = [:]
        /// The child's stdout and stderr go to a journal stream with this SYSLOG_IDENTIFIER
        /// (`stdout` and `stderr` are then ignored).
        var journalIdentifier: String? = nil
        /// WATCHDOG_USEC for the child, with WATCHDOG_PID its own pid.
        var watchdogMicroseconds: Int64? = nil
        /// An fd opened for this spawn only (a pipe's write end), closed once the child has it.
        var closeAfterSpawn: Int32? = nil
        /// A run of the service itself (not a probe or check): its environment files are read.
        var isRun = false
        /// The directory of the cgroup the child starts in (-1: tend's).
        var cgroup: Int32 = -1
        /// fds passed as 3, 4, ... with LISTEN_FDS, LISTEN_FDNAMES (their names) and LISTEN_PID.
        var passed: [(fd: Int32, name: String)] = []
    }

    /// journald's stream header (systemd's StandardOutput=journal): identifier, unit id (empty:
    /// journald finds the unit from the writer's cgroup), priority 6 (info), level prefix on
    /// (`<N>` sets the priority), no forwarding to syslog, kmsg or console.
    static func journalHeader(identifier: String) -> [CChar] {
        let clean = identifier.map { $0 == "\n" ? " " : $0 }
        return Array("\(String(clean))\n\n6\n1\n0\n0\n0\n".utf8).map { CChar(bitPattern: $0) }
    }

    /// Room for "dev:ino", filled in by the child once its stream socket exists.
    static let journalStreamPlaceholder = String(repeating: "x", count: 47)
    /// Room for a pid (at most 7 digits on Linux), filled in by the child.
    static let pidPlaceholder = String(repeating: "x", count: 11)

    func spawn(_ spec: ServiceSpec, argv: [String], io: IO) throws(Failure) -> pid_t {
        var environment: [String: String] = [:]
        if !spec.environmentFiles.isEmpty {
            if io.isRun || fileEnvironments[spec.name] == nil {
                fileEnvironments[spec.name] = try Spawner.readEnvironmentFiles(spec.environmentFiles)
            }
            environment = fileEnvironments[spec.name] ?? [:]
        }
        for (key, value) in spec.environment { environment[key] = value }
        for (key, value) in io.extraEnvironment { environment[key] = value }
        var ids: (uid: uid_t, gid: gid_t, groups: [gid_t])?
        if spec.user != nil || spec.group != nil {
            guard let resolved = identity(AccountLookups.Key(spec)) else {
                throw Failure(description: "user \"\(spec.user ?? "")\" and group \"\(spec.group ?? "")\" not looked up yet")
            }
            ids = (resolved.uid, resolved.gid, resolved.groups)
            if let account = resolved.account {
                for (key, value) in account where environment[key] == nil { environment[key] = value }
            }
        }
        let searchPath = environment["PATH"] ?? base.path
        let cacheKey = argv[0] + "\0" + searchPath
        let path = resolved[cacheKey] ?? resolve(argv[0], searchPath: searchPath)
        // As systemd's Limit*=: soft and hard both set. nofile defaults to what tend started with.
        var limits = spec.limits.values.mapValues { v -> rlimit in
            let value = v == UInt64.max ? rlim_t.max : rlim_t(v)
            return rlimit(rlim_cur: value, rlim_max: value)
        }
        let noFile = Int32(RLIMIT_NOFILE.rawValue)
        if limits[noFile] == nil { limits[noFile] = originalNoFile }
        let limitResources = limits.keys.sorted()
        let limitValues = limitResources.map { limits[$0]! }

        if io.journalIdentifier != nil { environment["JOURNAL_STREAM"] = Spawner.journalStreamPlaceholder }
        if let usec = io.watchdogMicroseconds {
            environment["WATCHDOG_USEC"] = String(usec)
            environment["WATCHDOG_PID"] = Spawner.pidPlaceholder
        }
        if !io.passed.isEmpty {
            environment["LISTEN_FDS"] = String(io.passed.count)
            environment["LISTEN_FDNAMES"] = io.passed.map(\.name).joined(separator: ":")
            environment["LISTEN_PID"] = Spawner.pidPlaceholder
        }
        let environmentLines = base.merged(with: environment)
        let cArgv = CStringArray(argv)
        let cEnv = CStringArray(environmentLines)
        func value(of key: String, if wanted: Bool) -> UnsafeMutablePointer<CChar>? {
            guard wanted else { return nil }
            return environmentLines.firstIndex { $0.hasPrefix(key + "=") }.map { cEnv.pointer[$0]! + key.utf8.count + 1 }
        }
        let journalStreamValue = value(of: "JOURNAL_STREAM", if: io.journalIdentifier != nil)
        let watchdogPIDValue = value(of: "WATCHDOG_PID", if: io.watchdogMicroseconds != nil)
        let listenPIDValue = value(of: "LISTEN_PID", if: !io.passed.isEmpty)
        let passFDs = io.passed.map(\.fd)
        let header = io.journalIdentifier.map(Spawner.journalHeader) ?? []
        var pid: pid_t = 0
        var pidfd: Int32 = -1
        var step: Int32 = 0
        var error: Int32 = 0
        let result: Int32 = path.withCString { cPath in
            withOptionalCString(spec.workingDirectory) { cwd in
                limitResources.withUnsafeBufferPointer { resources in
                    limitValues.withUnsafeBufferPointer { values in
                        (ids?.groups ?? []).withUnsafeBufferPointer { groups in
                          header.withUnsafeBufferPointer { header in
                           passFDs.withUnsafeBufferPointer { passFDs in
                            var request = tend_spawn_request(
                                path: cPath, argv: cArgv.pointer, envp: cEnv.pointer, working_directory: cwd,
                                stdin_fd: devNull, stdout_fd: io.stdout, stderr_fd: io.stderr,
                                umask: spec.umask.map { Int32(bitPattern: $0) } ?? -1,
                                change_ids: ids == nil ? 0 : 1, uid: ids?.uid ?? 0, gid: ids?.gid ?? 0,
                                groups: groups.baseAddress, group_count: Int32(groups.count),
                                limit_resources: resources.baseAddress, limit_values: values.baseAddress,
                                limit_count: Int32(resources.count), reset_signals: signalsToReset,
                                journal_header: header.isEmpty ? nil : header.baseAddress,
                                journal_header_length: Int32(header.count), journal_stream_value: journalStreamValue,
                                watchdog_pid_value: watchdogPIDValue, cgroup_fd: io.cgroup,
                                pass_fds: passFDs.baseAddress, pass_count: Int32(passFDs.count), listen_pid_value: listenPIDValue)
                            return tend_spawn(&request, &pid, &pidfd, &step, &error)
                           }
                          }
                        }
                    }
                }
            }
        }
        if result == 0 {
            resolved[cacheKey] = path
            reaper.watch(pid, pidfd: pidfd)
            return pid
        }
        resolved[cacheKey] = nil
        throw Failure(description: Spawner.describe(step: step, error: error, path: path, spec: spec),
                      journalRefused: tend_spawn_step(UInt32(step)) == TEND_STEP_JOURNAL)
    }

    /// An environment file larger than this is refused: it is read at every start.
    static let maxEnvironmentFile = 1 << 20

    /// The variables of `files`, read now (at every start, so an edit applies at the next
    /// one), later files winning. A missing or unreadable file fails the start unless optional;
    /// a malformed one always does.
    static func readEnvironmentFiles(_ files: [EnvironmentFileRef]) throws(Failure) -> [String: String] {
        var result: [String: String] = [:]
        for file in files {
            let text: String
            switch readSmallFile(file.path, limit: maxEnvironmentFile) {
            case .success(let t): text = t
            case .failure(let error):
                if file.optional, error.errno != nil { continue }
                throw Failure(description: "environment_file \(file.path): \(error)")
            }
            do {
                for (key, value) in try EnvironmentFile.parse(text) { result[key] = value }
            } catch {
                throw Failure(description: "environment_file \(file.path): \(error)")
            }
        }
        return result
    }

    struct ReadError: Error, CustomStringConvertible {
        /// Set when the file could not be opened or read (as opposed to being too large).
        let errno: Int32?
        let description: String
    }

    /// Only a regular file is read: a FIFO or a device could make the read (or its open) wait,
    /// and the loop with it. Opened non-blocking, so that the open of a FIFO returns at once.
    static func readSmallFile(_ path: String, limit: Int) -> Result<String, ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { return .failure(ReadError(errno: errno, description: String(cString: strerror(errno)))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(ReadError(errno: errno, description: String(cString: strerror(errno)))) }
        guard st.st_mode & S_IFMT == S_IFREG else { return .failure(ReadError(errno: nil, description: "not a regular file")) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0, errno == EINTR { continue }
            if n < 0 { return .failure(ReadError(errno: errno, description: String(cString: strerror(errno)))) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > limit { return .failure(ReadError(errno: nil, description: "larger than \(limit / 1024) KiB")) }
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    static func describe(step: Int32, error: Int32, path: String, spec: ServiceSpec) -> String {
        let reason = String(cString: strerror(error))
        switch tend_spawn_step(UInt32(step)) {
        case TEND_STEP_PIPE: return "pipe2: \(reason)"
        case TEND_STEP_FORK: return "fork: \(reason)"
        case TEND_STEP_STDIO: return "dup2 of stdio: \(reason)"
        case TEND_STEP_SETSID: return "setsid: \(reason)"
        case TEND_STEP_CHDIR: return "chdir \(spec.workingDirectory ?? ""): \(reason)"
        case TEND_STEP_RLIMIT: return "setrlimit: \(reason)"
        case TEND_STEP_SETGROUPS: return "setgroups for user \(spec.user ?? ""): \(reason)"
        case TEND_STEP_SETGID: return "setgid: \(reason)"
        case TEND_STEP_SETUID: return "setuid to \(spec.user ?? ""): \(reason)"
        case TEND_STEP_JOURNAL: return "journal stream /run/systemd/journal/stdout: \(reason)"
        case TEND_STEP_CGROUP: return "joining its cgroup (cgroup.procs): \(reason)"
        case TEND_STEP_PASS_FDS: return "passing its listen and stored fds: \(reason)"
        default: return "exec \(path): \(reason)"
        }
    }

    /// argv[0] with a slash is used as it is; otherwise the first executable in PATH, or the
    /// bare name so that execve reports ENOENT.
    func resolve(_ name: String, searchPath: String) -> String {
        if name.contains("/") { return name }
        for dir in searchPath.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return name
    }
}

/// A NULL-terminated array of C strings that lives as long as this value.
final class CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: count + 1)
        for (i, s) in strings.enumerated() { pointer[i] = strdup(s) }
        pointer[count] = nil
    }

    deinit {
        for i in 0..<count { free(pointer[i]) }
        pointer.deallocate()
    }
}

func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}

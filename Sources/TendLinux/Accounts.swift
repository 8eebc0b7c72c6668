import CTend
import Glibc

/// Users and groups as the system's name service gives them (nsswitch.conf: files, systemd's
/// dynamic users, LDAP, ...), asked of `getent`. tend is one static executable: in-process
/// lookups would make the static glibc load the system's NSS modules, which are only safe with
/// the very glibc tend was linked with. `getent` is the system's own, always in step with them.
enum Accounts {
    struct User: Equatable {
        var name: String
        var uid: uid_t
        var gid: gid_t
        var home: String
        var shell: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Where Debian's libc-bin puts it (/bin is the same directory on a merged /usr).
    static let getentPaths = ["/usr/bin/getent", "/bin/getent"]
    /// A name service that does not answer (an LDAP server away) fails the lookup, not tend.
    static let timeoutSeconds = 5.0

    /// The passwd entry of `name` (a name, or a uid), nil when there is none.
    static func user(_ name: String) throws(Failure) -> User? {
        try getent("passwd", name).flatMap { parsePasswd($0) }
    }

    /// The gid of the group `name`, nil when there is none; a number is a gid, with an entry
    /// or without.
    static func group(_ name: String) throws(Failure) -> gid_t? {
        if let gid = gid_t(name) { return gid }
        return try getent("group", name).flatMap { parseGroup($0) }
    }

    typealias Identity = (uid: uid_t, gid: gid_t, groups: [gid_t], account: [String: String]?)
    /// Asks getent DATABASE KEY and hands its answer on (nil: no such entry), now or later.
    typealias Getent = (_ database: String, _ key: String, _ answer: @escaping (Result<String?, Failure>) -> Void) -> Void

    /// What a child with `user` and `group` runs as (systemd's User= and Group=): the user's
    /// uid, gid and groups, `group` instead of its gid, and USER, LOGNAME, HOME and SHELL for
    /// its environment. Neither named: tend's own ids. Each entry is asked of `getent`, one
    /// after the other, and `done` gets the identity or the first failure.
    static func identity(user: String?, group: String?, getent: @escaping Getent,
                         done: @escaping (Result<Identity, Failure>) -> Void) {
        func withGroup(_ base: Identity) {
            guard let group else { return done(.success(base.groups.isEmpty ? (base.uid, base.gid, [base.gid], base.account) : base)) }
            func chosen(_ g: gid_t) {
                done(.success((base.uid, g, user == nil ? [g] : base.groups, base.account)))
            }
            if let number = gid_t(group) { return chosen(number) }
            getent("group", group) { answer in
                switch answer {
                case .failure(let failure): done(.failure(failure))
                case .success(let text):
                    guard let g = text.flatMap(parseGroup) else { return done(.failure(Failure(description: "group \"\(group)\": no such group"))) }
                    chosen(g)
                }
            }
        }
        guard let user else { return withGroup((getuid(), getgid(), [], nil)) }
        getent("passwd", user) { answer in
            let entry: User
            switch answer {
            case .failure(let failure): return done(.failure(failure))
            case .success(let text):
                if let found = text.flatMap(parsePasswd) {
                    entry = found
                } else if let number = uid_t(user) {
                    // A uid without an entry, as systemd's User= takes it.
                    entry = User(name: user, uid: number, gid: number, home: "/", shell: "/bin/sh")
                } else {
                    return done(.failure(Failure(description: "user \"\(user)\": no such user")))
                }
            }
            let account = ["USER": entry.name, "LOGNAME": entry.name, "HOME": entry.home, "SHELL": entry.shell]
            getent("initgroups", entry.name) { answer in
                switch answer {
                case .failure(let failure): done(.failure(failure))
                case .success(let text):
                    // The groups listing the user beyond its primary group (getgrouplist), that one first.
                    var groups = [entry.gid]
                    for g in text.map(parseInitgroups) ?? [] where !groups.contains(g) { groups.append(g) }
                    withGroup((entry.uid, entry.gid, groups, account))
                }
            }
        }
    }

    /// "name:password:uid:gid:gecos:home:shell"
    static func parsePasswd(_ text: String) -> User? {
        let fields = firstLine(text).split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 7, let uid = uid_t(fields[2]), let gid = gid_t(fields[3]) else { return nil }
        return User(name: String(fields[0]), uid: uid, gid: gid, home: String(fields[5]), shell: String(fields[6]))
    }

    /// "name:password:gid:members"
    static func parseGroup(_ text: String) -> gid_t? {
        let fields = firstLine(text).split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 4 else { return nil }
        return gid_t(fields[2])
    }

    /// "name   gid gid ...": the user's name padded, then the gids of the groups listing it.
    static func parseInitgroups(_ text: String) -> [gid_t] {
        firstLine(text).split(separator: " ").dropFirst().compactMap { gid_t($0) }
    }

    private static func firstLine(_ text: String) -> Substring {
        text.split(separator: "\n", maxSplits: 1).first ?? ""
    }

    /// `getent DATABASE -- KEY`'s output; nil when it found nothing (exit 2).
    static func getent(_ database: String, _ key: String, program: String? = nil, timeout: Double = timeoutSeconds) throws(Failure) -> String? {
        let what = "getent \(database) \(key)"
        guard let path = program ?? getentPaths.first(where: { access($0, X_OK) == 0 }) else {
            throw Failure(description: "\(what): getent is not installed (\(getentPaths.joined(separator: " or ")))")
        }
        var fds: [Int32] = [0, 0]
        guard tend_output_pipe(&fds) == 0 else { throw Failure(description: "\(what): pipe2: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // tend blocks the signals it reads through its signalfd and ignores some: getent gets an
        // empty mask and every signal at its default, as a service does.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = CStringArray([path, database, "--", key])
        let envp = CStringArray(["LC_ALL=C"])
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv.pointer, envp.pointer)
        close(fds[1])
        defer { close(fds[0]) }
        guard spawned == 0 else { throw Failure(description: "\(what): \(String(cString: strerror(spawned)))") }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        let deadline = Double(tend_monotonic_ns()) / 1e9 + timeout
        var timedOut = false
        // Until the end of its output: a cap would leave getent blocked on a full pipe. The
        // deadline bounds it.
        while true {
            let left = deadline - Double(tend_monotonic_ns()) / 1e9
            if left <= 0 { timedOut = true; break }
            let ready = poll(&pfd, 1, Int32(left * 1000) + 1)
            if ready < 0, errno == EINTR { continue }
            if ready == 0 { continue }
            let n = read(fds[0], &chunk, chunk.count)
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            if n <= 0 { break }
            output += chunk[..<n]
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        if timedOut { throw Failure(description: "\(what): no answer within \(Int(timeout))s") }
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
        switch code {
        case 0: return String(decoding: output, as: UTF8.self)
        case 2: return nil
        default: throw Failure(description: "\(what): " + (code < 0 ? "killed by signal \(status & 0x7f)" : "exited with \(code)"))
        }
    }
}

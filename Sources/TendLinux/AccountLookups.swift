import CTend
import Glibc
import TendCore

/// The services' users and groups, looked up without holding the loop: each `getent` is a
/// child of tend's whose output is read in the loop and whose end the reaper reports, and a
/// run waits for its identity (the start is held, not the loop). What a lookup finds is kept
/// until a reload (then looked up again at the next start, the old answer still serving
/// probes and checks meanwhile); a failure is remembered for `failureMemory`, so with a
/// name service down a restarting service costs one lookup per that span, not one per start.
final class AccountLookups {
    struct Key: Hashable {
        let user: String?
        let group: String?
        init(_ spec: ServiceSpec) { user = spec.user; group = spec.group }
    }

    enum Answer {
        case identity(Accounts.Identity)
        case failure(String)
        /// Being looked up: `onAnswer` says when it is done.
        case pending
    }

    static let failureMemory = Duration.seconds(30)

    /// One getent in flight.
    private final class Query {
        let what: String
        let pid: pid_t
        var output: Int32
        var captured: [UInt8] = []
        let deadline: Instant
        let answer: (Result<String?, Accounts.Failure>) -> Void
        init(what: String, pid: pid_t, output: Int32, deadline: Instant,
             answer: @escaping (Result<String?, Accounts.Failure>) -> Void) {
            self.what = what; self.pid = pid; self.output = output; self.deadline = deadline; self.answer = answer
        }
    }

    private let loop: EventLoop
    private let spawner: Spawner
    private let clock: MonotonicClock
    private var found: [Key: Accounts.Identity] = [:]
    private var failed: [Key: (message: String, at: Instant)] = [:]
    /// Found before the last reload: good for probes and checks, looked up again for a run.
    private var stale: Set<Key> = []
    private var inFlight: Set<Key> = []
    /// Reloads so far: a lookup begun before the last one found what the old files said.
    private var reloads = 0
    private var queries: [pid_t: Query] = [:]
    private var buffer = [UInt8](repeating: 0, count: 4096)
    /// An identity's lookup ended, found or failed.
    var onAnswer: (Key) -> Void = { _ in }

    init(loop: EventLoop, spawner: Spawner, clock: MonotonicClock) {
        self.loop = loop
        self.spawner = spawner
        self.clock = clock
    }

    /// For a run of `key`: the identity, a failure remembered, or `.pending` (a lookup is
    /// started unless one runs).
    func forRun(_ key: Key) -> Answer {
        if let identity = found[key], !stale.contains(key) { return .identity(identity) }
        if let failure = failed[key], clock.now < failure.at + AccountLookups.failureMemory { return .failure(failure.message) }
        if !inFlight.contains(key) { lookUp(key) }
        return inFlight.contains(key) ? .pending : forRun(key)
    }

    /// For a probe or a check of a running service: what its run was started with.
    func lastFound(_ key: Key) -> Accounts.Identity? { found[key] }

    /// A reload: what is known is looked up again at the next start that needs it.
    func reloaded() {
        stale = Set(found.keys)
        failed = [:]
        reloads += 1
    }

    private func lookUp(_ key: Key) {
        inFlight.insert(key)
        let reloadsBefore = reloads
        Accounts.identity(user: key.user, group: key.group, getent: { [unowned self] database, name, answer in
            self.ask(database, name, answer)
        }, done: { [unowned self] result in
            self.inFlight.remove(key)
            defer { self.onAnswer(key) }
            guard self.reloads == reloadsBefore else {
                // Begun before a reload: what it found serves probes and checks, and the run
                // that waits for it (onAnswer) has it looked up again.
                if case .success(let identity) = result {
                    self.found[key] = identity
                    self.stale.insert(key)
                }
                return
            }
            switch result {
            case .success(let identity):
                self.found[key] = identity
                self.stale.remove(key)
                self.failed[key] = nil
            case .failure(let failure):
                // What was found before still serves the run that has it; new runs fail.
                self.failed[key] = (failure.description, self.clock.now)
            }
        })
    }

    /// Starts `getent DATABASE -- KEY` with its output to a pipe the loop reads.
    private func ask(_ database: String, _ key: String, _ answer: @escaping (Result<String?, Accounts.Failure>) -> Void) {
        let what = "getent \(database) \(key)"
        guard let path = Accounts.getentPaths.first(where: { access($0, X_OK) == 0 }) else {
            return answer(.failure(Accounts.Failure(description: "\(what): getent is not installed (\(Accounts.getentPaths.joined(separator: " or ")))")))
        }
        var fds: [Int32] = [0, 0]
        guard tend_output_pipe(&fds) == 0 else {
            return answer(.failure(Accounts.Failure(description: "\(what): pipe2: \(String(cString: strerror(errno)))")))
        }
        defer { close(fds[1]) }
        var spec = ServiceSpec(name: "getent", command: .argv([path]))
        spec.workingDirectory = "/"
        var io = Spawner.IO(stdout: fds[1], stderr: spawner.devNull)
        io.extraEnvironment["LC_ALL"] = "C"
        do {
            let pid = try spawner.spawn(spec, argv: [path, database, "--", key], io: io)
            let query = Query(what: what, pid: pid, output: fds[0], deadline: clock.now + .seconds(Int64(Accounts.timeoutSeconds)), answer: answer)
            queries[pid] = query
            do {
                try loop.register(fds[0]) { [unowned self, unowned query] _ in
                    if !self.read(query) { self.closeOutput(query) }
                }
            } catch {
                // No room in epoll: what it writes is read when it ends (a line fits the pipe).
            }
        } catch {
            close(fds[0])
            answer(.failure(Accounts.Failure(description: "\(what): \(error)")))
        }
    }

    /// The reaper found `pid`: true when it was a getent of tend's.
    func reaped(_ pid: pid_t, _ status: ExitStatus) -> Bool {
        guard let query = queries.removeValue(forKey: pid) else { return false }
        while read(query) {}
        closeOutput(query)
        switch status {
        case .exited(0): query.answer(.success(String(decoding: query.captured, as: UTF8.self)))
        case .exited(2): query.answer(.success(nil))
        default: query.answer(.failure(Accounts.Failure(description: "\(query.what): \(status)")))
        }
        return true
    }

    /// tend is exiting: no getent of its outlives it.
    func cancelAll() {
        for query in queries.values {
            closeOutput(query)
            spawner.reaper.signal(query.pid, SIGKILL, group: false)
        }
        queries = [:]
    }

    var nextDeadline: Instant? { queries.values.map(\.deadline).min() }

    /// A getent past its deadline is killed, and its lookup fails: a name service that does
    /// not answer (an LDAP server away) fails the start, never the loop.
    func handleDeadlines(now: Instant) {
        for query in Array(queries.values) where query.deadline <= now {
            queries[query.pid] = nil
            closeOutput(query)
            spawner.reaper.signal(query.pid, SIGKILL, group: false)
            query.answer(.failure(Accounts.Failure(description: "\(query.what): no answer within \(Int(Accounts.timeoutSeconds))s")))
        }
    }

    /// One read of getent's output: false at end of file or error (EAGAIN included).
    private func read(_ query: Query) -> Bool {
        guard query.output >= 0 else { return false }
        let n = buffer.withUnsafeMutableBytes { Glibc.read(query.output, $0.baseAddress, $0.count) }
        guard n > 0 else { return n < 0 && errno == EINTR }
        // An entry is a line; a group of many members is long, but not this long.
        if query.captured.count < 1 << 20 { query.captured.append(contentsOf: buffer.prefix(n)) }
        return true
    }

    private func closeOutput(_ query: Query) {
        guard query.output >= 0 else { return }
        loop.unregister(query.output)
        close(query.output)
        query.output = -1
    }
}

import Glibc
import TendCore

/// Where each run's stdout and stderr go (SPEC section 5): a journal stream the child
/// connects itself, tend's own fds, /dev/null, or the service's pipe to tend, read in the loop
/// into the console. A pipe outlives its run: the next run writes to the same one, and the
/// pipe of a removed or restarted service is read until its last writer is gone.
final class OutputRouter {
    private let loop: EventLoop
    private let console: ConsoleLog
    private let events: EventSink
    private let devNull: Int32
    private let notifyAddress: String
    private var pipes: [ServiceID: OutputPipe] = [:]
    /// Pipes of removed or restarted services, read until their last writer is gone.
    private var retired: [Int32: OutputPipe] = [:]
    /// A child's journal stream was refused: said once, until one is accepted again.
    private var journalStreamsRefused = false

    init(loop: EventLoop, console: ConsoleLog, events: EventSink, devNull: Int32, notifyAddress: String) {
        self.loop = loop
        self.console = console
        self.events = events
        self.devNull = devNull
        self.notifyAddress = notifyAddress
    }

    /// Where the child's stdout and stderr go: a journal stream the child connects itself
    /// (tend holds nothing for it), tend's own fds, /dev/null, or the service's pipe to tend;
    /// and tend's notify socket for the services that use it.
    func io(for id: ServiceID, _ spec: ServiceSpec, journal: Bool) throws -> Spawner.IO {
        var io: Spawner.IO
        switch spec.log {
        case .inherit:
            io = Spawner.IO(stdout: 1, stderr: 2)
        case .null:
            io = Spawner.IO(stdout: devNull, stderr: devNull)
        case .journal where journal:
            io = Spawner.IO(stdout: devNull, stderr: devNull, journalIdentifier: spec.identifier)
        case .journal:
            let pipe: OutputPipe
            if let existing = pipes[id] {
                pipe = existing
            } else {
                pipe = try OutputPipe(name: spec.identifier)
                pipes[id] = pipe
            }
            let writer = try pipe.openWriter()
            if !pipe.watched {
                do { try watch(pipe) } catch {
                    close(writer)
                    throw error
                }
            }
            io = Spawner.IO(stdout: writer, stderr: writer)
            io.closeAfterSpawn = writer
        }
        io.isRun = true
        if spec.ready == .notify || spec.watchdog != nil {
            io.extraEnvironment["NOTIFY_SOCKET"] = notifyAddress
        }
        io.watchdogMicroseconds = spec.watchdog.map { $0.nanoseconds / 1000 }
        return io
    }

    private func watch(_ pipe: OutputPipe) throws {
        try loop.register(pipe.readEnd) { [unowned self, unowned pipe] _ in
            if !pipe.drain({ self.console.line(pipe.name, $0, continuation: $1) }) {
                // No writer left (the run and all it left behind are gone): nothing to watch until the next run.
                self.loop.unregister(pipe.readEnd)
                pipe.watched = false
                if let gone = self.retired.removeValue(forKey: pipe.readEnd) { gone.close() }
            }
        }
        pipe.watched = true
    }

    /// What `tend reexec` hands over: every pipe, each service's and the retired ones.
    struct Handed: Codable {
        var pipes: [ServiceID: OutputPipe.Handed] = [:]
        var retired: [OutputPipe.Handed] = []
        var fds: [Int32] { (Array(pipes.values) + retired).flatMap(\.fds) }
    }

    var handed: Handed { Handed(pipes: pipes.mapValues(\.handed), retired: retired.values.map(\.handed)) }

    /// In the new process: the pipes, those read before read again.
    func adopt(_ handed: Handed) throws {
        for (id, h) in handed.pipes {
            let pipe = OutputPipe(handed: h)
            pipes[id] = pipe
            if h.watched { try watch(pipe) }
        }
        for h in handed.retired {
            let pipe = OutputPipe(handed: h)
            retired[pipe.readEnd] = pipe
            if h.watched { try watch(pipe) }
        }
    }

    /// A run was spawned with `io`: a journal stream accepted again is said once.
    func spawned(with io: Spawner.IO) {
        guard io.journalIdentifier != nil, journalStreamsRefused else { return }
        journalStreamsRefused = false
        events.log(Event(kind: .journalUnavailable, subject: "", message: "journald accepts streams again"))
    }

    /// journald is down or swamped: this run writes to tend's console instead, said once.
    func journalRefused(_ error: Error, _ spec: ServiceSpec) {
        guard !journalStreamsRefused else { return }
        journalStreamsRefused = true
        events.log(Event(kind: .journalUnavailable, subject: spec.name,
                         message: "\(error); service output goes to tend's console until journald accepts streams again"))
    }

    /// After a reload: a removed or restarted service gets a fresh pipe (its identifier may
    /// have changed). The old run may still be writing (a removed service is being stopped
    /// now): its pipe is read until the last writer is gone, then closed.
    func reloaded(_ supervisor: Supervisor, restarted: [String]) {
        let restarted = Set(restarted)
        for (id, pipe) in pipes where !supervisor.isActive(id) || restarted.contains(supervisor.spec(of: id).name) {
            pipes[id] = nil
            if pipe.watched {
                pipe.retire()
                retired[pipe.readEnd] = pipe
            } else {
                pipe.close()
            }
        }
    }
}

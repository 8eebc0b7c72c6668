import TendCore

/// tend's own events, each written once: to the journal as a structured entry over a
/// non-blocking socket (what journald does not take in time is dropped and counted), or to
/// the console when there is no journal to take them.
final class EventSink {
    private let journal: DatagramQueue?
    private let console: ConsoleLog
    /// Lines and events dropped and told; a reexec keeps the count.
    var droppedTotal = 0
    /// `tend_logs_dropped_total`: those told and those not yet (a reader still stalled).
    var droppedSoFar: Int { droppedTotal + console.stdout.dropped + console.stderr.dropped + (journal?.dropped ?? 0) }

    /// `journalMode`: SPEC section 5 chose the journal; if journald's socket takes nothing,
    /// events go to the console rather than nowhere.
    init(journalMode: Bool, console: ConsoleLog, loop: EventLoop) {
        let queue = journalMode ? DatagramQueue(address: JournalPaths.native, loop: loop) : nil
        journal = queue?.isConnected == true ? queue : nil
        self.console = console
        console.stdout.onCaughtUp = { [unowned self] count in
            self.droppedTotal += count
            self.log(Event(kind: .logsDropped, subject: "", message: "\(count) lines of service output dropped: tend's stdout was not read fast enough"))
        }
        console.stderr.onCaughtUp = { [unowned self] count in
            self.droppedTotal += count
            self.log(Event(kind: .logsDropped, subject: "", message: "\(count) events dropped: tend's stderr was not read fast enough"))
        }
    }

    func log(_ event: Event) {
        if let journal {
            journal.send(JournalEntry(event).bytes)
        } else {
            console.event(event)
        }
    }

    /// Entries the journal could not take in time, said once it takes them again.
    func reportDrops() {
        guard let journal, journal.dropped > 0, journal.hasRoom else { return }
        let count = journal.takeDropped()
        droppedTotal += count
        journal.send(JournalEntry(Event(kind: .logsDropped, subject: "",
                                        message: "\(count) events dropped: journald did not take them in time")).bytes)
    }

    /// At exit: what is queued, as far as journald takes it now.
    func flush() { journal?.flush() }

    var handed: DatagramQueue.Handed? { journal?.handed }

    func adopt(_ handed: DatagramQueue.Handed?) {
        if let handed { journal?.adopt(handed) }
    }
}

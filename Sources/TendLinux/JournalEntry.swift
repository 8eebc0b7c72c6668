import TendCore

/// tend's events as journal entries in journald's native protocol (what sd_journal_sendv
/// sends): `KEY=value\n`, or for a value with a newline `KEY\n`, its length as 64-bit little
/// endian, the bytes and `\n`.
struct JournalEntry {
    private(set) var bytes: [UInt8] = []

    mutating func add(_ key: String, _ value: String) {
        let utf8 = Array(value.utf8)
        bytes.append(contentsOf: key.utf8)
        if utf8.contains(0x0A) {
            bytes.append(0x0A)
            var length = UInt64(utf8.count).littleEndian
            withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        } else {
            bytes.append(UInt8(ascii: "="))
        }
        bytes.append(contentsOf: utf8)
        bytes.append(0x0A)
    }

    /// One fixed id per kind of event, for `journalctl MESSAGE_ID=` and the catalog
    /// (units/tend.catalog explains each).
    static let messageIDs: [Event.Kind: String] = [
        .started: "b9242202869046c4a0155122bbe2c1cd",
        .ready: "9a77ce41cd8c46c2ba679b4c4a42efb4",
        .exited: "9b7207dae86d4ac7973826e15e410651",
        .restarting: "fe3a2a9f88d54a82bfa9eb0aff96804c",
        .stopping: "95ba8157262b4be5977e694e3bccfabb",
        .stopped: "092071afd2b2446c88761ed586421108",
        .spawnFailed: "09bf33785918410c8d58ea4627aaf53a",
        .gaveUp: "cd7a9747d0764ecfaf75fd539938ad8c",
        .shutdown: "992090f56e3747c78e20fa3519f6d8f9",
        .reloading: "6651674bc3c242a0a171992701041d0f",
        .reloaded: "c944e2cf133f47a7b388d685817afb49",
        .reloadFailed: "172c33ced7eb44e4a73c64e02d613cbe",
        .scaling: "6998441f92cb4daa95a5a29af2432e64",
        .scaled: "7f032bdf438543dd82561d29dcd05094",
        .logsDropped: "bd14c1642ce84a9aaa1f00671731caa5",
        .journalUnavailable: "8401086e7aa047559b19116e366de010",
        .skipped: "30960e67ea93414698dc1f828a77ab26",
        .unhealthy: "3d512fe4806c432c89dd0395abe3490e",
        .healthy: "9655519af21f4d7fa73385246603389b",
        .watchdog: "89e92e9ecc324df1a13aa31dbe079205",
        .fdLimit: "e9103e131d9d4f138033f4dfe3263fe8",
        .limitNotApplied: "639a226782b1471f8689d4397e8fa2bf",
        .cgroups: "a01b73d525334e4c87720c0cebd5fb9e",
        .processesLeft: "eb07819fd9854de5874c0994300737d6",
        .fdStore: "d6d5e79da29b4c72b041263903aa5e97",
        .reexec: "c01a221ef1924f56b0707c0764e090dc",
        .reexecFailed: "4a1809bf97374e0c830e146e94bbc5fd",
    ]

    /// syslog priorities: an exit nobody asked for is a warning, giving up an error.
    static func priority(of event: Event) -> Int {
        switch event.kind {
        case .gaveUp, .reloadFailed, .fdLimit, .processesLeft: return 3
        case .exited, .spawnFailed, .logsDropped, .journalUnavailable, .skipped, .unhealthy, .watchdog, .cgroups, .limitNotApplied, .fdStore, .reexecFailed: return 4
        default: return 6
        }
    }

    init(_ event: Event) {
        add("MESSAGE", event.description)
        add("MESSAGE_ID", JournalEntry.messageIDs[event.kind] ?? "")
        add("PRIORITY", String(JournalEntry.priority(of: event)))
        add("SYSLOG_IDENTIFIER", "tend")
        add("TEND_EVENT", event.kind.rawValue)
        if event.isGroup {
            add("TEND_GROUP", event.subject)
        } else if !event.subject.isEmpty {
            add("TEND_SERVICE", event.subject)
            if let group = event.group { add("TEND_GROUP", group) }
            add("TEND_RESTARTS", String(event.restarts))
        }
        if let pid = event.pid { add("TEND_PID", String(pid)) }
        // As systemd's $EXIT_CODE and $EXIT_STATUS: the code, or the signal's name.
        switch event.exit {
        case .exited(let code)?:
            add("EXIT_CODE", "exited")
            add("EXIT_STATUS", String(code))
        case .killed(let signal)?:
            add("EXIT_CODE", "killed")
            add("EXIT_STATUS", String(signal.description.dropFirst(3)))
        case .dumped(let signal)?:
            add("EXIT_CODE", "dumped")
            add("EXIT_STATUS", String(signal.description.dropFirst(3)))
        case nil:
            break
        }
        if let result = event.result { add("TEND_RESULT", result.rawValue) }
        if let decision = event.decision { add("TEND_DECISION", decision.word) }
        if let delay = event.delay { add("TEND_DELAY_MS", String(delay.nanoseconds / 1_000_000)) }
        if let plan = event.reload {
            for name in plan.added { add("TEND_ADDED", name) }
            for name in plan.removed { add("TEND_REMOVED", name) }
            for name in plan.restarted { add("TEND_RESTARTED", name) }
            add("TEND_UNCHANGED", String(plan.unchanged.count))
        }
    }
}

import Testing
import TendCore
@testable import TendLinux

/// tend's events in journald's native protocol, and the header of a child's journal stream.
@Suite struct JournalEntryTests {
    func fields(_ entry: JournalEntry) -> [String] {
        String(decoding: entry.bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func anExitCarriesItsFieldsAndAWarningPriority() {
        let event = Event(kind: .exited, subject: "api", group: "web", pid: 42, restarts: 3, exit: .killed(.kill),
                          message: "killed by SIGKILL; restarting")
        #expect(fields(JournalEntry(event)) == [
            "MESSAGE=api: exited (pid 42): killed by SIGKILL; restarting",
            "MESSAGE_ID=9b7207dae86d4ac7973826e15e410651", "PRIORITY=4", "SYSLOG_IDENTIFIER=tend",
            "TEND_EVENT=exited", "TEND_SERVICE=api", "TEND_GROUP=web", "TEND_RESTARTS=3", "TEND_PID=42",
            "EXIT_CODE=killed", "EXIT_STATUS=KILL",
        ])
    }

    @Test func aRestartCarriesItsDelayAndAGroupGivingUpIsAnError() {
        let restarting = fields(JournalEntry(Event(kind: .restarting, subject: "api", restarts: 1, delay: .milliseconds(1500),
                                                   message: "in 1.5s")))
        #expect(restarting.contains("TEND_DELAY_MS=1500"))
        #expect(restarting.contains("PRIORITY=6"))
        let gaveUp = fields(JournalEntry(Event(kind: .gaveUp, subject: "web", isGroup: true, message: "too many")))
        #expect(gaveUp.contains("PRIORITY=3") && gaveUp.contains("TEND_GROUP=web"))
        #expect(!gaveUp.contains { $0.hasPrefix("TEND_SERVICE=") })
        let dumped = fields(JournalEntry(Event(kind: .exited, subject: "x", exit: .dumped(.abrt), message: "")))
        #expect(dumped.contains("EXIT_CODE=dumped") && dumped.contains("EXIT_STATUS=ABRT"))
        let exited = fields(JournalEntry(Event(kind: .exited, subject: "x", exit: .exited(3), message: "")))
        #expect(exited.contains("EXIT_CODE=exited") && exited.contains("EXIT_STATUS=3"))
    }

    @Test func anEndCarriesItsResultAndDecision() {
        let entry = fields(JournalEntry(Event(kind: .exited, subject: "x", exit: .killed(.abrt), result: .watchdog,
                                              decision: .giveUp(failedRuns: 4, maxRestarts: 3), message: "")))
        #expect(entry.contains("TEND_RESULT=watchdog") && entry.contains("TEND_DECISION=give-up"))
        let started = fields(JournalEntry(Event(kind: .started, subject: "x", pid: 9, message: "")))
        #expect(!started.contains { $0.hasPrefix("TEND_RESULT=") || $0.hasPrefix("TEND_DECISION=") })
    }

    @Test func aReloadNamesItsPlan() {
        var plan = ReloadSummary()
        plan.added = ["a", "b"]
        plan.removed = ["c"]
        plan.unchanged = ["d", "e"]
        let entry = fields(JournalEntry(Event(kind: .reloaded, subject: "", reload: plan, message: "")))
        #expect(entry.filter { $0.hasPrefix("TEND_ADDED=") } == ["TEND_ADDED=a", "TEND_ADDED=b"])
        #expect(entry.contains("TEND_REMOVED=c") && entry.contains("TEND_UNCHANGED=2"))
    }

    @Test func aValueWithANewlineIsSentWithItsLength() {
        var entry = JournalEntry(Event(kind: .started, subject: "", message: ""))
        let before = entry.bytes.count
        entry.add("MESSAGE", "two\nlines")
        let added = Array(entry.bytes[before...])
        #expect(added == Array("MESSAGE\n".utf8) + [9, 0, 0, 0, 0, 0, 0, 0] + Array("two\nlines\n".utf8))
    }

    @Test func everyKindOfEventHasItsOwnMessageID() {
        let ids = Event.Kind.allCases.map { JournalEntry.messageIDs[$0] }
        #expect(ids.allSatisfy { $0?.count == 32 })
        #expect(Set(ids).count == Event.Kind.allCases.count)
    }

    @Test func aJournalStreamHeaderIsSystemdsSevenLines() {
        let header = String(decoding: Spawner.journalHeader(identifier: "api\nx").map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(header == "api x\n\n6\n1\n0\n0\n0\n")
    }
}

import Testing
import TendControl
import TendCore

/// The status wire form is written and read by the same code: whatever the daemon writes,
/// the client reads back as the same rows and detail.
@Suite struct StatusWireTests {
    /// Values as the wire carries them: spans and wall times to the millisecond (what the
    /// form keeps), every optional field sometimes set, strings that need escaping.
    struct Generator {
        let random: SeededRandom
        func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.nextUnit() * Double(range.count)) }
        func chance() -> Bool { random.nextUnit() < 0.5 }
        func maybe<T>(_ make: () -> T) -> T? { chance() ? make() : nil }
        func text() -> String {
            let pieces = ["api", "web@12", "\"quoted\"", "back\\slash", "line\nbreak", "tab\t", "\u{1}", "é", "😀", "中", " ", ""]
            return (0..<int(1...4)).map { _ in pieces[int(0...(pieces.count - 1))] }.joined()
        }
        func span() -> Duration { .milliseconds(Int64(int(0...400_000_000))) }
        /// 1970 to about 2100, to the millisecond.
        func time() -> Int64 { Int64(int(0...4_102_444_800_000)) * 1_000_000 }
        func exit() -> TendCore.ExitStatus {
            chance() ? .exited(Int32(int(0...255))) : .killed(Signal(number: Int32(int(1...64))))
        }
        func result() -> RunResult { RunResult.allCases[int(0...(RunResult.allCases.count - 1))] }
        func run() -> JobRun {
            let finished = chance()
            return JobRun(start: time(), duration: finished ? span() : nil, exit: maybe(exit), error: maybe(text),
                          succeeded: finished && chance())
        }
        func row() -> ServiceStatus {
            var row = ServiceStatus(name: text(), group: maybe(text), state: ServiceState.allCases[int(0...(ServiceState.allCases.count - 1))],
                          pid: maybe { Int32(int(1...4_194_304)) }, restarts: int(0...1_000_000), uptime: maybe(span),
                          lastExit: maybe(exit), lastResult: maybe(result), statusText: maybe(text), schedule: maybe(text), lastRun: maybe(run),
                          nextRun: maybe(time), health: maybe(text))
            row.cgroup = maybe(text)
            row.tasks = maybe { int(0...100_000) }
            row.cpu = maybe(span)
            row.memoryBytes = maybe { Int64(int(0...Int(Int32.max))) * 4096 }
            return row
        }
        func detail() -> ServiceDetail {
            var d = ServiceDetail(status: row(), since: time(), command: text(), readiness: text(), readyAfter: maybe(span),
                                  exits: (0..<int(0...5)).map { _ in
                                      ExitRecord(at: time(), status: maybe(exit), error: maybe(text), runtime: maybe(span), result: result())
                                  }, log: text(), identifier: text())
            d.adopted = (0..<int(0...3)).map { _ in Int32(int(1...4_194_304)) }
            return d
        }
    }

    @Test(arguments: 1...20)
    func rowsComeBackAsTheyWereWritten(seed: Int) throws {
        let g = Generator(random: SeededRandom(seed: UInt64(seed)))
        let rows = (0..<200).map { _ in g.row() }
        let read = try #require(StatusWire.rows(Array(StatusWire.status(rows).utf8)[...]))
        #expect(read.count == rows.count)
        for (written, back) in zip(rows, read) { #expect(back == written) }
    }

    @Test(arguments: 1...20)
    func aDetailComesBackAsItWasWritten(seed: Int) throws {
        let g = Generator(random: SeededRandom(seed: UInt64(seed)))
        for _ in 0..<50 {
            let detail = g.detail()
            let read = try #require(StatusWire.detail(Array(StatusWire.detail(detail).utf8)[...]))
            #expect(read.detail == detail)
            #expect(read.adoptedGiven)
        }
    }

    @Test func anOOMKillAddsOOMToTheExit() {
        var row = ServiceStatus(name: "a", group: nil, state: .backoff, pid: nil, restarts: 1, uptime: nil,
                                lastExit: .killed(.kill), lastResult: .oomKill, statusText: nil)
        #expect(StatusWire.status([row]).contains(#""last_exit":{"signal":"SIGKILL","oom":true}"#))
        row.lastResult = .signal
        #expect(StatusWire.status([row]).contains(#""last_exit":{"signal":"SIGKILL"},"#))
    }

    @Test func whatTheFormDoesNotKeepIsNamed() throws {
        // A core dump reads as the kill it was; a time or span past the millisecond is cut to it.
        let row = ServiceStatus(name: "a", group: nil, state: .failed, pid: nil, restarts: 0, uptime: .nanoseconds(1_234_567_890),
                                lastExit: .dumped(.abrt), statusText: nil, nextRun: 1_700_000_000_123_456_789)
        let back = try #require(StatusWire.rows(Array(StatusWire.status([row]).utf8)[...])?.first)
        #expect(back.lastExit == .killed(.abrt))
        #expect(back.uptime == .milliseconds(1234))
        #expect(back.nextRun == 1_700_000_000_123_000_000)
    }

    @Test func anAnswerWithoutAFieldItNeedsIsNoStatus() {
        #expect(StatusWire.rows(Array(#"{"services":[{"name":"a","state":"running"}]}"#.utf8)[...]) == nil)
        #expect(StatusWire.rows(Array(#"{"services":[{"name":"a","state":"dancing","restarts":0}]}"#.utf8)[...]) == nil)
        #expect(StatusWire.rows(Array(#"{"services":[{"name":"a","state":"running","restarts":0}]}"#.utf8)[...])?.first?.name == "a")
        // A tend that does not name adopted pids: the client looks for them itself.
        let old = #"{"services":[{"name":"a","state":"running","restarts":0,"since":"2026-12-06T10:00:00.000Z","command":"x","#
            + #""readiness":"started","exits":[],"log":"null","log_identifier":"a"}]}"#
        #expect(StatusWire.detail(Array(old.utf8)[...])?.adoptedGiven == false)
    }

    @Test func wallTimesReadBackWhatWasWritten() {
        for ns: Int64 in [0, 999_000_000, 951_782_400_000_000_000, 4_102_444_799_999_000_000, -86_400_000_000_000] {
            #expect(WallTime.epochNanoseconds(iso8601: WallTime.iso8601(epochNanoseconds: ns)) == ns, "\(ns)")
        }
        for text in ["", "2026-12-06", "2026-13-06T10:00:00.000Z", "2026-12-06T10:00:00Z", "2026-12-06T10:00:00.000", "x026-12-06T10:00:00.000Z",
                     "9999999-12-06T10:00:00.000Z"] {
            #expect(WallTime.epochNanoseconds(iso8601: text) == nil, "\(text)")
        }
    }
}

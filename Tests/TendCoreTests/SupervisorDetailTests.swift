import Testing
@testable import TendCore

/// `tend status NAME`'s detail: since when, the last exits, how long readiness took.
@Suite struct SupervisorDetailTests {
    @Test func sinceIsWhenTheStateOperatorsSeeLastChanged() {
        let h = Harness(services: [service("api") { $0.ready = .notify }])
        h.start()
        let started = h.clock.epochNanoseconds
        h.advance(by: .seconds(2))
        h.ready("api")
        let ready = h.clock.epochNanoseconds
        #expect(h.supervisor.detail(of: h.id("api")).since == ready && ready - started == 2_000_000_000)
        #expect(h.supervisor.detail(of: h.id("api")).readyAfter == .seconds(2))
        #expect(h.supervisor.detail(of: h.id("api")).readiness == "notify")
    }

    @Test func theLastFiveExitsAreKeptTheLatestFirst() {
        let h = Harness(services: [service("crashy")])
        h.start()
        for code in 1...7 {
            h.advance(by: .seconds(1))
            h.exit("crashy", .exited(Int32(code)))
            h.runTimers(for: .seconds(5))
        }
        let exits = h.supervisor.detail(of: h.id("crashy")).exits
        #expect(exits.map(\.status) == (3...7).reversed().map { .exited(Int32($0)) })
        #expect(exits.allSatisfy { ($0.runtime ?? .zero) >= .seconds(1) && $0.error == nil })
        #expect(exits[0].at > exits[1].at)
    }

    @Test func aSpawnFailureIsAnExitWithItsError() {
        let h = Harness(services: [service("bad")])
        h.failingSpawns = ["bad"]
        h.start()
        let exit = h.supervisor.detail(of: h.id("bad")).exits.first
        #expect(exit?.status == nil && exit?.error == "exec /nope: No such file or directory" && exit?.runtime == nil)
    }
}

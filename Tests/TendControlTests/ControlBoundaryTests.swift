import Testing
import TendControl
import TendCore

/// Every number a control request carries, at its boundaries and past them: refused with the
/// field named, or taken within range and run through the daemon's dispatch with a deadline
/// that never lies behind the clock.
@Suite struct ControlBoundaryTests {
    static let numbers = ["-1", "-0", "0", "1e-300", "0.5", "1", "31536000", "31536000.5", "1e10", "1e300",
                          "9223372036854775807", "18446744073709551616", "-9223372036854775808", "1.7976931348623157e308"]

    func tree() -> TreeSpec {
        var worker = ServiceSpec(name: "worker", command: .argv(["worker"]))
        worker.instances = 2
        let web = ServiceSpec(name: "web", command: .argv(["web"]))
        return TreeSpec(root: GroupSpec(name: "", children: ["web", "worker"]), services: [web, worker], groups: [])
    }

    @Test(arguments: ["start", "stop", "restart", "reload"])
    func aTimeoutIsInRangeOrRefusedByName(_ command: String) {
        for number in ControlBoundaryTests.numbers {
            let line = #"{"version":1,"command":"\#(command)","names":["web"],"timeout_s":\#(number)}"#
            do {
                let request = try ControlRequest.decode(Array(line.utf8))
                let seconds = try #require(request.timeoutSeconds)
                #expect(seconds >= 0 && seconds <= Double(Bounds.maxSpanSeconds), "\(line)")
                let clock = ManualClock()
                let supervisor = Supervisor(tree: tree(), clock: clock, random: SeededRandom(seed: 1))
                supervisor.start()
                if case .wait(let wait) = ControlDispatch.decide(request, supervisor, now: clock.now) {
                    #expect(wait.deadline >= clock.now && wait.deadline - clock.now == request.timeout, "\(line)")
                }
            } catch {
                #expect("\(error)".hasPrefix("timeout_s: "), "\(line): \(error)")
            }
        }
    }

    @Test func aCountIsInRangeOrRefusedByName() {
        for number in ControlBoundaryTests.numbers + ["100000", "100001", "2"] {
            let line = #"{"version":1,"command":"scale","names":["worker"],"count":\#(number)}"#
            do {
                let request = try ControlRequest.decode(Array(line.utf8))
                let count = try #require(request.count)
                #expect((1...Bounds.maxInstances).contains(count), "\(line)")
                let clock = ManualClock()
                let supervisor = Supervisor(tree: tree(), clock: clock, random: SeededRandom(seed: 1))
                supervisor.start()
                _ = ControlDispatch.decide(request, supervisor, now: clock.now)
                #expect(supervisor.statuses.filter { $0.name.hasPrefix("worker@") }.count == count, "\(line)")
            } catch {
                #expect("\(error)".hasPrefix("count: "), "\(line): \(error)")
            }
        }
    }
}

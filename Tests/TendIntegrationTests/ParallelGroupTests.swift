import Foundation
import Testing

/// `parallel = true` (SPEC section 9) with real processes: 100 notify services, each ready and
/// each gone only when the test says so through one FIFO, so the test cannot pass in order.
@Suite struct ParallelGroupTests {
    @Test func aHundredNotifyServicesStartTogetherAndStopTogether() throws {
        let count = 100
        // The FIFO is made before tend starts, where no service could make a plain file first.
        let gateDir = FileManager.default.temporaryDirectory.appendingPathComponent("tend-gate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: gateDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: gateDir) }
        let gate = gateDir + "/gate"
        #expect(mkfifo(gate, 0o600) == 0)
        let writer = open(gate, O_RDWR)
        #expect(writer >= 0)
        defer { close(writer) }
        // Each service holds the FIFO open (read-write: no open blocks) and takes one line to
        // be ready, and one more to end after SIGTERM. The test holds it open too, so no line
        // written before a service reads it is lost.
        let services = (0..<count).map { i in """
            [[service]]
            name = "s\(i)"
            ready = "notify"
            stop_timeout = "60s"
            command = "exec 3<>\(gate); read line <&3; systemd-notify --ready; trap 'read line <&3; exit 0' TERM; sleep 1000 & wait"
            """ }.joined(separator: "\n")
        let tend = try TendRun("[supervisor]\nparallel = true\n" + services)
        defer { tend.cleanUp() }
        // In order, s1 would not start before s0 is ready, and no service is ready before the
        // lines are written.
        #expect(tend.waitFor("100 started", timeout: 60) { tend.events.filter { $0.kind == "started" }.count == count })
        #expect(tend.events.filter { $0.kind == "ready" }.isEmpty)
        let lines = [UInt8](repeating: UInt8(ascii: "\n"), count: count)
        #expect(write(writer, lines, count) == count)
        #expect(tend.waitFor("100 ready", timeout: 60) { tend.events.filter { $0.kind == "ready" }.count == count })

        // In reverse order, s98 would not be sent SIGTERM before s99 is gone, and none is
        // gone before the next lines are written.
        kill(tend.process.processIdentifier, SIGTERM)
        #expect(tend.waitFor("100 stopping", timeout: 60) { tend.events.filter { $0.kind == "stopping" }.count == count })
        #expect(tend.events.filter { $0.kind == "stopped" }.isEmpty)
        #expect(write(writer, lines, count) == count)
        #expect(tend.waitForExit(timeout: 60) == 0)
        #expect(tend.events.filter { $0.kind == "stopped" }.count == count)
        tend.stop()
    }
}

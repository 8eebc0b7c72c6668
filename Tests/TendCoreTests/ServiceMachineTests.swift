import Glibc
import Testing
@testable import TendCore

/// The service state machine's table (ServiceMachine.swift) and the diagram drawn from it.
@Suite struct ServiceMachineTests {
    typealias Phase = Supervisor.Phase
    typealias Input = Supervisor.ServiceInput

    /// The README's state diagram, as the table draws it (Mermaid; self-loops left out).
    static var diagram: String {
        var edges: [(from: Phase, to: Phase, inputs: [Input])] = []
        for from in Phase.allCases {
            for input in Input.allCases {
                guard let to = Supervisor.ServiceMachine.next(from: from, on: input), to != from else { continue }
                if let i = edges.firstIndex(where: { $0.from == from && $0.to == to }) {
                    edges[i].inputs.append(input)
                } else {
                    edges.append((from, to, [input]))
                }
            }
        }
        return "stateDiagram-v2\n    [*] --> stopped\n"
            + edges.map { "    \($0.from) --> \($0.to) : \($0.inputs.map(\.rawValue).joined(separator: ", "))\n" }.joined()
    }

    static let readme = String(#filePath.dropLast("Tests/TendCoreTests/ServiceMachineTests.swift".count)) + "README.md"

    @Test func stateDiagramIsTheOneInTheREADME() throws {
        let text = try #require(readFile(ServiceMachineTests.readme))
        let marker = "<!-- generated from ServiceMachine.swift by ServiceMachineTests -->\n```mermaid\n"
        let start = try #require(text.firstRange(of: marker), "the README has no generated state diagram")
        let end = try #require(text[start.upperBound...].firstRange(of: "```"))
        let shown = String(text[start.upperBound..<end.lowerBound])
        #expect(shown == ServiceMachineTests.diagram, "the README's diagram is not the table's; put this in its place:\n\(ServiceMachineTests.diagram)")
    }

    @Test func everyPhaseIsReachedAndEveryInputMovesSome() {
        var reached: Set<Phase> = [.stopped]
        var frontier: [Phase] = [.stopped]
        while let phase = frontier.popLast() {
            for input in Input.allCases {
                if let next = Supervisor.ServiceMachine.next(from: phase, on: input), reached.insert(next).inserted {
                    frontier.append(next)
                }
            }
        }
        #expect(reached == Set(Phase.allCases))
        for input in Input.allCases {
            #expect(Phase.allCases.contains { Supervisor.ServiceMachine.next(from: $0, on: input) != nil }, "\(input)")
        }
    }

    /// `enter` moves as the table says and nowhere else; a cell the table leaves empty changes
    /// nothing, not even the time the state was entered.
    @Test func enterFollowsTheTableCellByCell() {
        let clock = ManualClock()
        for from in Phase.allCases {
            for input in Input.allCases {
                let changes = Supervisor.Changes(clock: clock)
                let s = Supervisor.ServiceNode(id: 0, spec: ServiceSpec(name: "s", command: .argv(["x"])), parent: 0, changes: changes)
                // To `from` along the table, from stopped.
                #expect(walk(s, to: from), "\(from) cannot be reached")
                let generation = changes.generation
                clock.now = clock.now + .seconds(1)
                let since = s.stateSince
                let expected = Supervisor.ServiceMachine.next(from: from, on: input)
                #expect(s.enter(because: input) == (expected != nil))
                #expect(s.phase == expected ?? from, "\(from) on \(input)")
                if expected == nil || expected == from {
                    #expect(changes.generation == generation && s.stateSince == since)
                } else {
                    #expect(changes.generation == generation + 1)
                }
            }
        }
    }

    /// A report is acted on only while a run's process is there: a spawn's result before the
    /// spawn is known, the others once it is, a health check only once the run is ready.
    @Test func reportsAreHeededOnlyWhileTheirRunIsThere() {
        typealias Report = Supervisor.Report
        let before = Supervisor.Child(), spawned = Supervisor.Child(pid: 42)
        let stages: [Supervisor.Stage] = [.stopped, .waiting, .starting(before), .starting(spawned), .running(spawned),
                                          .stopping(spawned, .requested), .backoff, .exited, .failed, .scheduled]
        var heeded: [String] = []
        for stage in stages {
            for report in Report.allCases where Supervisor.ServiceMachine.heeds(report, in: stage) {
                heeded.append("\(stage.phase)\(stage.child?.pid == nil ? "" : "+pid"): \(report)")
            }
        }
        #expect(heeded == ["starting: spawnResult", "starting+pid: probe", "starting+pid: readyNotice",
                           "starting+pid: liveness", "running+pid: liveness", "running+pid: health"])
    }

    /// Moves `s` to `target` by the shortest path of inputs the table has.
    func walk(_ s: Supervisor.ServiceNode, to target: Phase) -> Bool {
        var path: [Phase: [Input]] = [s.phase: []]
        var queue = [s.phase]
        while !queue.isEmpty {
            let phase = queue.removeFirst()
            for input in Input.allCases {
                if let next = Supervisor.ServiceMachine.next(from: phase, on: input), path[next] == nil {
                    path[next] = path[phase]! + [input]
                    queue.append(next)
                }
            }
        }
        guard let inputs = path[target] else { return false }
        for input in inputs { s.enter(because: input) }
        return s.phase == target
    }
}

func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes += buffer[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

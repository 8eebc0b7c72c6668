import FuzzSupport
import CTend
import TendConfig
import TendControl
import TendCore

// One supervised service that uses every notify message (ready = notify, a watchdog), made
// once: the fuzzer feeds it datagram after datagram, as a child would. libFuzzer calls in from
// one thread only.
let tree = try! ConfigLoader.parse("""
    [[service]]
    name = "s"
    command = "x"
    ready = "notify"
    watchdog = "10s"
    """, file: "fuzz.toml")
nonisolated(unsafe) let clock = ManualClock()
nonisolated(unsafe) let supervisor = Supervisor(tree: tree, clock: clock, random: SeededRandom(seed: 1))
nonisolated(unsafe) var pid: Int32 = 100
let started: Void = supervisor.start()

/// Spawns pending services with fake pids, so that there is always a run to send to, and
/// has a signalled process die of its signal (a watchdog's SIGABRT, a stop's SIGTERM).
func settle() {
    for _ in 0..<8 {
        let actions = supervisor.takeActions()
        if actions.isEmpty { return }
        for action in actions {
            switch action {
            case .spawn(let id, let run):
                pid += 1
                supervisor.spawned(id, run: run, pid: pid)
            case .signal(let target, let signal, _) where signal != .cont:
                _ = supervisor.processExited(pid: target, status: .killed(signal))
            default:
                break
            }
        }
    }
}

/// A datagram as it arrives: its first byte says how many of the next bytes are the ancillary
/// data (credentials, passed fds), the rest is the message. The message goes to the core as
/// the edge sends it, and the status it leaves is encoded as `tend status --json` does.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzNotify(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    _ = started
    guard size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let controlLength = min(Int(bytes[0]), size - 1)
    // Aligned as a kernel's control buffer is.
    let control = UnsafeMutableRawPointer.allocate(byteCount: max(controlLength, 1), alignment: 8)
    defer { control.deallocate() }
    control.copyMemory(from: data + 1, byteCount: controlLength)
    var sender: pid_t = 0
    var fds = [Int32](repeating: -1, count: 16)
    _ = tend_notify_control(control, controlLength, &sender, &fds, 16)
    let message = String(decoding: bytes[(1 + controlLength)...], as: UTF8.self)
    settle()
    if let id = supervisor.service(named: "s") {
        supervisor.notify(id, message: message)
    }
    clock.advance(by: .milliseconds(1))
    supervisor.deadlinesPassed()
    settle()
    _ = StatusWire.status(supervisor.statuses)
    return 0
}

@_cdecl("FuzzNotify_main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, { fuzzNotify($0, $1) })
}

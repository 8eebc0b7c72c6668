import Glibc
import Testing
@testable import TendLinux

@Suite struct EventLoopTests {
    @Test func tokensThatWrapSkipTheOnesStillInUse() throws {
        let loop = try EventLoop()
        var first: [Int32] = [0, 0], second: [Int32] = [0, 0]
        #expect(pipe(&first) == 0 && pipe(&second) == 0)
        defer { for fd in first + second { close(fd) } }
        var calls: [String] = []
        try loop.register(first[0]) { _ in calls.append("first") }  // token 1, as tend's signalfd
        loop.nextToken = UInt32.max
        try loop.register(second[0]) { _ in calls.append("second") }  // UInt32.max; then the tokens wrap
        loop.unregister(second[0])
        try loop.register(second[0]) { _ in calls.append("again") }  // must not take token 1
        _ = write(first[1], "x", 1)
        _ = write(second[1], "y", 1)
        try loop.runOnce(timeoutMilliseconds: 1000)
        #expect(calls.sorted() == ["again", "first"])
    }
}

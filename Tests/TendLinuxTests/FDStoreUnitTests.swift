import Glibc
import Testing
@testable import TendLinux

/// What the fd store keeps, drops and refuses. The store is given pipes' write ends; the test
/// keeps their read ends, where a closed write end shows as end of file (fd numbers alone would
/// not tell: tests running beside this one reuse them).
@Suite struct FDStoreUnitTests {
    final class Pipes {
        private var readEnds: [Int32: Int32] = [:]
        /// `n` write ends for the store.
        func make(_ n: Int) -> [Int32] {
            (0..<n).map { _ in
                var fds: [Int32] = [0, 0]
                _ = pipe(&fds)
                _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
                readEnds[fds[1]] = fds[0]
                return fds[1]
            }
        }
        func isOpen(_ writeEnd: Int32) -> Bool {
            var byte: UInt8 = 0
            return read(readEnds[writeEnd]!, &byte, 1) < 0 && errno == EAGAIN
        }
        deinit { for fd in readEnds.values { close(fd) } }
    }

    @Test func itKeepsUpToItsMaxAndClosesTheRestSayingSoOncePerRun() {
        let store = FDStore(), pipes = Pipes()
        let fds = pipes.make(4)
        #expect(store.receive(0, max: 3, message: "FDSTORE=1\nFDNAME=db", fds: fds) == "1 fd(s) refused: fdstore_max 3 reached")
        #expect(store.fds(of: 0).map(\.fd) == Array(fds.prefix(3)) && store.fds(of: 0).allSatisfy { $0.name == "db" })
        #expect(fds.prefix(3).allSatisfy(pipes.isOpen) && !pipes.isOpen(fds[3]))
        store.release(0)
        #expect(!fds.contains(where: pipes.isOpen) && store.count == 0)
        // Told once per run: a child that keeps sending makes one event.
        let more = pipes.make(1)
        #expect(store.receive(0, max: 0, message: "FDSTORE=1", fds: more) == nil && !pipes.isOpen(more[0]))
        store.runStarted(0)
        #expect(store.receive(0, max: 0, message: "FDSTORE=1", fds: pipes.make(2)) == "2 fd(s) refused: fdstore_max is 0 (no fd store)")
    }

    @Test func removeDropsByNameAndAMessageWithoutFDSTOREClosesWhatCame() {
        let store = FDStore(), pipes = Pipes()
        let a = pipes.make(2), b = pipes.make(2)
        #expect(store.receive(1, max: 8, message: "FDSTORE=1\nFDNAME=a", fds: a) == nil)
        #expect(store.receive(1, max: 8, message: "FDSTORE=1", fds: b) == nil)
        #expect(store.fds(of: 1).map(\.name) == ["a", "a", "stored", "stored"])
        #expect(store.receive(1, max: 8, message: "FDSTOREREMOVE=1\nFDNAME=a", fds: []) == nil)
        #expect(store.fds(of: 1).map(\.fd) == b && !a.contains(where: pipes.isOpen) && b.allSatisfy(pipes.isOpen))
        let stray = pipes.make(1)
        #expect(store.receive(1, max: 8, message: "READY=1", fds: stray) == nil)
        #expect(!pipes.isOpen(stray[0]) && store.count == 2)
        let badName = pipes.make(1)
        #expect(store.receive(1, max: 8, message: "FDSTORE=1\nFDNAME=a:b", fds: badName)?.contains("FDNAME \"a:b\"") == true)
        #expect(!pipes.isOpen(badName[0]))
        // The same file again (a dup, as a run given it back would send it) is not stored twice.
        let again = dup(b[0])
        #expect(store.receive(1, max: 8, message: "FDSTORE=1", fds: [again]) == nil)
        #expect(store.count == 2 && store.fds(of: 1).map(\.fd) == b)
        store.retain([])
        #expect(store.count == 0 && !b.contains(where: pipes.isOpen))
    }
}

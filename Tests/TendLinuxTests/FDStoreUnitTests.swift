import Glibc
import Testing
@testable import TendLinux

/// What the fd store keeps, drops and refuses (with pipes for the fds).
@Suite struct FDStoreUnitTests {
    func pipeEnds(_ n: Int) -> [Int32] {
        (0..<n).flatMap { _ -> [Int32] in
            var fds: [Int32] = [0, 0]
            _ = pipe(&fds)
            return fds
        }
    }

    func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) >= 0 }

    @Test func itKeepsUpToItsMaxAndClosesTheRestSayingSo() {
        let store = FDStore()
        let fds = pipeEnds(2)  // four fds
        #expect(store.receive(0, max: 3, message: "FDSTORE=1\nFDNAME=db", fds: fds) == "1 fd(s) refused: fdstore_max 3 reached")
        #expect(store.fds(of: 0).map(\.fd) == Array(fds.prefix(3)) && store.fds(of: 0).allSatisfy { $0.name == "db" })
        #expect(fds.prefix(3).allSatisfy(isOpen) && !isOpen(fds[3]))
        store.release(0)
        #expect(!fds.contains(where: isOpen) && store.count == 0)
    }

    @Test func removeDropsByNameAndAMessageWithoutFDSTOREClosesWhatCame() {
        let store = FDStore()
        let a = pipeEnds(1), b = pipeEnds(1)
        #expect(store.receive(1, max: 8, message: "FDSTORE=1\nFDNAME=a", fds: a) == nil)
        #expect(store.receive(1, max: 8, message: "FDSTORE=1", fds: b) == nil)
        #expect(store.fds(of: 1).map(\.name) == ["a", "a", "stored", "stored"])
        #expect(store.receive(1, max: 8, message: "FDSTOREREMOVE=1\nFDNAME=a", fds: []) == nil)
        #expect(store.fds(of: 1).map(\.fd) == b && !a.contains(where: isOpen))
        let stray = pipeEnds(1)
        #expect(store.receive(1, max: 8, message: "READY=1", fds: stray) == nil)
        #expect(!stray.contains(where: isOpen) && store.count == 2)
        let badName = pipeEnds(1)
        #expect(store.receive(1, max: 8, message: "FDSTORE=1\nFDNAME=a:b", fds: badName)?.contains("FDNAME \"a:b\"") == true)
        #expect(!badName.contains(where: isOpen))
        store.retain([])
        #expect(store.count == 0 && !b.contains(where: isOpen))
    }
}

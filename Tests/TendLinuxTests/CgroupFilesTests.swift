import Glibc
import Testing
@testable import TendLinux

/// The parsing of a cgroup's flat keyed files and process lists, and reads past one page.
@Suite struct CgroupFilesTests {
    @Test func aKeyIsAWholeWordAndItsValueAWholeNumber() {
        let events = Array("oom 1\noom_kill 2\noom_group_kill 0\nmax 18446744073709551615\nhigh x\n".utf8)
        #expect(CgroupFiles.value(of: "oom_kill", in: events) == 2)
        #expect(CgroupFiles.value(of: "oom", in: events) == 1)
        #expect(CgroupFiles.value(of: "max", in: events) == UInt64.max)
        #expect(CgroupFiles.value(of: "high", in: events) == nil && CgroupFiles.value(of: "low", in: events) == nil)
        #expect(CgroupFiles.value(of: "populated", in: Array("populated 0".utf8)) == 0, "no newline at the end")
        #expect(CgroupFiles.value(of: "usage_usec", in: Array("usage_usec 18446744073709551616\n".utf8)) == nil, "past UInt64")
    }

    @Test func theProcessCountIsThatOfThePidsListed() {
        for text in ["", "\n", "12\n", "12\n0\n34\n", "12\n34", "7\nx\n\n9\n"] {
            let bytes = Array(text.utf8)
            #expect(CgroupFiles.processCount(in: bytes) == CgroupFiles.pids(in: bytes).count, "\(text.debugDescription)")
        }
        #expect(CgroupFiles.pids(in: Array("12\n0\n34\n".utf8)) == [12, 34])
    }

    @Test func aFileLongerThanAPageIsReadToItsEnd() throws {
        let path = "/tmp/tend-cgroup-files-\(getpid())"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { unlink(path); close(fd) }
        let text = (1...3000).map { "\($0)\n" }.joined()
        _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        let bytes = try #require(CgroupFiles.readAll(fd))
        #expect(bytes.count == text.utf8.count && CgroupFiles.processCount(in: bytes) == 3000)
    }
}

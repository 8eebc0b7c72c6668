import Foundation
import Glibc
import Testing
@testable import TendLinux

/// Lines of a service's pipe: whole lines, pieces of long ones, and which pieces continue a line.
/// Serialized: OutputPipe reads into one scratch buffer, as tend has one thread.
@Suite(.serialized) struct OutputPipeTests {
    func read(_ writes: [[UInt8]]) throws -> [(String, Bool)] {
        let pipe = try OutputPipe(name: "t")
        defer { pipe.close() }
        let writer = try pipe.openWriter()
        defer { close(writer) }
        var lines: [(String, Bool)] = []
        for chunk in writes {
            chunk.withUnsafeBytes { _ = write(writer, $0.baseAddress, $0.count) }
            pipe.drain { lines.append((String(decoding: $0, as: UTF8.self), $1)) }
        }
        return lines
    }

    @Test func tendHoldsOnlyTheReadEndAndSeesTheEndOfFileOnceTheLastWriterCloses() throws {
        let pipe = try OutputPipe(name: "t")
        defer { pipe.close() }
        // This process's fds on this pipe (counting all fds would see other tests' come and go).
        let inode = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(pipe.readEnd)")
        func fds() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == inode
            }
        }
        // The first run gets the write end pipe2 made; once it is handed over, tend keeps one fd.
        let writer = try pipe.openWriter()
        #expect(try fds() == 2)
        _ = "one\n".withCString { write(writer, $0, 4) }
        close(writer)
        #expect(try fds() == 1)
        var lines: [String] = []
        #expect(pipe.drain { line, _ in lines.append(String(decoding: line, as: UTF8.self)) })
        #expect(lines == ["one"])
        // No writer left: end of file, which tells the loop to stop watching. (A process another
        // test spawns meanwhile holds a copy of every fd until its exec: poll with a deadline.)
        let deadline = Date().addingTimeInterval(10)
        var endOfFile = false
        while !endOfFile, Date() < deadline {
            endOfFile = !pipe.drain { _, _ in }
            if !endOfFile { usleep(1000) }  // poll interval of a wait with a deadline
        }
        #expect(endOfFile)
        // A later run gets a new writer to the same pipe, opened again from the read end.
        let again = try pipe.openWriter()
        #expect(try fds() == 2)
        _ = "two\n".withCString { write(again, $0, 4) }
        close(again)
        #expect(pipe.drain { line, _ in lines.append(String(decoding: line, as: UTF8.self)) })
        #expect(lines == ["one", "two"])
    }

    @Test func linesSplitAcrossReadsAreJoined() throws {
        let lines = try read([Array("one\ntw".utf8), Array("o\nthree".utf8), Array("\n".utf8)])
        #expect(lines.map(\.0) == ["one", "two", "three"])
        #expect(lines.allSatisfy { !$0.1 })
    }

    @Test func aLongLineIsCutAndItsLaterPiecesAreContinuations() throws {
        let max = OutputPipe.maxLine
        let lines = try read([Array(repeating: UInt8(ascii: "x"), count: max * 2 + 5) + [0x0A] + Array("next\n".utf8)])
        #expect(lines.map(\.0.count) == [max, max, 5, 4])
        #expect(lines.map(\.1) == [false, true, true, false])
    }

    @Test func aPartialLineThatGrowsPastTheCapIsCut() throws {
        let max = OutputPipe.maxLine
        let lines = try read([Array(repeating: UInt8(ascii: "y"), count: max - 10),
                              Array(repeating: UInt8(ascii: "y"), count: 20) + [0x0A]])
        #expect(lines.map(\.0.count) == [max, 10])
        #expect(lines.map(\.1) == [false, true])
    }

    @Test func theLastBytesWithoutANewlineAreALineAtEndOfFile() throws {
        let pipe = try OutputPipe(name: "t")
        defer { pipe.close() }
        let writer = try pipe.openWriter()
        _ = "whole\nno newline".withCString { write(writer, $0, 16) }
        close(writer)
        var lines: [String] = []
        let deadline = Date().addingTimeInterval(10)
        while pipe.drain({ line, _ in lines.append(String(decoding: line, as: UTF8.self)) }), Date() < deadline {
            usleep(1000)  // poll interval of a wait with a deadline (see above: a spawn may hold a copy)
        }
        #expect(lines == ["whole", "no newline"])
        // The next run's first line stands on its own.
        let next = try pipe.openWriter()
        _ = "next\n".withCString { write(next, $0, 5) }
        close(next)
        lines = []
        pipe.drain { line, _ in lines.append(String(decoding: line, as: UTF8.self)) }
        #expect(lines == ["next"])
    }

    /// Without /proc tend keeps each pipe's write end to hand out copies; a pipe retired at a
    /// reload must let go of it, or its end of file never comes and each reload leaks an fd.
    @Test func withoutProcARetiredPipeLetsGoOfItsWriteEndAndReachesEndOfFile() throws {
        let pipe = try OutputPipe(name: "t", reopen: false)
        defer { pipe.close() }
        let writer = try pipe.openWriter()
        _ = "last\n".withCString { write(writer, $0, 5) }
        close(writer)
        var lines: [String] = []
        // The run's writer is gone, but tend's own copy keeps the pipe open.
        #expect(pipe.drain { line, _ in lines.append(String(decoding: line, as: UTF8.self)) })
        #expect(lines == ["last"])
        #expect(pipe.drain { _, _ in })
        pipe.retire()
        let deadline = Date().addingTimeInterval(10)
        var endOfFile = false
        while !endOfFile, Date() < deadline {
            endOfFile = !pipe.drain { _, _ in }
            if !endOfFile { usleep(1000) }  // poll interval of a wait with a deadline (a spawn may hold a copy)
        }
        #expect(endOfFile)
    }
}

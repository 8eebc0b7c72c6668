import Testing
import Glibc
@testable import TendLinux

@Suite struct ProcessTreeTests {
    @Test func statFieldsAreCountedFromTheLastParenthesis() {
        let parsed = ProcessTree.parseStat("42 (a (b) c) S 7 42 42 0 -1 4194560 ...")
        #expect(parsed?.pid == 42 && parsed?.ppid == 7 && parsed?.pgid == 42 && parsed?.name == "a (b) c")
        #expect(ProcessTree.parseStat("garbage") == nil)
    }

    @Test func descendantsThenWhatElseIsLeftInTheGroup() {
        let all = [
            ProcessTree.Process(pid: 10, ppid: 1, pgid: 10, command: "main"),
            ProcessTree.Process(pid: 12, ppid: 10, pgid: 10, command: "child"),
            ProcessTree.Process(pid: 13, ppid: 12, pgid: 10, command: "grandchild"),
            // Double-forked: tend's child now, still in the group, with a child of its own.
            ProcessTree.Process(pid: 20, ppid: 1, pgid: 10, command: "daemon"),
            ProcessTree.Process(pid: 21, ppid: 20, pgid: 10, command: "worker"),
            ProcessTree.Process(pid: 30, ppid: 1, pgid: 30, command: "someone else"),
        ]
        let tree = ProcessTree.of(pid: 10, among: all)
        #expect(tree.map { "\($0.depth) \($0.process.command)" } == ["0 main", "1 child", "2 grandchild", "0 daemon", "1 worker"])
        #expect(ProcessTree.of(pid: 99, among: all).isEmpty)
    }

    @Test func aMissingProcessHasNoTree() {
        #expect(ProcessTree.around(pid: Int32.max, adopted: nil).isEmpty)
        #expect(ProcessTree.around(pid: Int32.max, adopted: []).isEmpty)
    }

    /// A main process with a child, and a process the daemon names as adopted: read from /proc
    /// with theirs, and nothing else of this test process's children.
    @Test func theMainProcessItsDescendantsAndWhatTheDaemonNames() throws {
        let main = fork()
        if main == 0 {
            if fork() == 0 { while true { pause() } }
            while true { pause() }
        }
        let other = fork()
        if other == 0 { while true { pause() } }
        var grandchild: Int32 = 0
        defer {
            for pid in [main, other, grandchild] where pid > 0 { kill(pid, SIGKILL) }
            var status: Int32 = 0
            waitpid(main, &status, 0)
            waitpid(other, &status, 0)
        }
        let deadline = time(nil) + 10
        while grandchild == 0, time(nil) < deadline {
            grandchild = ProcessTree.children(of: main).first ?? 0
            if grandchild == 0 { usleep(1000) }  // poll interval of a wait with a deadline
        }
        #expect(grandchild > 0)
        #expect(Set(ProcessTree.around(pid: main, adopted: []).map(\.pid)) == [main, grandchild])
        #expect(Set(ProcessTree.around(pid: main, adopted: [other]).map(\.pid)) == [main, grandchild, other])
    }
}

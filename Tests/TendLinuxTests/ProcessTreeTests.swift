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
        #expect(ProcessTree.around(pid: Int32.max).isEmpty)
    }
}

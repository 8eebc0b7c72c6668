import Testing
import TendCore
@testable import TendConfig

/// `parallel` in [supervisor] (the root group) and in a [[group]] (SPEC section 9).
@Suite struct ParallelGroupKeyTests {
    @Test func theRootAndAGroupMayBeParallelAndAreNotByDefault() throws {
        let tree = try load("""
            [supervisor]
            parallel = true
            [[group]]
            name = "web"
            children = ["a"]
            parallel = true
            [[group]]
            name = "db"
            children = ["b"]
            [[service]]
            name = "a"
            command = "x"
            [[service]]
            name = "b"
            command = "x"
            """)
        #expect(tree.root.parallel)
        #expect(tree.groups.first { $0.name == "web" }?.parallel == true && tree.groups.first { $0.name == "db" }?.parallel == false)
        #expect(try load("[[service]]\nname = \"a\"\ncommand = \"x\"\n").root.parallel == false)
    }

    @Test func aValueThatIsNotABooleanIsAnErrorNamingTheKey() {
        let e = errors("[supervisor]\nparallel = \"yes\"\n[[group]]\nname = \"g\"\nchildren = [\"a\"]\nparallel = 1\n[[service]]\nname = \"a\"\ncommand = \"x\"\n")
        #expect(e.contains { $0.contains("parallel") && $0.contains("true or false") && !$0.contains("group \"g\"") }, "\(e)")
        #expect(e.contains { $0.contains("group \"g\"") && $0.contains("parallel") }, "\(e)")
    }
}

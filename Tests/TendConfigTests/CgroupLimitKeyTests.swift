import Testing
import TendCore
@testable import TendConfig

/// The cgroup limits of SPEC section 8: units, ranges, errors naming the file, service and key.
@Suite struct CgroupLimitKeyTests {
    func limits(_ keys: String) throws -> CgroupLimits {
        try load("[[service]]\nname = \"a\"\ncommand = \"x\"\n" + keys).services[0].cgroupLimits
    }

    @Test func sizesWeightsAndCPUShares() throws {
        let l = try limits("""
            memory_max = "512M"
            memory_high = "2G"
            cpu_weight = 200
            cpu_max = "50%"
            pids_max = 64
            io_weight = 10000
            """)
        #expect(l.memoryMax == 512 << 20 && l.memoryHigh == 2 << 30)
        #expect(l.cpuWeight == 200 && l.cpuMax == 50_000 && l.pidsMax == 64 && l.ioWeight == 10_000)
        #expect(try limits("memory_max = 2097152\ncpu_max = \"2\"").memoryMax == 2_097_152)
        #expect(try limits("cpu_max = \"2\"").cpuMax == 200_000)
        #expect(try limits("cpu_max = 1.5").cpuMax == 150_000)
        #expect(try limits("cpu_max = \"1%\"").cpuMax == 1_000)
        #expect(try limits("memory_max = \"2048K\"").memoryMax == 2_097_152)
        #expect(try limits("").isEmpty)
    }

    @Test func badValuesNameTheKeyAndChangeNothing() throws {
        let e = errors("""
            [[service]]
            name = "a"
            command = "x"
            memory_max = "512MB"
            memory_high = 0
            cpu_weight = 0
            cpu_max = "0.5%"
            pids_max = 99999999
            io_weight = "big"
            """)
        for fragment in ["service \"a\"", "memory_max: expected a size of at least 1M such as \"512M\"", "got \"512MB\"", "memory_high: expected a size",
                         "cpu_weight: 0 is out of range 1...10000", "cpu_max: expected a share of one CPU", "pids_max: 99999999 is out of range", "io_weight: expected"] {
            #expect(e.contains { $0.contains(fragment) }, "missing: \(fragment) in \(e)")
        }
        #expect(e.allSatisfy { $0.hasPrefix("tend.toml") }, "\(e)")
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nmemory_max = 512\n").contains { $0.contains("memory_max: expected a size of at least 1M") })
        #expect(errors("[[service]]\nname = \"..\"\ncommand = \"x\"\n").contains { $0.contains("is not . or ..") })
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nmemory_max = \"99999999999T\"\n").contains { $0.contains("memory_max") })
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\ncpu_max = \"1001\"\n").contains { $0.contains("cpu_max") })
        // What Double() and UInt64() would take but a person does not write.
        for value in ["\"+50%\"", "\"1e3\"", "\"nan\"", "\"0x10\"", "\".5\"", "\"2.\"", "\"1.2.3\""] {
            #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\ncpu_max = \(value)\n").contains { $0.contains("cpu_max: expected") }, "\(value)")
        }
        #expect(try limits("cpu_max = \"2.5\"").cpuMax == 250_000)
        #expect(try limits("cpu_max = \"12.5%\"").cpuMax == 12_500)
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nmemory_max = \"+512M\"\n").contains { $0.contains("memory_max: expected") })
    }

    @Test func aServiceIsNotNamedAsTheKernelsCgroupFiles() {
        for name in ["cgroup.procs", "cgroup.kill"] {
            #expect(errors("[[service]]\nname = \"\(name)\"\ncommand = \"x\"\n").contains { $0.contains("name: \"\(name)\" begins with \"cgroup.\"") }, "\(name)")
        }
        // A controller's files depend on the kernel: such a name fails at its start, saying why (CgroupTests).
        #expect(errors("[[service]]\nname = \"io.example.api\"\ncommand = \"x\"\n[[service]]\nname = \"cpu.stat\"\ncommand = \"x\"\n").isEmpty)
    }

    @Test func aDefaultAppliesToEveryService() throws {
        let tree = try load("[defaults]\npids_max = 100\n[[service]]\nname = \"a\"\ncommand = \"x\"\n[[service]]\nname = \"b\"\ncommand = \"x\"\npids_max = 5\n")
        #expect(tree.services.map(\.cgroupLimits.pidsMax) == [100, 5])
    }
}

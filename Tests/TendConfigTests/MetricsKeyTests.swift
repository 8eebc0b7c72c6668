import Testing
import TendCore
@testable import TendConfig

/// `[supervisor] metrics = "HOST:PORT"` (SPEC section 10): off by default; a numeric host of
/// the machine's, a port; anything else an error naming the key.
@Suite struct MetricsKeyTests {
    static let service = "\n[[service]]\nname = \"a\"\ncommand = \"true\"\n"

    @Test func anAddressIsReadAndNoneIsOff() throws {
        #expect(try load(Self.service).metrics == nil)
        let v4 = try load("[supervisor]\nmetrics = \"127.0.0.1:9464\"\n" + Self.service).metrics
        #expect(v4?.host == "127.0.0.1" && v4?.port == 9464 && v4?.kind == .tcp)
        #expect(try load("[supervisor]\nmetrics = \"[::1]:9464\"\n" + Self.service).metrics?.host == "::1")
    }

    @Test(arguments: ["localhost:9464", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "tcp:127.0.0.1:9464", "unix:/run/m.sock",
                      "127.0.0.1:9464 name=x"])
    func anythingElseIsAnErrorNamingTheKey(_ value: String) {
        let said = errors("[supervisor]\nmetrics = \"\(value)\"\n" + Self.service)
        #expect(said.count == 1 && said[0].contains("tend.toml:2") && said[0].contains("[supervisor]: metrics:"), "\(said)")
    }
}

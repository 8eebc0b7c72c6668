import Testing
import TendCore
@testable import TendConfig

/// `listen` and `start` of a service (SPEC section 9).
@Suite struct ListenKeyTests {
    func service(_ keys: String, name: String = "a") -> String { "[[service]]\nname = \"\(name)\"\ncommand = \"x\"\n\(keys)\n" }

    @Test func addressesOfEachKindWithAndWithoutNames() throws {
        let tree = try load(service(#"listen = ["tcp:127.0.0.1:8080 name=http", "udp:[::1]:5353", "unix:/run/app.sock", "unix:@tend-test", "tcp:0.0.0.0:1"]"#))
        let listen = tree.services[0].listen
        #expect(listen.map(\.description) == ["tcp:127.0.0.1:8080 name=http", "udp:[::1]:5353", "unix:/run/app.sock", "unix:@tend-test", "tcp:0.0.0.0:1"])
        #expect(listen[1].kind == .udp && listen[1].host == "::1" && listen[1].port == 5353 && listen[1].name == nil)
        #expect(listen[2].kind == .unix && listen[2].port == 0)
        #expect(tree.services[0].autostart && !tree.services[0].startOnConnection)
    }

    @Test(arguments: [
        ("tcp:localhost:80", "numeric address"), ("tcp:127.0.0.1", "port from 1 to 65535"), ("tcp:127.0.0.1:0", "port from 1 to 65535"),
        ("tcp:127.0.0.1:65536", "port from 1 to 65535"), ("tcp:256.0.0.1:80", "numeric address"), ("tcp:1.2.3:80", "numeric address"),
        ("tcp:[zz]:80", "not an IPv6 address"), ("tcp:::1:80", "numeric address"), ("sctp:1.2.3.4:80", "expected tcp:HOST:PORT"),
        ("unix:run/app.sock", "absolute"), ("unix:@", "absolute"), ("unix:/" + String(repeating: "x", count: 107), "at most 107 bytes"),
        ("tcp:127.0.0.1:80 name=a:b", "without : or spaces"), ("tcp:127.0.0.1:80 name=", "1 to 255"),
        ("tcp:127.0.0.1:80 name=" + String(repeating: "n", count: 256), "1 to 255"), ("", "expected tcp:HOST:PORT"),
    ])
    func aBadAddressIsAnErrorNamingTheServiceAndTheKey(address: String, message: String) {
        let e = errors(service("listen = [\"\(address)\"]"))
        #expect(e.count == 1 && e[0].contains("service \"a\"") && e[0].contains("listen") && e[0].contains(message), "\(e)")
    }

    @Test func anAddressTwiceInOneServiceOrInTwoIsAnError() {
        #expect(errors(service(#"listen = ["tcp:127.0.0.1:80", "tcp:127.0.0.1:80 name=x"]"#)).contains { $0.contains("listed twice") })
        let e = errors(service(#"listen = ["unix:/run/a.sock"]"#) + service(#"listen = ["unix:/run/a.sock"]"#, name: "b"))
        #expect(e.count == 1 && e[0].contains("service \"b\"") && e[0].contains("service \"a\"'s already"), "\(e)")
        let control = errors("[supervisor]\ncontrol_socket = \"/run/t.sock\"\n" + service(#"listen = ["unix:/run/t.sock"]"#))
        #expect(control.count == 1 && control[0].contains("tend's control socket"), "\(control)")
        // A service's copies share its sockets.
        #expect(errors(service("listen = [\"unix:/run/a.sock\"]\ninstances = 3")).isEmpty)
    }

    @Test func aTcpReadinessCheckOnAListenAddressIsAnError() {
        let e = errors(service("listen = [\"tcp:0.0.0.0:8080\"]\nready = { tcp = \"127.0.0.1:8080\" }"))
        #expect(e.count == 1 && e[0].contains("ready") && e[0].contains("tcp:0.0.0.0:8080"), "\(e)")
        #expect(errors(service("listen = [\"tcp:127.0.0.1:8081\"]\nready = { tcp = \"127.0.0.1:8080\" }")).isEmpty)
    }

    @Test func fdstoreMaxIsFrom0To1024AndOffByDefault() throws {
        #expect(try load(service("")).services[0].fdstoreMax == 0)
        #expect(try load(service("fdstore_max = 1024")).services[0].fdstoreMax == 1024)
        for bad in ["-1", "1025", "\"8\"", "1.5"] {
            #expect(errors(service("fdstore_max = \(bad)")).contains { $0.contains("service \"a\"") && $0.contains("fdstore_max") }, "\(bad)")
        }
    }

    @Test func onConnectionIsNotAtStartAndNeedsListen() throws {
        let spec = try load(service("listen = [\"tcp:127.0.0.1:80\"]\nstart = \"on-connection\"")).services[0]
        #expect(spec.startOnConnection && !spec.autostart)
        #expect(try load(service("start = \"at-start\"")).services[0].autostart)
        #expect(errors(service("start = \"on-connection\"")).contains { $0.contains("start") && $0.contains("needs listen") })
        #expect(errors(service("listen = [\"tcp:127.0.0.1:80\"]\nstart = \"on-connection\"\nautostart = true")).contains { $0.contains("autostart") })
        for n in [1, 2] {  // 1 too: `tend scale` would make more
            #expect(errors(service("listen = [\"tcp:127.0.0.1:80\"]\nstart = \"on-connection\"\ninstances = \(n)")).contains { $0.contains("instances") })
        }
        #expect(errors(service("listen = [\"tcp:127.0.0.1:80\"]\nstart = \"on-connection\"\nschedule = \"@hourly\"")).contains { $0.contains("job") })
        #expect(errors(service("start = \"later\"")).contains { $0.contains("\"at-start\" or \"on-connection\"") })
    }
}

import Testing
import TendCore
@testable import TendControl

@Suite struct ProtocolTests {
    @Test func requestsRoundTrip() throws {
        let request = ControlRequest(command: .signal, names: ["a \"b\"", "c"], signal: "HUP", timeoutSeconds: 1.5)
        let line = request.encoded()
        #expect(line == #"{"version":1,"command":"signal","names":["a \"b\"","c"],"signal":"HUP","timeout_s":1.5}"#)
        #expect(try ControlRequest.decode(Array(line.utf8)) == request)
    }

    @Test func badRequestsSayWhatIsWrong() {
        func error(_ text: String) -> String {
            do {
                _ = try ControlRequest.decode(Array(text.utf8))
                return ""
            } catch {
                return error.description
            }
        }
        #expect(error("[1,2]").contains("malformed request"))
        #expect(error("{").contains("not a JSON object"))
        #expect(error(#"{"version":1,"command":"dance"}"#).hasPrefix("unknown command"))
        #expect(error(#"{"version":2,"command":"status"}"#).contains("unsupported protocol version 2"))
        #expect(error(#"{"command":"status"}"#).contains(#""version" is missing"#))
        #expect(error(#"{"version":1,"command":"status","names":[1]}"#).contains(#""names.Index 0" has the wrong type"#)
                || error(#"{"version":1,"command":"status","names":[1]}"#).contains("wrong type"))
    }

    @Test func hostileBytesAreRefusedNotCrashedOn() {
        func refused(_ bytes: [UInt8]) -> Bool {
            do {
                _ = try ControlRequest.decode(bytes)
                return false
            } catch {
                return error.description.hasPrefix("malformed request")
            }
        }
        #expect(refused([0x7B, 0xFF, 0xFE, 0x7D]))  // invalid UTF-8
        #expect(refused(Array(#"{"version":1,"command":"status","names":[""#.utf8) + [0xC3, 0x28] + Array(#""]}"#.utf8)))
        #expect(refused(Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)))
        #expect(refused(Array((#"{"version":1,"command":"status","x":"# + String(repeating: "{\"a\":", count: 10_000)
                               + "1" + String(repeating: "}", count: 10_001)).utf8)))
        #expect(refused([]))
        #expect(refused([0]))
    }

    @Test func responsesFrameTheResultLast() {
        let ok = ControlResponse.ok(#"{"x":1}"#)
        #expect(ok == "{\"ok\":true,\"version\":1,\"result\":{\"x\":1}}\n")
        #expect(ControlResponse.result(of: Array(ok.utf8.dropLast())) == Array(#"{"x":1}"#.utf8)[...])
        let error = ControlResponse.error("no \"such\" thing")
        #expect(ControlResponse.result(of: Array(error.utf8.dropLast())) == nil)
        #expect(ControlResponse.errorMessage(of: Array(error.utf8.dropLast())) == "no \"such\" thing")
    }

    @Test func stringsAreEscaped() {
        #expect(JSONText.string("a\"b\\c\nd\u{1}é") == #""a\"b\\c\nd\u0001é""#)
    }

    @Test func statusIsTheSpecsShape() {
        let rows = [
            ServiceStatus(name: "api", group: "backend", state: .running, pid: 42, restarts: 3,
                          uptime: .milliseconds(12_345), lastExit: .killed(.kill), lastResult: .signal,
                          statusText: "ok \"fine\"\n"),
            ServiceStatus(name: "db", group: nil, state: .exited, pid: nil, restarts: 0, uptime: nil,
                          lastExit: .exited(1), statusText: nil, health: "unhealthy 1/3"),
            ServiceStatus(name: "job", group: nil, state: .scheduled, pid: nil, restarts: 0, uptime: nil,
                          lastExit: .exited(2), statusText: nil, schedule: "0 6 * * *",
                          lastRun: JobRun(start: 1_788_000_000_500_000_000, duration: .milliseconds(1500), exit: .exited(2)),
                          nextRun: 1_788_048_000_000_000_000),
        ]
        #expect(StatusWire.status(rows) == """
            {"services":[{"name":"api","group":"backend","state":"running","pid":42,"restarts":3,"uptime_s":12.345,\
            "last_exit":{"signal":"SIGKILL"},"last_result":"signal","status_text":"ok \\"fine\\"\\n","schedule":null,"last_run":null,"next_run":null,\
            "health":null,"cgroup":null,"tasks":null,"cpu_s":null,"memory_bytes":null},{"name":"db","group":null,"state":"exited","pid":null,\
            "restarts":0,"uptime_s":null,"last_exit":{"code":1},"last_result":null,"status_text":null,"schedule":null,"last_run":null,\
            "next_run":null,"health":"unhealthy 1/3","cgroup":null,"tasks":null,"cpu_s":null,"memory_bytes":null},{"name":"job","group":null,"state":"scheduled","pid":null,\
            "restarts":0,"uptime_s":null,"last_exit":{"code":2},"last_result":null,"status_text":null,"schedule":"0 6 * * *",\
            "last_run":{"start":"2026-08-29T10:40:00.500Z","duration_s":1.500,"result":"failed","exit":{"code":2},"error":null},\
            "next_run":"2026-08-30T00:00:00.000Z","health":null,"cgroup":null,"tasks":null,"cpu_s":null,"memory_bytes":null}]}
            """)
    }
}

@Suite struct SocketPathTests {
    @Test func theSpecsOrderOfPrecedence() {
        let all = ["TEND_SOCKET": "/env.sock", "RUNTIME_DIRECTORY": "/run/unit:/run/other", "XDG_RUNTIME_DIR": "/run/user/1000"]
        #expect(SocketPath.resolve(option: "/opt.sock", environment: { all[$0] }, configured: "/file.sock", uid: 0) == "/opt.sock")
        #expect(SocketPath.resolve(option: nil, environment: { all[$0] }, configured: "/file.sock", uid: 0) == "/env.sock")
        var env = all
        env["TEND_SOCKET"] = nil
        #expect(SocketPath.resolve(option: nil, environment: { env[$0] }, configured: "/file.sock", uid: 0) == "/file.sock")
        #expect(SocketPath.resolve(option: nil, environment: { env[$0] }, configured: nil, uid: 0) == "/run/unit/control.sock")
        env["RUNTIME_DIRECTORY"] = nil
        #expect(SocketPath.resolve(option: nil, environment: { env[$0] }, configured: nil, uid: 0) == "/run/tend/control.sock")
        #expect(SocketPath.resolve(option: nil, environment: { env[$0] }, configured: nil, uid: 1000) == "/run/user/1000/tend/control.sock")
        #expect(SocketPath.resolve(option: nil, environment: { _ in nil }, configured: nil, uid: 1000) == "/tmp/tend-1000/control.sock")
    }
}

@Suite struct LogsQueryTests {
    let tree = TreeSpec(
        root: GroupSpec(name: "", children: ["web", "solo"]),
        services: [{ var s = ServiceSpec(name: "api", command: .argv(["/bin/api"])); s.logIdentifier = "api-server"; return s }(),
                   ServiceSpec(name: "cache", command: .argv(["/bin/cache"])),
                   ServiceSpec(name: "solo", command: .argv(["/bin/solo"]))],
        groups: [GroupSpec(name: "web", children: ["cache", "api"])])

    @Test func aServiceIsItsLinesOrTendsEventsAboutIt() throws {
        let args = try LogsQuery().arguments(names: ["api"], tree: tree, unit: "tend.service")
        #expect(args == ["_SYSTEMD_UNIT=tend.service", "SYSLOG_IDENTIFIER=api-server", "+",
                         "_SYSTEMD_UNIT=tend.service", "TEND_SERVICE=api"])
    }

    @Test func aGroupIsAllItsServicesAndItsOwnEvents() throws {
        let args = try LogsQuery(follow: true, lines: 20, since: "1h ago", output: "cat", pager: false)
            .arguments(names: ["web", "cache"], tree: tree, unit: nil)
        #expect(args == ["--follow", "--lines=20", "--since=1h ago", "--output=cat", "--no-pager",
                         "SYSLOG_IDENTIFIER=cache", "SYSLOG_IDENTIFIER=api-server", "+",
                         "TEND_SERVICE=cache", "TEND_SERVICE=api", "+", "TEND_GROUP=web"])
    }

    @Test func withoutTheFileNamesAreServicesAndUnknownNamesAreErrors() throws {
        #expect(try LogsQuery().arguments(names: ["x"], tree: nil, unit: nil) == ["SYSLOG_IDENTIFIER=x", "+", "TEND_SERVICE=x"])
        #expect(throws: LogsQuery.UnknownName.self) { try LogsQuery().arguments(names: ["nope"], tree: tree, unit: nil) }
    }

    @Test func aServiceWithInstancesIsEveryCopyAndOneCopyIsItself() throws {
        var worker = ServiceSpec(name: "worker", command: .argv(["/bin/w"]))
        worker.instances = 2
        let tree = TreeSpec(root: GroupSpec(name: "", children: ["worker"]), services: [worker], groups: [])
        #expect(try LogsQuery().arguments(names: ["worker"], tree: tree, unit: nil)
                == ["SYSLOG_IDENTIFIER=worker@1", "SYSLOG_IDENTIFIER=worker@2", "+",
                    "TEND_SERVICE=worker", "TEND_SERVICE=worker@1", "TEND_SERVICE=worker@2"])
        // A copy beyond the file's count, as `tend scale` may have started.
        #expect(try LogsQuery().arguments(names: ["worker@5"], tree: tree, unit: nil)
                == ["SYSLOG_IDENTIFIER=worker@5", "+", "TEND_SERVICE=worker@5"])
    }

    @Test func theUnitComesFromTheCgroupPath() {
        #expect(LogsQuery.unit(fromCgroup: "0::/system.slice/tend.service\n") == "tend.service")
        #expect(LogsQuery.unit(fromCgroup: "1:name=systemd:/system.slice/tend@demo.service\n0::/\n") == "tend@demo.service")
        #expect(LogsQuery.unit(fromCgroup: "0::/user.slice/user-0.slice/session-3.scope\n") == "session-3.scope")
        #expect(LogsQuery.unit(fromCgroup: "0::/\n") == nil)
    }
}

/// The client's reader of the daemon's answers.
@Suite struct JSONValueTests {
    func parse(_ text: String) -> JSONValue? { JSONValue(parsing: Array(text.utf8)[...]) }

    @Test func readsEveryKindOfValue() throws {
        let v = try #require(parse(#" {"a": [1, -2.5e3, true, false, null, "x"], "b": {"c": {}}, "d": [] } "#))
        #expect(v["a"] == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x")]))
        #expect(v["b"]?["c"] == .object([]))
        #expect(v["d"]?.array == [])
        #expect(v["a"]?.array?[0].int == 1 && v["a"]?.array?[1].int == -2500)
        #expect(parse("0.25")?.int == nil && parse("0.25")?.double == 0.25)
        #expect(v["missing"] == nil && v["a"]?.array?[4].string == nil)
    }

    @Test func stringsComeBackAsTheDaemonWroteThem() {
        for text in ["plain", "quote \" backslash \\ slash /", "line\nreturn\rtab\t", "\u{1}\u{1F}", "é 😀 中", ""] {
            #expect(parse("[\(JSONText.string(text))]")?.array?.first?.string == text, "\(text)")
        }
        #expect(parse(#""\ud83d\ude00 \u00e9 \/""#)?.string == "😀 é /")
        #expect(parse(#""\ud83d x""#)?.string == "\u{FFFD} x")
    }

    @Test func refusesWhatIsNotJSON() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "[1] x", "tru", "\"open", "\"\\q\"", "\"\\u12\"", "[--]",
                     String(repeating: "[", count: 100) + String(repeating: "]", count: 100)] {
            #expect(parse(text) == nil, "\(text)")
        }
    }

    @Test func readsAStatusAnswerOfTheDaemon() throws {
        let rows = [ServiceStatus(name: "a\"b", group: "g", state: .running, pid: 42, restarts: 3, uptime: .seconds(5),
                                  lastExit: nil, statusText: "ok ✓")]
        let v = try #require(parse(StatusWire.status(rows)))
        let row = try #require(v["services"]?.array?.first)
        #expect(row["name"]?.string == "a\"b" && row["pid"]?.int == 42 && row["restarts"]?.int == 3)
        #expect(row["uptime_s"]?.double == 5 && row["status_text"]?.string == "ok ✓" && row["last_exit"] == .null)
    }
}

import Glibc
import Testing
import TendCore
@testable import TendConfig

func load(_ text: String) throws(ConfigErrors) -> TreeSpec {
    try ConfigLoader.parse(text, file: "tend.toml")
}

/// The errors of an invalid file, one line each.
func errors(_ text: String) -> [String] {
    do {
        _ = try load(text)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

@Suite struct ValidFileTests {
    static let spec = """
        [supervisor]
        strategy = "one_for_one"      # strategy of the root group
        intensity = 10
        period = "60s"
        control_socket = "/run/tend/control.sock"

        [defaults]
        stop_timeout = "10s"

        [[service]]
        name = "db"
        command = ["/usr/bin/redis-server", "--port", "6380"]
        ready = { tcp = "127.0.0.1:6380" }

        [[service]]
        name = "api"
        command = ["/srv/api/bin/api"]
        after = ["db"]
        ready = "notify"
        watchdog = "5s"
        environment = { PORT = "8080" }
        user = "api"

        [[group]]
        name = "backend"
        strategy = "rest_for_one"
        intensity = 3
        period = "30s"
        children = ["db", "api"]
        """

    @Test func theSpecExampleReadsAsWritten() throws {
        let tree = try load(ValidFileTests.spec)
        #expect(tree.root.strategy == .oneForOne)
        #expect(tree.root.intensity == Intensity(restarts: 10, period: .seconds(60)))
        #expect(tree.root.children == ["backend"])
        #expect(tree.controlSocket == "/run/tend/control.sock")
        let db = tree.services[0], api = tree.services[1]
        #expect(db.command == .argv(["/usr/bin/redis-server", "--port", "6380"]))
        #expect(db.ready == .tcp(Endpoint(host: "127.0.0.1", port: 6380)))
        #expect(db.stopTimeout == .seconds(10))
        #expect(api.after == ["db"] && api.ready == .notify && api.watchdog == .seconds(5))
        #expect(api.environment == ["PORT": "8080"] && api.user == "api")
        #expect(tree.groups == [GroupSpec(name: "backend", strategy: .restForOne,
                                          intensity: Intensity(restarts: 3, period: .seconds(30)), children: ["db", "api"])])
    }

    @Test func defaultsAreTheSpecs() throws {
        let s = try load("[[service]]\nname = \"a\"\ncommand = \"echo hi\"\n").services[0]
        #expect(s.command == .shell("echo hi"))
        #expect(s.command.argv == ["/bin/sh", "-c", "echo hi"])
        #expect(s.restart == .always && s.successExitCodes == [0] && s.maxRestarts == nil)
        #expect(s.backoff == Backoff(initial: .milliseconds(100), max: .seconds(30), factor: 2, jitter: 0.1, resetAfter: .seconds(30)))
        #expect(s.ready == .started && s.startTimeout == .seconds(60) && s.stopSignal == .term)
        #expect(s.stopTimeout == .seconds(10) && s.killMode == .group && s.log == .journal && s.autostart)
    }

    @Test func everyKeyIsRead() throws {
        let s = try load("""
            [[service]]
            name = "job"
            command = ["/bin/job"]
            restart = "on-failure"
            success_exit_codes = [0, 2]
            backoff = { initial = "1s", max = "1m", factor = 3, jitter = 0, reset_after = "2m" }
            max_restarts = 4
            ready = { exec = ["/bin/check"] }
            start_timeout = "90s"
            stop_signal = "INT"
            stop_timeout = 3
            kill_mode = "process"
            health = { tcp = "localhost:80", interval = "5s", timeout = "1s", retries = 2, start_period = "30s" }
            environment = { A = "x", N = 5 }
            working_directory = "/srv"
            user = "nobody"
            group = 65534
            umask = "0027"
            limits = { nofile = 65536, core = "infinity" }
            log = "null"
            log_identifier = "the-job"
            autostart = false
            [[service]]
            name = "cron"
            command = "x"
            schedule = "*/15 * * * *"
            """).services[0]
        #expect(s.restart == .onFailure && s.successExitCodes == [0, 2])
        #expect(s.backoff == Backoff(initial: .seconds(1), max: .seconds(60), factor: 3, jitter: 0, resetAfter: .seconds(120)))
        #expect(s.maxRestarts == 4 && s.ready == .exec(["/bin/check"]) && s.startTimeout == .seconds(90))
        #expect(s.stopSignal == .int && s.stopTimeout == .seconds(3) && s.killMode == .process)
        #expect(s.health == HealthCheck(probe: .tcp(Endpoint(host: "127.0.0.1", port: 80)), interval: .seconds(5),
                                        timeout: .seconds(1), retries: 2, startPeriod: .seconds(30)))
        #expect(s.environment == ["A": "x", "N": "5"])
        #expect(s.workingDirectory == "/srv" && s.user == "nobody" && s.group == "65534" && s.umask == 0o027)
        #expect(s.limits.values == [7: 65536, 4: UInt64.max])
        #expect(s.log == .null && s.identifier == "the-job" && !s.autostart)
    }

    @Test func schedulesInEveryForm() throws {
        let tree = try load("""
            [[service]]
            name = "cron"
            command = "x"
            schedule = "*/15 * * * *"
            [[service]]
            name = "boot"
            command = "x"
            schedule = "@reboot"
            [[service]]
            name = "daily"
            command = "x"
            schedule = "@daily"
            """)
        #expect(tree.services.map(\.schedule) == [.cron(try CronExpression(parsing: "*/15 * * * *")), .reboot,
                                                  .cron(try CronExpression(parsing: "@daily"))])
    }

    @Test func everyAndDurationsInAllForms() throws {
        let s = try load("[[service]]\nname = \"a\"\ncommand = \"x\"\nschedule = \"every 5m\"\nstart_timeout = \"1m30s\"\nstop_timeout = \"250ms\"\n").services[0]
        #expect(s.schedule == .every(.seconds(300)))
        #expect(s.startTimeout == .seconds(90))
        #expect(s.stopTimeout == .milliseconds(250))
    }

    @Test func rootChildrenFollowTheFileOrder() throws {
        let tree = try load("""
            [[service]]
            name = "first"
            command = "x"
            [[group]]
            name = "g"
            children = ["inner"]
            [[service]]
            name = "inner"
            command = "x"
            [[service]]
            name = "last"
            command = "x"
            """)
        #expect(tree.root.children == ["first", "g", "last"])
    }

    @Test func aServiceDefaultAppliesUnlessSet() throws {
        let tree = try load("""
            [defaults]
            restart = "never"
            [[service]]
            name = "a"
            command = "x"
            [[service]]
            name = "b"
            command = "x"
            restart = "always"
            """)
        #expect(tree.services.map(\.restart) == [.never, .always])
    }

    @Test func checkPrintsTheTree() throws {
        let text = TreeDescription.render(try load(ValidFileTests.spec), file: "tend.toml")
        #expect(text.contains("tend.toml: 2 services, 1 group"))
        #expect(text.contains("└─ backend (rest_for_one, gives up after 3 restarts in 30s)"))
        #expect(text.contains("   ├─ db: /usr/bin/redis-server --port 6380 [restart=always ready=tcp 127.0.0.1:6380]"))
        #expect(text.contains("   └─ api: /srv/api/bin/api [restart=always ready=notify after=db watchdog=5s]"))
        let jobs = TreeDescription.render(try load("""
            [[service]]
            name = "cleanup"
            command = "x"
            schedule = "*/15 * * * *"
            [[service]]
            name = "web"
            command = "y"
            health = { tcp = "127.0.0.1:80", interval = "5s" }
            """), file: "tend.toml")
        #expect(jobs.contains(#"├─ cleanup: x [restart=always schedule="*/15 * * * *"]"#))
        #expect(jobs.contains(#"└─ web: y [restart=always health="tcp 127.0.0.1:80" every 5s]"#))
    }
}

@Suite struct InvalidFileTests {
    @Test func aBadValueIsNamedWithFileLineColumnServiceAndKey() {
        let e = errors("""
            [[service]]
            name = "api"
            command = ["/srv/api"]
            restart = "sometimes"
            """)
        #expect(e == [#"tend.toml:4:11: service "api": restart: expected always, on-failure or never, got "sometimes""#])
    }

    @Test func unknownKeysAreErrorsWithASuggestion() {
        let e = errors("[[service]]\nname = \"api\"\ncommand = \"x\"\nrestat = \"never\"\n")
        #expect(e == [#"tend.toml:4:10: service "api": restat: unknown key, did you mean "restart"?"#])
        let top = errors("[[services]]\nname = \"api\"\n")
        #expect(top.first?.contains(#"services: unknown table or key, did you mean "service"?"#) == true)
        let nested = errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nbackoff = { inital = \"1s\" }\n")
        #expect(nested.first?.contains(#"backoff.inital: unknown key, did you mean "initial"?"#) == true)
    }

    @Test func syntaxErrorsHaveLineAndColumn() {
        let e = errors("[[service]]\nname = \"a\"\ncommand = [\"x\",\n")
        #expect(e.count == 1)
        #expect(e[0].hasPrefix("tend.toml:3:") || e[0].hasPrefix("tend.toml:4:"))
    }

    @Test func everyErrorIsReportedAtOnce() {
        let e = errors("""
            [supervisor]
            strategy = "one_for_some"
            [[service]]
            name = "a"
            [[service]]
            name = "b c"
            command = "x"
            [[service]]
            name = "d"
            command = "x"
            stop_timeout = "soon"
            kill_mode = "all"
            """)
        #expect(e.count == 5)
        #expect(e.contains { $0.contains("[supervisor]: strategy: expected one_for_one, one_for_all or rest_for_one") })
        #expect(e.contains { $0.contains(#"service "a": command: missing"#) })
        #expect(e.contains { $0.contains(#"service #2: name: "b c" may use only"#) })
        #expect(e.contains { $0.contains(#"service "d": stop_timeout: expected a span"#) })
        #expect(e.contains { $0.contains(#"service "d": kill_mode: expected group or process, got "all""#) })
    }

    @Test func errorsOfValuesAndOfTheTreesShapeComeTogether() {
        // A bad value in one service does not hide an unknown child, an unknown after target,
        // a name used twice or a cycle elsewhere.
        let e = errors("""
            [[service]]
            name = "a"
            command = "x"
            restart = "sometimes"
            after = ["nobody"]
            [[service]]
            name = "b"
            command = "x"
            stop_timeout = "soon"
            [[group]]
            name = "g"
            strategy = "one_for_some"
            children = ["b", "ghost"]
            [[service]]
            name = "b"
            command = "y"
            """)
        #expect(e.contains { $0.hasPrefix("tend.toml:4:11: ") && $0.contains(#"service "a": restart: expected always"#) })
        #expect(e.contains { $0.contains(#"service "a": after: no service or group is named "nobody""#) })
        #expect(e.contains { $0.contains(#"service "b": stop_timeout: expected a span"#) })
        #expect(e.contains { $0.contains(#"group "g": strategy: expected one_for_one"#) })
        #expect(e.contains { $0.contains(#"group "g": children: no service or group is named "ghost""#) })
        #expect(e.contains { $0.hasPrefix("tend.toml:15:") && $0.contains(#""b" is used twice"#) })
        #expect(e.count == 6)

        let cycle = errors("""
            [[service]]
            name = "a"
            command = "x"
            after = ["b"]
            kill_mode = "all"
            [[service]]
            name = "b"
            command = "x"
            after = ["a"]
            """)
        #expect(cycle.contains { $0.contains(#"service "a": kill_mode: expected group or process"#) })
        #expect(cycle.contains { $0.contains("waits for itself") })
    }

    @Test func namesAreUniqueAcrossServicesAndGroups() {
        let e = errors("[[service]]\nname = \"a\"\ncommand = \"x\"\n[[group]]\nname = \"a\"\nchildren = [\"a\"]\n")
        #expect(e.contains { $0.contains(#"group "a": name: "a" is used twice"#) })
    }

    @Test func childrenMustExistAndBelongToOneGroup() {
        let e = errors("""
            [[service]]
            name = "web"
            command = "x"
            [[group]]
            name = "g1"
            children = ["web", "webb"]
            [[group]]
            name = "g2"
            children = ["web"]
            """)
        #expect(e.contains { $0.contains(#"group "g1": children: no service or group is named "webb", did you mean "web"?"#) })
        #expect(e.contains { $0.contains(#"group "g2": children: "web" is already a child of group "g1""#) })
    }

    @Test func groupsCannotContainEachOther() {
        let e = errors("[[group]]\nname = \"a\"\nchildren = [\"b\"]\n[[group]]\nname = \"b\"\nchildren = [\"a\"]\n")
        #expect(e.contains { $0.contains("ring") })
    }

    @Test func afterTargetsMustExist() {
        let e = errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nafter = [\"db\"]\n")
        #expect(e == [#"tend.toml:4:9: service "a": after: no service or group is named "db""#])
    }

    @Test func anAfterOnALaterSiblingIsACycle() {
        let e = errors("""
            [[service]]
            name = "db"
            command = "x"
            after = ["api"]
            [[service]]
            name = "api"
            command = "x"
            """)
        #expect(e.count == 1)
        #expect(e[0].contains("after: waits for itself"))
        #expect(e[0].contains("db") && e[0].contains("api"))
    }

    @Test func aLongerChainIsACycleToo() {
        let e = errors("""
            [[service]]
            name = "a"
            command = "x"
            after = ["c"]
            [[service]]
            name = "b"
            command = "x"
            [[group]]
            name = "g"
            children = ["c"]
            [[service]]
            name = "c"
            command = "x"
            after = ["b"]
            """)
        #expect(e.first?.contains("waits for itself") == true)
    }

    @Test func waitingForOnesOwnGroupIsACycle() {
        let e = errors("[[group]]\nname = \"g\"\nchildren = [\"a\"]\n[[service]]\nname = \"a\"\ncommand = \"x\"\nafter = [\"g\"]\n")
        #expect(e.first?.contains("waits for itself") == true)
    }

    @Test func afterAnEarlierSiblingOrAnotherGroupIsFine() throws {
        _ = try load("""
            [[group]]
            name = "data"
            children = ["db"]
            [[service]]
            name = "db"
            command = "x"
            [[service]]
            name = "api"
            command = "x"
            after = ["data", "db"]
            """)
    }

    @Test func aJobHasNoReadinessHealthOrWatchdog() {
        let e = errors("""
            [[service]]
            name = "job"
            command = "x"
            schedule = "every 1m"
            ready = "notify"
            watchdog = "5s"
            health = { exec = ["true"] }
            [[service]]
            name = "bad"
            command = "x"
            schedule = "61 * * * *"
            """)
        #expect(e.count == 4)
        #expect(e.contains { $0.contains(#"service "job": ready: a job"#) })
        #expect(e.contains { $0.contains(#"service "job": watchdog: a job"#) })
        #expect(e.contains { $0.contains(#"service "job": health: a job"#) })
        #expect(e.contains { $0.contains(#"tend.toml:11:12: service "bad": schedule: "61 * * * *": minute"#) })
    }

    @Test func watchdogNeedsNotify() {
        let e = errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nwatchdog = \"5s\"\n")
        #expect(e.first?.contains(#"watchdog: needs ready = "notify""#) == true)
    }

    @Test func aBadDefaultIsReportedOnceAsTheDefaults() {
        let e = errors("[defaults]\nrestart = \"maybe\"\n[[service]]\nname = \"a\"\ncommand = \"x\"\n[[service]]\nname = \"b\"\ncommand = \"x\"\n")
        #expect(e == [#"tend.toml:2:11: [defaults]: restart: expected always, on-failure or never, got "maybe""#])
    }

    @Test func valuesAreCheckedForRange() {
        let e = errors("""
            [[service]]
            name = "a"
            command = []
            success_exit_codes = [256]
            backoff = { initial = "2s", max = "1s", jitter = 2 }
            ready = { tcp = "db.example:80" }
            stop_signal = "SIGNOPE"
            umask = "999"
            limits = { nofile = -1 }
            schedule = "61 * * * *"
            health = { interval = "1s" }
            working_directory = "relative"
            """)
        for fragment in ["command: expected at least one string", "success_exit_codes: expected exit codes from 0 to 255",
                         "backoff.jitter: must be from 0 to 1", "ready.tcp: \"db.example\" is not an IP address",
                         "stop_signal: \"SIGNOPE\" is not a signal name", "umask: expected an octal mask",
                         "limits.nofile: expected a number of 0 or more", "schedule: \"61 * * * *\": minute",
                         "health: expected exactly one of tcp or exec", "working_directory: expected an absolute path"] {
            #expect(e.contains { $0.contains(fragment) }, "missing: \(fragment)")
        }
    }

    @Test func aMissingFileIsAnError() {
        #expect(throws: ConfigErrors.self) { try ConfigLoader.load(path: "/nonexistent/tend.toml") }
    }

    /// TOML is UTF-8: a file that is not is refused where its first bad byte stands, not read
    /// with replacement characters.
    @Test func aFileThatIsNotUTF8IsRefusedWithWhere() throws {
        let path = "/tmp/tend-config-test-\(getpid()).toml"
        defer { unlink(path) }
        let bytes: [UInt8] = Array("[[service]]\nname = \"caf".utf8) + [0xE9] + Array("\"\ncommand = \"x\"\n".utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count)
        close(fd)
        #expect(throws: ConfigErrors.self) { try ConfigLoader.load(path: path) }
        do {
            _ = try ConfigLoader.load(path: path)
        } catch {
            #expect(error.description == "\(path):2:12: the file is not UTF-8 text, as TOML must be")
        }
    }

    /// The file is read by tend's own parser: 10,000 services, each key with its position.
    @Test func tenThousandServicesInFileOrder() throws {
        var text = ""
        for i in 0..<10_000 { text += "[[service]]\nname = \"s\(i)\"\ncommand = \"x\"\n" }
        let tree = try ConfigLoader.parse(text, file: "tend.toml")
        #expect(tree.root.children.count == 10_000 && tree.root.children.last == "s9999")
        #expect(errors(text + "[[service]]\nname = \"s1\"\ncommand = \"x\"\n").first?.hasPrefix("tend.toml:30002:8: ") == true)
    }
}

@Suite struct DurationTextTests {
    static func span(_ text: String) -> Duration? { DurationText.seconds(text).flatMap { Bounds.span(seconds: $0) } }

    @Test func readsEveryUnit() {
        #expect(Self.span("100ms") == .milliseconds(100))
        #expect(Self.span("1.5s") == .milliseconds(1500))
        #expect(Self.span("2h30m") == .seconds(9000))
        #expect(Self.span("0s") == .zero)
        #expect(Self.span("7") == .seconds(7))
        #expect(Self.span("500us") == .microseconds(500))
        #expect(Self.span("365d") == Bounds.maxSpan)
    }

    @Test func rejectsWhatIsNotASpan() {
        for text in ["", "ms", "5 parsecs", "-1s", "1s2", "inf", "nan", "-inf", "1e400", "١s"] {
            #expect(DurationText.seconds(text) == nil, "\(text)")
        }
    }

    @Test func aSpanPastTheBoundIsNoSpan() {
        for text in ["365d1us", "1e10", "9223372036854775807", "1000000000000000000000s", "106751991167d"] {
            #expect(DurationText.seconds(text) != nil && Self.span(text) == nil, "\(text)")
        }
    }
}

/// Inputs the fuzzer (`make fuzz`) found, kept as they crashed: each must now be an error.
@Suite struct FuzzFoundTests {
    /// Control characters where a key starts: they aborted the C++ parser tend used before
    /// its own (found by FuzzConfig in its first minute). TOML allows none but tab and line
    /// ends, so the file is refused before the parser sees it.
    @Test func controlCharactersAreRefusedBeforeTheParser() {
        #expect(errors("[\u{3}a]\nx = 1\n") == ["tend.toml:1:2: control character U+0003 is not allowed in TOML"])
        #expect(errors("[\u{1B}\u{3}s\u{3}\u{3}ervice]\u{18}\0\0rvi#m") == ["tend.toml:1:2: control character U+001B is not allowed in TOML"])
        #expect(errors("[[service]]\nname = \"a\u{7F}\"\n") == ["tend.toml:2:10: control character U+007F is not allowed in TOML"])
        #expect(errors("a = 1\rb = 2\n") == ["tend.toml:1:6: control character U+000D is not allowed in TOML"])
        #expect(errors("# é\u{0}\n") == ["tend.toml:1:4: control character U+0000 is not allowed in TOML"])
        // Tabs and CRLF line ends are TOML.
        #expect(errors("[[service]]\r\nname\t= \"a\"\r\ncommand = \"x\"\r\n") == [])
    }

    /// What aborted the C++ parser (a header that begins with no key, an array closed with a
    /// brace) is an error with its position in tend's own.
    @Test func whatAbortedTheOldParserIsAnError() {
        #expect(errors("[[é]]\nx = 1\n") == [#"tend.toml:1:3: expected a key (letters, digits, _ or -, or a quoted key), got "é""#])
        #expect(errors("[[\n") == ["tend.toml:1:3: expected a key, got the end of the line"])
        #expect(errors("[[group]]\nname = \"g\"\nchildren = [}\n") == [#"tend.toml:3:13: expected a value, got "}""#])
    }
}

@Suite struct EnvironmentFileKeyTests {
    @Test func pathsAreReadWithTheirDash() throws {
        let tree = try load("[[service]]\nname = \"a\"\ncommand = \"x\"\nenvironment_file = [\"/etc/a.env\", \"-/etc/b.env\"]\n")
        #expect(tree.services[0].environmentFiles == [EnvironmentFileRef(path: "/etc/a.env", optional: false),
                                                      EnvironmentFileRef(path: "/etc/b.env", optional: true)])
    }

    @Test func whatIsNotAListOfAbsolutePathsIsAnError() {
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nenvironment_file = \"/etc/a.env\"\n")
                == ["tend.toml:4:20: service \"a\": environment_file: expected an array of strings, got \"/etc/a.env\""])
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nenvironment_file = [\"a.env\"]\n")
                == ["tend.toml:4:20: service \"a\": environment_file: expected absolute paths (a leading - makes one optional), got \"a.env\""])
    }
}

@Suite struct ReloadSignalKeyTests {
    @Test func aSignalNameOrNumber() throws {
        #expect(try load("[[service]]\nname = \"a\"\ncommand = \"x\"\nreload_signal = \"SIGHUP\"\n").services[0].reloadSignal?.number == 1)
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\nreload_signal = \"RELOAD\"\n")
                == ["tend.toml:4:17: service \"a\": reload_signal: \"RELOAD\" is not a signal name such as TERM, INT, HUP, QUIT, USR1"])
    }
}

@Suite struct CriticalKeyTests {
    @Test func aJobCannotBeCriticalAndTheValueIsABool() {
        #expect(errors("[[service]]\nname = \"j\"\ncommand = \"x\"\nschedule = \"every 1m\"\ncritical = true\n")
                == ["tend.toml:5:12: service \"j\": critical: a job (with schedule) never ends for good: it cannot be critical"])
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\ncritical = \"yes\"\n")
                == ["tend.toml:4:12: service \"a\": critical: expected true or false, got \"yes\""])
    }
}


@Suite struct InstancesKeyTests {
    @Test func aCountOfCopies() throws {
        #expect(try load("[[service]]\nname = \"web\"\ncommand = \"x\"\ninstances = 4\n").services[0].instances == 4)
        #expect(try load("[[service]]\nname = \"web\"\ncommand = \"x\"\n").services[0].instances == nil)
    }

    @Test func zeroNegativeOrNotANumberIsAnErrorAndEveryErrorIsSaidAtOnce() {
        #expect(errors("[[service]]\nname = \"a\"\ncommand = \"x\"\ninstances = 0\n\n[[service]]\nname = \"b\"\ncommand = \"x\"\ninstances = -2\n\n[[service]]\nname = \"c\"\ncommand = \"x\"\ninstances = \"3\"\n")
                == ["tend.toml:4:13: service \"a\": instances: 0 copies: expected 1 to 100000 (autostart = false starts none)",
                    "tend.toml:9:13: service \"b\": instances: -2 copies: expected 1 to 100000 (autostart = false starts none)",
                    "tend.toml:14:13: service \"c\": instances: expected a whole number of copies, got \"3\""])
    }

    @Test func aNameOfACopyIsTaken() {
        #expect(errors("[[service]]\nname = \"web\"\ncommand = \"x\"\ninstances = 2\n\n[[service]]\nname = \"web@7\"\ncommand = \"x\"\n")
                == ["tend.toml:7:8: service \"web@7\": name: \"web@7\" is taken: web@N names the copies of web, which has instances"])
    }
}

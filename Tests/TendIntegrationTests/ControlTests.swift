import Foundation
import Testing

/// `tend status/start/stop/restart/signal` against a running tend.
@Suite struct ControlCommandTests {
    static let config = """
        [[service]]
        name = "web"
        command = "trap 'echo hup >> $DIR/hups' HUP; while true; do sleep 0.05; done"
        [[group]]
        name = "workers"
        children = ["w1", "w2"]
        [[service]]
        name = "w1"
        command = "exec sleep 1000"
        [[service]]
        name = "w2"
        command = "exec sleep 1000"
        [[service]]
        name = "manual"
        command = "exec sleep 1000"
        autostart = false
        """

    @Test func statusJsonIsTheSpecsObject() throws {
        let tend = try TendRun(ControlCommandTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("w2", "started"))
        let result = tend.client(["status", "--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let rows = try #require(object["services"] as? [[String: Any]])
        #expect(rows.map { $0["name"] as? String } == ["web", "w1", "w2", "manual"])
        let web = rows[0], w1 = rows[1], manual = rows[3]
        #expect(Set(web.keys) == ["name", "group", "state", "pid", "restarts", "uptime_s", "last_exit", "last_result",
                                  "status_text", "schedule", "last_run", "next_run", "health", "cgroup", "tasks", "cpu_s",
                                  "memory_bytes"])
        #expect(web["last_result"] is NSNull && web["schedule"] is NSNull && web["last_run"] is NSNull && web["next_run"] is NSNull && web["health"] is NSNull)
        #expect(web["group"] is NSNull && w1["group"] as? String == "workers")
        #expect(web["state"] as? String == "running" && (web["pid"] as? Int).map(Int32.init) == tend.pid("web"))
        #expect(web["restarts"] as? Int == 0 && web["uptime_s"] is Double && web["last_exit"] is NSNull)
        #expect(manual["state"] as? String == "stopped" && manual["pid"] is NSNull && manual["uptime_s"] is NSNull)
    }

    @Test func statusTableAndNames() throws {
        let tend = try TendRun(ControlCommandTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("w2", "started"))
        let table = tend.client(["status", "workers"])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("NAME  GROUP    STATE    PID"))
        #expect(lines[1].hasPrefix("w1    workers  running  \(tend.pid("w1") ?? 0)"))
        let unknown = tend.client(["status", "nope"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains(#"unknown service or group "nope""#))
    }

    /// `tend status` and `tend run` take their plain forms without the argument parser
    /// (QuickCommand): each answers as the parser's own path does, and every other form still
    /// goes through it.
    @Test func quickFormsAnswerAsTheParsersPathDoes() throws {
        let tend = try TendRun(ControlCommandTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("w2", "started"))
        let socket = tend.socketPath
        let json = tend.client(["status", "--json", "w1", "w2"])
        #expect(json.status == 0 && json.stdout.hasPrefix(#"{"services":[{"name":"w1","#))
        for form in [["status", "w1", "--json", "w2", "--socket", socket], ["status", "--socket=" + socket, "w1", "w2", "--json"],
                     ["status", "--json", "-c", tend.configPath, "w1", "w2"], ["status", "--config=\(tend.configPath)", "--json", "w1", "w2"]] {
            let other = tend.client(form, environment: form.contains(socket) ? [:] : ["TEND_SOCKET": socket], socket: nil)
            #expect(other.status == 0 && other.stdout.hasPrefix(#"{"services":[{"name":"w1","#), "\(form)")
            #expect(other.stdout.contains(#""name":"w2""#), "\(form)")
        }
        // `--` and help go to the parser.
        let dashes = tend.client(["status", "--socket", socket, "--json", "--", "w1"], socket: nil)
        #expect(dashes.status == 0 && dashes.stdout.contains(#""name":"w1""#) && !dashes.stdout.contains(#""name":"w2""#))
        let help = tend.client(["status", "--help"], socket: nil)
        #expect(help.status == 0 && help.stdout.contains("USAGE: tend status"))
        let bogus = tend.client(["status", "--bogus"], socket: nil)
        #expect(bogus.status == 64 && bogus.stderr.contains("Unknown option '--bogus'"))
        let missing = tend.client(["status", "--socket"], socket: nil)
        #expect(missing.status == 64 && missing.stderr.contains("Missing value for '--socket"))
        // `tend run` too: every test starts it by the quick path; these go to the parser.
        let runHelp = tend.client(["run", "--help"], socket: nil)
        #expect(runHelp.status == 0 && runHelp.stdout.contains("USAGE: tend run"))
        let badLog = tend.client(["run", "-c", tend.configPath, "--log", "files"], socket: nil)
        #expect(badLog.status == 64 && badLog.stderr.contains("'files'"))
    }

    @Test func stopReturnsOnceTheProcessIsGoneAndStartOnceReady() throws {
        let tend = try TendRun(ControlCommandTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("w2", "started"))
        let w1 = try #require(tend.pid("w1"))
        #expect(tend.client(["stop", "w1"]).status == 0)
        #expect(!exists(w1))
        #expect(tend.events("w1", "started").count == 1)
        #expect(tend.client(["start", "w1", "manual"]).status == 0)
        #expect(tend.events("w1", "started").count == 2 && tend.events("manual", "started").count == 1)
        let manual = try #require(tend.pid("manual"))
        #expect(isAlive(manual))
    }

    @Test func restartAGroupStopsInReverseAndStartsInOrder() throws {
        let tend = try TendRun(ControlCommandTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("w2", "started"))
        let (w1, web) = (try #require(tend.pid("w1")), try #require(tend.pid("web")))
        #expect(tend.client(["restart", "workers"]).status == 0)
        #expect(!exists(w1) && tend.pid("web") == web)
        let events = tend.events.filter { ["stopped", "started"].contains($0.kind) && $0.subject.hasPrefix("w") }
            .map { "\($0.kind) \($0.subject)" }
        #expect(events.suffix(4) == ["stopped w2", "stopped w1", "started w1", "started w2"])
        #expect(tend.client(["status", "--json", "w1"]).stdout.contains("\"restarts\":0"))
    }

    @Test func signalReachesTheService() throws {
        let tend = try TendRun(ControlCommandTests.config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("web", "started"))
        #expect(tend.client(["signal", "HUP", "web"]).status == 0)
        #expect(tend.waitFor("the HUP to be handled") { tend.file("hups") == "hup\n" })
        let stopped = tend.client(["signal", "USR1", "manual"])
        #expect(stopped.status == 1 && stopped.stderr.contains("none of manual is running"))
        let bad = tend.client(["signal", "NOPE", "web"])
        #expect(bad.status == 1 && bad.stderr.contains("not a signal name"))
    }

    @Test func aStartThatFailsOrHangsExitsNonZeroWithAReason() throws {
        let tend = try TendRun("""
            [[service]]
            name = "broken"
            command = ["/nonexistent/broken"]
            autostart = false
            restart = "never"
            [[service]]
            name = "mute"
            command = "exec sleep 1000"
            ready = "notify"
            autostart = false
            """)
        defer { tend.stop() }
        let broken = tend.client(["start", "broken"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("broken exited: exec /nonexistent/broken: No such file or directory"))
        let mute = tend.client(["start", "--timeout", "0.5", "mute"])
        #expect(mute.status == 1)
        #expect(mute.stderr.contains("not settled within 500ms: mute is starting"))
    }

    @Test func theSocketPathComesFromTheFileOrTheEnvironment() throws {
        let tend = try TendRun("[supervisor]\ncontrol_socket = \"$DIR/from-file.sock\"\n" + ControlCommandTests.config,
                               passSocket: false)
        defer { tend.stop() }
        let fromFile = tend.dir + "/from-file.sock"
        #expect(tend.waitFor("the socket") { FileManager.default.fileExists(atPath: fromFile) })
        let viaConfig = tend.client(["status", "-c", tend.configPath], waitForSocket: false, socket: nil)
        #expect(viaConfig.status == 0 && viaConfig.stdout.contains("web"))
        let viaEnvironment = tend.client(["status"], environment: ["TEND_SOCKET": fromFile], waitForSocket: false,
                                         socket: nil)
        #expect(viaEnvironment.status == 0 && viaEnvironment.stdout.contains("web"))
        let wrong = tend.client(["status"], environment: ["TEND_SOCKET": tend.dir + "/nothing.sock"], waitForSocket: false,
                                socket: nil)
        #expect(wrong.status == 69)
    }

    @Test func noTendThereExits69() throws {
        let tend = try TendRun(ControlCommandTests.config, arguments: ["check"])
        defer { tend.cleanUp() }
        let result = tend.client(["status"], waitForSocket: false)
        #expect(result.status == 69)
        #expect(result.stderr.contains("cannot connect to tend at \(tend.socketPath)"))
    }
}

/// Reload: the file changes, and only what changed is touched.
@Suite struct ReloadTests {
    static let before = """
        [[service]]
        name = "keep"
        command = "exec sleep 1000"
        [[service]]
        name = "change"
        command = "exec sleep 1000"
        [[service]]
        name = "remove"
        command = "exec sleep 1000"
        [[group]]
        name = "g"
        children = ["g1", "g2"]
        [[service]]
        name = "g1"
        command = "exec sleep 1000"
        [[service]]
        name = "g2"
        command = "exec sleep 1000"
        """

    @Test func addRemoveChangeAndKeep() throws {
        let tend = try TendRun(ReloadTests.before)
        defer { tend.stop() }
        #expect(tend.waitForEvent("g2", "started"))
        let (keep, change, remove, g1) = (try #require(tend.pid("keep")), try #require(tend.pid("change")),
                                          try #require(tend.pid("remove")), try #require(tend.pid("g1")))
        try tend.rewrite(ReloadTests.before
            .replacingOccurrences(of: "name = \"change\"\ncommand = \"exec sleep 1000\"", with: "name = \"change\"\ncommand = \"exec sleep 2000\"")
            .replacingOccurrences(of: "[[service]]\nname = \"remove\"\ncommand = \"exec sleep 1000\"\n", with: "")
            + "\n[[service]]\nname = \"added\"\ncommand = \"exec sleep 1000\"\n")
        let result = tend.client(["reload"])
        #expect(result.status == 0)
        #expect(result.stdout == "reloaded: 1 added (added), 1 removed (remove), 1 restarted (change), 3 unchanged\n")
        #expect(tend.pid("keep") == keep && tend.pid("g1") == g1 && isAlive(keep) && isAlive(g1))
        #expect(!exists(remove) && !exists(change))
        #expect(tend.pid("change") != change)
        let status = tend.client(["status", "--json"]).stdout
        #expect(status.contains("\"name\":\"added\"") && !status.contains("\"name\":\"remove\""))
        #expect(tend.waitForEvent("added", "started"))
    }

    @Test func changingOnlyAGroupsStrategyRestartsItsChildren() throws {
        let tend = try TendRun(ReloadTests.before)
        defer { tend.stop() }
        #expect(tend.waitForEvent("g2", "started"))
        let (keep, g1) = (try #require(tend.pid("keep")), try #require(tend.pid("g1")))
        try tend.rewrite(ReloadTests.before.replacingOccurrences(of: "name = \"g\"\n", with: "name = \"g\"\nstrategy = \"one_for_all\"\n"))
        let result = tend.client(["reload"])
        #expect(result.stdout == "reloaded: 0 added, 0 removed, 2 restarted (g1, g2), 3 unchanged\n")
        #expect(tend.pid("keep") == keep && tend.pid("g1") != g1)
    }

    @Test func anInvalidFileKeepsTheOldTree() throws {
        let tend = try TendRun(ReloadTests.before)
        defer { tend.stop() }
        #expect(tend.waitForEvent("g2", "started"))
        let pids = tend.startedPIDs
        try tend.rewrite(ReloadTests.before + "\n[[service]]\nname = \"bad\"\ncommand = \"x\"\nrestart = \"sometimes\"\n")
        let result = tend.client(["reload"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("reload failed, nothing changed"))
        #expect(result.stderr.contains(#"service "bad": restart: expected always, on-failure or never"#))
        #expect(tend.stderr.contains("reload failed, nothing changed"))
        #expect(tend.startedPIDs == pids && pids.allSatisfy(isAlive))
    }

    @Test func sighupReloadsToo() throws {
        let tend = try TendRun(ReloadTests.before)
        defer { tend.stop() }
        #expect(tend.waitForEvent("g2", "started"))
        try tend.rewrite(ReloadTests.before + "\n[[service]]\nname = \"added\"\ncommand = \"exec sleep 1000\"\n")
        kill(tend.process.processIdentifier, SIGHUP)
        #expect(tend.waitForEvent("added", "started"))
        #expect(tend.message("tend", "reloaded").hasPrefix("1 added (added)"))
    }
}

extension ReloadTests {
    @Test func whatARemovedServiceLeftBehindIsStillRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tend-go-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A grandchild in a session of its own, out of reach of the group's kill (no cgroup),
        // that writes once the file `dir` exists.
        let tend = try TendRun("""
            [supervisor]
            cgroups = "off"
            [[service]]
            name = "keep"
            command = "exec sleep 1000"
            [[service]]
            name = "leaving"
            command = "setsid sh -c 'echo detached; while [ ! -e \(dir) ]; do sleep 0.05; done; echo last words' & exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("the grandchild") { tend.stdout.contains("leaving | detached\n") })
        try tend.rewrite("[[service]]\nname = \"keep\"\ncommand = \"exec sleep 1000\"\n")
        #expect(tend.client(["reload"]).status == 0)
        #expect(tend.waitForEvent("leaving", "stopped"))
        // Written after the reload removed the service: still read from its pipe.
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        #expect(tend.waitFor("the last words") { tend.stdout.contains("leaving | last words\n") })
    }

    /// Users are looked up once per reading of the file, not on every restart.
    @Test(.enabled(if: getuid() == 0, "needs root to make a user"))
    func usersAreLookedUpAgainAtReload() throws {
        let user = "tend-cache-user"
        _ = ControlPermissionTests.sh("userdel \(user) 2>/dev/null; useradd --system --no-create-home --shell /usr/sbin/nologin \(user)")
        defer { _ = ControlPermissionTests.sh("userdel -f \(user) 2>/dev/null") }
        let config = "[[service]]\nname = \"u\"\ncommand = \"id -un; exec sleep 1000\"\nuser = \"\(user)\"\n"
        let tend = try TendRun(config)
        defer { tend.stop() }
        #expect(tend.waitFor("the first run") { tend.stdout.contains("u | \(user)\n") })
        #expect(ControlPermissionTests.sh("userdel -f \(user)") == 0)
        // A restart uses the ids looked up when the file was read.
        #expect(tend.client(["restart", "u"]).status == 0)
        #expect(tend.waitForEvent("u", "started", count: 2))
        // A reload looks the user up again: gone now.
        try tend.rewrite(config.replacingOccurrences(of: "id -un;", with: "id -un; true;"))
        _ = tend.client(["reload"])
        #expect(tend.waitForEvent("u", "spawn-failed"))
        #expect(tend.message("u", "spawn-failed").hasPrefix("user \"\(user)\": no such user"))
    }
}

extension ReloadTests {
    /// A file that does not parse (here a table header that begins with a non-ASCII letter,
    /// which aborted the C++ parser tend used before its own) is refused with where and why,
    /// and the tree runs on.
    @Test func aFileThatDoesNotParseIsRefusedAndTheTreeRunsOn() throws {
        let config = "[[service]]\nname = \"keep\"\ncommand = \"exec sleep 1000\"\n"
        let tend = try TendRun(config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("keep", "started"))
        let pid = try #require(tend.pid("keep"))
        try tend.rewrite(config + "[[é]]\nx = 1\n")
        let result = tend.client(["reload"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(#"tend.toml:4:3: expected a key (letters, digits, _ or -, or a quoted key), got "é""#))
        #expect(tend.exitStatus == nil && isAlive(pid))
        #expect(tend.client(["status", "keep"]).stdout.contains("running"))
        // `tend check` says the same, exit 78.
        let check = tend.client(["check", "-c", tend.configPath], socket: nil)
        #expect(check.status == 78 && check.stderr.contains("tend.toml:4:3: expected a key"))
    }
}

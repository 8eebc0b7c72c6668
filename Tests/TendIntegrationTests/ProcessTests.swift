import Foundation
import Testing

/// What each child gets from tend, and what tend does with what children leave.
@Suite struct ProcessTests {
    @Test func stopTimeoutEndsInSigkill() throws {
        let tend = try TendRun("""
            [[service]]
            name = "deaf"
            command = "trap '' TERM; touch $DIR/deaf; while true; do sleep 0.05; done"
            stop_timeout = "300ms"
            """)
        defer { tend.cleanUp() }
        // SIGTERM before the shell has run `trap` would simply end it.
        #expect(tend.waitFor("the shell to ignore SIGTERM") { tend.file("deaf") != nil })
        #expect(tend.stop() == 0)
        #expect(tend.events("deaf", "stopping").last?.message.contains("sending SIGKILL") == true)
        #expect(tend.message("deaf", "stopped") == "killed by SIGKILL")
    }

    @Test func stopSignalsTheWholeProcessGroup() throws {
        let tend = try TendRun("""
            [[service]]
            name = "parent"
            command = "sleep 1000 & echo $! > $DIR/grandchild; wait"
            """)
        defer { tend.cleanUp() }
        #expect(tend.waitFor("the grandchild's pid") { tend.file("grandchild")?.hasSuffix("\n") == true })
        let grandchild = try #require(Int32((tend.file("grandchild") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(isAlive(grandchild))
        kill(tend.process.processIdentifier, SIGTERM)
        #expect(tend.waitForExit() == 0)
        // Before cleanUp, which would kill the group itself. A zombie whose parent (tend) has
        // exited is the init process's to reap: it is not alive.
        #expect(tend.waitFor("the grandchild to die", timeout: 2) { !isAlive(grandchild) })
    }

    @Test func killModeProcessSignalsTheMainProcessOnly() throws {
        // As systemd's KillMode=process: only the main process gets SIGTERM, and what it
        // leaves behind is left alone.
        let tend = try TendRun("""
            [[service]]
            name = "parent"
            command = "trap 'echo got-term > $DIR/term; exit 0' TERM; sleep 1000 & echo $! > $DIR/grandchild; wait"
            kill_mode = "process"
            """)
        defer { tend.cleanUp() }
        #expect(tend.waitFor("the grandchild's pid") { tend.file("grandchild")?.hasSuffix("\n") == true })
        let grandchild = try #require(Int32((tend.file("grandchild") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(tend.process.processIdentifier, SIGTERM)
        #expect(tend.waitForExit() == 0)
        #expect(tend.file("term") == "got-term\n")
        #expect(isAlive(grandchild))  // until cleanUp kills the group
    }

    @Test func anOrphanIsReapedAndNoZombieRemains() throws {
        // The inner shell exits at once, leaving its background sleep to tend, the subreaper.
        let tend = try TendRun("""
            [[service]]
            name = "leaver"
            command = "sh -c 'sleep 0.3 & echo $! > $DIR/orphan'; exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("the orphan's pid") { tend.file("orphan")?.hasSuffix("\n") == true })
        let orphan = try #require(Int32((tend.file("orphan") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
        let parent = try String(contentsOfFile: "/proc/\(orphan)/stat", encoding: .utf8)
            .split(separator: ")").last!.split(separator: " ")[1]
        #expect(Int32(parent) == tend.process.processIdentifier)
        // A zombie would stay in /proc for as long as tend lives.
        #expect(tend.waitFor("the orphan to be reaped") { !exists(orphan) })
    }

    @Test func aChildHasOnlyStdioInItsOwnSessionWithStdinOnDevNull() throws {
        let tend = try TendRun("""
            [[service]]
            name = "plain"
            command = ["sleep", "1000"]
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("plain", "started"))
        let pid = try #require(tend.pid("plain"))
        // Right after exec the dynamic loader may still hold libc open as fd 3: wait for it to finish.
        #expect(tend.waitFor("the child's fds to be its stdio") {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").sorted()) == ["0", "1", "2"]
        })
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/0") == "/dev/null")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/1").hasPrefix("pipe:"))
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8).split(separator: ")").last!
            .split(separator: " ")
        #expect(Int32(stat[2]) == pid)  // process group
        #expect(Int32(stat[3]) == pid)  // session
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("SigBlk:\t0000000000000000"))
        #expect(status.contains("SigIgn:\t0000000000000000"))
    }

    @Test func theEnvironmentIsTendsLessSystemdsPlusTheServices() throws {
        let tend = try TendRun("""
            [[service]]
            name = "env"
            command = "env > $DIR/env; exec sleep 1000"
            environment = { GREETING = "hello", PORT = 8080 }
            """, environment: ["NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "1000000",
                               "WATCHDOG_PID": "1", "LISTEN_FDS": "1", "LISTEN_PID": "1", "JOURNAL_STREAM": "8:9",
                               "INVOCATION_ID": "abc", "KEPT": "yes"])
        defer { tend.stop() }
        #expect(tend.waitFor("the environment") { tend.file("env")?.contains("GREETING") == true })
        let lines = Set((tend.file("env") ?? "").split(separator: "\n").map(String.init))
        #expect(lines.contains("KEPT=yes") && lines.contains("GREETING=hello") && lines.contains("PORT=8080"))
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "JOURNAL_STREAM", "INVOCATION_ID"] {
            #expect(!lines.contains { $0.hasPrefix(name + "=") }, "\(name) leaked")
        }
    }

    @Test func childLinesArePrefixedAndABurstLosesNone() throws {
        let tend = try TendRun("""
            [[service]]
            name = "burst"
            command = "i=0; while [ $i -lt 20000 ]; do echo line $i; i=$((i+1)); done; echo partial-without-newline >&2; exec sleep 1000"
            [[service]]
            name = "b"
            command = "echo from-b"
            restart = "never"
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("20000 lines", timeout: 30) { tend.stdout.contains("burst | line 19999\n") })
        let lines = tend.stdout.split(separator: "\n").filter { $0.hasPrefix("burst | line ") }
        #expect(lines.count == 20000)
        #expect(lines.enumerated().allSatisfy { $0.element == "burst | line \($0.offset)" })
        #expect(tend.waitFor("b's line") { tend.stdout.contains("b     | from-b\n") })
    }

    @Test func sigintStopsTheTreeAndExits0() throws {
        let tend = try TendRun("[[service]]\nname = \"s\"\ncommand = \"exec sleep 1000\"\n")
        defer { tend.cleanUp() }
        #expect(tend.waitForEvent("s", "started"))
        kill(tend.process.processIdentifier, SIGINT)
        #expect(tend.waitForExit() == 0)
        let pid = try #require(tend.pid("s"))
        #expect(!exists(pid))
    }

    @Test func anInvalidFileStartsNothingAndExits78() throws {
        let config = "[[service]]\nname = \"s\"\ncommand = \"touch $DIR/started\"\nrestart = \"sometimes\"\n"
        for arguments in [["run"], ["check"]] {
            let tend = try TendRun(config, arguments: arguments)
            defer { tend.cleanUp() }
            #expect(tend.waitForExit() == 78)
            #expect(tend.stderr.contains(#"tend.toml:4:11: service "s": restart: expected always, on-failure or never, got "sometimes""#))
            #expect(tend.file("started") == nil)
        }
    }

    @Test func checkPrintsTheTreeOfAValidFile() throws {
        let tend = try TendRun("[[service]]\nname = \"s\"\ncommand = \"exec sleep 1000\"\n", arguments: ["check"])
        defer { tend.cleanUp() }
        #expect(tend.waitForExit() == 0)
        #expect(tend.stdout.contains("└─ s: exec sleep 1000 [restart=always]"))
    }
}

@Suite struct ChildSettingsTests {
    @Test func directoryUmaskAndLimitsAreSetInTheChild() throws {
        let tend = try TendRun("""
            [[service]]
            name = "settings"
            command = "echo \\"$(pwd) $(umask) $(ulimit -n) $(ulimit -c)\\"; exec sleep 1000"
            working_directory = "/tmp"
            umask = "0027"
            limits = { nofile = 1234, core = 0 }
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("the settings line") { tend.stdout.contains("settings | /tmp 0027 1234 0\n") })
    }

    @Test(.enabled(if: getuid() == 0, "needs root to change user"))
    func userAndGroupAreSetInTheChild() throws {
        let tend = try TendRun("""
            [[service]]
            name = "ids"
            command = "echo \\"$(id -u) $(id -g) $USER $HOME $(id -G) $(grep -E '^(Uid|Gid)' /proc/self/status | tr -s '\\t\\n' '  ')\\"; exec sleep 1000"
            user = "nobody"
            group = "nogroup"
            """)
        defer { tend.stop() }
        // Real, effective, saved and filesystem ids all changed, supplementary groups only the group's.
        #expect(tend.waitFor("the ids line") {
            tend.stdout.contains("ids | 65534 65534 nobody /nonexistent 65534 Uid: 65534 65534 65534 65534 Gid: 65534 65534 65534 65534 \n")
        })
        // The child's change is its own: tend, whose memory it shared until exec, is still root.
        let status = try String(contentsOfFile: "/proc/\(tend.process.processIdentifier)/status", encoding: .utf8)
        #expect(status.contains("Uid:\t0\t0\t0\t0\n") && status.contains("Gid:\t0\t0\t0\t0\n"))
    }

    @Test func anUnknownUserFailsTheStartWithItsName() throws {
        let tend = try TendRun("""
            [[service]]
            name = "ghost"
            command = "exec sleep 1000"
            user = "no-such-user-here"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("ghost", "spawn-failed"))
        #expect(tend.message("ghost", "spawn-failed").hasPrefix(#"user "no-such-user-here": no such user"#))
    }
}

/// File descriptors: one per running child (its pidfd) and one per service with console output,
/// and the limit said at once.
@Suite struct DescriptorTests {
    static func config(_ count: Int) -> String {
        (0..<count).map { "[[service]]\nname = \"s\($0)\"\ncommand = [\"sleep\", \"1000\"]\n" }.joined()
    }

    func descriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    @Test func tendHoldsTwoDescriptorsPerService() throws {
        let tend = try TendRun(DescriptorTests.config(50))
        defer { tend.stop() }
        #expect(tend.waitForEvent("s49", "started"))
        let base = try TendRun(DescriptorTests.config(1))
        defer { base.stop() }
        #expect(base.waitForEvent("s0", "started"))
        // 49 more services: 98 more fds (the read end of each pipe, the pidfd of each child),
        // not 147 (a write end kept too).
        #expect(descriptors(tend.process.processIdentifier) - descriptors(base.process.processIdentifier) == 98)
        // A restarted service's output still comes through its pipe.
        let pid = try #require(tend.pid("s7"))
        kill(pid, SIGKILL)
        #expect(tend.waitForEvent("s7", "started", count: 2))
        #expect(descriptors(tend.process.processIdentifier) - descriptors(base.process.processIdentifier) == 98)
    }

    @Test func listenSocketsAndFdStoresCountTowardTheLimit() throws {
        let tend = try TendRun("""
            [[service]]
            name = "s"
            command = "exec sleep 1000"
            fdstore_max = 100
            listen = ["tcp:127.0.0.1:\(freePort())"]
            """, wrapper: ["/usr/bin/prlimit", "--nofile=80:80"])
        defer { tend.stop() }
        #expect(tend.waitForEvent("tend", "fd-limit"))
        #expect(tend.message("tend", "fd-limit").contains("1 listen sockets, fd stores of up to 100"))
    }

    @Test func aTreeBeyondTheHardLimitIsSaidAtOnce() throws {
        let tend = try TendRun(DescriptorTests.config(40), wrapper: ["/usr/bin/prlimit", "--nofile=80:80"])
        defer { tend.stop() }
        #expect(tend.waitForEvent("tend", "fd-limit"))
        #expect(tend.message("tend", "fd-limit").contains("about 144 file descriptors are needed"))
        #expect(tend.message("tend", "fd-limit").contains("RLIMIT_NOFILE's hard limit is 80"))
        #expect(tend.message("tend", "fd-limit").contains("LimitNOFILE="))
        // What fits runs.
        #expect(tend.waitForEvent("s0", "started"))
        #expect(tend.client(["status"]).status == 0)
    }
}

/// What tend inherited stays out of its children even where close_range is missing.
@Suite struct InheritedDescriptorTests {
    @Test func anInheritedDescriptorIsMarkedCloseOnExec() throws {
        let tend = try TendRun("[[service]]\nname = \"s\"\ncommand = [\"sleep\", \"1000\"]\n",
                               wrapper: ["/bin/sh", "-c", "exec 7</dev/null; exec \"$@\"", "sh"])
        defer { tend.stop() }
        #expect(tend.waitForEvent("s", "started"))
        let info = try String(contentsOfFile: "/proc/\(tend.process.processIdentifier)/fdinfo/7", encoding: .utf8)
        let flags = info.split(separator: "\n").first { $0.hasPrefix("flags:") }.flatMap { Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) }
        #expect(flags.map { $0 & 0o2000000 != 0 } == true, "\(info)")
    }
}


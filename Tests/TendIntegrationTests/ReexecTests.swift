import Foundation
import Testing

/// `tend reexec` (SPEC section 9): tend executes a binary in place and the new one takes every
/// service over, or the old one runs on untouched.
@Suite struct ReexecTests {
    /// A `--binary` that is tend behind a shell script: `before` runs first, in check mode
    /// (TEND_RESTORE_CHECK set) or in the exec itself.
    static func wrapper(_ tend: TendRun, _ name: String, check: String = "", exec: String = "") throws -> String {
        let path = tend.dir + "/" + name
        try """
            #!/bin/sh
            if [ -n "$TEND_RESTORE_CHECK" ]; then
            \(check)
            :
            else
            \(exec)
            :
            fi
            exec \(TendRun.binary) "$@"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// `tend ARGUMENTS` against this tend, left running; its stderr is read once it ends.
    static func background(_ tend: TendRun, _ arguments: [String]) throws -> (Process, Pipe) {
        let client = Process(), said = Pipe()
        client.executableURL = URL(fileURLWithPath: TendRun.binary)
        client.arguments = arguments + ["--socket", tend.socketPath]
        client.standardError = said
        try client.run()
        return (client, said)
    }

    /// `tend status --json` without what moves with time alone.
    static func rows(_ tend: TendRun) -> [[String: String]] {
        let out = tend.client(["status", "--json"]).stdout
        guard let object = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any],
              let services = object["services"] as? [[String: Any]] else { return [] }
        return services.map { row in
            var kept: [String: String] = [:]
            for (key, value) in row where !["uptime_s", "cpu_s", "tasks", "memory_bytes"].contains(key) { kept[key] = "\(value)" }
            return kept
        }
    }

    static func value(_ tend: TendRun, _ name: String, _ key: String) -> Any? {
        let out = tend.client(["status", "--json", name]).stdout
        let object = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        return (object?["services"] as? [[String: Any]])?.first?[key]
    }

    /// 200 services: daemons, crashers in backoff, a failing health check, an hourly job, and
    /// a talker whose numbered lines must all arrive once. Through a reexec (one slowed down,
    /// so that things happen during the exec) every row of `tend status --json` stays as it was.
    @Test
    func twoHundredServicesComeThroughAsTheyWere() throws {
        var config = """
            [[service]]
            name = "talker"
            command = "i=0; while [ $i -lt 400 ]; do i=$((i+1)); printf 'line %d' $i; printf ' end\\n'; sleep 0.01; done; exec sleep 1000"

            [[service]]
            name = "sick"
            command = "exec sleep 1000"
            health = { exec = ["false"], interval = "200ms", retries = 100000 }

            [[service]]
            name = "hourly"
            command = "true"
            schedule = "every 1h"

            """
        for i in 0..<4 {
            config += "[[service]]\nname = \"crasher\(i)\"\ncommand = \"exit 3\"\nbackoff = { initial = \"200ms\", max = \"1h\" }\n\n"
        }
        for i in 0..<193 { config += "[[service]]\nname = \"d\(i)\"\ncommand = \"exec sleep 1000\"\n\n" }
        let tend = try TendRun(config)
        defer { tend.stop() }
        #expect(tend.waitForEvent("d192", "started", timeout: 30))
        // The crashers in a backoff of 3.2 s at least; the health check 10 failures in.
        #expect(tend.waitFor("the crashers' fifth run") { (0..<4).allSatisfy { tend.events("crasher\($0)", "started").count >= 5 } })
        #expect(tend.waitFor("five failed checks") {
            (ReexecTests.value(tend, "sick", "health") as? String).map { $0.hasPrefix("unhealthy") && Int($0.dropFirst(10).prefix { $0 != "/" }) ?? 0 >= 10 } ?? false
        })
        let pid = tend.process.processIdentifier
        let slow = try ReexecTests.wrapper(tend, "slow", exec: "sleep 1")
        let before = ReexecTests.rows(tend).filter { $0["name"] != "sick" }
        let failures = { (ReexecTests.value(tend, "sick", "health") as? String).flatMap { Int($0.dropFirst(10).prefix { $0 != "/" }) } ?? 0 }
        let counted = failures()
        for binary in [nil, slow] {
            let reexec = tend.client(["reexec"] + (binary.map { ["--binary", $0] } ?? []))
            #expect(reexec.status == 0, "\(reexec.stderr)")
            #expect(reexec.stdout.contains("pid \(pid), 200 services taken over"), "\(reexec.stdout)")
        }
        #expect(tend.process.isRunning && tend.process.processIdentifier == pid)
        let after = ReexecTests.rows(tend).filter { $0["name"] != "sick" }
        #expect(before.count == 199)
        for (old, new) in zip(before, after) {
            if old["name"]!.hasPrefix("crasher"), new["restarts"] != old["restarts"] {
                // Its backoff ended meanwhile and it ran again: counted on from where it was.
                #expect(Int(new["restarts"] ?? "") ?? 0 > Int(old["restarts"] ?? "") ?? 0)
            } else {
                #expect(old == new)
            }
        }
        // The health count goes on from where it was: not from 0.
        #expect(failures() >= counted)
        #expect(tend.events("tend", "reexec").count == 2)
        #expect(tend.events.filter { $0.kind == "stopping" || $0.kind == "stopped" }.isEmpty)
        // Every line of the talker once, whole, in order, whatever the exec cut.
        #expect(tend.waitFor("the talker's 400 lines") { tend.stdout.contains("line 400 end") })
        let lines = tend.stdout.split(separator: "\n").filter { $0.contains("line ") }
        #expect(lines.count == 400)
        #expect(lines.enumerated().allSatisfy { $0.element.hasSuffix("line \($0.offset + 1) end") })
    }

    /// A job due while the new binary is not yet running runs once, when it is.
    @Test
    func aJobDueDuringTheExecRunsOnce() throws {
        let tend = try TendRun("""
            [[service]]
            name = "tick"
            command = "echo ran >> $DIR/runs"
            schedule = "every 2s"
            """)
        defer { tend.stop() }
        let runs = { (tend.file("runs") ?? "").split(separator: "\n").count }
        #expect(tend.waitFor("a first run") { runs() >= 1 })
        // Right after a run: the next is 2 s away, and the exec takes 5 s (two due times).
        let first = runs()
        #expect(tend.waitFor("the next run") { runs() > first })
        let counted = runs()
        let slow = try ReexecTests.wrapper(tend, "slow", exec: "sleep 5")
        #expect(tend.client(["reexec", "--binary", slow]).status == 0)
        #expect(tend.waitFor("the run that came due") { runs() > counted })
        // Counted before the next due time: a run per missed due time would be two by now.
        let text = ReexecTests.value(tend, "tick", "next_run") as? String ?? ""
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let next = try #require(withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text), "\(text)")
        #expect(Date() < next)
        #expect(runs() == counted + 1)
        #expect(tend.events("tick", "skipped").isEmpty)
    }

    /// /bin/false, a binary that reads another reexec format, and a binary that is gone: each
    /// fails the command saying why, and tend goes on with the same tree and pid.
    @Test func aBinaryThatCannotTakeOverLeavesTheTreeUntouched() throws {
        let tend = try TendRun("""
            [[service]]
            name = "a"
            command = "exec sleep 1000"

            [[service]]
            name = "b"
            command = "exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("b", "started"))
        let before = ReexecTests.rows(tend)
        // An older tend, as the running one sees it: it reads reexec format 0.
        let older = try ReexecTests.wrapper(tend, "older", check: """
            sed '1s/reexec format 3$/reexec format 0/' <&3 > "$0.state"
            exec 3< "$0.state"
            """)
        // One that changes between its check and the exec (a copy still being written).
        let moving = try ReexecTests.wrapper(tend, "moving", check: "touch -d 2001-01-01 \"$0\"")
        for (binary, said) in [("/bin/false", "its check ended with exit code 1 (it printed nothing: is it a tend?)"),
                               ("/bin/true", "(it printed nothing: is it a tend?)"),
                               (older, "reexec format 0, this tend reads reexec format 3"),
                               (tend.dir + "/missing", "No such file or directory"),
                               (moving, "changed since its check"),
                               (tend.dir, "not a file")] {
            let reexec = tend.client(["reexec", "--binary", binary])
            #expect(reexec.status == 1)
            #expect(reexec.stderr.contains(said) && reexec.stderr.contains("tend goes on as it was"), "\(reexec.stderr)")
        }
        #expect(ReexecTests.rows(tend) == before)
        #expect(tend.events("tend", "reexec-failed").count == 6)
        #expect(tend.events("tend", "reexec").isEmpty)
        let relative = tend.client(["reexec", "--binary", "no/such/tend"])
        #expect(relative.status == 1 && relative.stderr.contains("/no/such/tend: No such file"), "\(relative.stderr)")
    }

    /// A SIGTERM while the binary is being checked: tend shuts down and does not execute it
    /// (the new one would take a tree over that is stopping, and no SIGTERM would end it).
    @Test
    func aShutdownDuringTheCheckCancelsTheReexec() throws {
        let tend = try TendRun("""
            [[service]]
            name = "slow"
            command = "trap 'sleep 1; exit 0' TERM; sleep 1000 & wait"
            stop_timeout = "5s"
            """)
        defer { tend.cleanUp() }
        #expect(tend.waitForEvent("slow", "started"))
        let held = try ReexecTests.wrapper(tend, "held", check: """
            touch "$0.checking"
            while [ ! -e "$0.go" ]; do sleep 0.05; done
            """)
        let (asking, said) = try ReexecTests.background(tend, ["reexec", "--binary", held])
        defer { if asking.isRunning { asking.terminate(); asking.waitUntilExit() } }
        #expect(tend.waitFor("the check under way") { FileManager.default.fileExists(atPath: held + ".checking") })
        kill(tend.process.processIdentifier, SIGTERM)
        #expect(tend.waitForEvent("slow", "stopping"))
        #expect(FileManager.default.createFile(atPath: held + ".go", contents: nil))
        #expect(tend.waitFor("the asker's answer") { !asking.isRunning })
        #expect(asking.terminationStatus == 1)
        #expect(String(decoding: said.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("shutting down"))
        #expect(tend.waitForExit() == 0)
        #expect(tend.events("tend", "reexec").isEmpty)
    }

    /// tend's stdout stalled (a pipe nobody reads yet): the service lines tend holds for it are
    /// handed to the next tend with the state, and every line arrives once, in order.
    @Test
    func linesHeldForAStalledStdoutGoThroughTheExec() throws {
        // tend's stdout is a pipe read only once `drain` exists (the shell is tend's parent).
        let script = """
            for a; do case "$a" in */tend.toml) d="${a%/tend.toml}";; esac; done
            "$0" "$@" | { while [ ! -e "$d/drain" ]; do sleep 0.05; done; cat > "$d/piped"; }
            """
        let tend = try TendRun("""
            [[service]]
            name = "talk"
            command = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); echo line $i; done; exec sleep 1000"
            """, wrapper: ["/bin/sh", "-c", script])
        defer { tend.cleanUp() }
        #expect(tend.waitFor("every line written") {
            tend.client(["status", "talk"]).stdout.contains("sleep 1000")
        })
        let reexec = tend.client(["reexec"])
        #expect(reexec.status == 0, "\(reexec.stderr)")
        let pid = try #require(reexec.stdout.split(separator: " ").firstIndex(of: "pid").map {
            Int32(reexec.stdout.split(separator: " ")[$0 + 1].prefix { $0.isNumber })
        } ?? nil)
        #expect(FileManager.default.createFile(atPath: tend.dir + "/drain", contents: nil))
        #expect(tend.waitFor("the last line") { tend.file("piped")?.contains("talk | line 30000\n") == true })
        kill(pid, SIGTERM)
        #expect(tend.waitForExit() == 0)
        let numbers = (tend.file("piped") ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        #expect(numbers == Array(1...30000), "\(numbers.count) lines")
    }

    /// A health check in flight at the exec (a process the new tend holds no pidfd of) is
    /// killed and run again by the new tend, not left to hang.
    @Test
    func aHealthCheckInFlightIsRunAgainNotLeftBehind() throws {
        let tend = try TendRun("""
            [[service]]
            name = "web"
            command = "exec sleep 1000"
            health = { exec = ["sleep", "4242"], interval = "100ms", timeout = "1h" }
            """)
        defer { tend.stop() }
        func checks() -> [Int32] {
            let tendPID = tend.process.processIdentifier
            return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
                let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
                let ppid = stat.split(separator: ")").last?.split(separator: " ").dropFirst(1).first.flatMap { Int32($0) }
                return cmdline == "sleep\u{0}4242\u{0}" && ppid == tendPID
            }
        }
        #expect(tend.waitFor("the check under way") { checks().count == 1 })
        let before = checks()
        #expect(tend.client(["reexec"]).status == 0)
        #expect(tend.waitFor("the check run again") { let now = checks(); return now.count == 1 && now != before })
        #expect(!isAlive(before[0]))
    }

    /// Control clients other than the one that asked are told to retry; the one that asked is
    /// answered by the new tend on the same connection.
    @Test
    func aWaitingClientIsToldToRetry() throws {
        let tend = try TendRun("""
            [[service]]
            name = "slowstart"
            command = "exec sleep 1000"
            ready = { exec = ["test", "-e", "$DIR/go"] }
            autostart = false
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("the control socket") { FileManager.default.fileExists(atPath: tend.socketPath) })
        let (waiting, said) = try ReexecTests.background(tend, ["start", "slowstart"])
        #expect(tend.waitFor("the start under way") { (ReexecTests.value(tend, "slowstart", "state") as? String) == "starting" })
        #expect(tend.client(["reexec"]).status == 0)
        #expect(tend.waitFor("the waiting client's answer") { !waiting.isRunning })
        #expect(waiting.terminationStatus == 1)
        #expect(String(decoding: said.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("re-executing itself: what was asked goes on"))
        // The start goes on in the new tend: its readiness probe is asked again.
        FileManager.default.createFile(atPath: tend.dir + "/go", contents: nil)
        #expect(tend.waitForEvent("slowstart", "ready"))
    }
}

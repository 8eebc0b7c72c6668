import Foundation
import Testing

/// SPEC section 5 without a journal: the console, which never blocks tend, and the fallback
/// from a journal that is not there.
@Suite struct ConsoleTests {
    @Test func aLevelPrefixIsTakenOffTheStartOfALineButNotOffAContinuationPiece() throws {
        // 16 KiB exactly, then "<5>tail": the second piece begins with what looks like a prefix.
        let head = String(repeating: "a", count: 16 * 1024 - 3)
        let tend = try TendRun("""
            [[service]]
            name = "p"
            command = "printf '<3>\(head)<5>tail\\\\n<4>warned\\\\n'; exec sleep 1000"
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("the lines") { tend.stdout.contains("warned") })
        let lines = tend.stdout.split(separator: "\n").map { String($0.drop { $0 != "|" }.dropFirst(2)) }
        #expect(lines == [head, "<5>tail", "warned"])
    }

    @Test func aRunsLastBytesWithoutANewlineAreItsLastLine() throws {
        let tend = try TendRun("""
            [[service]]
            name = "tail"
            command = "printf 'first\\nno newline at the end'; exit 3"
            restart = "on-failure"
            backoff = { initial = "200ms" }
            max_restarts = 1

            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("tail", "gave-up"))
        #expect(tend.waitFor("both runs' last lines") {
            tend.stdout.components(separatedBy: "tail | no newline at the end\n").count == 3
        })
        #expect(!tend.stdout.contains("endfirst"))
    }

    @Test func aRemovedServicesLastPartialLineIsNotLost() throws {
        let tend = try TendRun("""
            [[service]]
            name = "keep"
            command = "exec sleep 1000"

            [[service]]
            name = "going"
            command = "printf 'parting words'; exec sleep 1000"

            """)
        defer { tend.stop() }
        #expect(tend.waitForEvent("going", "started"))
        try tend.rewrite("[[service]]\nname = \"keep\"\ncommand = \"exec sleep 1000\"\n")
        #expect(tend.client(["reload"]).status == 0)
        #expect(tend.waitFor("the removed service's last bytes") { tend.stdout.contains("going | parting words\n") })
    }

    @Test func aLongCompleteLineIsCutInPiecesToo() throws {
        let tend = try TendRun("""
            [[service]]
            name = "long"
            command = ["python3", "-c", "import os, signal; os.write(1, b'x' * 40000 + b'\\\\n'); signal.pause()"]
            """)
        defer { tend.stop() }
        #expect(tend.waitFor("40,000 bytes") { tend.stdout.filter { $0 == "x" }.count == 40000 })
        let pieces = tend.stdout.split(separator: "\n").map { (line: Substring) in line.drop { $0 != "|" }.dropFirst(2).count }
        #expect(pieces == [16384, 16384, 40000 - 2 * 16384])
    }

    @Test func aStalledReaderOfTendsStdoutStopsNeitherRestartsNorControl() throws {
        // tend's stdout is a pipe nobody reads until the end: a chatty child fills it, and
        // tend keeps restarting a crasher and answering while lines wait or are dropped.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tend-stall-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
            [[service]]
            name = "chatty"
            command = "yes 'a line of output that nobody reads'"
            [[service]]
            name = "crasher"
            command = "sleep 0.1; exit 1"
            backoff = { initial = "0s", max = "0s" }
            """.write(toFile: directory + "/tend.toml", atomically: true, encoding: .utf8)
        let stdout = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TendRun.binary)
        process.arguments = ["run", "-c", directory + "/tend.toml", "--socket", directory + "/control.sock"]
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }

        func restarts() -> Int? {
            let client = Process()
            client.executableURL = URL(fileURLWithPath: TendRun.binary)
            client.arguments = ["status", "--json", "crasher", "--socket", directory + "/control.sock"]
            let out = Pipe()
            client.standardOutput = out
            client.standardError = FileHandle(forWritingAtPath: "/dev/null")
            guard (try? client.run()) != nil else { return nil }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            client.waitUntilExit()
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let rows = json["services"] as? [[String: Any]] else { return nil }
            return rows.first?["restarts"] as? Int
        }
        let deadline = Date().addingTimeInterval(20)
        var first: Int?
        while Date() < deadline, first == nil {
            first = restarts()
            usleep(50_000)  // poll interval of a wait with a deadline
        }
        let start = try #require(first)
        var later = start
        while Date() < deadline, later < start + 10 {
            later = restarts() ?? later
            usleep(50_000)  // poll interval of a wait with a deadline
        }
        #expect(later >= start + 10)
        kill(process.processIdentifier, SIGTERM)
        // Reading now lets tend flush and exit.
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(!output.isEmpty)
    }

    @Test func withoutJournaldTheJournalModeFallsBackToTheConsoleAndSaysSoOnce() throws {
        guard access("/run/systemd/journal/stdout", F_OK) != 0 else { return }  // a real journal here: nothing to fall back from
        let tend = try TendRun("""
            [[service]]
            name = "a"
            command = "echo from-a; exec sleep 1000"
            [[service]]
            name = "b"
            command = "echo from-b; exec sleep 1000"
            """, arguments: ["run", "--log", "journal"])
        defer { tend.stop() }
        #expect(tend.waitFor("both lines") { tend.stdout.contains("a | from-a") && tend.stdout.contains("b | from-b") })
        #expect(tend.events.filter { $0.kind == "journal-unavailable" }.count == 1)
        #expect(tend.message("a", "journal-unavailable").contains("/run/systemd/journal/stdout"))
    }
}

@Suite struct LogsCommandTests {
    @Test func withoutAJournalTendLogsSaysSoAndFails() throws {
        let journal = ["/run/systemd/journal/socket", "/run/log/journal", "/var/log/journal"]
        guard !journal.contains(where: { access($0, F_OK) == 0 }) else { return }  // a journal here: the box tests cover it
        let tend = try TendRun("""
            [[service]]
            name = "a"
            command = "exec sleep 1000"
            """)
        defer { tend.stop() }
        let result = tend.client(["logs", "a", "-c", tend.configPath])
        #expect(result.status == 1)
        #expect(result.stderr.contains("there is no systemd journal on this machine"))
    }
}

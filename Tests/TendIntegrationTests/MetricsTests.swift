import Foundation
import Testing

/// `[supervisor] metrics` (SPEC section 10): `GET /metrics` from tend's loop, checked by
/// Prometheus' own tools (promtool, and a real Prometheus scraping it).
@Suite struct MetricsTests {
    /// One request, as written, and the whole answer (the server closes after it).
    static func ask(_ port: UInt16, _ request: String) -> (status: Int, head: String, body: String) {
        let fd = loopbackSocket(port)
        guard fd >= 0 else { return (0, "", "") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return (0, text, "") }
        let head = String(text[..<split.lowerBound])
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, head, String(text[split.upperBound...]))
    }

    static func scrape(_ port: UInt16, accept: String? = nil) -> (status: Int, head: String, body: String) {
        ask(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (accept.map { "Accept: \($0)\r\n" } ?? "") + "\r\n")
    }

    /// The value of the first sample that starts with `prefix`.
    static func value(_ page: String, _ prefix: String) -> Double? {
        page.split(separator: "\n").first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    static let config = """
        [[service]]
        name = "web"
        command = "exec sleep 1000"

        [[service]]
        name = "crash"
        command = "exit 3"
        backoff = { initial = "50ms", max = "50ms" }

        [[service]]
        name = "idle"
        command = "exec sleep 1000"
        autostart = false
        """

    func run(_ port: UInt16) throws -> TendRun {
        try TendRun("[supervisor]\nmetrics = \"127.0.0.1:\(port)\"\n\n" + MetricsTests.config)
    }

    @Test func aScrapeShowsEveryServiceAndPromtoolFindsNothingWrong() throws {
        let port = freePort()
        let tend = try run(port)
        defer { tend.stop() }
        #expect(tend.waitForEvent("crash", "restarting", count: 3))
        let page = MetricsTests.scrape(port)
        #expect(page.status == 200 && page.head.contains("Content-Type: text/plain; version=0.0.4"), "\(page.head)")
        #expect(MetricsTests.value(page.body, #"tend_service_up{service="web"}"#) == 1)
        #expect(MetricsTests.value(page.body, #"tend_service_up{service="idle"}"#) == 0)
        #expect(MetricsTests.value(page.body, #"tend_service_state{service="idle",state="stopped"}"#) == 1)
        #expect((MetricsTests.value(page.body, #"tend_service_restarts_total{service="crash"}"#) ?? 0) >= 3)
        #expect((MetricsTests.value(page.body, #"tend_service_exits_total{service="crash",reason="exit-code"}"#) ?? 0) >= 3)
        // promtool reads the page as Prometheus would and says nothing of it.
        let promtool = Process()
        promtool.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        promtool.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        promtool.standardInput = input
        promtool.standardOutput = output
        promtool.standardError = output
        try promtool.run()
        input.fileHandleForWriting.write(Data(page.body.utf8))
        try input.fileHandleForWriting.close()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        promtool.waitUntilExit()
        #expect(promtool.terminationStatus == 0 && said.isEmpty, "\(said)")

        let open = MetricsTests.scrape(port, accept: "application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
        #expect(open.status == 200 && open.head.contains("application/openmetrics-text") && open.body.hasSuffix("# EOF\n"))
        #expect(MetricsTests.ask(port, "GET / HTTP/1.1\r\n\r\n").status == 404)
        #expect(MetricsTests.ask(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status == 404)
        #expect(MetricsTests.ask(port, "GET /metrics HTTP/1.1\r\nX: " + String(repeating: "x", count: 9000)).status == 431)
    }

    /// Anyone who reaches the port: 100 silent connections, and a request sent a byte at a
    /// time; a scrape is still answered, and so is the slow one.
    @Test func silentAndSlowClientsDoNotKeepAScrapeOut() throws {
        let port = freePort()
        let tend = try run(port)
        defer { tend.stop() }
        #expect(tend.waitForEvent("web", "started"))
        let silent = (0..<100).map { _ in loopbackSocket(port) }
        defer { silent.forEach { close($0) } }
        let slow = loopbackSocket(port)
        defer { close(slow) }
        for byte in Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8) { _ = withUnsafeBytes(of: byte) { send(slow, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) } }
        #expect(MetricsTests.scrape(port).status == 200)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var answer = [UInt8](repeating: 0, count: 16)
        #expect(recv(slow, &answer, answer.count, 0) == 16 && String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        // The oldest silent ones were let go for the newer: tend holds at most 64.
        #expect(tend.client(["status"]).status == 0)
    }

    @Test func theMetricsSocketAndCountsGoThroughAReexec() throws {
        let port = freePort()
        let tend = try run(port)
        defer { tend.stop() }
        #expect(tend.waitForEvent("crash", "restarting", count: 3))
        let before = MetricsTests.value(MetricsTests.scrape(port).body, #"tend_service_restarts_total{service="crash"}"#) ?? 0
        #expect(tend.client(["reexec"]).status == 0)
        let after = MetricsTests.value(MetricsTests.scrape(port).body, #"tend_service_restarts_total{service="crash"}"#) ?? 0
        #expect(before >= 3 && after >= before)
    }

    /// A real Prometheus on loopback scrapes tend every second: its own API shows a crashing
    /// service's restarts growing and a stopped service down.
    @Test func aRealPrometheusScrapesTend() throws {
        let port = freePort(), prometheusPort = freePort()
        let tend = try run(port)
        defer { tend.stop() }
        try """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: tend
                static_configs:
                  - targets: ["127.0.0.1:\(port)"]
            """.write(toFile: tend.dir + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: "/usr/bin/prometheus")
        prometheus.arguments = ["--config.file=\(tend.dir)/prometheus.yml", "--storage.tsdb.path=\(tend.dir)/tsdb",
                                "--web.listen-address=127.0.0.1:\(prometheusPort)"]
        prometheus.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        prometheus.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try prometheus.run()
        defer { prometheus.terminate(); prometheus.waitUntilExit() }
        func query(_ q: String) -> Double? {
            let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q
            let answer = MetricsTests.ask(prometheusPort, "GET /api/v1/query?query=\(encoded) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[1700000000.1,"7"]}]}}
            let body = answer.body
            guard let value = body.range(of: "\"value\":[") else { return nil }
            let rest = body[value.upperBound...]
            guard let comma = rest.firstIndex(of: ","), let end = rest.firstIndex(of: "]") else { return nil }
            return Double(rest[rest.index(after: comma)..<end].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
        let restarts = #"tend_service_restarts_total{service="crash"}"#
        var first: Double?
        #expect(tend.waitFor("a first scrape", timeout: 60) { first = query(restarts); return first != nil })
        #expect(tend.waitFor("the restarts growing", timeout: 30) { (query(restarts) ?? 0) > (first ?? .infinity) })
        #expect(query(#"tend_service_up{service="idle"}"#) == 0)
        #expect(query(#"tend_service_up{service="web"}"#) == 1)
    }
}

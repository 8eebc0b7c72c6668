import Testing
import TendCore
@testable import TendControl

/// The page of `GET /metrics`: each family with its HELP and TYPE, a copy's `instance`, a
/// group's label, escaped values, and OpenMetrics' own names and end.
@Suite struct MetricsTextTests {
    static let rows: [ServiceStatus] = {
        var web = ServiceStatus(name: "web@2", group: "front", state: .running, pid: 10, restarts: 3, uptime: .seconds(5),
                                lastExit: nil, statusText: nil, health: "healthy")
        web.exitCounts = [.exitCode: 2, .signal: 1]
        web.startedAtWall = 1_700_000_000_123_000_000
        web.cpu = .milliseconds(1500)
        web.memoryBytes = 4096
        web.instance = 2
        let job = ServiceStatus(name: "odd\"name\\", group: nil, state: .scheduled, pid: nil, restarts: 0, uptime: nil, lastExit: nil,
                                statusText: nil, lastRun: JobRun(start: 1_700_000_000_000_000_000, duration: .seconds(1), succeeded: false))
        return [web, job]
    }()

    @Test func everyFamilyHasItsHelpAndTypeAndItsSamples() {
        let page = String(decoding: MetricsText.render(Self.rows, tend: .init(reloads: 4, logsDropped: 7), openMetrics: false), as: UTF8.self)
        for (family, type) in [("tend_service_up", "gauge"), ("tend_service_state", "gauge"), ("tend_service_restarts_total", "counter"),
                               ("tend_service_exits_total", "counter"), ("tend_service_start_time_seconds", "gauge"),
                               ("tend_service_cpu_seconds_total", "counter"), ("tend_service_memory_bytes", "gauge"),
                               ("tend_job_last_run_timestamp_seconds", "gauge"), ("tend_job_last_success", "gauge"),
                               ("tend_health_status", "gauge"), ("tend_build_info", "gauge"), ("tend_reloads_total", "counter"),
                               ("tend_logs_dropped_total", "counter")] {
            #expect(page.contains("# HELP \(family) ") && page.contains("# TYPE \(family) \(type)\n"), "\(family)")
        }
        let web = #"service="web",instance="2",group="front""#
        for sample in ["tend_service_up{\(web)} 1", "tend_service_state{\(web),state=\"running\"} 1",
                       "tend_service_state{\(web),state=\"stopped\"} 0", "tend_service_restarts_total{\(web)} 3",
                       "tend_service_exits_total{\(web),reason=\"exit-code\"} 2", "tend_service_exits_total{\(web),reason=\"signal\"} 1",
                       "tend_service_start_time_seconds{\(web)} 1700000000.123", "tend_service_cpu_seconds_total{\(web)} 1.500",
                       "tend_service_memory_bytes{\(web)} 4096", "tend_health_status{\(web)} 1",
                       #"tend_service_up{service="odd\"name\\"} 0"#, #"tend_job_last_run_timestamp_seconds{service="odd\"name\\"} 1700000000.000"#,
                       #"tend_job_last_success{service="odd\"name\\"} 0"#,
                       "tend_build_info{version=\"\(TendBuild.version)\"} 1", "tend_reloads_total 4", "tend_logs_dropped_total 7"] {
            #expect(page.contains(sample + "\n"), "\(sample)")
        }
        #expect(!page.contains("reason=\"success\""))  // only the ways runs ended
        #expect(!page.contains("# EOF"))
    }

    /// Seconds with three decimals either side of zero, counts at their extremes.
    @Test func numbersAreWrittenExactly() {
        var rows: [ServiceStatus] = []
        for (i, ns) in [Int64(-1_500_000_000), -500_000_000, 0, 999_999_999, Int64.max].enumerated() {
            var row = ServiceStatus(name: "s\(i)", group: nil, state: .running, pid: 2, restarts: i == 4 ? Int.max : 0, uptime: nil,
                                    lastExit: nil, statusText: nil)
            row.startedAtWall = ns
            rows.append(row)
        }
        let page = String(decoding: MetricsText.render(rows, tend: .init(reloads: 0, logsDropped: 0), openMetrics: false), as: UTF8.self)
        for (i, text) in ["-1.500", "-0.500", "0.000", "0.999", "9223372036.854"].enumerated() {
            #expect(page.contains("tend_service_start_time_seconds{service=\"s\(i)\"} \(text)\n"), "\(text)")
        }
        #expect(page.contains("tend_service_restarts_total{service=\"s4\"} \(Int.max)\n"))
    }

    @Test func openMetricsNamesCountersWithoutTotalAndEnds() {
        let page = String(decoding: MetricsText.render(Self.rows, tend: .init(reloads: 0, logsDropped: 0), openMetrics: true), as: UTF8.self)
        #expect(page.contains("# TYPE tend_service_restarts counter\n"))
        #expect(page.contains("tend_service_restarts_total{service=\"web\",instance=\"2\",group=\"front\"} 3\n"))
        #expect(page.contains("# TYPE tend_build info\n") && page.contains("tend_build_info{version="))
        #expect(page.hasSuffix("# EOF\n"))
    }
}

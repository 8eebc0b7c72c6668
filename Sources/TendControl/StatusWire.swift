import TendCore

/// The wire form of `tend status` (SPEC section 1): every field of a row and of one service's
/// detail is named once here, written by the daemon and read back by the client by the code
/// in this file, into the same `ServiceStatus` and `ServiceDetail`. Times are UTC, ISO 8601,
/// to the millisecond; spans are seconds with three decimals. Written as bytes: 10,000 rows
/// are 1.9 MB, and appending to a String piece by piece was most of the time.
public enum StatusWire {
    enum RowField: String, CaseIterable {
        case name, group, state, pid, restarts, uptime_s, last_exit, last_result, status_text, schedule, last_run, next_run,
             health, cgroup, tasks, cpu_s, memory_bytes
    }

    /// After the row's fields, in the same object. `adopted`: for the client's process tree,
    /// the processes tend adopted in the service's process group (what a double fork left) or,
    /// with cgroups, every process of its cgroup but the main one.
    enum DetailField: String, CaseIterable {
        case since, command, readiness, ready_after_s, exits, log, log_identifier, adopted, limits
    }

    enum ExitField: String, CaseIterable {
        case at, exit, result, error, runtime_s
    }

    enum RunField: String, CaseIterable {
        case start, duration_s, result, exit, error
    }

    /// `{"services": [row, ...]}`.
    public static func status(_ rows: [ServiceStatus]) -> String {
        var out = JSONBytes()
        out.bytes.reserveCapacity(rows.count * 200 + 16)
        out.raw("{\"services\":[")
        for (i, row) in rows.enumerated() {
            if i > 0 { out.raw(",") }
            write(row, &out)
            out.raw("}")
        }
        out.raw("]}")
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// `{"services": [row and detail]}`: one object, the row's fields then the detail's.
    public static func detail(_ d: ServiceDetail) -> String {
        var out = JSONBytes()
        out.raw("{\"services\":[")
        write(d.status, &out)
        for field in DetailField.allCases {
            out.key(field.rawValue, first: false)
            switch field {
            case .since: out.time(d.since)
            case .command: out.string(d.command)
            case .readiness: out.string(d.readiness)
            case .ready_after_s: out.span(d.readyAfter)
            case .exits: out.list(d.exits) { e, out in
                for field in ExitField.allCases {
                    out.key(field.rawValue, first: field == .at)
                    switch field {
                    case .at: out.time(e.at)
                    case .exit: out.exit(e.status, oom: e.result == .oomKill)
                    case .result: out.string(e.result.rawValue)
                    case .error: out.string(e.error)
                    case .runtime_s: out.span(e.runtime)
                    }
                }
                out.raw("}")
            }
            case .log: out.string(d.log)
            case .log_identifier: out.string(d.identifier)
            case .adopted: out.list(d.adopted) { pid, out in out.int(Int64(pid)) }
            case .limits: out.list(d.limits) { text, out in out.string(text) }
            }
        }
        out.raw("}]}")
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// A row without its closing brace.
    static func write(_ row: ServiceStatus, _ out: inout JSONBytes) {
        for field in RowField.allCases {
            out.key(field.rawValue, first: field == .name)
            switch field {
            case .name: out.string(row.name)
            case .group: out.string(row.group)
            case .state: out.string(row.state.rawValue)
            case .pid: out.int(row.pid.map(Int64.init))
            case .restarts: out.int(Int64(row.restarts))
            case .uptime_s: out.span(row.uptime)
            case .last_exit: out.exit(row.lastExit, oom: row.lastResult == .oomKill)
            case .last_result: out.string(row.lastResult?.rawValue)
            case .status_text: out.string(row.statusText)
            case .schedule: out.string(row.schedule)
            case .last_run: if let run = row.lastRun { write(run, &out) } else { out.raw("null") }
            case .next_run: if let next = row.nextRun { out.time(next) } else { out.raw("null") }
            case .health: out.string(row.health)
            case .cgroup: out.string(row.cgroup)
            case .tasks: out.int(row.tasks.map(Int64.init))
            case .cpu_s: out.span(row.cpu)
            case .memory_bytes: out.int(row.memoryBytes)
            }
        }
    }

    /// `{"start", "duration_s" (null while running), "result", "exit", "error"}`.
    static func write(_ run: JobRun, _ out: inout JSONBytes) {
        for field in RunField.allCases {
            out.key(field.rawValue, first: field == .start)
            switch field {
            case .start: out.time(run.start)
            case .duration_s: out.span(run.duration)
            case .result: out.string(result(of: run))
            case .exit: out.exit(run.exit)
            case .error: out.string(run.error)
            }
        }
        out.raw("}")
    }

    /// running, succeeded or failed.
    public static func result(of run: JobRun) -> String {
        run.duration == nil ? "running" : run.succeeded ? "succeeded" : "failed"
    }

    // MARK: Reading

    /// The rows of a status answer; nil if it is not one.
    public static func rows(_ json: ArraySlice<UInt8>) -> [ServiceStatus]? {
        guard let list = JSONValue(parsing: json)?["services"]?.array else { return nil }
        var rows: [ServiceStatus] = []
        rows.reserveCapacity(list.count)
        for element in list {
            guard let row = row(element) else { return nil }
            rows.append(row)
        }
        return rows
    }

    /// One service's detail; nil if the answer is rows instead (a group, a service with
    /// instances). `adoptedGiven`: false from a tend that does not name the adopted pids.
    public static func detail(_ json: ArraySlice<UInt8>) -> (detail: ServiceDetail, adoptedGiven: Bool)? {
        guard let v = JSONValue(parsing: json)?["services"]?.array?.first, let status = row(v),
              let since = time(v[DetailField.since]), let command = v[DetailField.command]?.string,
              let readiness = v[DetailField.readiness]?.string, let exits = v[DetailField.exits]?.array,
              let log = v[DetailField.log]?.string, let identifier = v[DetailField.log_identifier]?.string else { return nil }
        var detail = ServiceDetail(status: status, since: since, command: command, readiness: readiness,
                                   readyAfter: span(v[DetailField.ready_after_s]), exits: exits.compactMap { e in
                                       time(e[ExitField.at]).map {
                                           ExitRecord(at: $0, status: exit(e[ExitField.exit]), error: e[ExitField.error]?.string,
                                                      runtime: span(e[ExitField.runtime_s]),
                                                      result: result(e[ExitField.result], status: exit(e[ExitField.exit])))
                                       }
                                   }, log: log, identifier: identifier)
        let adopted = v[DetailField.adopted]?.array
        detail.adopted = adopted?.compactMap { $0.int.flatMap { Int32(exactly: $0) } } ?? []
        detail.limits = v[DetailField.limits]?.array?.compactMap(\.string) ?? []
        return (detail, adopted != nil)
    }

    static func row(_ v: JSONValue) -> ServiceStatus? {
        guard let name = v[RowField.name]?.string, let state = v[RowField.state]?.string.flatMap(ServiceState.init(rawValue:)),
              let restarts = v[RowField.restarts]?.int else { return nil }
        var row = ServiceStatus(name: name, group: v[RowField.group]?.string, state: state,
                             pid: v[RowField.pid]?.int.flatMap { Int32(exactly: $0) }, restarts: restarts,
                             uptime: span(v[RowField.uptime_s]), lastExit: exit(v[RowField.last_exit]),
                             lastResult: v[RowField.last_result]?.string.flatMap(RunResult.init(rawValue:)),
                             statusText: v[RowField.status_text]?.string, schedule: v[RowField.schedule]?.string,
                             lastRun: run(v[RowField.last_run]), nextRun: time(v[RowField.next_run]),
                             health: v[RowField.health]?.string)
        row.cgroup = v[RowField.cgroup]?.string
        row.tasks = v[RowField.tasks]?.int
        row.cpu = span(v[RowField.cpu_s])
        row.memoryBytes = v[RowField.memory_bytes]?.int.map(Int64.init)
        return row
    }

    static func run(_ v: JSONValue?) -> JobRun? {
        guard let v, let start = time(v[RunField.start]), let result = v[RunField.result]?.string else { return nil }
        return JobRun(start: start, duration: result == "running" ? nil : span(v[RunField.duration_s]),
                      exit: exit(v[RunField.exit]), error: v[RunField.error]?.string, succeeded: result == "succeeded")
    }

    /// `{"code": N}` or `{"signal": "SIGTERM"}` (a core dump reads as a kill).
    static func exit(_ v: JSONValue?) -> ExitStatus? {
        if let code = v?["code"]?.int.flatMap({ Int32(exactly: $0) }) { return .exited(code) }
        guard let name = v?["signal"]?.string else { return nil }
        if let signal = Signal(parsing: name) { return .killed(signal) }
        guard name.hasPrefix("SIG"), let number = Int32(name.dropFirst(3)), number > 0 else { return nil }
        return .killed(Signal(number: number))
    }

    /// An exit's result; from a tend that does not name it, what its status says (success: 0).
    static func result(_ v: JSONValue?, status: ExitStatus?) -> RunResult {
        if let result = v?.string.flatMap(RunResult.init(rawValue:)) { return result }
        return status.map { RunResult($0, isSuccess: { $0 == .exited(0) }) } ?? .spawnFailed
    }

    /// Seconds as a span to the millisecond; nil past what a span holds.
    static func span(_ v: JSONValue?) -> Duration? {
        guard let s = v?.double, s.isFinite, abs(s) < 9e9 else { return nil }
        return .milliseconds(Int64((s * 1000).rounded()))
    }

    static func time(_ v: JSONValue?) -> Int64? { v?.string.flatMap(WallTime.epochNanoseconds(iso8601:)) }
}

extension JSONValue {
    subscript<Field: RawRepresentable>(_ field: Field) -> JSONValue? where Field.RawValue == String { self[field.rawValue] }
}

extension JSONBytes {
    /// `{"key":` for the first field of an object, `,"key":` for the others.
    mutating func key(_ key: String, first: Bool) {
        bytes.append(UInt8(ascii: first ? "{" : ","))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: key.utf8)
        raw("\":")
    }

    mutating func time(_ epochNanoseconds: Int64) { string(WallTime.iso8601(epochNanoseconds: epochNanoseconds)) }

    mutating func span(_ d: Duration?) { text(d.map(JSONText.seconds)) }

    /// `{"code": N}` or `{"signal": "SIGKILL"}`, with `"oom": true` after the OOM killer's SIGKILL.
    mutating func exit(_ status: ExitStatus?, oom: Bool = false) {
        switch status {
        case nil: raw("null")
        case .exited(let code)?: raw("{\"code\":"); int(Int64(code)); raw("}")
        case .killed(let signal)?, .dumped(let signal)?: raw("{\"signal\":"); string(signal.description); raw(oom ? ",\"oom\":true}" : "}")
        }
    }

    /// `[a,b,...]`, each element written by `element`.
    mutating func list<Element>(_ elements: [Element], _ element: (Element, inout JSONBytes) -> Void) {
        raw("[")
        for (i, e) in elements.enumerated() {
            if i > 0 { raw(",") }
            element(e, &self)
        }
        raw("]")
    }
}

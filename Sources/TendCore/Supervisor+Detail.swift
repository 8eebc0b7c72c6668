/// `tend status NAME`: one service in detail.
extension Supervisor {
    public func detail(of id: ServiceID) -> ServiceDetail {
        let s = services[id]
        let wallNow = clock.epochNanoseconds
        let running = s.pid != nil && (s.phase == .running || s.phase == .stopping)
        return ServiceDetail(
            status: status(of: id), since: wallNow - (now - s.stateSince).nanoseconds,
            command: s.spec.command.description, readiness: s.spec.ready.description,
            readyAfter: running ? s.readyAt.flatMap { ready in s.startedAt.flatMap { ready >= $0 ? ready - $0 : nil } } : nil,
            exits: s.exits.reversed(), log: s.spec.log.rawValue, identifier: s.spec.identifier)
    }
}

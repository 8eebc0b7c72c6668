/// `tend status NAME`: one service in detail.
extension Supervisor {
    public func detail(of id: ServiceID) -> ServiceDetail {
        let s = services[id]
        let wallNow = clock.epochNanoseconds
        let run = s.pid != nil && (s.phase == .running || s.phase == .stopping) ? s.child : nil
        return ServiceDetail(
            status: status(of: id), since: wallNow - (now - s.stateSince).nanoseconds,
            command: s.spec.command.description, readiness: s.spec.ready.description,
            readyAfter: run?.readyAt.flatMap { ready in run?.startedAt.flatMap { ready >= $0 ? ready - $0 : nil } },
            exits: s.exits.reversed(), log: s.spec.log.rawValue, identifier: s.spec.identifier)
    }
}

import Testing
@testable import TendCore

@Suite struct SupervisorStrategyTests {
    func trio(_ strategy: Strategy, intensity: Intensity? = nil) -> Harness {
        Harness(services: [service("a"), service("b"), service("c")],
                groups: [GroupSpec(name: "g", strategy: strategy, intensity: intensity, children: ["a", "b", "c"])])
    }

    @Test func oneForOneRestartsOnlyTheDeadChild() {
        let h = trio(.oneForOne)
        h.start()
        let (a, c) = (h.pid("a"), h.pid("c"))
        h.exit("b")
        h.runTimers(for: .seconds(1))
        #expect(h.pid("a") == a && h.pid("c") == c)
        #expect(h.state("b") == .running)
    }

    @Test func oneForAllStopsTheOthersInReverseThenStartsAllInOrder() {
        let h = trio(.oneForAll)
        h.start()
        let (a, c) = (h.pid("a"), h.pid("c"))
        h.clearHistory()
        h.exit("b")
        #expect(h.stopOrder() == ["c", "a"])
        #expect(h.state("a") == .stopped)
        h.runTimers(for: .seconds(1))
        #expect(h.spawnOrder == ["a", "b", "c"])
        #expect(h.pid("a") != a && h.pid("c") != c)
        #expect(["a", "b", "c"].allSatisfy { h.state($0) == .running })
    }

    @Test func restForOneRestartsTheDeadChildAndThoseAfterIt() {
        let h = trio(.restForOne)
        h.start()
        let (a, c) = (h.pid("a"), h.pid("c"))
        h.clearHistory()
        h.exit("b")
        #expect(h.stopOrder() == ["c"])
        h.runTimers(for: .seconds(1))
        #expect(h.spawnOrder == ["b", "c"])
        #expect(h.pid("a") == a && h.pid("c") != c)
    }

    @Test func theRestartWaitsForTheDeadChildsBackoff() {
        let h = trio(.oneForAll)
        h.start()
        h.exit("b")
        h.advance(by: .milliseconds(50))
        #expect(h.state("a") == .stopped)
        h.advance(by: .milliseconds(50))
        #expect(h.state("a") == .running)
    }

    @Test func siblingsAreStoppedOneAfterAnother() {
        let h = trio(.oneForAll)
        h.stubborn = ["c"]
        h.start()
        h.exit("a")
        #expect(h.state("c") == .stopping)
        #expect(h.state("b") == .running)  // not signalled until c is gone
        h.advance(by: .seconds(10))          // stop_timeout: SIGKILL
        #expect(h.signals.map(\.signal) == [.term, .cont, .kill, .term, .cont])
        #expect(h.stopOrder() == ["c", "b"])
    }

    @Test func aDeathDuringTheRestartIsMergedIntoIt() {
        let h = trio(.restForOne)
        h.stubborn = ["c"]
        h.start()
        h.exit("b")
        #expect(h.state("c") == .stopping)
        h.exit("a")  // a dies while c is still stopping: now everything from a restarts
        h.advance(by: .seconds(10))
        h.runTimers(for: .seconds(1))
        #expect(["a", "b", "c"].allSatisfy { h.state($0) == .running })
        #expect(h.status("a").restarts == 1 && h.status("b").restarts == 1)
    }

    @Test func exitedChildrenStayDownWhenTheGroupRestarts() {
        let h = Harness(services: [service("a") { $0.restart = .never }, service("b"), service("c")],
                        groups: [GroupSpec(name: "g", strategy: .oneForAll, children: ["a", "b", "c"])])
        h.start()
        h.exit("a", .exited(0))
        #expect(h.state("a") == .exited)
        h.exit("c")
        h.runTimers(for: .seconds(1))
        #expect(h.state("a") == .exited)
        #expect(h.state("b") == .running && h.state("c") == .running)
    }
}

@Suite struct SupervisorIntensityTests {
    @Test func theRootGivingUpStopsEverythingAndExits1() {
        let h = Harness(services: [service("a"), service("b")], intensity: Intensity(restarts: 2, period: .seconds(10)))
        h.start()
        for _ in 0..<2 {
            h.exit("b")
            h.runTimers(for: .seconds(1))
        }
        #expect(h.exitCode == nil)
        h.exit("b")
        #expect(h.events(.gaveUp).first?.isGroup == false)
        #expect(h.exitCode == 1)
        #expect(h.state("a") == .stopped && h.state("b") == .stopped)
    }

    @Test func restartsOutsideThePeriodDoNotCount() {
        let h = Harness(services: [service("a")], intensity: Intensity(restarts: 1, period: .seconds(5)))
        h.start()
        for _ in 0..<5 {
            h.exit("a")
            h.runTimers(for: .seconds(6))
        }
        #expect(h.exitCode == nil)
        #expect(h.state("a") == .running)
    }

    /// As a restarted OTP supervisor: the restarts before it gave up do not count again.
    @Test func aGroupRestartedAfterGivingUpStartsWithAnEmptyWindow() {
        let h = Harness(services: [service("a")],
                        groups: [GroupSpec(name: "g", intensity: Intensity(restarts: 1, period: .seconds(10)), children: ["a"])])
        h.start()
        for _ in 0..<2 {
            h.exit("a")
            h.runTimers(for: .seconds(1))
        }
        #expect(h.events(.gaveUp, "g").count == 1 && h.state("a") == .running)
        h.exit("a")
        h.runTimers(for: .seconds(1))
        #expect(h.events(.gaveUp, "g").count == 1, "\(h.events.suffix(6).map(\.description))")
        #expect(h.state("a") == .running)
    }

    @Test func aGroupThatGivesUpDiesAsOneChildOfItsParent() {
        let h = Harness(services: [service("x"), service("a"), service("b")],
                        groups: [GroupSpec(name: "g", strategy: .oneForOne, intensity: Intensity(restarts: 1, period: .seconds(10)),
                                           children: ["a", "b"])],
                        strategy: .oneForOne, intensity: Intensity(restarts: 5, period: .seconds(10)))
        h.start()
        let (x, a) = (h.pid("x"), h.pid("a"))
        h.exit("b")
        h.runTimers(for: .seconds(1))
        h.clearHistory()
        h.exit("b")  // the second restart within 10 s: g gives up
        #expect(h.events(.gaveUp, "g").first?.isGroup == true)
        #expect(h.stopOrder() == ["a"])
        #expect(h.spawnOrder == ["a", "b"])  // restarted by the root, children in order
        #expect(h.pid("a") != a && h.pid("x") == x)
        #expect(h.exitCode == nil)
    }

    @Test func escalationReachesTheRoot() {
        let h = Harness(services: [service("a")],
                        groups: [GroupSpec(name: "g", intensity: Intensity(restarts: 0, period: .seconds(10)), children: ["a"])],
                        intensity: Intensity(restarts: 1, period: .seconds(10)))
        h.start()
        h.exit("a")  // g gives up, the root restarts g (1 restart)
        #expect(h.exitCode == nil)
        #expect(h.state("a") == .running)
        h.exit("a")  // g gives up again: the root's second restart exceeds its intensity
        #expect(h.exitCode == 1)
    }

    @Test func aNestedGroupRestartsUnderItsParentsStrategy() {
        let h = Harness(services: [service("a"), service("b"), service("c")],
                        groups: [GroupSpec(name: "inner", intensity: Intensity(restarts: 0, period: .seconds(10)), children: ["b"]),
                                 GroupSpec(name: "outer", strategy: .restForOne, children: ["a", "inner", "c"])])
        h.start()
        let (a, c) = (h.pid("a"), h.pid("c"))
        h.exit("b")
        #expect(h.pid("a") == a)
        #expect(h.pid("c") != c)
        #expect(h.state("b") == .running && h.state("c") == .running)
    }
}

@Suite struct SupervisorOrderTests {
    @Test func aChildWaitsForTheOneBeforeItToBeReady() {
        let h = Harness(services: [service("a") { $0.ready = .notify }, service("b"), service("c") { $0.ready = .notify }])
        h.start()
        #expect(h.spawnOrder == ["a"])
        h.ready("a")
        #expect(h.spawnOrder == ["a", "b", "c"])
    }

    @Test func afterWaitsAcrossGroups() {
        let h = Harness(services: [service("db") { $0.ready = .notify }, service("api") { $0.after = ["db"] }],
                        groups: [GroupSpec(name: "front", children: ["api"]), GroupSpec(name: "data", children: ["db"])],
                        rootChildren: ["data", "front"])
        h.start()
        #expect(h.spawnOrder == ["db"])
        #expect(h.state("api") == .starting && h.pid("api") == nil)
        h.ready("db")
        #expect(h.spawnOrder == ["db", "api"])
    }

    @Test func afterAGroupWaitsForAllItsChildren() {
        let h = Harness(services: [service("a") { $0.ready = .notify }, service("b") { $0.ready = .notify },
                                   service("c") { $0.after = ["g"] }],
                        groups: [GroupSpec(name: "g", children: ["a", "b"])], rootChildren: ["g", "c"])
        h.start()
        h.ready("a")
        #expect(h.pid("c") == nil)
        h.ready("b")
        #expect(h.state("c") == .running)
    }

    @Test func aOneForOneRestartDoesNotWaitForEarlierSiblings() {
        let h = Harness(services: [service("a"), service("b")])
        h.start()
        h.exit("a")
        h.exit("b")
        h.advance(by: .milliseconds(100))
        #expect(h.state("a") == .running && h.state("b") == .running)
    }

    @Test func aFailedChildDoesNotHoldTheSequence() {
        let h = Harness(services: [service("a") { $0.maxRestarts = 0 ; $0.ready = .notify }, service("b")])
        h.start()
        h.exit("a")
        #expect(h.state("a") == .failed)
        #expect(h.state("b") == .running)
    }

    @Test func shutdownStopsInReverseOrderOneAtATimeThenExits0() {
        let h = Harness(services: [service("a"), service("b"), service("c")],
                        groups: [GroupSpec(name: "g", children: ["b", "c"])])
        h.stubborn = ["c"]
        h.start()
        h.supervisor.shutdown()
        h.settle()
        #expect(h.state("c") == .stopping && h.state("b") == .running)
        h.advance(by: .seconds(10))
        #expect(h.stopOrder() == ["c", "b", "a"])
        #expect(h.exitCode == 0)
    }

    @Test func shutdownCancelsPendingRestarts() {
        let h = Harness(services: [service("a"), service("b")])
        h.start()
        h.exit("a")
        h.supervisor.shutdown()
        h.settle()
        #expect(h.exitCode == 0)
        #expect(h.state("a") == .stopped)
        h.runTimers(for: .seconds(5))
        #expect(h.spawnOrder == ["a", "b"])
    }

    @Test func aDeathDuringShutdownIsNotRestarted() {
        let h = Harness(services: [service("a"), service("b")])
        h.stubborn = ["b"]
        h.start()
        h.supervisor.shutdown()
        h.settle()
        h.exit("a")
        #expect(h.state("a") == .stopped)
        h.advance(by: .seconds(10))
        #expect(h.exitCode == 0)
    }

    @Test func stopTimeoutSendsSigkillToTheGroupOrTheProcess() {
        let h = Harness(services: [service("a") { $0.killMode = .process; $0.stopSignal = .int }])
        h.stubborn = ["a"]
        h.start()
        h.supervisor.shutdown()
        h.settle()
        h.advance(by: .seconds(10))
        #expect(h.signals.map(\.signal) == [.int, .cont, .kill])
        #expect(h.signals.allSatisfy { !$0.group })
        #expect(h.exitCode == 0)
    }

    @Test func aPendingSpawnCancelledBeforeTheEdgeRunsItIsNotPerformed() {
        let h = Harness(services: [service("a")])
        h.supervisor.start()
        let actions = h.supervisor.takeActions()
        guard case .spawn(let id, let run) = actions.first else { Issue.record("no spawn"); return }
        h.supervisor.shutdown()
        #expect(!h.supervisor.isSpawnPending(id, run: run))
    }
}

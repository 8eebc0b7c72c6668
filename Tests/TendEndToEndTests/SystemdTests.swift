import Foundation
import Testing
import TendControl

/// tend as operators deploy it: `make install`, then systemctl and journalctl, under a real
/// systemd as PID 1 and a real journald (SPEC sections 4 and 5). Skipped, with the reason,
/// only where the box's namespaces cannot be made.
@Suite(.serialized, .enabled(if: SystemdBox.unavailable == nil, "\(SystemdBox.unavailable ?? "")"))
struct SystemdTests {
    /// A tree whose `gate` is ready only once /tmp/go exists, beside a talker and a crasher.
    static let tree = """
        [[service]]
        name = "talker"
        command = "echo '<3>something failed'; echo 'all is well'; exec sleep infinity"
        [[service]]
        name = "gate"
        command = "exec sleep infinity"
        ready = { exec = ["test", "-e", "/tmp/go"] }
        [[service]]
        name = "victim"
        command = "exec sleep infinity"
        [[service]]
        name = "stream"
        command = '''echo "fd1=$(stat -L -c %d:%i /proc/$$/fd/1) fd2=$(stat -L -c %d:%i /proc/$$/fd/2) JOURNAL_STREAM=$JOURNAL_STREAM"; exec sleep infinity'''
        """

    @Test func startReturnsOnceTheTreeIsReadyAndStatusShowsTendsStatus() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", SystemdTests.tree)
        // systemctl start waits for READY=1, which waits for gate.
        box.sh("systemctl start tend > /tmp/start.log 2>&1 & echo $! > /tmp/start.pid")
        #expect(box.waitFor("gate started", "tend status gate | grep -q starting"))
        #expect(box.sh("kill -0 $(cat /tmp/start.pid)").status == 0)
        #expect(box.sh("systemctl is-active tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "activating")
        box.sh("touch /tmp/go")
        #expect(box.waitFor("systemctl start to return", "! kill -0 $(cat /tmp/start.pid)"))
        #expect(box.sh("systemctl is-active tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "active")
        #expect(box.sh("tend status gate | grep -q running").status == 0)
        #expect(box.waitFor("the STATUS", "systemctl status tend --no-pager | grep -q 'Status: \"4/4 running\"'"))
    }

    /// SPEC section 10: tend's events and its services' lines are ordinary journal entries, so
    /// systemd-journal-upload carries them to systemd-journal-remote (on loopback, in the box)
    /// with every TEND_* field, and `journalctl -D` on what it received finds them.
    @Test func eventsAndLinesTravelThroughJournalUploadWithTheirFields() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", """
            [[service]]
            name = "crash"
            command = "echo crashing now; exit 1"
            backoff = { initial = "200ms", max = "200ms" }

            [[service]]
            name = "talker"
            command = "echo hello from talker; exec sleep 1000"
            """)
        #expect(box.sh("systemctl start tend").status == 0)
        let port = 19532 + Int(getpid() % 1000)
        #expect(box.sh("mkdir -p /tmp/remote && systemd-run --unit=test-remote /lib/systemd/systemd-journal-remote "
                       + "--listen-http=127.0.0.1:\(port) --output=/tmp/remote/").status == 0)
        #expect(box.waitFor("journal-remote listening", "ss -ltn | grep -q 127.0.0.1:\(port)"))
        #expect(box.sh("systemd-run --unit=test-upload /lib/systemd/systemd-journal-upload --url=http://127.0.0.1:\(port) "
                       + "--save-state=/tmp/upload.state").status == 0)
        #expect(box.waitFor("a crash's restarting events received",
                            "journalctl -D /tmp/remote TEND_SERVICE=crash TEND_EVENT=restarting -o cat | grep -c restarting | grep -qv '^[01]$'",
                            timeout: 60))
        let restarting = box.sh("journalctl -D /tmp/remote TEND_SERVICE=crash TEND_EVENT=restarting -o export -n 1").stdout
        for field in ["MESSAGE_ID=fe3a2a9f88d54a82bfa9eb0aff96804c", "SYSLOG_IDENTIFIER=tend", "TEND_SERVICE=crash", "TEND_EVENT=restarting",
                      "_SYSTEMD_UNIT=tend.service"] {
            #expect(restarting.contains(field + "\n"), "\(field) in \(restarting)")
        }
        #expect(restarting.contains("TEND_DELAY_MS="))
        #expect(box.waitFor("the talker's line received", "journalctl -D /tmp/remote -t talker -o cat | grep -q 'hello from talker'"))
        #expect(box.sh("journalctl -D /tmp/remote -t crash -o cat | grep -q 'crashing now'").status == 0)
    }

    @Test func childLinesAndEventsAreInTheJournalWithTheirFields() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", SystemdTests.tree)
        box.sh("touch /tmp/go")
        #expect(box.sh("systemctl start tend").status == 0)
        // A child's lines: its identifier, its own pid, PRIORITY from <N>.
        #expect(box.waitFor("talker's lines", "journalctl -t talker -o cat | grep -q 'all is well'"))
        let lines = box.sh("journalctl -t talker -o export | grep -E '^(PRIORITY|MESSAGE|_PID)='").stdout
        #expect(lines.contains("MESSAGE=something failed\n") && lines.contains("PRIORITY=3\n"))
        #expect(lines.contains("MESSAGE=all is well\n") && lines.contains("PRIORITY=6\n"))
        // stdout and stderr are one journal stream, named by JOURNAL_STREAM.
        #expect(box.waitFor("stream's line", "journalctl -t stream -o cat | grep -q JOURNAL_STREAM"))
        let stream = box.sh("journalctl -t stream -o cat").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = stream.split(separator: " ").map { $0.split(separator: "=").last.map(String.init) ?? "" }
        #expect(parts.count == 3 && parts[0] == parts[1] && parts[1] == parts[2] && parts[0].contains(":"), "\(stream)")
        let talker = box.sh("tend status --json talker | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"services\"][0][\"pid\"])'")
        #expect(lines.contains("_PID=\(talker.stdout.trimmingCharacters(in: .whitespacesAndNewlines))\n"))

        // A child killed with SIGKILL: an exit with its fields, then a restart.
        let victim = box.sh("tend status --json victim | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"services\"][0][\"pid\"])'")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        box.sh("kill -9 \(victim)")
        #expect(box.waitFor("victim restarted", "journalctl TEND_SERVICE=victim TEND_EVENT=started -o cat | grep -c started | grep -q 2"))
        let exited = box.sh("journalctl TEND_SERVICE=victim TEND_EVENT=exited -o export").stdout
        for field in ["MESSAGE_ID=9b7207dae86d4ac7973826e15e410651", "PRIORITY=4", "SYSLOG_IDENTIFIER=tend", "TEND_PID=\(victim)",
                      "TEND_RESTARTS=0", "EXIT_CODE=killed", "EXIT_STATUS=KILL", "_SYSTEMD_UNIT=tend.service"] {
            #expect(exited.contains(field + "\n"), "\(field) in \(exited)")
        }
        let restarting = box.sh("journalctl TEND_SERVICE=victim TEND_EVENT=restarting -o export").stdout
        #expect(restarting.contains("MESSAGE_ID=fe3a2a9f88d54a82bfa9eb0aff96804c\n"))
        #expect(restarting.contains("TEND_DELAY_MS="))
        // journalctl -x: the catalog's text.
        #expect(box.sh("journalctl -x TEND_SERVICE=victim TEND_EVENT=exited --no-pager | grep -q 'ended on its own'").status == 0)

        // tend logs: the service's lines and tend's events about it, in time order.
        let logs = box.sh("tend logs talker --no-pager -o cat").stdout
        #expect(logs.contains("talker: started") && logs.contains("something failed") && logs.contains("all is well"))
        #expect(!logs.contains("victim"))
        // tend status NAME: the detail ends with its last lines from the journal.
        let detail = box.sh("tend status talker").stdout
        #expect(detail.contains("log (journalctl, the last 10)") && detail.contains("all is well") && !detail.contains("victim"), "\(detail)")
        #expect(box.sh("tend status --json talker").stdout.contains("all is well"))
        box.sh("tend logs -f victim --no-pager -o cat > /tmp/follow.log 2>&1 & echo $! > /tmp/follow.pid")
        #expect(box.waitFor("tend logs -f to start", "grep -q started /tmp/follow.log"))
        box.sh("tend restart victim")
        #expect(box.waitFor("the restart followed", "grep -q 'stopped' /tmp/follow.log"))
        box.sh("kill $(cat /tmp/follow.pid)")
    }

    @Test func aFrozenTendIsKilledByTheWatchdogAndTheTreeComesBack() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", SystemdTests.tree)
        box.write("/etc/systemd/system/tend.service.d/fast.conf", "[Service]\nWatchdogSec=2s\nRestartSec=100ms\n")
        box.sh("touch /tmp/go; systemctl daemon-reload")
        #expect(box.sh("systemctl start tend").status == 0)
        let before = box.sh("systemctl show -p MainPID --value tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let oldChild = box.sh("tend status --json victim | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"services\"][0][\"pid\"])'")
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        box.sh("kill -STOP \(before)")
        #expect(box.waitFor("a new tend", "p=$(systemctl show -p MainPID --value tend); [ \"$p\" != \(before) ] && [ \"$p\" != 0 ] && systemctl is-active -q tend"))
        #expect(box.sh("journalctl -u tend --no-pager | grep -q 'Watchdog timeout'").status == 0)
        #expect(box.waitFor("the tree back", "tend status | grep -c running | grep -q 4"))
        #expect(box.sh("kill -0 \(oldChild)").status != 0)
    }

    @Test func reloadAppliesAChangedFileAndABadOneLeavesTheOldTree() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", SystemdTests.tree)
        box.sh("touch /tmp/go")
        #expect(box.sh("systemctl start tend").status == 0)
        let talker = box.sh("tend status --json talker").stdout
        box.write("/etc/tend/tend.toml", SystemdTests.tree + "\n[[service]]\nname = \"added\"\ncommand = \"exec sleep infinity\"\n")
        #expect(box.sh("systemctl reload tend").status == 0)
        #expect(box.sh("tend status added | grep -q running").status == 0)
        #expect(box.sh("tend status --json talker").stdout.contains(pidField(talker)))
        #expect(box.sh("journalctl TEND_EVENT=reloaded -o export | grep -q '^TEND_ADDED=added$'").status == 0)

        box.write("/etc/tend/tend.toml", "[[service]]\nname = \"broken\"\nrestart = \"sometimes\"\n")
        #expect(box.sh("systemctl reload tend").status != 0)
        #expect(box.sh("systemctl is-active tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "active")
        #expect(box.sh("tend status --json talker").stdout.contains(pidField(talker)))
        #expect(box.sh("journalctl TEND_EVENT=reload-failed -o export | grep -q '^PRIORITY=3$'").status == 0)
    }

    /// tend reexec under systemd: the same main pid, no restart of the unit, the same service
    /// pids, and systemd told RELOADING=1 then READY=1 (logged by systemd at debug level).
    @Test func reexecKeepsTheUnitsMainPIDAndEveryService() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", SystemdTests.tree)
        box.sh("touch /tmp/go")
        #expect(box.sh("systemctl start tend").status == 0)
        #expect(box.sh("systemd-analyze log-level debug").status == 0)
        let unit = { box.sh("systemctl show -p MainPID -p NRestarts tend").stdout }
        let pids = { box.sh("tend status --json | grep -o '\"pid\":[0-9]*' | sort").stdout }
        let (unitBefore, pidsBefore) = (unit(), pids())
        #expect(pidsBefore.split(separator: "\n").count == 4)
        let reexec = box.sh("tend reexec")
        #expect(reexec.status == 0 && reexec.stdout.contains("4 services taken over, none restarted"), "\(reexec.stdout)\(reexec.stderr)")
        #expect(unit() == unitBefore)
        #expect(pids() == pidsBefore)
        #expect(box.waitFor("RELOADING=1 then READY=1 in systemd's log", """
            journalctl _PID=1 -u tend -o cat | grep 'Got notification message' | grep -A1 'RELOADING=1' | tail -n1 | grep -v 'RELOADING=1' | grep -q 'READY=1'
            """))
        #expect(box.sh("systemctl is-active tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "active")
        #expect(box.sh("journalctl TEND_EVENT=reexec -o cat | grep -q 'took over 4 services'").status == 0)
    }

    @Test func stoppingOrKillingTendLeavesNoProcessOfTheTree() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", SystemdTests.tree + "\n[[service]]\nname = \"forker\"\ncommand = \"sleep infinity & exec sleep infinity\"\n")
        box.sh("touch /tmp/go")
        #expect(box.sh("systemctl start tend").status == 0)
        #expect(box.waitFor("five sleeps", "[ $(pgrep -c -x sleep) -ge 5 ]"))
        #expect(box.sh("systemctl stop tend").status == 0)
        #expect(box.sh("pgrep -x sleep").stdout.isEmpty)
        #expect(box.sh("systemctl show -p ExecMainStatus --value tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        #expect(box.sh("systemctl start tend").status == 0)
        #expect(box.waitFor("five sleeps", "[ $(pgrep -c -x sleep) -ge 5 ]"))
        let old = Set(box.sh("pgrep -x sleep").stdout.split(separator: "\n"))
        box.sh("kill -9 $(systemctl show -p MainPID --value tend)")
        // systemd kills what is left of the unit, then starts it again (Restart=on-failure).
        #expect(box.waitFor("the old tree gone", "! pgrep -x sleep | grep -qxE '\(old.joined(separator: "|"))'"))
        #expect(box.waitFor("a new tree", "systemctl is-active -q tend && [ $(pgrep -c -x sleep) -ge 5 ]"))
    }

    /// Delegate=yes gives tend the unit's cgroup: tend in supervisor/, each service in
    /// services/NAME, and a daemon that left its session is still its service's.
    @Test func delegateGivesEachServiceItsOwnCgroupAndAStopEndsAnEscapedDaemon() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", """
            [[service]]
            name = "forker"
            command = "setsid sleep 4311 & exec sleep infinity"
            [[service]]
            name = "calm"
            command = "exec sleep infinity"
            """)
        #expect(box.sh("systemctl start tend").status == 0)
        #expect(box.waitFor("the daemon", "pgrep -x -f 'sleep 4311'"))
        let unit = "/system.slice/tend.service"
        #expect(box.sh("grep -qx '0::\(unit)/services/forker' /proc/$(pgrep -x -f 'sleep 4311')/cgroup").status == 0)
        #expect(box.sh("grep -qx '0::\(unit)/supervisor' /proc/$(systemctl show -p MainPID --value tend)/cgroup").status == 0)
        // systemctl status draws the unit's cgroup tree: each service in its own.
        let status = box.sh("systemctl status tend --no-pager --lines=0").stdout
        for name in ["supervisor", "services", "forker", "calm"] { #expect(status.contains("─\(name)"), "\(status)") }
        #expect(box.sh("tend status --json forker | grep -q '\"cgroup\":\"\(unit)/services/forker\"'").status == 0)
        #expect(box.sh("tend stop forker").status == 0)
        #expect(box.sh("pgrep -x -f 'sleep 4311'").stdout.isEmpty)
        #expect(box.sh("tend start forker").status == 0)
        #expect(box.waitFor("the daemon again", "pgrep -x -f 'sleep 4311'"))
        #expect(box.sh("systemctl stop tend").status == 0)
        #expect(box.sh("pgrep -x sleep").stdout.isEmpty)
        #expect(box.sh("journalctl -u tend TEND_SERVICE=forker TEND_EVENT=stopped -o cat | wc -l").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2")
    }

    /// SIGKILL of tend while a reload is being applied and while the tree is being stopped:
    /// systemd kills what is left of the unit (KillMode=mixed), and after the reload's kill
    /// starts tend again on the new file. No process of the old tree survives either.
    @Test func killingTendMidReloadOrMidStopLeavesNoProcessOfTheOldTree() throws {
        let box = try SystemdBox()
        // `slow` takes 30 s to stop: a reload that removes it, and a stop, stay under way.
        let slow = "[[service]]\nname = \"slow\"\ncommand = \"trap 'sleep 30' TERM; while :; do sleep 1; done\"\nstop_timeout = \"60s\"\n"
        box.write("/etc/tend/tend.toml", SystemdTests.tree + "\n" + slow)
        box.write("/etc/systemd/system/tend.service.d/fast.conf", "[Service]\nRestartSec=100ms\n")
        box.sh("touch /tmp/go; systemctl daemon-reload")
        #expect(box.sh("systemctl start tend").status == 0)
        let old = box.sh("pgrep -d '|' -x sleep").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        box.write("/etc/tend/tend.toml", SystemdTests.tree + "\n[[service]]\nname = \"added\"\ncommand = \"exec sleep infinity\"\n")
        box.sh("tend reload > /tmp/reload.log 2>&1 &")
        #expect(box.waitFor("the reload under way", "tend status slow | grep -q stopping"))
        box.sh("kill -9 $(systemctl show -p MainPID --value tend)")
        // Nor the `sleep 30` that slow's trap started when the reload asked it to stop.
        #expect(box.waitFor("the old tree gone", "! pgrep -x sleep | grep -qxE '\(old)' && ! pgrep -f '^sleep 30$'", timeout: 30))
        #expect(box.waitFor("a new tend on the new file", "systemctl is-active -q tend && tend status added | grep -q running", timeout: 30))
        #expect(box.sh("tend status slow").status != 0)

        box.write("/etc/tend/tend.toml", SystemdTests.tree + "\n" + slow)
        #expect(box.sh("systemctl reload tend").status == 0)
        #expect(box.waitFor("slow running", "tend status slow | grep -q running"))
        let tree = box.sh("pgrep -d '|' -x sleep").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let tend = box.sh("systemctl show -p MainPID --value tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        box.sh("systemctl stop tend > /tmp/stop.log 2>&1 &")
        #expect(box.waitFor("the stop under way", "[ \"$(systemctl is-active tend)\" = deactivating ] && tend status slow | grep -q stopping"))
        box.sh("kill -9 \(tend)")
        #expect(box.waitFor("the old tree gone", "! pgrep -x sleep | grep -qxE '\(tree)' && ! pgrep -f '^sleep 30$'", timeout: 30))
        #expect(box.waitFor("the unit down", "! systemctl is-active -q tend", timeout: 30))
    }

    @Test func anInvalidFileFailsTheUnitWith78AndNoRestartLoop() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", "[[service]]\nname = \"broken\"\ncommand = \"true\"\nrestart = \"sometimes\"\n")
        #expect(box.sh("systemctl start tend").status != 0)
        #expect(box.waitFor("failed", "systemctl is-failed -q tend"))
        #expect(box.sh("systemctl show -p ExecMainStatus --value tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "78")
        #expect(box.sh("systemctl show -p NRestarts --value tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(box.sh("journalctl -u tend --no-pager | grep -q 'expected always, on-failure or never'").status == 0)
    }

    @Test func aCriticalServicesEndIsTheUnitsStatus() throws {
        let box = try SystemdBox()
        // Ends with 0: tend exits 0 and the unit is inactive, not restarted.
        box.write("/etc/tend/tend.toml", "[[service]]\nname = \"calm\"\ncommand = \"exec sleep infinity\"\n[[service]]\nname = \"task\"\ncommand = \"sleep 0.5\"\nrestart = \"never\"\ncritical = true\n")
        #expect(box.sh("systemctl start tend").status == 0)
        #expect(box.waitFor("inactive", "[ \"$(systemctl is-active tend)\" = inactive ]"))
        #expect(box.sh("systemctl show -p ExecMainStatus --value tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(box.sh("pgrep -x sleep").status != 0)
        // Ends with 7: the unit's main status is 7 (Restart=on-failure then applies).
        box.write("/etc/tend/tend.toml", "[[service]]\nname = \"task\"\ncommand = \"sleep 0.5; exit 7\"\nrestart = \"never\"\ncritical = true\n")
        #expect(box.sh("systemctl start tend").status == 0)
        #expect(box.waitFor("status 7", "[ \"$(systemctl show -p ExecMainStatus --value tend)\" = 7 ]"))
        #expect(box.sh("journalctl -u tend --no-pager | grep -q 'task is critical and has ended for good'").status == 0)
    }

    @Test func anInstanceRunsBesideTheMainTree() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", "[[service]]\nname = \"main-one\"\ncommand = \"exec sleep infinity\"\n")
        box.write("/etc/tend/demo.toml", "[[service]]\nname = \"demo-one\"\ncommand = \"exec sleep infinity\"\n")
        #expect(box.sh("systemctl start tend tend@demo").status == 0)
        #expect(box.sh("tend status | grep -q main-one").status == 0)
        #expect(box.sh("tend status --socket /run/tend/demo/control.sock | grep -q demo-one").status == 0)
        #expect(box.sh("systemctl stop tend").status == 0)
        #expect(box.sh("tend status --socket /run/tend/demo/control.sock | grep -q demo-one").status == 0)
        #expect(box.sh("journalctl -u tend@demo TEND_SERVICE=demo-one -o cat | grep -q started").status == 0)
    }

    @Test func aStalledJournaldNeverStopsTheLoop() throws {
        let box = try SystemdBox()
        var config = ""
        for i in 0..<20 {
            config += "[[service]]\nname = \"crasher\(i)\"\ncommand = \"exit 1\"\nbackoff = { initial = \"0s\", max = \"0s\" }\n"
        }
        box.write("/etc/tend/tend.toml", config)
        #expect(box.sh("systemctl start tend").status == 0)
        let journald = box.sh("systemctl show -p MainPID --value systemd-journald").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        func restarts() -> Int {
            Int(box.sh("tend status --json crasher0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"services\"][0][\"restarts\"])'")
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        box.sh("kill -STOP \(journald)")
        defer { box.sh("kill -CONT \(journald)") }
        // Thousands of events a second and new streams for every start, none of them taken:
        // tend goes on restarting and answering.
        let before = restarts()
        #expect(box.waitFor("restarts while journald is stopped", "[ $(tend status --json crasher0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"services\"][0][\"restarts\"])') -gt \(before + 300) ]",
                            timeout: 30))
        box.sh("kill -CONT \(journald)")
        // The storm makes more events than journald takes on two cores: end it, and the
        // journal catches up with what tend kept, and with what it says it dropped.
        #expect(box.sh("tend stop \((0..<20).map { "crasher\($0)" }.joined(separator: " "))", timeout: 120).status == 0)
        #expect(box.waitFor("the drops said", "journalctl TEND_EVENT=logs-dropped -o cat | grep -q 'events dropped'", timeout: 120))
        #expect(box.sh("journalctl TEND_EVENT=journal-unavailable -o cat | grep -q 'until journald accepts streams again'").status == 0)
        #expect(box.sh("systemctl is-active -q tend").status == 0)
    }

    /// journald stopped (its sockets gone) and started again: tend runs on, its services'
    /// output goes to its console meanwhile, and once journald is back new runs stream to it
    /// again and tend's events reach it again.
    @Test func theJournalGoingAwayAndComingBackLosesNoService() throws {
        let box = try SystemdBox()
        box.write("/etc/tend/tend.toml", """
            [[service]]
            name = "ticker"
            command = "echo tick; sleep 0.3; exit 1"
            backoff = { initial = "100ms", max = "100ms" }
            [[service]]
            name = "calm"
            command = "exec sleep infinity"
            """)
        #expect(box.sh("systemctl start tend").status == 0)
        func restarts() -> Int {
            Int(box.sh("tend status --json ticker | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"services\"][0][\"restarts\"])'")
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        box.sh("systemctl stop systemd-journald.socket systemd-journald-dev-log.socket systemd-journald-audit.socket systemd-journald.service")
        #expect(box.waitFor("journald gone", "! systemctl is-active -q systemd-journald"))
        // The socket files go too, as on a machine whose journald is gone for good.
        box.sh("rm -f /run/systemd/journal/stdout /run/systemd/journal/socket")
        let before = restarts()
        #expect(box.waitFor("restarts without a journal", "[ $(tend status --json ticker | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"services\"][0][\"restarts\"])') -gt \(before + 3) ]"))
        #expect(box.sh("systemctl is-active -q tend && tend status calm | grep -q running").status == 0)
        box.sh("systemctl start systemd-journald.socket systemd-journald.service")
        let mark = box.sh("date +%s").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(box.waitFor("the ticks in the journal again", "journalctl --since=@\(mark) SYSLOG_IDENTIFIER=ticker -o cat | grep -q '^tick$'", timeout: 30))
        #expect(box.waitFor("tend's events in the journal again", "journalctl --since=@\(mark) TEND_EVENT=started TEND_SERVICE=ticker -o cat | grep -q started", timeout: 30))
        #expect(box.sh("journalctl TEND_EVENT=journal-unavailable -o cat | grep -q 'journald accepts streams again'").status == 0)
        #expect(box.sh("systemctl is-active -q tend").status == 0)
    }

    @Test func makeInstallPutsEverythingInPlaceAndUninstallTakesItAway() throws {
        let box = try SystemdBox()
        let verify = box.sh("systemd-analyze verify /usr/local/lib/systemd/system/tend.service /usr/local/lib/systemd/system/tend@.service")
        #expect(verify.status == 0 && verify.stdout.isEmpty && verify.stderr.isEmpty, "\(verify.stdout)\(verify.stderr)")
        let files = ["/usr/local/bin/tend", "/usr/local/share/man/man1/tend.1", "/usr/local/lib/systemd/catalog/tend.catalog",
                     "/usr/local/share/bash-completion/completions/tend", "/usr/local/share/zsh/site-functions/_tend",
                     "/usr/local/share/fish/vendor_completions.d/tend.fish", "/etc/tend/tend.toml.example"]
        for file in files { #expect(box.sh("test -s \(file)").status == 0, "\(file)") }
        #expect(box.sh("journalctl --list-catalog | grep -c ' tend: ' | grep -qx 27").status == 0)
        #expect(box.sh("/usr/local/bin/tend check").status == 0)  // the example config, installed as /etc/tend/tend.toml
        box.write("/etc/tend/tend.toml", "# the operator's\n")
        #expect(box.sh("cd \(SystemdBox.project) && make install >/dev/null && grep -q operator /etc/tend/tend.toml").status == 0)
        #expect(box.sh("cd \(SystemdBox.project) && make uninstall >/dev/null").status == 0)
        for file in files { #expect(box.sh("test -e \(file)").status != 0, "\(file)") }
        #expect(box.sh("test -e /usr/local/lib/systemd/system/tend.service || test -e /usr/local/lib/systemd/system/tend@.service").status != 0)
        #expect(box.sh("grep -q operator /etc/tend/tend.toml").status == 0)
    }

    /// `make deb` (SPEC section 10): installing the package enables nothing, `systemctl enable
    /// --now` runs the tree, an upgrade to a higher version keeps MainPID and every service's
    /// pid (its postinst runs `tend reexec`), `apt remove` stops tend, `apt purge` takes /etc/tend.
    @Test func aDebianPackageInstallsEnablesNothingUpgradesInPlaceAndPurges() throws {
        for version in [TendBuild.version, TendBuild.version + "+1"] {
            let built = SystemdBox.run(["/usr/bin/env", "VERSION=\(version)", "LINT=0", SystemdBox.project + "/scripts/deb.sh"], timeout: 300)
            #expect(built.status == 0, "\(built.stdout)\(built.stderr)")
        }
        let box = try SystemdBox()
        // The box comes with `make install`'s files: the package's alone here. An image built
        // by Docker has a policy-rc.d that forbids maintainer scripts every service action; a
        // host has none.
        #expect(box.sh("cd \(SystemdBox.project) && make uninstall >/dev/null && rm -rf /etc/tend /usr/sbin/policy-rc.d "
                       + "&& systemctl daemon-reload").status == 0)
        let deb = SystemdBox.project + "/.build/deb/tend_\(TendBuild.version)_amd64.deb"
        let install = box.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q \(deb) 2>&1", timeout: 120)
        #expect(install.status == 0, "\(install.stdout)")
        #expect(box.sh("systemctl is-enabled tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "disabled")
        #expect(box.sh("systemctl is-active tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "inactive")
        #expect(box.sh("test -s /etc/tend/tend.toml && test -x /usr/bin/tend && test -s /usr/share/man/man1/tend.1.gz").status == 0)
        box.write("/etc/tend/tend.toml", SystemdTests.tree)
        box.sh("touch /tmp/go")
        #expect(box.sh("systemctl enable --now tend").status == 0)
        let mainPID = box.sh("systemctl show -p MainPID --value tend").stdout
        func pids() -> [String] {
            let json = box.sh("tend status --json").stdout
            return json.ranges(of: #/"name":"[a-z]+","group":null,"state":"[a-z]+","pid":[0-9]+/#).map { String(json[$0]) }
        }
        let before = pids()
        #expect(before.count == 4, "\(before)")

        let upgrade = box.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold "
                             + SystemdBox.project + "/.build/deb/tend_\(TendBuild.version)+1_amd64.deb 2>&1", timeout: 120)
        #expect(upgrade.status == 0 && upgrade.stdout.contains("re-executed"), "\(upgrade.stdout)")
        #expect(box.sh("dpkg-query -W -f '${Version}' tend").stdout == TendBuild.version + "+1")
        #expect(box.sh("systemctl show -p MainPID --value tend").stdout == mainPID)
        #expect(pids() == before)
        #expect(box.sh("journalctl -u tend TEND_EVENT=reexec -o cat | grep -q 're-executed itself from /usr/bin/tend'").status == 0)

        #expect(box.sh("DEBIAN_FRONTEND=noninteractive apt-get remove -y -q tend 2>&1", timeout: 120).status == 0)
        #expect(box.sh("systemctl is-active tend").stdout.trimmingCharacters(in: .whitespacesAndNewlines) != "active")
        #expect(box.sh("test -e /usr/bin/tend").status != 0)
        #expect(box.sh("grep -q talker /etc/tend/tend.toml").status == 0)  // a conffile stays until purge
        #expect(box.sh("DEBIAN_FRONTEND=noninteractive apt-get purge -y -q tend 2>&1", timeout: 120).status == 0)
        #expect(box.sh("test -e /etc/tend").status != 0)
    }

    func pidField(_ statusJSON: String) -> String {
        guard let range = statusJSON.range(of: #""pid":[0-9]+"#, options: .regularExpression) else { return "no pid" }
        return String(statusJSON[range])
    }
}

"""The supervisors `make bench-peers` runs side by side: how each is configured for N services
running the same child (child.c), started, asked for status and stopped. Each gets its fastest
honest setting: what an operator would write to get quick restarts, nothing that turns off what
the supervisor is for. `settings` says it under every table."""
import glob
import os
import resource
import shutil
import signal
import subprocess
import time

# Every supervisor runs with the same fd limit: the hard limit this process may give (65,536 if
# it can; a sandbox may hold it lower), so that 10,000 services fit where the peer can fit them.
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])


def raise_limits():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    os.setpgrp()  # its own process group: the harness ends all of it by group


def children(pid):
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return out


def descendants(pid):
    out, queue = [], children(pid)
    while queue:
        p = queue.pop()
        out.append(p)
        queue += children(p)
    return out


PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Work directories of what runs in a box: under the project, which the box mounts at the same path.
BOX_WORK = os.path.join(PROJECT, "bench-results", "peers", "box")


class Box:
    """systemd as PID 1 of the end-to-end tests' throw-away box (never on the host)."""
    script = os.path.join(PROJECT, "Tests", "TendEndToEndTests", "box.sh")

    def __init__(self):
        self.pid = int(subprocess.run([self.script, "start", PROJECT], capture_output=True, text=True,
                                      check=True, timeout=120).stdout.strip())

    def inside(self, argv):
        return ["nsenter", "-t", str(self.pid), "-a"] + argv

    def run(self, argv, timeout=300):
        return subprocess.run(self.inside(argv), capture_output=True, text=True, timeout=timeout, check=True)

    def path(self, inside):
        """A path of the box's own files (its /etc is not the host's), from the host."""
        return f"/proc/{self.pid}/root{inside}"

    def pids(self, comm):
        """Host pids of the box's processes named `comm`."""
        out = []
        for pid in descendants(self.pid):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == comm:
                        out.append(pid)
            except OSError:
                pass
        return out

    def journal_lines(self, *match):
        out = self.run(["sh", "-c", "journalctl -q -o cat " + " ".join(match) + " | wc -l"], timeout=120)
        return int(out.stdout.strip() or 0)

    def journal_last_ns(self, *match):
        """When journald took in the last entry that matches (CLOCK_REALTIME, as the stamps)."""
        out = self.run(["journalctl", "-q", "-n", "1", "-o", "export"] + list(match), timeout=60).stdout
        for line in out.splitlines():
            if line.startswith("__REALTIME_TIMESTAMP="):
                return int(line.split("=", 1)[1]) * 1000
        return 0

    def stop(self):
        subprocess.run([self.script, "stop", str(self.pid)], capture_output=True)


def last_written_ns(paths):
    """When the newest of these files was last written."""
    times = []
    for path in paths:
        try:
            times.append(os.stat(path).st_mtime_ns)
        except OSError:
            pass
    return max(times, default=0)


def count_lines(paths):
    total = 0
    for path in paths:
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    total += chunk.count(b"\n")
        except OSError:
            pass
    return total


class Supervisor:
    name = ""
    # Runs in a box (a work directory under the project): for every scenario, or only for logs.
    in_box = False
    logs_in_box = False
    settings = ""
    # What the peer's own tools cost to run: the command lines of `status_all` / `status_one`.
    status_tool = ""

    def __init__(self, workdir, child, stamps):
        self.dir = workdir
        self.child = child
        self.stamps = stamps
        self.proc = None
        self.names = []
        self.logs = False

    def available(self):
        return all(shutil.which(tool) for tool in self.tools)

    def configure(self, services):
        """services: [(name, [mode, params...])]."""
        raise NotImplementedError

    def command(self):
        raise NotImplementedError

    def prepare(self):
        """What comes before the start and is not measured (systemd: its box booted)."""

    def prepared_pids(self):
        """The supervisor's processes that already run before `start` (systemd's PID 1)."""
        return []

    def start(self):
        self.out = open(os.path.join(self.dir, "supervisor.out"), "wb")
        self.proc = subprocess.Popen(self.command(), stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=raise_limits, cwd=self.dir)

    def own_pids(self):
        """The supervisor's own processes (not the services)."""
        return [self.proc.pid]

    def logger_pids(self):
        """Processes that write the services' output to its sink, apart from the supervisor."""
        return []

    def logged_lines(self):
        """Lines of the flood service that reached the sink (the logs scenario)."""
        raise NotImplementedError

    def last_logged_ns(self):
        """When the sink took in the flood's last line so far."""
        raise NotImplementedError

    def status_all(self):
        raise NotImplementedError

    def status_one(self, name):
        raise NotImplementedError

    def stop(self):
        """Asks for every service to stop and the supervisor to exit."""
        self.proc.send_signal(signal.SIGTERM)

    def kill(self):
        """The harness's end of every run: SIGKILL to the supervisor and everything under it
        (runsv and supervise start sessions of their own: a process group is not enough)."""
        if self.proc is None:
            return
        for pid in [self.proc.pid] + descendants(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.out.close()


class JournalSink:
    """The logs scenario's sink of a peer that runs in a box (`self.box`): its journal, read
    through `journal_match`, journald the logger."""
    journal_match = ""

    def logger_pids(self):
        return self.box.pids("systemd-journal") if self.logs else []

    def logged_lines(self):
        return self.box.journal_lines(self.journal_match)

    def last_logged_ns(self):
        return self.box.journal_last_ns(self.journal_match)


class Tend(JournalSink, Supervisor):
    name = "tend"
    settings = ("`tend run` with default settings (console logging, a pipe per service), `backoff = { initial = \"0s\" }` "
                "for the restart and storm scenarios; status: `tend status` / `tend status NAME` (the detail view); logs: "
                "installed with `make install` in the box of the end-to-end tests and run as the shipped unit, output to the "
                "journal (its default under systemd)")

    def __init__(self, workdir, child, stamps, binary):
        super().__init__(workdir, child, stamps)
        self.binary = binary
        self.tools = [binary]
        self.socket = os.path.join(workdir, "control.sock")
        self.quick = False
        self.box = None

    def configure(self, services):
        self.names = [n for n, _ in services]
        lines = []
        for name, args in services:
            argv = ", ".join(f'"{a}"' for a in [self.child, self.stamps, name] + args)
            lines.append(f'[[service]]\nname = "{name}"\ncommand = [{argv}]\n'
                         + ('backoff = { initial = "0s" }\n' if self.quick else ""))
        with open(os.path.join(self.dir, "tend.toml"), "w") as f:
            f.write("[supervisor]\nintensity = 1000000\nperiod = \"1s\"\n\n" + "\n".join(lines))

    def command(self):
        return [self.binary, "run", "-c", os.path.join(self.dir, "tend.toml"), "--socket", self.socket]

    # The logs scenario: tend installed with `make install` in a box and run as the shipped unit,
    # its services' output in the journal (its default under systemd).
    logs_in_box = True
    journal_match = "SYSLOG_IDENTIFIER=flood"

    def prepare(self):
        if self.logs:
            self.box = Box()
            self.box.run(["make", "-C", PROJECT, "install"], timeout=600)
            shutil.copy(os.path.join(self.dir, "tend.toml"), self.box.path("/etc/tend/tend.toml"))

    def start(self):
        if self.logs:
            self.box.run(["systemctl", "start", "tend"], timeout=120)
        else:
            super().start()

    def own_pids(self):
        return self.box.pids("tend") if self.logs else super().own_pids()


    def kill(self):
        if self.box is not None:
            self.box.stop()
            self.box = None
        super().kill()

    def status_all(self):
        return [self.binary, "status", "--socket", self.socket]

    def status_one(self, name):
        return [self.binary, "status", "--socket", self.socket, name]


class Supervisord(Supervisor):
    name = "supervisord"
    tools = ["supervisord", "supervisorctl"]
    settings = ("supervisord 4.2 in the foreground (`-n`), each program with `autorestart=true`, `startsecs=0` (a start counts at "
                "once), `startretries=1000000`, output to its default log files (rotated at 50 MB, 10 kept); status: "
                "`supervisorctl status` / `status NAME`")

    def configure(self, services):
        self.names = [n for n, _ in services]
        self.conf = os.path.join(self.dir, "supervisord.conf")
        logs = os.path.join(self.dir, "logs")
        os.makedirs(logs, exist_ok=True)
        sock = os.path.join(self.dir, "supervisor.sock")
        parts = [f"[unix_http_server]\nfile={sock}\n",
                 f"[supervisord]\nnodaemon=true\nlogfile={self.dir}/supervisord.log\npidfile={self.dir}/supervisord.pid\n"
                 f"childlogdir={logs}\nminfds={NOFILE}\nminprocs=1000\n",
                 "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
                 f"[supervisorctl]\nserverurl=unix://{sock}\n"]
        for name, args in services:
            parts.append(f"[program:{name}]\ncommand={' '.join([self.child, self.stamps, name] + args)}\n"
                         "autorestart=true\nstartsecs=0\nstartretries=1000000\n")
        with open(self.conf, "w") as f:
            f.write("\n".join(parts))

    def command(self):
        return ["supervisord", "-n", "-c", self.conf]

    def logged_lines(self):
        # stdout_logfile=AUTO in childlogdir, rotated at 50 MB with 10 backups (its defaults).
        return count_lines(glob.glob(os.path.join(self.dir, "logs", "flood-stdout*")))

    def last_logged_ns(self):
        return last_written_ns(glob.glob(os.path.join(self.dir, "logs", "flood-stdout*")))

    def status_all(self):
        return ["supervisorctl", "-c", self.conf, "status"]

    def status_one(self, name):
        return ["supervisorctl", "-c", self.conf, "status", name]


class ServiceDirs(Supervisor):
    """runit, s6 and daemontools: a directory per service whose `run` is the child itself (a
    symbolic link: no shell), its arguments in the file `args` beside it."""
    scanner = ""

    def configure(self, services):
        self.names = [n for n, _ in services]
        self.services = os.path.join(self.dir, "services")
        os.makedirs(self.services, exist_ok=True)
        for name, args in services:
            d = os.path.join(self.services, name)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "args"), "w") as f:
                f.write(" ".join([self.stamps, name] + args) + "\n")
            os.symlink(self.child, os.path.join(d, "run"))
            if self.logs:
                # The peer's own logger as the service's log service, fed through a pipe.
                os.makedirs(os.path.join(d, "log", "main"))
                with open(os.path.join(d, "log", "run"), "w") as f:
                    f.write(f"#!/bin/sh\nexec {self.logger_command}\n")
                os.chmod(os.path.join(d, "log", "run"), 0o755)
                if self.logger_config:
                    with open(os.path.join(d, "log", "main", "config"), "w") as f:
                        f.write(self.logger_config)

    logger = ""
    logger_command = ""
    logger_config = ""

    def logger_pids(self):
        if self.proc is None:
            return []
        out = []
        for pid in descendants(self.proc.pid):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == self.logger:
                        out.append(pid)
            except OSError:
                pass
        return out

    def log_files(self):
        main = os.path.join(self.services, "flood", "log", "main")
        return [os.path.join(main, f) for f in os.listdir(main) if f == "current" or f.startswith("@")]

    def logged_lines(self):
        return count_lines(self.log_files())

    def last_logged_ns(self):
        return last_written_ns(self.log_files())

    def own_pids(self):
        # The scanner and one supervising process per service.
        return [self.proc.pid] + children(self.proc.pid)

    def dirs(self, name=None):
        return [os.path.join(self.services, name)] if name else sorted(glob.glob(os.path.join(self.services, "*")))


class Runit(ServiceDirs):
    name = "runit"
    tools = ["runsvdir", "runsv", "sv"]
    settings = ("runit 2.1.2: `runsvdir -P` over the service directories (one `runsv` each), `run` = the child; "
                "status: `sv status DIR/*` / `sv status DIR/NAME`; logs: `svlogd` as the log service, rotating at 100 MB")
    logger = "svlogd"
    logger_command = "svlogd main"
    logger_config = "s100000000\nn10\n"

    def command(self):
        return ["runsvdir", "-P", self.services]

    def status_all(self):
        return ["sv", "status"] + self.dirs()

    def status_one(self, name):
        return ["sv", "status"] + self.dirs(name)

    def stop(self):
        # runsvdir sends TERM to each runsv, which stops its service and exits.
        self.proc.send_signal(signal.SIGHUP)


class S6(ServiceDirs):
    name = "s6"
    tools = ["s6-svscan", "s6-supervise", "s6-svstat"]
    settings = ("s6 2.11: `s6-svscan -c N+16` (its default caps at 500 services) over the service directories (one `s6-supervise` each), `run` = the child; "
                "status: `s6-svstat` for each directory (it takes one: a shell loop for all) / `s6-svstat DIR/NAME`; "
                "logs: `s6-log -b n20 s100000000` as the log service (-b: it blocks rather than drops)")
    logger = "s6-log"
    logger_command = "s6-log -b n20 s100000000 ./main"

    def command(self):
        # -c: room for every service (s6-svscan supervises at most 500 by default).
        return ["s6-svscan", "-c", str(len(self.names) + 16), self.services]

    def status_all(self):
        return ["sh", "-c", f'for d in "{self.services}"/*; do s6-svstat "$d"; done']

    def status_one(self, name):
        return ["s6-svstat"] + self.dirs(name)

    def stop(self):
        # s6-svscanctl -t: every s6-supervise brings its service down and exits, then s6-svscan.
        subprocess.run(["s6-svscanctl", "-t", self.services], capture_output=True)


class Daemontools(ServiceDirs):
    name = "daemontools"
    tools = ["svscan", "supervise", "svstat", "svc"]
    settings = ("daemontools 0.76: `svscan` over the service directories (one `supervise` each), `run` = the child; "
                "status: `svstat DIR/*` / `svstat DIR/NAME`; logs: `multilog s16777215 n20` (its largest files) as the log service")
    logger = "multilog"
    logger_command = "multilog s16777215 n20 ./main"

    def command(self):
        return ["svscan", self.services]

    def status_all(self):
        return ["svstat"] + self.dirs()

    def status_one(self, name):
        return ["svstat"] + self.dirs(name)

    def stop(self):
        # svscan has no stop of its own: down and exit every supervise, then svscan.
        subprocess.run(["svc", "-dx"] + self.dirs(), capture_output=True)
        self.proc.send_signal(signal.SIGTERM)


class Systemd(JournalSink, Supervisor):
    """systemd as PID 1 of the end-to-end tests' box (never on the host), one unit per service.
    Its work directory is under the project, which the box mounts at the same path: the units
    name the child and the stamp file by their host paths."""
    name = "systemd"
    tools = ["unshare", "nsenter", "/lib/systemd/systemd"]
    settings = ("systemd 252 as PID 1 in the box of the end-to-end tests (`Tests/TendEndToEndTests/box.sh`: its own pid, mount "
                "and cgroup namespaces, never the host's systemd), one unit per service with `Restart=always`, `RestartSec=0`, "
                "`StartLimitIntervalSec=0`, the journal's rate limit of tend's shipped unit (1,000,000 lines per 10 s), output to the journal (the default), all wanted by "
                "one target; memory and CPU are PID 1's alone (journald's apart, in the logs scenario); status: "
                "`systemctl list-units --all 'bench-*'` / `systemctl status NAME`, each run through `nsenter` into the box "
                "(about 1 ms of it is nsenter's)")
    in_box = True
    journal_match = "_SYSTEMD_UNIT=bench-flood.service"

    def __init__(self, workdir, child, stamps):
        super().__init__(workdir, child, stamps)
        self.box = None

    def available(self):
        return os.geteuid() == 0 and all(shutil.which(t) or os.path.exists(t) for t in self.tools)

    def configure(self, services):
        self.names = [n for n, _ in services]
        self.units = {}
        for name, args in services:
            self.units[f"bench-{name}.service"] = (
                "[Unit]\nPartOf=bench.target\nStartLimitIntervalSec=0\n\n[Service]\nType=simple\n"
                f"ExecStart={' '.join([self.child, self.stamps, name] + args)}\nRestart=always\nRestartSec=0\n"
                "LogRateLimitIntervalSec=10s\nLogRateLimitBurst=1000000\n")
        self.units["bench.target"] = "[Unit]\nWants=" + " ".join(k for k in self.units) + "\n"

    def prepare(self):
        self.box = Box()
        for unit, text in self.units.items():
            with open(self.box.path(f"/etc/systemd/system/{unit}"), "w") as f:
                f.write(text)
        self.box.run(["systemctl", "daemon-reload"])

    def start(self):
        self.box.run(["systemctl", "start", "--no-block", "bench.target"], timeout=60)

    def own_pids(self):
        return [self.box.pid]

    def prepared_pids(self):
        return [self.box.pid]


    def status_all(self):
        return self.box.inside(["systemctl", "list-units", "--all", "--no-pager", "bench-*"])

    def status_one(self, name):
        return self.box.inside(["systemctl", "status", "--no-pager", f"bench-{name}.service"])

    def stop(self):
        subprocess.Popen(self.box.inside(["systemctl", "stop", "bench.target"]), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def kill(self):
        if self.box is not None:
            self.box.stop()
            self.box = None


def all_peers():
    return [Tend, Supervisord, Runit, S6, Daemontools, Systemd]

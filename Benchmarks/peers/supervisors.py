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


class Supervisor:
    name = ""
    settings = ""
    # What the peer's own tools cost to run: the command lines of `status_all` / `status_one`.
    status_tool = ""

    def __init__(self, workdir, child, stamps):
        self.dir = workdir
        self.child = child
        self.stamps = stamps
        self.proc = None
        self.names = []

    def available(self):
        return all(shutil.which(tool) for tool in self.tools)

    def configure(self, services):
        """services: [(name, [mode, params...])]."""
        raise NotImplementedError

    def command(self):
        raise NotImplementedError

    def start(self):
        self.out = open(os.path.join(self.dir, "supervisor.out"), "wb")
        self.proc = subprocess.Popen(self.command(), stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=raise_limits, cwd=self.dir)

    def own_pids(self):
        """The supervisor's own processes (not the services)."""
        return [self.proc.pid]

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


class Tend(Supervisor):
    name = "tend"
    settings = ("`tend run` with default settings (console logging, a pipe per service), `backoff = { initial = \"0s\" }` "
                "for the restart and storm scenarios; status: `tend status` / `tend status NAME` (the detail view)")

    def __init__(self, workdir, child, stamps, binary):
        super().__init__(workdir, child, stamps)
        self.binary = binary
        self.tools = [binary]
        self.socket = os.path.join(workdir, "control.sock")
        self.quick = False

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

    def status_all(self):
        return [self.binary, "status", "--socket", self.socket]

    def status_one(self, name):
        return [self.binary, "status", "--socket", self.socket, name]


class Supervisord(Supervisor):
    name = "supervisord"
    tools = ["supervisord", "supervisorctl"]
    settings = ("supervisord 4.2 in the foreground (`-n`), each program with `autorestart=true`, `startsecs=0` (a start counts at "
                "once), `startretries=1000000`, output to its default log files; status: `supervisorctl status` / `status NAME`")

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

    def own_pids(self):
        # The scanner and one supervising process per service.
        return [self.proc.pid] + children(self.proc.pid)

    def dirs(self, name=None):
        return [os.path.join(self.services, name)] if name else sorted(glob.glob(os.path.join(self.services, "*")))


class Runit(ServiceDirs):
    name = "runit"
    tools = ["runsvdir", "runsv", "sv"]
    settings = ("runit 2.1.2: `runsvdir -P` over the service directories (one `runsv` each), `run` = the child; "
                "status: `sv status DIR/*` / `sv status DIR/NAME`")

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
                "status: `s6-svstat` for each directory (it takes one: a shell loop for all) / `s6-svstat DIR/NAME`")

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
                "status: `svstat DIR/*` / `svstat DIR/NAME`")

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


def all_peers():
    return [Tend, Supervisord, Runit, S6, Daemontools]

#!/usr/bin/env python3
"""make bench: tend's speed and memory, as JSON (bench-results/bench.json) and a table.

- restart latency: a child's exit to its replacement's exec, backoff.initial = "0s"
- bring-up: time and tend's RSS/PSS to start N `sleep` children (N = 1,000 and 10,000, with
  `log = "null"`; and 10,000 with the default log setting, the first and last 1,000 timed)
- idle: tend's CPU time, context switches and system calls over a span with 1,000 children
- control: `tend status --json` round trip with 10,000 services, and with 1,000 services
  crashing and restarting with no backoff
- jobs: 1,000 jobs on `every 1s` for 60 s: each run's start (stamped by the job itself) after
  its due time, runs skipped, tend's CPU
- health: 1,000 services with an exec health check every 1 s: checks per second, tend's CPU
- reexec: `tend reexec` with 1,000 services, the longest time control does not answer
- journal: one child writing 500,000 lines of 100 bytes into the journal through tend (the
  shipped unit, `make install`ed under systemd as PID 1 in the test box) against the same
  child in a plain unit with StandardOutput=journal in the same box
"""
import contextlib
import random
import socket
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TEND = os.environ.get("TEND_BIN", ".build/release/tend")
HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.dirname(HERE)
BOX = os.path.join(PROJECT, "Tests", "TendEndToEndTests", "box.sh")
OUT = os.path.join(os.path.dirname(HERE), "bench-results")
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "30"))


def percentile(values, p):
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None


def cpu_ns(pid):
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def switches(pid):
    s = proc_status(pid)
    return int(s["voluntary_ctxt_switches"]) + int(s["nonvoluntary_ctxt_switches"])


def wait_until(what, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.005)  # poll interval of a wait with a deadline
    raise RuntimeError(f"timed out waiting for {what}")


class Tend:
    def __init__(self, config, workdir):
        self.dir = workdir
        path = os.path.join(workdir, "tend.toml")
        with open(path, "w") as f:
            f.write(config)
        self.stderr_path = os.path.join(workdir, "stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.started_at = time.monotonic()
        self.socket = os.path.join(workdir, "control.sock")
        self.proc = subprocess.Popen([TEND, "run", "-c", path, "--socket", self.socket], stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, stdin=subprocess.DEVNULL)

    def status_times(self, count):
        """Wall-clock ms of `tend status --json`, and of the same request on a raw socket, after
        one call that is not counted (it pages the client binary in)."""
        subprocess.run([TEND, "status", "--json", "--socket", self.socket], capture_output=True)
        command, raw = [], []
        for _ in range(count):
            t = time.monotonic()
            out = subprocess.run([TEND, "status", "--json", "--socket", self.socket], capture_output=True)
            command.append((time.monotonic() - t) * 1000)
            if out.returncode != 0:
                raise RuntimeError(f"tend status failed: {out.stderr.decode()}")
            t = time.monotonic()
            control_request(self.socket, b'{"version":1,"command":"status"}\n')
            raw.append((time.monotonic() - t) * 1000)
        return command, raw

    def log_contains(self, text):
        with open(self.stderr_path, "rb") as f:
            f.seek(max(0, os.path.getsize(self.stderr_path) - 4096))
            return text.encode() in f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.stderr.close()
        return code


def probe_binary(workdir, name="restart_probe"):
    out = os.path.join(workdir, name)
    cc = shutil.which("cc") or shutil.which("clang") or "/opt/swift/usr/bin/clang"
    src = os.path.join(HERE, name + ".c")
    if subprocess.run([cc, "-O2", "-static", "-o", out, src], capture_output=True).returncode != 0:
        subprocess.run([cc, "-O2", "-o", out, src], check=True)
    return out


def restart_latency(workdir, restarts=2000):
    probe = probe_binary(workdir)
    log = os.path.join(workdir, "probe.log")
    tend = Tend(f"""
[[service]]
name = "probe"
command = ["{probe}"]
environment = {{ PROBE_LOG = "{log}" }}
backoff = {{ initial = "0s", jitter = 0 }}
log = "null"
""", workdir)

    def count():
        try:
            with open(log) as f:
                return sum(1 for line in f if line.startswith("start"))
        except OSError:
            return 0

    wait_until(f"{restarts} restarts", lambda: count() > restarts, 120)
    tend.stop()
    starts, ends = [], []
    with open(log) as f:
        for line in f:
            what, ns = line.split()
            (starts if what == "start" else ends).append(int(ns))
    gaps = [(starts[i + 1] - ends[i]) / 1e6 for i in range(min(len(ends), len(starts) - 1))]
    gaps = gaps[100:]  # the first ones warm caches
    return {"restarts": len(gaps), "p50_ms": round(percentile(gaps, 50), 3), "p90_ms": round(percentile(gaps, 90), 3),
            "p99_ms": round(percentile(gaps, 99), 3), "max_ms": round(max(gaps), 3)}


# A server that answers each connection with its pid and is ready (notify) once SIGTERM ends it
# between connections: from tend's socket (LISTEN_FDS) or, for the floor, bound by itself.
LISTEN_SERVER = r"""
import os, select, signal, socket, sys
if os.environ.get("LISTEN_FDS") == "1":
    s = socket.socket(fileno=3)
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(128)
r, w = os.pipe()
os.set_blocking(w, False)
signal.set_wakeup_fd(w)
signal.signal(signal.SIGTERM, lambda *_: None)
a = os.environ["NOTIFY_SOCKET"]
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n.connect("\0" + a[1:] if a[0] == "@" else a)
n.send(b"READY=1")
while True:
    if r in select.select([s, r], [], [])[0]:
        os._exit(0)
    c, _ = s.accept()
    c.sendall(b"%d\n" % os.getpid())
    c.close()
"""


def listen_restarts(workdir, restarts=100, held=True):
    """A client connecting 20 times a second through `restarts` of `tend restart` of a server on
    a `listen` socket tend holds (default settings, logging included); `held` False: the same
    server binding its own socket, as under a supervisor without sockets (the floor)."""
    import threading
    port = free_port()
    server = os.path.join(workdir, "server.py")
    with open(server, "w") as f:
        f.write(LISTEN_SERVER)
    tend = Tend(f"""
[[service]]
name = "web"
command = ["python3", "{server}", "{port}"]
ready = "notify"
{f'listen = ["tcp:127.0.0.1:{port}"]' if held else ''}
""", workdir)
    counts = {"ok": 0, "refused": 0, "other": 0}
    done = threading.Event()

    def client():
        while not done.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                    counts["ok" if c.makefile().readline().strip().isdigit() else "other"] += 1
            except ConnectionRefusedError:
                counts["refused"] += 1
            except OSError:
                counts["other"] += 1
            time.sleep(0.05)  # the client's pace: 20 connections a second
    try:
        wait_until("the server", lambda: tend.log_contains("web: ready"), 60)
        thread = threading.Thread(target=client)
        thread.start()
        started = time.monotonic()
        for _ in range(restarts):
            subprocess.run([TEND, "restart", "web", "--socket", tend.socket], capture_output=True, check=True)
        seconds = time.monotonic() - started
        done.set()
        thread.join()
        return {"restarts": restarts, "seconds": round(seconds, 2), "connections": sum(counts.values()), **counts,
                "exit_status": tend.stop()}
    finally:
        done.set()
        if tend.proc.poll() is None:
            tend.proc.kill()


def control_request(path, request):
    """One request on a new connection to tend's control socket, and its answer line."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(request)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        return data


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(values):
    return {"p50_ms": round(percentile(values, 50), 2), "p99_ms": round(percentile(values, 99), 2),
            "max_ms": round(max(values), 2)}


def bring_up(workdir, n, idle=False, status=False, default_log=False, parallel=False):
    """n `sleep` children; `default_log`: no `log` key (console here, a pipe per service), with
    the time the first and the last 1,000 took, else `log = "null"`; `parallel`: a parallel root
    group (`stop_seconds` is then the stop at once), without the C-loop floors."""
    lines = ["[supervisor]\nparallel = true\n"] if parallel else []
    for i in range(n):
        lines.append(f'[[service]]\nname = "s{i}"\ncommand = ["sleep", "100000"]\n' + ('' if default_log else 'log = "null"\n'))
    tend = Tend("\n".join(lines), workdir)
    try:
        marks = {}
        # (At once, the starts are told together: only the last is sure to be in the log's tail.)
        for k in [n] if parallel else sorted({min(1000, n), max(n - 1000, 1), n}):
            wait_until(f"{k} children", lambda: tend.log_contains(f"s{k - 1}: started"), 300)
            marks[k] = time.monotonic() - tend.started_at
        elapsed = marks[n]
        pid = tend.proc.pid
        proc = proc_status(pid)
        with open(f"/proc/{pid}/cgroup") as f:
            in_cgroups = any(line.startswith("0::") and line.strip().endswith("/supervisor") for line in f)
        result = {"children": n, "seconds": round(elapsed, 3), "cgroups": in_cgroups,
                  "rss_mb": round(int(proc["VmRSS"].split()[0]) / 1024, 1),
                  "pss_mb": round((pss_kb(pid) or 0) / 1024, 1), "threads": int(proc["Threads"]),
                  "fds": len(os.listdir(f"/proc/{pid}/fd"))}
        if default_log:
            result["first_1000_s"] = round(marks[min(1000, n)], 3)
            result["last_1000_s"] = round(marks[n] - marks[max(n - 1000, 1)], 3)
            with open(tend.stderr_path, "rb") as f:
                result["spawn_failed"] = f.read().decode(errors="replace").count(": spawn-failed")
        if idle:
            time.sleep(1)  # let the last events settle before measuring
            cpu0, sw0 = cpu_ns(pid), switches(pid)
            time.sleep(IDLE_SECONDS)  # the span measured
            cpu1, sw1 = cpu_ns(pid), switches(pid)
            result["idle"] = {"seconds": IDLE_SECONDS, "cpu_ms": round((cpu1 - cpu0) / 1e6, 3),
                              "context_switches": sw1 - sw0, "syscalls": count_syscalls(pid)}
        if status:
            command, raw = tend.status_times(30)
            result["status_json"] = {"command": summary(command), "socket": summary(raw),
                                     "bytes": len(subprocess.run([TEND, "status", "--json", "--socket", tend.socket],
                                                                 capture_output=True).stdout)}
        stop_started = time.monotonic()
        code = tend.stop()
        result["stop_seconds"] = round(time.monotonic() - stop_started, 3)
        result["exit_status"] = code
        floor = probe_binary(workdir, "bring_up_floor")
        if parallel:
            # The floor of a stop at once: the C loop's SIGTERM to each child, reaped by pid,
            # (into cgroups as tend's: each cgroup removed), after it started them.
            with floor_cgroup() as where:
                args = [floor, str(n), shutil.which("sleep"), "100000"] + ([where] if where and in_cgroups else [])
                result["c_loop_stop_s"] = float(subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()[3])
            return result
        # The same children started, once tend's are gone, by a C loop that holds no fd and
        # does nothing else: what this machine's kernel and `sleep`'s exec cost, whoever starts
        # them; and by the same loop giving each child a cgroup of its own as tend does (mkdir,
        # clone3 into it), the kernel's part of a cgroup per service.
        seconds, first, _, _ = subprocess.run([floor, str(n), shutil.which("sleep"), "100000"], capture_output=True,
                                           text=True, check=True).stdout.split()
        result["c_loop_floor_s"] = float(seconds)
        result["c_loop_floor_first_1000_s"] = float(first)
        with floor_cgroup() as where:
            if where:
                seconds, _, _, _ = subprocess.run([floor, str(n), shutil.which("sleep"), "100000", where], capture_output=True,
                                               text=True, check=True).stdout.split()
                result["c_loop_cgroup_floor_s"] = float(seconds)
        return result
    finally:
        if tend.proc.poll() is None:
            tend.proc.kill()


@contextlib.contextmanager
def floor_cgroup():
    """A cgroup v2 directory of the bench's own (below its cgroup, as tend makes tend.PID), for
    the floor's children's cgroups; None where there is no writable v2 hierarchy."""
    mount = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                mount = fields[4]
                break
    own = next((line.strip()[3:] for line in open("/proc/self/cgroup") if line.startswith("0::")), None)
    where = None
    if mount and own is not None:
        where = os.path.join(mount + own.rstrip("/"), f"bench-floor.{os.getpid()}")
        try:
            os.mkdir(where)
        except OSError:
            where = None
    try:
        yield where
    finally:
        if where:
            os.rmdir(where)


def crash_storm(workdir, n=1000, seconds=10):
    """n services that exit at once and are restarted with no backoff, and status meanwhile."""
    lines = [f'[[service]]\nname = "c{i}"\ncommand = ["/bin/false"]\nbackoff = {{ initial = "0s" }}\nlog = "null"\n'
             for i in range(n)]
    tend = Tend("\n".join(lines), workdir)
    try:
        wait_until("the control socket", lambda: os.path.exists(tend.socket), 60)
        time.sleep(2)  # let the storm build up
        deadline = time.monotonic() + seconds
        command, raw, zombies = [], [], []
        while time.monotonic() < deadline:
            c, r = tend.status_times(1)
            command += c
            raw += r
            ps = subprocess.run(["ps", "--ppid", str(tend.proc.pid), "-o", "stat="], capture_output=True, text=True).stdout
            zombies.append(sum(1 for line in ps.split() if line.startswith("Z")))
        restarts = 0
        out = subprocess.run([TEND, "status", "--json", "--socket", tend.socket], capture_output=True, text=True).stdout
        restarts = sum(s["restarts"] for s in json.loads(out)["services"])
        code = tend.stop()
        with open(tend.stderr_path, "rb") as f:
            log = f.read().decode(errors="replace")
        started = log.count(": started (pid ")
        ended = log.count(": exited (pid ") + log.count(": stopped (pid ")
        leftover = subprocess.run(["ps", "--ppid", str(tend.proc.pid), "-o", "pid="], capture_output=True, text=True).stdout.split()
        return {"services": n, "seconds": seconds, "restarts": restarts,
                "restarts_per_second": round(restarts / (seconds + 2), 0), "status_json": {"command": summary(command),
                                                                                          "socket": summary(raw)},
                "max_transient_zombies": max(zombies), "starts": started, "ends": ended,
                "exit_status": code, "leftover_children": len(leftover)}
    finally:
        if tend.proc.poll() is None:
            tend.proc.kill()


def soak_config(n, generation):
    """n services that end at random: some exit 0, some exit 1, some die of SIGKILL, after
    0.2 to 20 s; the default log setting (a pipe each). `generation` changes the command of
    one service in a hundred and the name of the last, so a reload restarts some, removes
    one and adds one."""
    lines = []
    for i in range(n):
        seconds = random.Random(i).uniform(0.2, 20)
        end = ["exit 0", "exit 1", "kill -9 $$"][i % 3]
        changed = i % 100 == generation % 100
        name = f"s{i}" if i < n - 1 else f"last{generation}"
        lines.append(f'[[service]]\nname = "{name}"\ncommand = "sleep {seconds:.2f}; echo tick{generation if changed else ""}; {end}"\n'
                     'backoff = { initial = "100ms", max = "2s" }\n')
    lines.append('[supervisor]\nintensity = 1000000\nperiod = "1s"\n')
    return "\n".join(lines)


def soak(workdir, n=1000):
    """n services crashing at random for BENCH_SOAK_SECONDS (default 600), a reload every 10 s
    and a status query every second: tend's RSS and fds at the start and the end, every start
    matched by an end, no zombie and no process left."""
    seconds = int(os.environ.get("BENCH_SOAK_SECONDS", "600"))
    tend = Tend(soak_config(n, 0), workdir)
    try:
        wait_until("the control socket", lambda: os.path.exists(tend.socket), 60)
        time.sleep(10)  # bring-up, and the first ends and restarts
        pid = tend.proc.pid
        start = {"rss_mb": round(int(proc_status(pid)["VmRSS"].split()[0]) / 1024, 1), "fds": len(os.listdir(f"/proc/{pid}/fd"))}
        began = time.monotonic()
        reloads, failed_reloads, statuses, zombies, generation, reload_errors = 0, 0, [], [], 0, []
        next_reload = began + 10
        while time.monotonic() - began < seconds:
            t = time.monotonic()
            out = subprocess.run([TEND, "status", "--json", "--socket", tend.socket], capture_output=True)
            statuses.append((time.monotonic() - t) * 1000)
            if out.returncode != 0:
                raise RuntimeError(f"tend status failed: {out.stderr.decode()}")
            ps = subprocess.run(["ps", "--ppid", str(pid), "-o", "stat="], capture_output=True, text=True).stdout
            zombies.append(sum(1 for line in ps.split() if line.startswith("Z")))
            if time.monotonic() >= next_reload:
                generation += 1
                with open(os.path.join(workdir, "tend.toml"), "w") as f:
                    f.write(soak_config(n, generation))
                r = subprocess.run([TEND, "reload", "--socket", tend.socket], capture_output=True, timeout=120)
                reloads += 1
                # Answered with the services that did not come up (they crash at random): a
                # reload that did not apply says "reload failed" or "already under way".
                if r.returncode != 0 and ("reload failed" in r.stderr.decode(errors="replace")
                                          or "already under way" in r.stderr.decode(errors="replace")):
                    failed_reloads += 1
                    reload_errors.append(r.stderr.decode(errors="replace").strip()[:300])
                next_reload += 10
            time.sleep(max(0, 1 - (time.monotonic() - t)))  # one query a second: the load, not a wait
        end = {"rss_mb": round(int(proc_status(pid)["VmRSS"].split()[0]) / 1024, 1), "fds": len(os.listdir(f"/proc/{pid}/fd"))}
        code = tend.stop()
        with open(tend.stderr_path, "rb") as f:
            log = f.read().decode(errors="replace")
        started = log.count(": started (pid ")
        ended = log.count(": exited (pid ") + log.count(": stopped (pid ")
        leftover = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True).stdout.split()
        return {"services": n, "seconds": seconds, "start": start, "end": end, "reloads": reloads,
                "failed_reloads": failed_reloads, "reload_errors": reload_errors[:3], "status_json": summary(statuses), "starts": started, "ends": ended,
                "max_transient_zombies": max(zombies), "leftover_children": len(leftover), "exit_status": code}
    finally:
        if tend.proc.poll() is None:
            tend.proc.kill()


def control_abuse(workdir, held=1000):
    """`tend status` from root while `held` connections are opened and held (some silent, some
    half a request, some byte by byte), with 100 services: its wall-clock latency."""
    lines = [f'[[service]]\nname = "s{i}"\ncommand = ["sleep", "100000"]\n' for i in range(100)]
    tend = Tend("\n".join(lines), workdir)
    clients = []
    try:
        wait_until("the control socket", lambda: os.path.exists(tend.socket), 60)
        wait_until("100 children", lambda: tend.log_contains("s99: started"), 60)
        for i in range(held):
            c = socket.socket(socket.AF_UNIX)
            c.connect(tend.socket)
            if i % 3 == 1:
                c.send(b'{"version":1,"comm')
            clients.append(c)
        slow = [c for i, c in enumerate(clients) if i % 3 == 2]
        times = []
        for round_ in range(50):
            for c in slow[:20]:
                try:
                    c.send(b" ")
                except OSError:
                    pass
            t = time.monotonic()
            out = subprocess.run([TEND, "status", "--json", "--socket", tend.socket], capture_output=True)
            times.append((time.monotonic() - t) * 1000)
            if out.returncode != 0:
                raise RuntimeError(f"tend status failed: {out.stderr.decode()}")
            time.sleep(0.05)  # spacing between queries, not a wait for anything
        return {"held_connections": held, "services": 100, "status": summary(times), "exit_status": tend.stop()}
    finally:
        for c in clients:
            c.close()
        if tend.proc.poll() is None:
            tend.proc.kill()


def status_rows(tend):
    out = subprocess.run([TEND, "status", "--json", "--socket", tend.socket], capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)["services"]


def epoch_ns(iso):
    """2026-12-02T05:00:00.250Z -> nanoseconds since the epoch."""
    whole, _, fraction = iso.rstrip("Z").partition(".")
    t = time.strptime(whole, "%Y-%m-%dT%H:%M:%S")
    import calendar
    return calendar.timegm(t) * 1_000_000_000 + int((fraction or "0").ljust(3, "0")[:3]) * 1_000_000


def jobs(workdir, n=1000, seconds=60):
    """n jobs on `every 1s` (default logging): each run's start against its due time, runs
    skipped or sharing a due time, and tend's CPU. All n come due together one interval after
    tend starts; each next run is an interval after the last one began (as tend defines
    `every`), which the job's own stamps give: due = the last start + 1 s, or for the first run
    the next_run `tend status --json` shows before it."""
    probe = probe_binary(workdir, "job_probe")
    log = os.path.join(workdir, "jobs.log")
    lines = [f'[[service]]\nname = "j{i}"\ncommand = ["{probe}", "j{i}"]\nschedule = "every 1s"\n'
             f'environment = {{ PROBE_LOG = "{log}" }}\n' for i in range(n)]
    tend = Tend("\n".join(lines), workdir)
    try:
        wait_until("the control socket", lambda: os.path.exists(tend.socket), 60)
        first_due = {row["name"]: epoch_ns(row["next_run"]) for row in status_rows(tend)}
        pid = tend.proc.pid
        cpu0, t0 = cpu_ns(pid), time.time_ns()
        time.sleep(seconds)  # the span measured
        cpu1, t1 = cpu_ns(pid), time.time_ns()
        rows = status_rows(tend)
        code = tend.stop()
        with open(tend.stderr_path, "rb") as f:
            skipped = f.read().decode(errors="replace").count(": skipped")
        starts = {}
        with open(log) as f:
            for line in f:
                name, ns = line.split()
                starts.setdefault(name, []).append(int(ns))
        late, steady, runs = [], [], 0
        for name, times in starts.items():
            due = first_due[name]
            for ns in sorted(times):
                if ns < t1:
                    runs += 1
                    late.append((ns - due) / 1e6)
                    if ns >= t0 + 5_000_000_000:
                        steady.append((ns - due) / 1e6)
                due = ns + 1_000_000_000
        floor = probe_binary(workdir, "spawn_floor")
        kernel_us = float(subprocess.run([floor, "5000", probe, "floor"], env={**os.environ, "PROBE_LOG": log + ".floor"},
                                         capture_output=True, text=True, check=True).stdout)
        return {"jobs": n, "seconds": seconds, "runs": runs, "runs_expected": n * seconds,
                "cpu_us_per_run": round((cpu1 - cpu0) / 1e3 / max(runs, 1), 1), "kernel_floor_us_per_run": kernel_us,
                "start_after_due": summary(late), "after_the_first_5_s": summary(steady), "skipped": skipped,
                "failed_runs": sum(1 for r in rows if (r.get("last_run") or {}).get("result") == "failed"),
                "cpu_percent_of_one_core": round((cpu1 - cpu0) / (t1 - t0) * 100, 2), "exit_status": code}
    finally:
        if tend.proc.poll() is None:
            tend.proc.kill()


def health_checks(workdir, n=1000, seconds=30):
    """n services with an exec health check every 1 s (default logging): tend's CPU per check."""
    probe = probe_binary(workdir, "job_probe")
    log = os.path.join(workdir, "checks.log")
    lines = [f'[[service]]\nname = "h{i}"\ncommand = ["sleep", "100000"]\n'
             f'health = {{ exec = ["{probe}", "h{i}"], interval = "1s" }}\n'
             f'environment = {{ PROBE_LOG = "{log}" }}\n' for i in range(n)]
    tend = Tend("\n".join(lines), workdir)
    try:
        wait_until(f"{n} children", lambda: tend.log_contains(f"h{n - 1}: started"), 300)
        time.sleep(3)  # the first checks
        pid = tend.proc.pid

        def checks():
            with open(log) as f:
                return sum(1 for _ in f)
        cpu0, c0, t0 = cpu_ns(pid), checks(), time.monotonic()
        time.sleep(seconds)  # the span measured
        cpu1, c1, t1 = cpu_ns(pid), checks(), time.monotonic()
        unhealthy = sum(1 for r in status_rows(tend) if r["health"] != "healthy")
        code = tend.stop()
        count = c1 - c0
        return {"services": n, "seconds": seconds, "checks": count, "checks_per_second": round(count / (t1 - t0), 1),
                "cpu_us_per_check": round((cpu1 - cpu0) / 1e3 / max(count, 1), 1),
                "cpu_percent_of_one_core": round((cpu1 - cpu0) / ((t1 - t0) * 1e9) * 100, 2),
                "not_healthy_at_end": unhealthy, "exit_status": code}
    finally:
        if tend.proc.poll() is None:
            tend.proc.kill()


class Box:
    """systemd as PID 1 in the throw-away box of the end-to-end tests, never on the host."""

    def __init__(self):
        out = subprocess.run(["bash", BOX, "start", PROJECT], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"the systemd box did not boot: {out.stderr}")
        self.pid = out.stdout.strip()

    def sh(self, script, timeout=120, check=True):
        out = subprocess.run(["timeout", str(timeout), "nsenter", "-t", self.pid, "-a", "bash", "-c", script],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if check and out.returncode != 0:
            raise RuntimeError(f"in the box: {script}: {out.stdout}{out.stderr}")
        return out.stdout.strip()

    def cpu_seconds(self, unit):
        """CPU time of the unit's main process (schedstat: nanoseconds, not 10 ms ticks)."""
        pid = self.sh(f"systemctl show -p MainPID --value {unit}")
        return int(self.sh(f"cat /proc/{pid}/schedstat").split()[0]) / 1e9

    def close(self):
        subprocess.run(["bash", BOX, "stop", self.pid])


def journal_throughput(lines=500000, rounds=3):
    """Lines per second into journald, lost lines and CPU: through tend vs a plain unit."""
    box = Box()
    try:
        box.sh(f"cd {PROJECT} && make install >/dev/null", timeout=600)
        writer = f"/usr/bin/seq -f %099g 1 {lines}"  # 100-byte lines with their number
        last = "%099d" % lines
        box.sh("cat > /etc/tend/tend.toml <<'EOF'\n[[service]]\nname = \"flood\"\n"
               f"command = \"{writer}\"\nrestart = \"never\"\nautostart = false\nEOF\n"
               "systemctl start tend")
        runs = {"tend": [], "plain": []}
        for r in range(rounds):
            # Each first in turn, each on a fresh journal file (rotation is not in a run).
            for kind in (("plain", "tend") if r % 2 == 0 else ("tend", "plain")):
                ident = f"{kind}{r}"
                box.sh("journalctl --rotate && journalctl --vacuum-files=1 >/dev/null 2>&1")
                journald0 = box.cpu_seconds("systemd-journald")
                tend0 = box.cpu_seconds("tend")
                t0 = time.monotonic()
                if kind == "plain":
                    box.sh(f"systemd-run --quiet --unit={ident} -p StandardOutput=journal -p SyslogIdentifier={ident} "
                           f"-p LogRateLimitIntervalSec=10s -p LogRateLimitBurst=1000000 {writer}")
                else:
                    box.sh(f"sed -i 's/^name = .*/name = \"{ident}\"/' /etc/tend/tend.toml && tend reload >/dev/null && tend start {ident}")
                    t0 = time.monotonic()  # the reload is not the writer's time
                deadline = time.monotonic() + 300
                while box.sh(f"journalctl -t {ident} -n 1 -o cat", check=False) != last:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.1)  # poll interval of a wait with a deadline
                elapsed = time.monotonic() - t0
                journald = box.cpu_seconds("systemd-journald") - journald0
                tend_cpu = box.cpu_seconds("tend") - tend0
                got = int(box.sh(f"journalctl -t {ident} -o cat | wc -l"))
                runs[kind].append({"seconds": round(elapsed, 2), "lines_per_second": round(got / elapsed),
                                   "lost": lines - got, "journald_cpu_s": round(journald, 2),
                                   "tend_cpu_s": round(tend_cpu, 4) if kind == "tend" else None})
        # The median run of each: journald's speed varies by a tenth from run to run here.
        best = {k: sorted(v, key=lambda x: x["lines_per_second"])[len(v) // 2] for k, v in runs.items()}
        t, p = best["tend"], best["plain"]
        return {"lines": lines, "line_bytes": 100, "runs": runs, "tend": t, "plain_unit": p,
                "rate_ratio": round(t["lines_per_second"] / p["lines_per_second"], 3),
                "tend_cpu_share_of_journald": round(t["tend_cpu_s"] / max(t["journald_cpu_s"], 0.01), 4)}
    finally:
        box.close()


def count_syscalls(pid, seconds=5):
    """System calls tend makes in `seconds` under strace (None when strace is missing)."""
    if not shutil.which("strace"):
        return None
    out = subprocess.run(["timeout", "-s", "INT", str(seconds), "strace", "-c", "-f", "-p", str(pid)],
                         capture_output=True, text=True).stderr
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[-1] == "total":
            return int(parts[3]) if parts[3].isdigit() else int(parts[2])
    return 0


def reexec(workdir, n=1000, rounds=5):
    """`tend reexec` with n `sleep` services (default logging: a pipe per service): the longest
    time control does not answer, from a client sending `status` of one service on a new
    connection, one after another, through each exec (a status of all n would add its own 25 ms
    to each gap); beside it the longest gap of the same client over as long without a reexec,
    and the floor of any exec of this binary (`tend --help`, run to its end)."""
    import threading
    lines = [f'[[service]]\nname = "s{i}"\ncommand = ["sleep", "100000"]\n' for i in range(n)]
    tend = Tend("\n".join(lines), workdir)

    def ask():
        return b'"ok":true' in control_request(tend.socket, b'{"version":1,"command":"status","names":["s0"]}\n')

    def longest_gap(during):
        """Runs `during` while the client asks: the longest span between two answers, in ms."""
        answers, retries, done = [time.monotonic()], [0], threading.Event()

        def client():
            while not done.is_set():
                try:
                    if ask():
                        answers.append(time.monotonic())
                    else:
                        retries[0] += 1
                except OSError:
                    retries[0] += 1
        thread = threading.Thread(target=client)
        thread.start()
        wait_until("a first answer", lambda: len(answers) > 2, 30)
        during()
        time.sleep(0.2)  # answers after the exec, so that the gap across it is closed
        done.set()
        thread.join()
        return max(b - a for a, b in zip(answers[1:], answers[2:])) * 1000, retries[0]

    try:
        wait_until(f"{n} children", lambda: tend.log_contains(f"s{n - 1}: started"), 120)
        time.sleep(0.5)  # let start-up's allocations settle
        pid = tend.proc.pid
        fds_before = len(os.listdir(f"/proc/{pid}/fd"))
        rss_before = int(proc_status(pid)["VmRSS"].split()[0]) / 1024
        gaps, retried, commands = [], 0, []

        def one():
            t = time.monotonic()
            out = subprocess.run([TEND, "reexec", "--socket", tend.socket], capture_output=True, text=True)
            commands.append((time.monotonic() - t) * 1000)
            if out.returncode != 0:
                raise RuntimeError(f"tend reexec failed: {out.stderr}")
        for _ in range(rounds):
            gap, retries = longest_gap(one)
            gaps.append(gap)
            retried += retries
        quiet = [longest_gap(lambda: time.sleep(max(commands) / 1000))[0] for _ in range(rounds)]
        exec_floor = []
        for _ in range(20):
            t = time.monotonic()
            subprocess.run([TEND, "--help"], capture_output=True, check=True)
            exec_floor.append((time.monotonic() - t) * 1000)
        result = {"services": n, "rounds": rounds, "max_gap_ms": round(max(gaps), 1),
                  "gaps_ms": [round(g, 1) for g in gaps], "quiet_max_gap_ms": round(max(quiet), 1),
                  "exec_floor_ms": round(percentile(exec_floor, 50), 2), "command_p50_ms": round(percentile(commands, 50), 1),
                  "retried": retried, "same_pid": tend.proc.poll() is None,
                  "fds": [fds_before, len(os.listdir(f"/proc/{pid}/fd"))],
                  "rss_mb": [round(rss_before, 1), round(int(proc_status(pid)["VmRSS"].split()[0]) / 1024, 1)],
                  "running": len(json.loads(subprocess.run([TEND, "status", "--json", "--socket", tend.socket],
                                                           capture_output=True).stdout)["services"])}
        result["exit_status"] = tend.stop()
        return result
    finally:
        if tend.proc.poll() is None:
            tend.proc.kill()


def metrics_scrape(workdir, n=1000, scrapes=100, fresh=15):
    """`GET /metrics` of n `sleep` services (default logging): the wall time of a scrape on a
    new connection, as Prometheus makes one, and its bytes. `fresh` scrapes come each more
    than a second after the last (tend writes the page anew, as for any real scraper); then
    `scrapes` back to back share pages (tend writes one a second). tend's RSS after them
    beside a tend of the same tree without metrics (a run of its own, the same settle)."""
    port = free_port()
    lines = [f'[[service]]\nname = "s{i}"\ncommand = ["sleep", "100000"]\n' for i in range(n)]

    def scrape():
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        return data

    def run(metrics):
        sub = os.path.join(workdir, "on" if metrics else "off")
        os.makedirs(sub)
        head = f'[supervisor]\nmetrics = "127.0.0.1:{port}"\n\n' if metrics else ""
        tend = Tend(head + "\n".join(lines), sub)
        try:
            wait_until(f"{n} children", lambda: tend.log_contains(f"s{n - 1}: started"), 120)
            time.sleep(0.5)
            result = {}
            if metrics:
                page = scrape()
                fresh_times, times = [], []
                for _ in range(fresh):
                    time.sleep(1.1)  # past the page's second: written anew
                    t = time.monotonic()
                    page = scrape()
                    fresh_times.append((time.monotonic() - t) * 1000)
                for _ in range(scrapes):
                    t = time.monotonic()
                    page = scrape()
                    times.append((time.monotonic() - t) * 1000)
                body = page.split(b"\r\n\r\n", 1)[1]
                result = {"scrape": summary(fresh_times), "scrape_shared": summary(times), "bytes": len(body),
                          "samples": sum(1 for l in body.split(b"\n") if l and not l.startswith(b"#"))}
            result["rss_mb"] = round(int(proc_status(tend.proc.pid)["VmRSS"].split()[0]) / 1024, 1)
            return result
        finally:
            tend.stop()

    on = run(True)
    off = run(False)
    return {"services": n, "scrapes": scrapes, **on, "rss_mb_without_metrics": off["rss_mb"]}


def deb_size(workdir):
    """The .deb `make deb` builds (the static binary stripped, units, catalog, man page,
    completions, the example config), in KB, beside the stripped binary alone."""
    project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(["scripts/deb.sh"], cwd=project, env={**os.environ, "LINT": "0"}, capture_output=True, text=True, check=True)
    path = os.path.join(project, out.stdout.split(":")[0])
    binary = os.path.join(os.path.dirname(path), os.path.basename(path)[:-len(".deb")], "usr", "bin", "tend")
    return {"deb_kb": os.path.getsize(path) // 1024, "binary_kb": os.path.getsize(binary) // 1024}


def scale(workdir, n=1000):
    """`tend scale` of a `sleep` service with instances from 1 to n and back to 1, default
    logging (a pipe per copy): the time until `tend scale` answers (settled: every copy running,
    or every surplus one stopped), RSS and fds at each end."""
    tend = Tend('[[service]]\nname = "worker"\ncommand = ["sleep", "100000"]\ninstances = 1\n', workdir)
    try:
        wait_until("worker@1", lambda: tend.log_contains("worker@1: started"), 30)
        time.sleep(0.5)  # let start-up's allocations settle before the first reading
        pid = tend.proc.pid

        def reading():
            return {"rss_mb": round(int(proc_status(pid)["VmRSS"].split()[0]) / 1024, 2),
                    "pss_mb": round((pss_kb(pid) or 0) / 1024, 2), "fds": len(os.listdir(f"/proc/{pid}/fd"))}

        def timed(count):
            t = time.monotonic()
            out = subprocess.run([TEND, "scale", "worker", str(count), "--socket", tend.socket], capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"tend scale failed: {out.stderr}")
            return round(time.monotonic() - t, 3)

        result = {"instances": n, "at_1": reading()}
        result["up_seconds"] = timed(n)
        result["at_n"] = reading()
        result["down_seconds"] = timed(1)
        result["back_at_1"] = reading()
        result["rss_kb_per_instance"] = round((result["at_n"]["rss_mb"] - result["at_1"]["rss_mb"]) * 1024 / (n - 1), 1)
        result["running_at_end"] = len(json.loads(subprocess.run([TEND, "status", "--json", "--socket", tend.socket],
                                                                 capture_output=True).stdout)["services"])
        result["exit_status"] = tend.stop()
        return result
    finally:
        if tend.proc.poll() is None:
            tend.proc.kill()


def main():
    os.makedirs(OUT, exist_ok=True)
    results = {"tend": TEND}
    # BENCH_ONLY=jobs,health runs some of them (the table then shows only those).
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    measures = [("restart_latency", restart_latency), ("bring_up_1000", lambda d: bring_up(d, 1000, idle=True)),
                ("bring_up_10000", lambda d: bring_up(d, 10000, status=True)),
                ("stop_10000_parallel", lambda d: bring_up(d, 10000, parallel=True)),
                ("reexec_1000", reexec), ("listen_restarts", listen_restarts), ("listen_restarts_floor", lambda d: listen_restarts(d, held=False)),
                ("bring_up_1000_default_log", lambda d: bring_up(d, 1000, default_log=True)),
                ("bring_up_10000_default_log", lambda d: bring_up(d, 10000, default_log=True)), ("crash_storm", crash_storm),
                ("jobs", jobs), ("health", health_checks), ("journal", lambda d: journal_throughput()), ("control_abuse", control_abuse),
                ("scale", scale), ("metrics", metrics_scrape), ("deb", deb_size), ("soak", soak)]
    for name, measure in measures:
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory() as d:
            results[name] = measure(d)
    with open(os.path.join(OUT, "bench.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))

    def floor_row(b):
        """The C loop's time, plain and into cgroups, and tend's as a multiple of the one its mode
        matches (a cgroup per service, or none)."""
        cgroup = b.get("c_loop_cgroup_floor_s")
        matched = cgroup if b["cgroups"] and cgroup else b["c_loop_floor_s"]
        text = f"{b['c_loop_floor_s']} s" + (f", into cgroups {cgroup} s" if cgroup else "")
        return ("  a C loop starting the same", text + f"; tend {b['seconds'] / matched:.2f}x", "")

    rows = []
    if "restart_latency" in results:
        r = results["restart_latency"]
        rows += [("restart latency p50", f"{r['p50_ms']} ms", "< 1 ms"),
                 ("restart latency p99", f"{r['p99_ms']} ms", "< 3 ms")]
    if "bring_up_1000" in results:
        b1 = results["bring_up_1000"]
        idle = b1["idle"]
        rows += [("1,000 children up", f"{b1['seconds']} s, RSS {b1['rss_mb']} MB", ""),
                 floor_row(b1),
                 (f"idle {idle['seconds']:.0f} s, 1,000 children", f"{idle['cpu_ms']} ms CPU, {idle['context_switches']} wakeups", "< 5 ms, 0 wakeups"),
                 ("idle system calls (strace, 5 s)", f"{idle['syscalls']}", "0")]
    if "bring_up_10000" in results:
        b10 = results["bring_up_10000"]
        rows += [("10,000 children up", f"{b10['seconds']} s, RSS {b10['rss_mb']} MB", "< 5 s, < 50 MB"),
                 floor_row(b10),
                 ("status --json, 10,000 services", f"p50 {b10['status_json']['command']['p50_ms']} ms, p99 {b10['status_json']['command']['p99_ms']} ms", "< 100 ms"),
                 ("  same request, raw socket", f"p50 {b10['status_json']['socket']['p50_ms']} ms", "")]
    if "stop_10000_parallel" in results:
        sp = results["stop_10000_parallel"]
        in_order = f" (in order: {results['bring_up_10000']['stop_seconds']} s)" if "bring_up_10000" in results else ""
        rows += [("10,000 stopped, parallel root group", f"{sp['stop_seconds']} s{in_order}, exit {sp['exit_status']}", "< 2 s"),
                 ("  a C loop stopping the same", f"{sp['c_loop_stop_s']} s; tend {sp['stop_seconds'] / sp['c_loop_stop_s']:.2f}x", "")]
    if "reexec_1000" in results:
        rx = results["reexec_1000"]
        rows += [(f"tend reexec, {rx['services']:,} services", f"control paused {rx['max_gap_ms']} ms at most ({rx['rounds']} execs)", "< 100 ms"),
                 ("  without reexec / an exec of tend", f"{rx['quiet_max_gap_ms']} ms / {rx['exec_floor_ms']} ms", ""),
                 ("  fds, RSS before -> after", f"{rx['fds'][0]} -> {rx['fds'][1]}, {rx['rss_mb'][0]} -> {rx['rss_mb'][1]} MB", "equal fds")]
    if "metrics" in results:
        m = results["metrics"]
        rows += [(f"GET /metrics, {m['services']:,} services", f"p50 {m['scrape']['p50_ms']} ms, p99 {m['scrape']['p99_ms']} ms, "
                  f"{m['bytes']:,} bytes ({m['samples']:,} samples)", "< 5 ms"),
                 ("  back to back (a page a second, shared)", f"p50 {m['scrape_shared']['p50_ms']} ms, p99 {m['scrape_shared']['p99_ms']} ms", ""),
                 ("  RSS with metrics / without", f"{m['rss_mb']} / {m['rss_mb_without_metrics']} MB", "")]
    if "deb" in results:
        rows += [("make deb: the package / the binary in it", f"{results['deb']['deb_kb']:,} KB / {results['deb']['binary_kb']:,} KB", "")]
    if "listen_restarts" in results:
        lr = results["listen_restarts"]
        rows += [(f"connections through {lr['restarts']} restarts, listen", f"{lr['refused']} refused, {lr['other']} cut, {lr['ok']} answered", "0 refused")]
    if "listen_restarts_floor" in results:
        lf = results["listen_restarts_floor"]
        rows += [("  the server binding its own socket", f"{lf['refused']} refused, {lf['other']} cut, {lf['ok']} answered", "")]
    if "bring_up_1000_default_log" in results:
        b1d = results["bring_up_1000_default_log"]
        rows += [("1,000 children up, default logging", f"{b1d['seconds']} s, {b1d['fds']} fds, {b1d['spawn_failed']} failed", ""),
                 floor_row(b1d)]
    if "bring_up_10000_default_log" in results:
        bd = results["bring_up_10000_default_log"]
        rows += [("10,000 children up, default logging", f"{bd['seconds']} s, {bd['fds']} fds, {bd['spawn_failed']} failed", "< 5 s, 0 failed"),
                 ("  first 1,000 / last 1,000", f"{bd['first_1000_s']} s / {bd['last_1000_s']} s", "last <= first"),
                 ("  a C loop starting the same 10,000", f"{bd['c_loop_floor_s']} s (first 1,000: {bd['c_loop_floor_first_1000_s']} s)", "")]
    if "crash_storm" in results:
        storm = results["crash_storm"]
        rows += [("status --json, 1,000 crashing", f"p99 {storm['status_json']['command']['p99_ms']} ms, {storm['restarts_per_second']:.0f} restarts/s", "p99 < 100 ms"),
                 ("  starts vs ends, leftovers", f"{storm['starts']} / {storm['ends']}, {storm['leftover_children']} left, exit {storm['exit_status']}", "equal, 0, 0")]
    if "control_abuse" in results:
        ca = results["control_abuse"]
        rows += [(f"status --json, 100 services, {ca['held_connections']:,} connections held", f"p50 {ca['status']['p50_ms']} ms, p99 {ca['status']['p99_ms']} ms", "< 100 ms")]
    if "scale" in results:
        sc = results["scale"]
        rows += [(f"tend scale 1 -> {sc['instances']:,} -> 1, default logging", f"{sc['up_seconds']} s up, {sc['down_seconds']} s down", "settled"),
                 ("  RSS at 1 / at 1,000 / back at 1", f"{sc['at_1']['rss_mb']} / {sc['at_n']['rss_mb']} / {sc['back_at_1']['rss_mb']} MB", ""),
                 ("  RSS per instance, fds back at 1", f"{sc['rss_kb_per_instance']} KB, {sc['at_1']['fds']} -> {sc['back_at_1']['fds']}", "equal fds")]
    if "soak" in results:
        sk = results["soak"]
        rows += [(f"soak: {sk['services']:,} crashing, {sk['seconds']} s, reload every 10 s", f"RSS {sk['start']['rss_mb']} -> {sk['end']['rss_mb']} MB, fds {sk['start']['fds']} -> {sk['end']['fds']}", "no growth"),
                 ("  starts vs ends, reloads failed", f"{sk['starts']} / {sk['ends']}, {sk['failed_reloads']} of {sk['reloads']}", "equal, 0"),
                 ("  zombies, leftovers, status p99", f"{sk['max_transient_zombies']} max, {sk['leftover_children']} left, {sk['status_json']['p99_ms']} ms", "0 left")]
    if "jobs" in results:
        jb = results["jobs"]
        rows += [(f"{jb['jobs']:,} jobs every 1s, {jb['seconds']} s", f"start after due p50 {jb['start_after_due']['p50_ms']} ms, p99 {jb['start_after_due']['p99_ms']} ms", "p99 < 50 ms"),
                 ("  after the first 5 s", f"p99 {jb['after_the_first_5_s']['p99_ms']} ms, max {jb['after_the_first_5_s']['max_ms']} ms", ""),
                 ("  runs / expected, skipped", f"{jb['runs']} / {jb['runs_expected']}, {jb['skipped']}", "~all, 0"),
                 ("  tend's CPU", f"{jb['cpu_percent_of_one_core']} % of one core, {jb['cpu_us_per_run']} us per run", "< 2 %"),
                 ("  a C loop's CPU to clone, exec, reap", f"{jb['kernel_floor_us_per_run']} us per run", "")]
    if "health" in results:
        hc = results["health"]
        rows += [(f"{hc['services']:,} exec health checks every 1s", f"{hc['checks_per_second']} checks/s, {hc['cpu_us_per_check']} us CPU each", ""),
                 ("  tend's CPU", f"{hc['cpu_percent_of_one_core']} % of one core, {hc['not_healthy_at_end']} not healthy", "")]
    if "journal" in results:
        j = results["journal"]
        rows += [("journal, 500,000 lines via tend", f"{j['tend']['lines_per_second']} lines/s, {j['tend']['lost']} lost", ""),
                 ("  same child, plain unit", f"{j['plain_unit']['lines_per_second']} lines/s, {j['plain_unit']['lost']} lost", ""),
                 ("  tend's rate / the plain unit's", f"{j['rate_ratio']}", ">= 0.95"),
                 ("  tend's CPU / journald's", f"{j['tend']['tend_cpu_s']} s / {j['tend']['journald_cpu_s']} s = {j['tend_cpu_share_of_journald']}", "< 0.02")]
    width = max(len(a) for a, _, _ in rows)
    print()
    print(f"{'measure'.ljust(width)}  {'result':<32} target")
    for a, b, c in rows:
        print(f"{a.ljust(width)}  {b:<32} {c}")


if __name__ == "__main__":
    sys.exit(main())

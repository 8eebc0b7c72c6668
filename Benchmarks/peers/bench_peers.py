"""make bench-peers: tend beside supervisord, runit, s6, daemontools and systemd (as PID 1 of a
throw-away box), the same scenarios on the same machine in one run. One JSON per scenario and peer under bench-results/peers/, and a
markdown table per scenario with each figure and tend's ratio to the best peer.

    python3 Benchmarks/peers/bench_peers.py [--scenarios restart,scale,idle,storm,logs] [--peers tend,s6]
        [--sizes 1000,10000] [--restarts 50] [--idle-seconds 30] [--storm-seconds 30] [--storm-services 1000]
        [--status-seconds 10] [--log-lines 500000]
"""
import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import supervisors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "bench-results", "peers")
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def percentile(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def wait_until(what, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)  # poll interval of a wait with a deadline
    print(f"  timed out waiting for {what}", file=sys.stderr)
    return False


class Stamps:
    """The children's stamp file, read as it grows."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.lines = []
        open(path, "w").close()

    def read(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode().splitlines():
            what, name, ns = line.split()
            self.lines.append((what, name, int(ns)))
        return self.lines

    def count(self, what):
        return sum(1 for w, _, _ in self.read() if w == what)


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def switches(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def memory_kb(pids):
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def host_busy_ticks():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


def zombies(parents):
    """Zombies whose parent is one of `parents` (the supervisor's own processes)."""
    count = 0
    for pid in parents:
        for child in supervisors.children(pid):
            try:
                with open(f"/proc/{child}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        count += 1
            except OSError:
                pass
    return count


def timed(argv, timeout=5.0):
    """Wall-clock ms of one run of a status tool; None when it timed out or failed."""
    t = time.monotonic()
    try:
        out = subprocess.run(argv, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    ms = (time.monotonic() - t) * 1000
    return ms if out.returncode == 0 or out.stdout else None


def save(name, figures):
    """bench-results/peers/NAME.json, rewritten by every run."""
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(figures, f, indent=2)


def status_figures(samples):
    done = [s for s in samples if s is not None]
    return {"runs": len(samples), "timeouts": len(samples) - len(done),
            "p50_ms": round(percentile(done, 50), 2) if done else None,
            "p90_ms": round(percentile(done, 90), 2) if done else None}


class Run:
    """One peer in a fresh directory with a fresh stamp file; always torn down."""

    def __init__(self, cls, args, services, quick=False, logs=False):
        base = supervisors.BOX_WORK if cls.in_box or (logs and cls.logs_in_box) else None
        if base:
            os.makedirs(base, exist_ok=True)
        self.tmp = tempfile.TemporaryDirectory(prefix=f"peer-{cls.name}-", dir=base)
        self.stamps = Stamps(os.path.join(self.tmp.name, "stamps"))
        extra = (args.tend,) if cls is supervisors.Tend else ()
        self.peer = cls(self.tmp.name, args.child, self.stamps.path, *extra)
        if cls is supervisors.Tend:
            self.peer.quick = quick
        self.peer.logs = logs
        self.peer.configure(services)

    def __enter__(self):
        try:
            self.peer.prepare()
            # Work done before the start (systemd's boot) is not the start's.
            self.cpu_before = cpu_ticks(self.peer.prepared_pids())
            self.logger_cpu_before = cpu_ticks(self.peer.logger_pids())
            self.started_at = time.monotonic()
            self.peer.start()
        except BaseException:
            # `with` calls __exit__ only once __enter__ has returned: a box booted by a
            # prepare that failed later would outlive the run.
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.peer.kill()
        # A log file may still be closing as its writer dies.
        shutil.rmtree(self.tmp.name, ignore_errors=True)


def scenario_restart(cls, args):
    """One service that runs 1.2 s and exits 1: the gap from its last stamp to the next start."""
    n = args.restarts
    with Run(cls, args, [("probe", ["run", "1200", "1"])], quick=True) as run:
        wait_until(f"{n + 1} starts", lambda: run.stamps.count("S") > n, n * 3 + 30)
        run.peer.stop()
        lines = run.stamps.read()
    return restart_gaps(lines, n)


def restart_gaps(lines, n):
    starts = [ns for w, _, ns in lines if w == "S"]
    ends = [ns for w, _, ns in lines if w == "E"]
    gaps = [(starts[i + 1] - ends[i]) / 1e6 for i in range(min(len(ends), len(starts) - 1))][:n]
    return {"restarts": len(gaps), "p50_ms": round(percentile(gaps, 50), 3), "p90_ms": round(percentile(gaps, 90), 3),
            "max_ms": round(max(gaps), 3)}


def restart_floor(args):
    """The same child, the same 1.2 s runs, in a plain fork+exec+waitpid loop."""
    with tempfile.TemporaryDirectory() as d:
        stamps = Stamps(os.path.join(d, "stamps"))
        subprocess.run([args.child, stamps.path, "floor", "floor", "1200", str(args.restarts + 1)], check=True)
        return restart_gaps(stamps.read(), args.restarts)


def scenario_scale(cls, args, n):
    """n `sleep` services: time to all up, memory and CPU of the supervisor's own processes, time to stop all."""
    services = [(f"s{i}", ["sleep"]) for i in range(n)]
    with Run(cls, args, services) as run:
        if not wait_until(f"{n} up", lambda: run.stamps.count("S") >= n, 300):
            return {"services": n, "up_s": None, "error": f"{run.stamps.count('S')} of {n} up within 300 s"}
        up = time.monotonic() - run.started_at
        time.sleep(1)  # let the supervisor finish what follows the last start
        pids = run.peer.own_pids()
        rss, pss = memory_kb(pids)
        cpu = (cpu_ticks(pids) - run.cpu_before) / TICK
        t1 = time.monotonic()
        run.peer.stop()
        stopped = wait_until("all stopped", lambda: run.stamps.count("T") >= n, 300)
        down = time.monotonic() - t1
        return {"services": n, "up_s": round(up, 3), "processes": len(pids), "rss_mib": round(rss / 1024, 1),
                "pss_mib": round(pss / 1024, 1), "cpu_s_to_up": round(cpu, 2),
                "stop_s": round(down, 3) if stopped else None}


def scenario_idle(cls, args):
    """1,000 services up and nothing happening: the supervisor's CPU and context switches."""
    n = 1000
    with Run(cls, args, [(f"s{i}", ["sleep"]) for i in range(n)]) as run:
        if not wait_until(f"{n} up", lambda: run.stamps.count("S") >= n, 300):
            return {"error": "not all up"}
        time.sleep(3)  # let start-up's work end
        pids = run.peer.own_pids()
        cpu0, sw0 = cpu_ticks(pids), switches(pids)
        time.sleep(args.idle_seconds)  # the span measured
        cpu1, sw1 = cpu_ticks(pids), switches(pids)
        run.peer.stop()
        return {"services": n, "seconds": args.idle_seconds, "cpu_ms": round((cpu1 - cpu0) * 1000 / TICK, 1),
                "context_switches": sw1 - sw0}


def scenario_storm(cls, args):
    """Every service exits at the same instant every 2 s: restarts done, exit-to-start gaps, host
    CPU per restart, zombies after; and the peer's status tool, idle first and during the storm."""
    n, period = args.storm_services, 2000
    services = [(f"s{i}", ["storm", str(period)]) for i in range(n)]
    with Run(cls, args, services, quick=True) as run:
        if not wait_until(f"{n} up", lambda: len({name for w, name, _ in run.stamps.read() if w == "S"}) >= n, 300):
            return {"error": "not all up"}
        one = "s500" if n > 500 else "s0"
        idle_all = [timed(run.peer.status_all()) for _ in range(10)]
        idle_one = [timed(run.peer.status_one(one)) for _ in range(10)]
        # The window: from the next boundary, args.storm_seconds long, with nothing else running
        # (the host's CPU is the restarts' alone); then the status tools, back to back, while the
        # storm goes on for args.status_seconds.
        start = storm_window(period)
        end = start + args.storm_seconds * 10**9
        time.sleep(max(0, (start - time.time_ns()) / 1e9))
        busy0, t0 = host_busy_ticks(), time.monotonic()
        time.sleep(max(0, (end - time.time_ns()) / 1e9))  # the window measured
        busy = (host_busy_ticks() - busy0) / TICK
        elapsed = time.monotonic() - t0
        storm_all, storm_one = [], []
        status_end = time.monotonic() + args.status_seconds
        while time.monotonic() < status_end:
            storm_all.append(timed(run.peer.status_all()))
            storm_one.append(timed(run.peer.status_one(one)))
        # Zombies half a period after a boundary: every exit of it has had time to be reaped.
        now = time.time_ns()
        time.sleep((period * 10**6 - now % (period * 10**6) + period * 10**6 // 2) / 1e9)
        lines = run.stamps.read()
        pids = run.peer.own_pids()
        z = zombies(pids)
        run.peer.stop()
    gaps = storm_gaps(lines, start, end)
    expected = n * args.storm_seconds * 1000 // period
    return {"services": n, "seconds": args.storm_seconds, "restarts": len(gaps), "expected": expected,
            "gap_p50_ms": round(percentile(gaps, 50), 1) if gaps else None,
            "gap_p99_ms": round(percentile(gaps, 99), 1) if gaps else None,
            "host_cpu_s": round(busy, 2), "host_cpu_ms_per_restart": round(busy * 1000 / max(1, len(gaps)), 3),
            "wall_s": round(elapsed, 1), "zombies_after": z, "supervisor_processes": len(pids),
            "status_all_idle": status_figures(idle_all), "status_one_idle": status_figures(idle_one),
            "status_all_storm": status_figures(storm_all), "status_one_storm": status_figures(storm_one)}


def scenario_logs(cls, args):
    """One child writing args.log_lines lines of 100 bytes into the peer's own sink: the time
    from its first line until the sink took in the last one, the lines that reached the sink,
    and the CPU of the supervisor and of its logger."""
    n = args.log_lines
    with Run(cls, args, [("flood", ["lines", str(n), "100"])], logs=True) as run:
        if not wait_until("the flood's end", lambda: run.stamps.count("E") >= 1, 900):
            return {"error": "the child did not finish writing within 900 s"}
        lines = run.stamps.read()
        last = settled(run.peer.last_logged_ns)
        logged = run.peer.logged_lines()
        cpu = (cpu_ticks(run.peer.own_pids()) - run.cpu_before) / TICK
        logger_cpu = (cpu_ticks(run.peer.logger_pids()) - run.logger_cpu_before) / TICK
    return log_figures(lines, n, logged, last, cpu, logger_cpu)


def settled(last_ns, timeout=120):
    """The sink's last write once it has stopped writing (a logger may still be writing what
    its pipe or socket held when the child's last write returned)."""
    deadline, before = time.monotonic() + timeout, -1
    value = last_ns()
    while value != before and time.monotonic() < deadline:
        time.sleep(2)  # poll interval of a wait with a deadline
        before, value = value, last_ns()
    return value


def log_figures(lines, n, logged, last_ns, cpu=None, logger_cpu=None):
    start = next(ns for w, _, ns in lines if w == "S")
    end = max(last_ns, next(ns for w, _, ns in lines if w == "E"))
    seconds = (end - start) / 1e9
    return {"lines": n, "seconds": round(seconds, 2), "lines_per_s": round(n / seconds), "logged": logged,
            "lost": n - logged, "supervisor_cpu_s": None if cpu is None else round(cpu, 2),
            "logger_cpu_s": None if logger_cpu is None else round(logger_cpu, 2)}


def log_floors(args):
    """The same child into a pipe read by cat into a file, and into journald through
    systemd-cat in a box (journald's own stream ingestion, no rate limit)."""
    n = args.log_lines
    floors = {}
    with tempfile.TemporaryDirectory() as d:
        stamps = Stamps(os.path.join(d, "stamps"))
        out = os.path.join(d, "out")
        shell = subprocess.Popen(["sh", "-c", f'"$0" "$1" pipe lines {n} 100 | cat > "$2"', args.child, stamps.path, out],
                                 start_new_session=True)
        try:
            if wait_until("the pipe floor", lambda: stamps.count("E") >= 1, 900):
                last = settled(lambda: supervisors.last_written_ns([out]))
                floors["pipe"] = log_figures(stamps.read(), n, supervisors.count_lines([out]), last)
        finally:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
    os.makedirs(supervisors.BOX_WORK, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=supervisors.BOX_WORK) as d:
        stamps = Stamps(os.path.join(d, "stamps"))
        box = supervisors.Box()
        try:
            journald = box.pids("systemd-journal")
            before = cpu_ticks(journald)
            box.run(["systemd-run", "--unit=floor", "-p", "LogRateLimitIntervalSec=10s", "-p", "LogRateLimitBurst=1000000", "--no-block",
                     "systemd-cat", "-t", "floor", args.child, stamps.path, "floor", "lines", str(n), "100"])
            if wait_until("the journal floor", lambda: stamps.count("E") >= 1, 900):
                last = settled(lambda: box.journal_last_ns("SYSLOG_IDENTIFIER=floor"))
                floors["journal"] = log_figures(stamps.read(), n, box.journal_lines("SYSLOG_IDENTIFIER=floor"), last,
                                                logger_cpu=(cpu_ticks(journald) - before) / TICK)
        finally:
            box.stop()
    return floors


def storm_window(period):
    """The next boundary of the storm's period, in wall-clock ns."""
    now = time.time_ns()
    return now - now % (period * 10**6) + period * 10**6


def storm_gaps(lines, start, end):
    """Each exit in the window [start, end) to its service's next start, in ms."""
    last_end, gaps = {}, []
    for what, name, ns in lines:
        if what == "E" and start - 10**8 <= ns < end - 10**8:
            last_end[name] = ns
        elif what == "S" and name in last_end:
            gaps.append((ns - last_end.pop(name)) / 1e6)
    return gaps


def storm_floor(args):
    """The storm's floor: the same children restarted by a plain fork+exec+waitpid loop, the
    host's CPU over the same window."""
    n, period = args.storm_services, 2000
    with tempfile.TemporaryDirectory() as d:
        stamps = Stamps(os.path.join(d, "stamps"))
        proc = subprocess.Popen([args.child, stamps.path, "floor", "storm-floor", str(n), str(period),
                                 str(args.storm_seconds + 300)], start_new_session=True)
        try:
            if not wait_until(f"{n} up", lambda: len({name for w, name, _ in stamps.read() if w == "S"}) >= n, 300):
                return {"error": "not all up"}
            start = storm_window(period)
            end = start + args.storm_seconds * 10**9
            time.sleep(max(0, (start - time.time_ns()) / 1e9))
            busy0 = host_busy_ticks()
            time.sleep(max(0, (end - time.time_ns()) / 1e9))  # the window measured
            busy = (host_busy_ticks() - busy0) / TICK
            time.sleep(0.5)  # the window's last restarts stamp their start
            lines = stamps.read()
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    gaps = storm_gaps(lines, start, end)
    return {"restarts": len(gaps), "gap_p50_ms": round(percentile(gaps, 50), 1) if gaps else None,
            "gap_p99_ms": round(percentile(gaps, 99), 1) if gaps else None,
            "host_cpu_ms_per_restart": round(busy * 1000 / max(1, len(gaps)), 3)}


SCENARIOS = ["restart", "scale", "idle", "storm", "logs"]


def ratio(tend_value, others, lower_is_better=True):
    values = [v for v in others if v is not None]
    if tend_value is None or not values:
        return "-"
    best = min(values) if lower_is_better else max(values)
    return f"{tend_value / best:.2f}x" if best else "-"


def table(title, rows, peers, results, note):
    """rows: [(label, key function, lower is better)]."""
    out = [f"### {title}", "", "| | " + " | ".join(peers) + " | tend / best peer |", "|---" * (len(peers) + 2) + "|"]
    for label, get, lower in rows:
        values = [get(results[p]) if results.get(p) else None for p in peers]
        cells = ["-" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in values]
        tend_value = values[peers.index("tend")] if "tend" in peers else None
        others = [v for p, v in zip(peers, values) if p != "tend" and isinstance(v, (int, float))]
        out.append(f"| {label} | " + " | ".join(cells) + f" | {ratio(tend_value, others, lower) if isinstance(tend_value, (int, float)) else '-'} |")
    if note:
        out += ["", note]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--peers", default=",".join(c.name for c in supervisors.all_peers()))
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--restarts", type=int, default=50)
    parser.add_argument("--idle-seconds", type=int, default=30)
    parser.add_argument("--storm-seconds", type=int, default=30)
    parser.add_argument("--storm-services", type=int, default=1000)
    parser.add_argument("--status-seconds", type=int, default=10)
    parser.add_argument("--log-lines", type=int, default=500000)
    parser.add_argument("--tend", default=os.environ.get("TEND_BIN", os.path.join(ROOT, ".build", "release", "tend")))
    parser.add_argument("--child", default=os.path.join(OUT, "child"))
    args = parser.parse_args()
    args.tend = os.path.abspath(args.tend)  # each supervisor runs in a directory of its own
    os.makedirs(OUT, exist_ok=True)
    subprocess.run(["cc", "-O2", "-o", args.child, os.path.join(HERE, "child.c")], check=True)

    wanted = args.peers.split(",")
    classes = [c for c in supervisors.all_peers() if c.name in wanted]
    missing = [c.name for c in classes if not c(tempfile.gettempdir(), "", "", *((args.tend,) if c is supervisors.Tend else ())).available()]
    if missing:
        sys.exit(f"bench-peers: not installed: {', '.join(missing)} (make bench-peers installs them)")
    peers = [c.name for c in classes]
    scenarios = args.scenarios.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    machine = f"{platform.node()}: {os.cpu_count()} cores, {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') // 2**30} GiB, Linux {platform.release()}"
    settings = "\n".join(f"- {c.name}: {c.settings}" for c in classes)
    tables = [f"`make bench-peers` on {time.strftime('%Y-%m-%d %H:%M %Z')}, {machine}", "", "How each peer ran:", settings, ""]

    def run_each(key, measure):
        results = {}
        for cls in classes:
            print(f"{key}: {cls.name} ...", file=sys.stderr, flush=True)
            try:
                results[cls.name] = measure(cls)
            except Exception as error:  # one peer failing must not lose the others' figures
                results[cls.name] = {"error": str(error)}
            save(f"{key}-{cls.name}", results[cls.name])
        return results

    if "restart" in scenarios:
        results = run_each("restart", lambda c: scenario_restart(c, args))
        floor = restart_floor(args)
        save("restart-floor", floor)
        rows = [("p50 (ms)", lambda r: r.get("p50_ms"), True), ("p90 (ms)", lambda r: r.get("p90_ms"), True),
                ("max (ms)", lambda r: r.get("max_ms"), True), ("restarts", lambda r: r.get("restarts"), False)]
        tables.append(table(f"Restart latency: a child that runs 1.2 s and exits 1, {args.restarts} restarts, its last stamp to the next start",
                            rows, peers, results,
                            f"Same-shape floor (fork+exec+waitpid of the same child, same runs): p50 {floor['p50_ms']} ms, "
                            f"p90 {floor['p90_ms']} ms, max {floor['max_ms']} ms."))
    if "scale" in scenarios:
        for n in sizes:
            results = run_each(f"scale-{n}", lambda c: scenario_scale(c, args, n))
            rows = [("all up (s)", lambda r: r.get("up_s"), True), ("RSS, own processes (MiB)", lambda r: r.get("rss_mib"), True),
                    ("PSS, own processes (MiB)", lambda r: r.get("pss_mib"), True), ("own processes", lambda r: r.get("processes"), True),
                    ("CPU to all up (s)", lambda r: r.get("cpu_s_to_up"), True), ("stop all (s)", lambda r: r.get("stop_s"), True)]
            tables.append(table(f"Scale: {n:,} `sleep` services", rows, peers, results, ""))
    if "idle" in scenarios:
        results = run_each("idle", lambda c: scenario_idle(c, args))
        rows = [("CPU (ms)", lambda r: r.get("cpu_ms"), True), ("context switches", lambda r: r.get("context_switches"), True)]
        tables.append(table(f"Idle: 1,000 services up, {args.idle_seconds} s", rows, peers, results, ""))
    if "storm" in scenarios:
        results = run_each("storm", lambda c: scenario_storm(c, args))
        floor = storm_floor(args)
        save("storm-floor", floor)

        def st(key, field):
            return lambda r: (r.get(key) or {}).get(field)
        rows = [("restarts done", lambda r: r.get("restarts"), False), ("gap p50 (ms)", lambda r: r.get("gap_p50_ms"), True),
                ("gap p99 (ms)", lambda r: r.get("gap_p99_ms"), True),
                ("host CPU per restart (ms)", lambda r: r.get("host_cpu_ms_per_restart"), True),
                ("zombies after", lambda r: r.get("zombies_after"), True),
                ("status of all, idle, p50 (ms)", st("status_all_idle", "p50_ms"), True),
                ("status of all, idle, p90 (ms)", st("status_all_idle", "p90_ms"), True),
                ("status of one, idle, p50 (ms)", st("status_one_idle", "p50_ms"), True),
                ("status of one, idle, p90 (ms)", st("status_one_idle", "p90_ms"), True),
                ("status of all, storm, p50 (ms)", st("status_all_storm", "p50_ms"), True),
                ("status of all, storm, p90 (ms)", st("status_all_storm", "p90_ms"), True),
                ("status of one, storm, p50 (ms)", st("status_one_storm", "p50_ms"), True),
                ("status of one, storm, p90 (ms)", st("status_one_storm", "p90_ms"), True),
                ("status timeouts (5 s), storm", lambda r: ((r.get("status_all_storm") or {}).get("timeouts") or 0)
                 + ((r.get("status_one_storm") or {}).get("timeouts") or 0) if r.get("status_all_storm") else None, True)]
        tables.append(table(f"Crash storm: {args.storm_services:,} services all exiting at the same instant every 2 s for "
                            f"{args.storm_seconds} s ({args.storm_services * args.storm_seconds // 2:,} restarts due)",
                            rows, peers, results, "Host CPU is every core's busy time over the window, divided by the restarts in it; the status "
                            f"tools are the peers' own (see above), run back to back for {args.status_seconds} s while the storm goes on, "
                            "after the window. Floor: the same children restarted by a plain fork+exec+waitpid loop (child.c "
                            f"`storm-floor`), same window: {floor.get('restarts', 0):,} restarts, gap p50 {floor.get('gap_p50_ms')} ms, "
                            f"p99 {floor.get('gap_p99_ms')} ms, host CPU per restart {floor.get('host_cpu_ms_per_restart')} ms."))
    if "logs" in scenarios:
        results = run_each("logs", lambda c: scenario_logs(c, args))
        floors = log_floors(args)
        save("logs-floors", floors)

        def floor_text(key, what):
            f = floors.get(key)
            return f"{what}: {f['seconds']} s ({f['lines_per_s']:,} lines/s), {f['lost']:,} lost" if f else f"{what}: -"
        rows = [("time to the last line in the sink (s)", lambda r: r.get("seconds"), True), ("lines/s", lambda r: r.get("lines_per_s"), False),
                ("lines lost", lambda r: r.get("lost"), True), ("supervisor CPU (s)", lambda r: r.get("supervisor_cpu_s"), True),
                ("logger CPU (s)", lambda r: r.get("logger_cpu_s"), True)]
        tables.append(table(f"Logs: one child writing {args.log_lines:,} lines of 100 bytes into the peer's own sink "
                            "(the journal for tend and systemd, files for the others)", rows, peers, results,
                            "Floors, the same child: " + floor_text("pipe", "into a pipe that `cat` writes to a file") + "; "
                            + floor_text("journal", "into journald through `systemd-cat` in a transient unit with the same rate limit")
                            + ". The time runs from the child's first line to the sink's last write of the flood "
                            "(journald's receive time of its last entry; the log file's modification time). tend's logger is journald "
                            "(tend copies no byte: the child writes to its own journal stream)."))
    report = "\n\n".join(tables) + "\n"
    with open(os.path.join(OUT, "tables.md"), "w") as f:
        f.write(report)
    print(report)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()

"""Heartbeats through HAProxy on one PostgreSQL: one app node against two, and kill -9 runs.

The load is benchmarks/heartbeat_load.py's (its ``prepare`` makes N learners with open study
sessions on a video lesson; its ``drive`` sends their heartbeats, C in flight). Two app nodes
(``skilltrace serve --workers 1`` each, their own data dirs, the signing keys from configuration
as production nodes have them) run side by side with two HAProxy front ends: one balancing to
node A alone, one to A and B (``balance hdr(Authorization)``, ``hash-type consistent``: each
learner's heartbeats reach one node, as docs/SCALING.md advises). Phases alternate, one node then
two, ``--rounds`` times, so both see the same machine.

Each phase prints req/s, p50/p99 latency, the CPU seconds per heartbeat of each process group
(the app nodes, the PostgreSQL backends serving the benchmark's database, PostgreSQL's shared
background processes, HAProxy, this load generator), how busy the machine's cores were
(/proc/stat) and the load average; then the 2-node/1-node ratio and the ceiling the machine's
cores put on it (cores / total CPU per heartbeat).

``--kill-runs N`` instead runs N times: both nodes behind HAProxy (health check ``/readyz``
every 300 ms), heartbeats as fast as C learners send them, one node killed with SIGKILL halfway
(A, then B, ...); afterwards every acknowledged heartbeat must be stored (lost: 0), no enrolment
credited more than the wall time its session has been open (duplicated credit: 0), and every
ledger must replay to its stored total (mismatches: 0).

    .venv/bin/python benchmarks/multinode_load.py [--learners 200] [--seconds 10]
        [--concurrency 32] [--rounds 2] [--tree PATH] [--baseline-tree PATH]
    .venv/bin/python benchmarks/multinode_load.py --kill-runs 3 [--kill-seconds 16]

``--tree`` is the checkout whose code the nodes run (default: this one); ``--baseline-tree``
adds the same phases with another checkout's nodes (e.g. ``git worktree add /tmp/base main``),
interleaved, printed side by side. Needs SKILLTRACE_TEST_POSTGRES_URL (a server where the user
may create databases) and haproxy (Debian's package).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import heartbeat_load as hl  # noqa: E402 - after its directory is on the path

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1

HAPROXY_CFG = """
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s
    retries 2
    option redispatch
frontend skilltrace
    bind 127.0.0.1:{front}
    default_backend nodes
backend nodes
    balance hdr(Authorization)
    hash-type consistent
    option httpchk GET /readyz
    default-server inter {inter} fall 2 rise 2
{servers}
"""


# ------------------------------------------------------------------------- processes and CPU


def proc_cpu(pid: int) -> float | None:
    """User+system CPU seconds of one process (None: gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return out


def reaped_cpu(pid: int | None) -> float:
    """CPU seconds of ``pid``'s children that have exited and been waited for (cutime+cstime):
    for PostgreSQL's postmaster, the backends that closed, of every database on the server."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / TICK


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class Group:
    """A set of processes whose CPU is counted together; ``pids`` lists them now."""

    name: str
    pids: Callable[[], list[int]]
    start: dict[int, float] = field(default_factory=dict)

    def begin(self) -> None:
        self.start = {p: c for p in self.pids() if (c := proc_cpu(p)) is not None}

    def spent(self) -> float:
        total = 0.0
        for p in self.pids():
            c = proc_cpu(p)
            if c is not None:
                total += c - self.start.get(p, 0.0)
        return total


class Postgres:
    """Backend pids of the benchmark's databases and the server's shared background processes
    (WAL writer, checkpointer…: they also serve whoever else uses the server)."""

    def __init__(self, admin_url: str) -> None:
        self.conn = psycopg.connect(admin_url, autocommit=True)

    def backends(self, database: str) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchall()
        return [int(r[0]) for r in rows]

    def background(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type IN "
            "('walwriter', 'checkpointer', 'background writer', 'autovacuum launcher')"
        ).fetchall()
        return [int(r[0]) for r in rows]

    def sessions(self, database: str) -> int:
        """Connections ever opened to the database (PostgreSQL 14+)."""
        row = self.conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
        return int(row[0]) if row else 0

    def postmaster(self, database: str) -> int | None:
        """The server's main process: the parent of a backend."""
        for pid in self.backends(database):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
        return None

    def settings(self) -> str:
        names = ("synchronous_commit", "fsync", "max_connections", "shared_buffers")
        got = [f"{n}={self.conn.execute(f'SHOW {n}').fetchone()[0]}" for n in names]  # type: ignore[index]
        return " ".join(got)


# ------------------------------------------------------------------------ trees and databases


def in_tree(tree: Path, call: str, url: str, *args: Any) -> Any:
    """``heartbeat_load.<call>(url, *args)`` run with ``tree``'s code (its own copy of the
    module puts that tree first on the path) on the database ``url``; what it returns."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1] + '/benchmarks'); "
        "import heartbeat_load as h; "
        f"print('\\n' + json.dumps(h.{call}(*json.loads(sys.argv[2]))))"
    )
    out = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", code, str(tree), json.dumps([url, *args])],
        env={
            **os.environ,
            "PYTHONPATH": str(tree),
            "SKILLTRACE_BENCH_ROOT": str(tree),  # heartbeat_load.py imports that tree's app
            "SKILLTRACE_DATABASE_URL": url,
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def database(pg: str) -> Iterator[tuple[str, str]]:
    """A fresh database: (its URL, its name); dropped afterwards."""
    from sqlalchemy.engine import make_url

    name = f"skilltrace_mn_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(pg, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg).set(database=name).render_as_string(hide_password=False), name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def node_keys() -> dict[str, str]:
    """The signing keys every node is configured with (they share no data dir)."""
    from app.keys import new_node_keys

    return new_node_keys()


class Cluster:
    """Nodes A and B of one tree on one database, and HAProxy front ends: ``one`` (A alone)
    and ``two`` (A and B)."""

    def __init__(self, tree: Path, url: str, keys: dict[str, str], inter: str) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="st-multinode-"))
        self.ports = {"a": hl.free_port(), "b": hl.free_port()}
        self.fronts = {"one": hl.free_port(), "two": hl.free_port()}
        self.base = {k: f"http://127.0.0.1:{p}" for k, p in self.fronts.items()}
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **os.environ,
            **keys,
            "PYTHONPATH": str(tree),
            "SKILLTRACE_DATABASE_URL": url,
            "SKILLTRACE_FACE_WORKERS": "0",
            "SKILLTRACE_LOG_LEVEL": "WARNING",
            "SKILLTRACE_ROLLCALL_SWEEP_INTERVAL_S": "0",
            "SKILLTRACE_WEBHOOK_DELIVERY_INTERVAL_S": "0",
            "SKILLTRACE_PUBLIC_BASE_URL": self.base["two"],
        }
        for n in self.ports:
            self.start(n)
        self.proxies = []
        for front, names in (("one", ["a"]), ("two", ["a", "b"])):
            servers = "\n".join(f"    server {n} 127.0.0.1:{self.ports[n]} check" for n in names)
            cfg = self.tmp / f"haproxy-{front}.cfg"
            cfg.write_text(
                HAPROXY_CFG.format(front=self.fronts[front], inter=inter, servers=servers)
            )
            self.proxies.append(
                subprocess.Popen(  # noqa: S603 - the Debian package's binary
                    [HAPROXY, "-f", str(cfg), "-db"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for n, p in self.ports.items():
            wait_ok(f"http://127.0.0.1:{p}/readyz", f"node {n}")
        for front in self.fronts:
            wait_ok(self.base[front] + "/readyz", f"HAProxy {front}")

    def start(self, n: str) -> None:
        data = self.tmp / f"data-{n}"
        self.nodes[n] = subprocess.Popen(  # noqa: S603 - our own CLI
            [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--port",
                str(self.ports[n]),
                "--workers",
                "1",
            ],
            env={**self.env, "SKILLTRACE_DATA_DIR": str(data)},
            stdout=subprocess.DEVNULL,
            stderr=(self.tmp / f"node-{n}.log").open("ab"),
        )

    def node_pids(self, *names: str) -> Callable[[], list[int]]:
        def pids() -> list[int]:
            out = []
            for n in names:
                pid = self.nodes[n].pid
                out += [pid, *children(pid)]
            return out

        return pids

    def proxy_pids(self) -> list[int]:
        return [p.pid for p in self.proxies]

    def close(self) -> None:
        for proc in [*self.nodes.values(), *self.proxies]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.nodes.values(), *self.proxies]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_ok(url: str, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout  # a busy machine starts nodes slowly
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not become ready at {url}")


def heartbeats(learners: list[list[str]], started: dict[str, float]) -> list[Any]:
    """heartbeat_load's requests: each learner's video plays at 1x since its first beat."""

    def playing(sid: str, lesson: str) -> Callable[[], dict[str, Any]]:
        return lambda: {
            "visible": True,
            "lesson_id": lesson,
            "position_ms": hl.position_ms(sid, started),
        }

    return [
        (
            "POST",
            f"/api/v1/sessions/{sid}/heartbeat",
            playing(sid, lesson),
            {"Authorization": f"Bearer {tok}"},
        )
        for tok, sid, lesson in learners
    ]


# --------------------------------------------------------------------------------- throughput


@dataclass
class Phase:
    tree: str
    nodes: int
    rps: float
    p50: float
    p99: float
    cpu_ms: dict[str, float]
    busy_cores: float
    ours: float  # cores these processes kept busy (the rest of busy_cores: other users)
    opened: int  # PostgreSQL connections opened during the phase
    load: str


def measure(
    label: str, nodes: int, cluster: Cluster, pg: Postgres, db: str, beats: list[Any], args: Any
) -> Phase:
    base = cluster.base["one" if nodes == 1 else "two"]
    asyncio.run(hl.drive(base, beats[:50], 1.0, args.concurrency))  # warm-up
    groups = [
        Group("node A", cluster.node_pids("a")),
        Group("node B", cluster.node_pids("b")),
        Group("PG backends", lambda: pg.backends(db)),
        Group("PG shared", pg.background),
        Group("HAProxy", cluster.proxy_pids),
        Group("load gen", lambda: [os.getpid()]),
    ]
    for g in groups:
        g.begin()
    postmaster = pg.postmaster(db)
    reaped0, sessions0 = reaped_cpu(postmaster), pg.sessions(db)
    busy0, total0 = machine_jiffies()
    t = time.perf_counter()
    lat = asyncio.run(hl.drive(base, beats, args.seconds, args.concurrency))
    wall = time.perf_counter() - t
    busy1, total1 = machine_jiffies()
    spent = {g.name: g.spent() for g in groups}
    # Backends that closed during the phase are no longer in pg_stat_activity: their CPU is
    # the postmaster's reaped children's (server-wide: other databases' too, if others work).
    spent["PG closed"] = reaped_cpu(postmaster) - reaped0
    opened = pg.sessions(db) - sessions0
    lat.sort()
    n = len(lat)
    phase = Phase(
        tree=label,
        nodes=nodes,
        rps=n / wall,
        p50=statistics.median(lat) * 1000,
        p99=lat[max(0, int(n * 0.99) - 1)] * 1000,
        cpu_ms={k: v / n * 1000 for k, v in spent.items()},
        busy_cores=CORES * (busy1 - busy0) / max(1, total1 - total0),
        ours=sum(spent.values()) / wall,
        opened=opened,
        load=hl.load(),
    )
    c = phase.cpu_ms
    app = c["node A"] + c["node B"]
    total = sum(c.values())
    ours = phase.ours
    print(
        f"  {label:<9} {nodes} node{'s' if nodes > 1 else ' '} {phase.rps:7.0f} req/s  "
        f"p50 {phase.p50:6.1f} ms  p99 {phase.p99:6.1f} ms | CPU ms/heartbeat: app "
        f"{app:.2f} (A {c['node A']:.2f}, B {c['node B']:.2f}; cores busy A "
        f"{spent['node A'] / wall:.2f} B {spent['node B'] / wall:.2f}), PG {c['PG backends']:.2f}"
        f" (+closed backends {c['PG closed']:.2f}, {phase.opened} opened; +shared "
        f"{c['PG shared']:.2f}), HAProxy {c['HAProxy']:.2f}, load gen "
        f"{c['load gen']:.2f}; total {total:.2f} | machine {phase.busy_cores:.2f} of {CORES} "
        f"cores busy ({ours:.2f} these processes, {phase.busy_cores - ours:.2f} others) | "
        f"{phase.load}",
        flush=True,
    )
    return phase


def throughput(args: Any, pg_url: str, trees: list[tuple[str, Path]]) -> None:
    pg = Postgres(pg_url)
    print(f"PostgreSQL: {pg.settings()}; {CORES} cores; {hl.load()}")
    keys = node_keys()
    with ExitStack() as stack:
        setups = []
        for label, tree in trees:
            url, name = stack.enter_context(database(pg_url))
            data = tempfile.mkdtemp(prefix="st-mn-prep-")
            learners = in_tree(tree, "prepare", url, data, args.learners)
            shutil.rmtree(data, ignore_errors=True)
            cluster = Cluster(tree, url, keys, inter="2s")
            stack.callback(cluster.close)
            setups.append((label, tree, url, name, cluster, heartbeats(learners, {})))
            print(f"  {label}: {tree}, {args.learners} learners, {args.concurrency} in flight")
        phases: list[Phase] = []
        for r in range(args.rounds):
            print(f"\n== round {r + 1}   {hl.load()}")
            for nodes in (1, 2):
                for label, _tree, _url, name, cluster, beats in setups:
                    phases.append(measure(label, nodes, cluster, pg, name, beats, args))
        print("\n== summary (mean of the rounds)")
        for label, tree, url, _name, _cluster, _beats in setups:
            one = [p for p in phases if p.tree == label and p.nodes == 1]
            two = [p for p in phases if p.tree == label and p.nodes == 2]
            r1 = statistics.mean(p.rps for p in one)
            r2 = statistics.mean(p.rps for p in two)
            cpu2 = statistics.mean(sum(p.cpu_ms.values()) for p in two)
            busy1 = statistics.mean(p.busy_cores for p in one)
            busy2 = statistics.mean(p.busy_cores for p in two)
            ours1 = statistics.mean(p.ours for p in one)
            ours2 = statistics.mean(p.ours for p in two)
            ceiling = CORES / cpu2 * 1000  # heartbeats/s if every core did nothing else
            print(
                f"  {label:<9} 1 node {r1:6.0f} req/s (machine {busy1:.2f} cores busy, {ours1:.2f} "
                f"ours), 2 nodes {r2:6.0f} req/s ({busy2:.2f} busy, {ours2:.2f} ours): ratio "
                f"{r2 / r1:.2f}x. Ceiling of "
                f"{CORES} cores at {cpu2:.2f} ms CPU per heartbeat (all processes): "
                f"{ceiling:.0f} req/s = {ceiling / r1:.2f}x one node"
            )
            total, bad = in_tree(tree, "check_ledgers", url)
            print(f"  {label:<9} ledger: {total} enrolments recomputed, {bad} mismatches")


# ------------------------------------------------------------------------------ kill -9 runs


async def drive_acks(
    base: str, beats: list[Any], stop: threading.Event, concurrency: int
) -> tuple[dict[str, list[int]], Counter[str]]:
    """Heartbeats until ``stop``: each session's acknowledged ``credited_seconds``."""
    acks: dict[str, list[int]] = {}
    outcomes: Counter[str] = Counter()

    async def worker(k: int, client: httpx.AsyncClient) -> None:
        i = k
        while not stop.is_set():
            method, path, body, headers = beats[i % len(beats)]
            i += concurrency
            sid = path.split("/")[4]
            try:
                r = await client.request(method, base + path, json=body(), headers=headers)
            except httpx.HTTPError:
                outcomes["connection error"] += 1
                await asyncio.sleep(0.05)
                continue
            # HAProxy's own 503 (no server up) is told apart from the app's.
            proxy = r.status_code == 503 and b"No server is available" in r.content
            outcomes[f"{r.status_code}{' HAProxy' if proxy else ''}"] += 1
            if r.status_code == 200:
                acks.setdefault(sid, []).append(int(r.json()["credited_seconds"]))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(k, client) for k in range(concurrency)))
    return acks, outcomes


def _drive_into(
    got: dict[str, Any], base: str, beats: list[Any], stop: threading.Event, args: Any
) -> None:
    got["out"] = asyncio.run(drive_acks(base, beats, stop, args.concurrency))


def audit_acks(url: str, acks: dict[str, list[int]]) -> tuple[int, int]:
    """(acknowledged heartbeats not stored, enrolments credited more than their wall time)."""
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1))
    stored = dict(
        conn.execute("SELECT session_id::text, count(*) FROM heartbeats GROUP BY 1").fetchall()
    )
    rows = conn.execute(
        "SELECT s.id::text, e.credited_ms + s.open_ms, "
        "extract(epoch FROM clock_timestamp() - s.started_at) * 1000 "
        "FROM study_sessions s JOIN enrollments e ON e.id = s.enrollment_id"
    ).fetchall()
    conn.close()
    lost = over = 0
    for sid, credit_ms, open_for_ms in rows:
        got = acks.get(sid, [])
        lost += max(0, len(got) - int(stored.get(sid, 0)))
        if got and int(credit_ms) // 1000 < max(got):  # a reported credit not kept
            lost += 1
        if int(credit_ms) > float(open_for_ms) + 1000:  # more credit than time: counted twice
            over += 1
    return lost, over


def kill_runs(args: Any, pg_url: str, tree: Path) -> None:
    print(f"kill -9 runs: {args.kill_runs} x {args.kill_seconds:.0f} s, {tree}; {hl.load()}")
    keys = node_keys()
    all_acks: dict[str, list[int]] = {}
    totals = Counter[str]()
    with database(pg_url) as (url, _name):
        data = tempfile.mkdtemp(prefix="st-mn-prep-")
        learners = in_tree(tree, "prepare", url, data, args.learners)
        shutil.rmtree(data, ignore_errors=True)
        beats = heartbeats(learners, {})
        for run in range(args.kill_runs):
            victim = "ab"[run % 2]
            cluster = Cluster(tree, url, keys, inter="300ms")
            try:
                stop = threading.Event()
                got: dict[str, Any] = {}
                driver = threading.Thread(
                    target=_drive_into, args=(got, cluster.base["two"], beats, stop, args)
                )
                driver.start()
                time.sleep(args.kill_seconds / 2)  # a benchmark's schedule, not a test's wait
                os.kill(cluster.nodes[victim].pid, signal.SIGKILL)
                cluster.nodes[victim].wait(10)
                time.sleep(args.kill_seconds / 2)
                stop.set()
                driver.join(60)
            finally:
                stop.set()
                cluster.close()
            acks, outcomes = got["out"]
            for sid, values in acks.items():
                all_acks.setdefault(sid, []).extend(values)
            lost, over = audit_acks(url, all_acks)
            total, bad = in_tree(tree, "check_ledgers", url)
            acked = sum(len(v) for v in acks.values())
            totals.update(acked=acked, lost=lost, over=over, bad=bad)
            print(
                f"  run {run + 1}: node {victim.upper()} killed; {acked} heartbeats "
                f"acknowledged, others {dict(o for o in outcomes.items() if o[0] != '200')}; "
                f"lost {lost}, duplicated credit {over}, ledger mismatches {bad} of {total}   "
                f"{hl.load()}",
                flush=True,
            )
    print(
        f"== {args.kill_runs} kill -9 runs: {totals['acked']} acknowledged heartbeats, "
        f"lost {totals['lost']}, duplicated credit {totals['over']}, ledger mismatches "
        f"{totals['bad']} (cumulative checks after each run)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--learners", type=int, default=200)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--tree", type=Path, default=ROOT, help="the checkout the nodes run")
    p.add_argument("--baseline-tree", type=Path, help="another checkout, measured alongside")
    p.add_argument("--kill-runs", type=int, default=0, metavar="N")
    p.add_argument("--kill-seconds", type=float, default=16)
    args = p.parse_args()
    pg = os.environ.get("SKILLTRACE_TEST_POSTGRES_URL")
    if not pg:
        raise SystemExit("set SKILLTRACE_TEST_POSTGRES_URL (a server where you may create DBs)")
    pg = pg.replace("postgresql+psycopg://", "postgresql://", 1)
    if args.kill_runs:
        kill_runs(args, pg, args.tree.resolve())
        return
    trees = [("tree", args.tree.resolve())]
    if args.baseline_tree:
        trees.append(("baseline", args.baseline_tree.resolve()))
    throughput(args, pg, trees)


if __name__ == "__main__":
    main()

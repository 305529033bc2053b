"""Heartbeat throughput and latency against a real server (uvicorn, real HTTP).

Starts `skilltrace serve` on a temporary database, prepares N learners each with an open study
session (opened as a passed check-in opens it; face work is measured in face_latency.py), then
drives their heartbeats concurrently and, in the same run, a trivial endpoint (/healthz) of the
same app as the baseline. Afterwards it recomputes every enrolment's ledger from stored events
and checks that nothing was lost or counted twice.

    .venv/bin/python benchmarks/heartbeat_load.py [--learners 200] [--seconds 10]
        [--concurrency 32] [--sqlite-workers 1] [--postgres-workers 2] [--only sqlite|postgres]
        [--tree PATH] [--rounds N]

Runs on SQLite, and on PostgreSQL too when SKILLTRACE_TEST_POSTGRES_URL is set (a server where
the user may create databases). Prints requests/s and p50/p99 latency per target, the CPU time
the server and this load generator spent per request (they share the machine's cores), and the
load average when each figure was taken.

``--tree PATH`` compares two checkouts in one run (e.g. ``git worktree add /tmp/base main``):
each gets its own database prepared by its own code and its own server, both servers run side
by side, and the measurements alternate between them (/healthz before, /healthz after,
heartbeat before, heartbeat after; the order flips every round), so both see the same machine.
A table with both trees side by side ends each database's run.

Before the servers start, two in-process figures that depend little on the machine's load:
the service (`study.heartbeat` in its own transaction, as a request runs it, the caller already
known) and the whole app without the network (ASGI calls in sequence, /healthz alongside).
The app-side work (preparing, the in-process figures, the ledger check) runs in a child process
that imports the tree's code (this script with SKILLTRACE_BENCH_ROOT set).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx

logging.getLogger("httpx2").setLevel(logging.WARNING)

#: The checkout whose app this process imports: this script's own, or the one a parent run named
#: (``--tree``: the child processes of the other checkout).
ROOT = Path(os.environ.get("SKILLTRACE_BENCH_ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(database_url: str, data_dir: Path, learners: int) -> list[tuple[str, str, str]]:
    """Migrate, create a course with a video lesson and N learners with open sessions; returns
    (token, session, lesson): every heartbeat names the lesson and a playback position."""
    os.environ["SKILLTRACE_DATABASE_URL"] = database_url
    os.environ["SKILLTRACE_DATA_DIR"] = str(data_dir)
    from app.accounts import service as accounts
    from app.accounts.idcard import check_char
    from app.audit.service import Actor
    from app.config import get_settings
    from app.courses.classes import default_class
    from app.courses.models import (
        Course,
        Enrollment,
        Lesson,
        LessonKind,
        Level,
        SessionState,
        StudySession,
    )
    from app.db import dispose_engines, get_engine, transaction
    from app.migrate import upgrade

    get_settings.cache_clear()
    dispose_engines()
    upgrade(database_url)
    out: list[tuple[str, str, str]] = []
    with transaction(get_engine()) as s:
        inst = accounts.create_institution(
            s, code=f"B{uuid.uuid4().hex[:6]}", name="压测机构", actor=Actor.system()
        )
        course = Course(
            institution_id=inst.id,
            title="压测课程",
            occupation_code="0-00-00-00",
            occupation_name="测试",
            level=Level.special,
            required_minutes=600,
            pass_score=60,
            subsidy_fen=0,
            rollcall_min_interval_s=3600,
            rollcall_max_interval_s=7200,
            heartbeat_interval_s=30,
        )
        s.add(course)
        s.flush()
        lesson = Lesson(
            course_id=course.id,
            position=1,
            title="压测视频",
            kind=LessonKind.video,
            body_or_url="",
            minutes=600,
            video_key="lessons/bench/v.webm",
            video_type="video/webm",
            video_bytes=1,
            duration_ms=36_000_000,
        )
        s.add(lesson)
        s.flush()
        from app import clock

        now = clock.now()
        for i in range(learners):
            first17 = f"110105{19500101 + i // 1000:08d}{i % 1000:03d}"
            user = accounts.register_learner(
                s,
                username=f"load{i}_{uuid.uuid4().hex[:4]}",
                password="Load-Test-Pass-1",
                real_name="压测",
                id_number=first17 + check_char(first17),
                institution_id=inst.id,
            )
            e = Enrollment(
                course_id=course.id,
                user_id=user.id,
                institution_id=inst.id,
                class_id=default_class(s, course).id,
            )
            s.add(e)
            s.flush()
            sess = StudySession(
                enrollment_id=e.id,
                user_id=user.id,
                state=SessionState.studying,
                checkin_event_id=uuid.uuid4(),
                started_at=now,
                segment_started_at=now,
                next_rollcall_at=None,
            )
            s.add(sess)
            s.flush()
            token, _ = accounts.issue_token(user)
            out.append((token, str(sess.id), str(lesson.id)))
    dispose_engines()
    return out


def check_ledgers(database_url: str) -> tuple[int, int]:
    from sqlmodel import select

    from app.courses.models import Enrollment
    from app.courses.study import check_ledger
    from app.db import dispose_engines, get_engine, transaction

    bad = total = 0
    with transaction(get_engine(), reading=True) as s:
        for e in s.exec(select(Enrollment)).all():
            total += 1
            if not check_ledger(s, e).matches:
                bad += 1
    dispose_engines()
    return total, bad


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def position_ms(key: str, started: dict[str, float]) -> int:
    """A video played at 1x since the learner's first heartbeat: each heartbeat earns its gap
    through the playback rule (the lesson, its progress and the open segment's reach)."""
    return int((time.perf_counter() - started.setdefault(key, time.perf_counter())) * 1000)


def in_process(database_url: str, learners: list[tuple[str, str, str]], n: int) -> None:
    """The service alone, then the app through ASGI without the network, N heartbeats each."""
    from app.accounts import service as accounts
    from app.config import get_settings
    from app.courses import study
    from app.db import dispose_engines, get_engine, transaction

    get_settings.cache_clear()
    users = []
    with transaction(get_engine(), reading=True) as s:
        for token, sid, lesson in learners:
            users.append((accounts.user_from_token(s, token), uuid.UUID(sid), uuid.UUID(lesson)))
    started: dict[str, float] = {}

    def beat(i: int, playing: bool = True) -> None:
        user, sid, lesson = users[i % len(users)]
        with transaction(get_engine()) as s:
            if playing:
                study.heartbeat(
                    s,
                    user,
                    sid,
                    visible=True,
                    lesson_id=lesson,
                    position_ms=position_ms(str(sid), started),
                )
            else:
                study.heartbeat(s, user, sid, visible=True)

    for i in range(min(n, 100)):  # warm-up: statement caches, pool
        beat(i)
    # Alternating blocks, so both figures see the same machine: a video lesson playing (the
    # playback rule's statements) and the same heartbeat without a lesson (wall time).
    spent = {True: 0.0, False: 0.0}
    cpu = {True: 0.0, False: 0.0}  # the process's CPU time: what the neighbours disturb least
    block = max(1, n // 10)
    for k in range(n // block):
        for playing in (True, False):
            t, c = time.perf_counter(), time.process_time()
            for i in range(k * block, (k + 1) * block):
                beat(i, playing)
            spent[playing] += time.perf_counter() - t
            cpu[playing] += time.process_time() - c
    done = block * (n // block)
    video, plain = (spent[p] / done * 1000 for p in (True, False))
    video_cpu, plain_cpu = (cpu[p] / done * 1000 for p in (True, False))
    print(
        f"  in-process service  {video:6.3f} ms/heartbeat playing a video (CPU {video_cpu:.3f}), "
        f"{plain:6.3f} ms without a lesson (CPU {plain_cpu:.3f}) ({done} each, own transaction "
        f"each)   {load()}"
    )

    from app.main import create_app

    app = create_app()
    # Every learner's session plays the course's one video lesson (at a fixed position here:
    # the same statements as a playing heartbeat, the lesson's context and the open reach).
    body = json.dumps({"visible": True, "lesson_id": learners[0][2], "position_ms": 0}).encode()

    async def call(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        sent = False
        status = 0

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}  # pragma: no cover

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    beats = [
        (
            f"/api/v1/sessions/{sid}/heartbeat",
            [
                (b"authorization", f"Bearer {token}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        )
        for token, sid, _lesson in learners
    ]

    async def measure() -> tuple[float, float, float, float]:
        for i in range(min(n, 100)):  # warm-up
            assert await call("GET", "/healthz", []) == 200
            assert await call("POST", *beats[i % len(beats)]) == 200
        t, c = time.perf_counter(), time.process_time()
        for _ in range(n):
            assert await call("GET", "/healthz", []) == 200
        trivial = (time.perf_counter() - t) / n * 1000
        trivial_cpu = (time.process_time() - c) / n * 1000
        t, c = time.perf_counter(), time.process_time()
        for i in range(n):
            assert await call("POST", *beats[i % len(beats)]) == 200
        hb = (time.perf_counter() - t) / n * 1000
        return trivial, trivial_cpu, hb, (time.process_time() - c) / n * 1000

    trivial, trivial_cpu, hb, hb_cpu = asyncio.run(measure())
    print(
        f"  in-process app      {hb:6.3f} ms/heartbeat (CPU {hb_cpu:.3f}), /healthz "
        f"{trivial:.3f} ms (CPU {trivial_cpu:.3f}) (ASGI in sequence, no network)   {load()}"
    )
    dispose_engines()


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its live children (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def own_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _proc_cpu(pid: int) -> float | None:
    """User+system CPU seconds of one process (None: it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine, all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


class Database:
    """The CPU a local PostgreSQL server spends for one benchmark database, from /proc.

    Attribution: the postmaster is the parent of a backend of ``name`` (``pg_backend_pid()``).
    Its children whose process title is a client backend (``postgres: user db host(port) …``)
    of ``name`` are this tree's; the server's own processes (postmaster, checkpointer, WAL
    writer, background writer, autovacuum) serve every database and are counted whole, in the
    window of whichever tree is being driven (the other tree's server is idle then); backends
    of other databases (other helpers, CI) and autovacuum workers naming another database are
    left out. Backends that start and end inside a window are caught by sampling every 0.2 s
    (the last value seen counts); the count of backends new in the window is printed (pool
    overflow opening connections under load)."""

    def __init__(self, url: str, name: str) -> None:
        import psycopg

        self.name = name
        with psycopg.connect(url) as c:
            row = c.execute("select pg_backend_pid()").fetchone()
        assert row is not None
        backend = int(row[0])
        try:
            with open(f"/proc/{backend}/stat") as f:
                self.postmaster: int | None = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:  # the server is not on this machine
            self.postmaster = None

    def sample(self) -> dict[int, tuple[bool, float]]:
        """pid -> (one of this database's backends?, CPU seconds) for the server's processes
        that count (this database's backends and the server's own)."""
        if self.postmaster is None:
            return {}
        out: dict[int, tuple[bool, float]] = {}
        own = _proc_cpu(self.postmaster)
        if own is not None:
            out[self.postmaster] = (False, own)
        try:
            with open(f"/proc/{self.postmaster}/task/{self.postmaster}/children") as f:
                children = [int(p) for p in f.read().split()]
        except OSError:
            return out
        for pid in children:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    title = f.read().decode(errors="replace").split()
            except OSError:
                continue
            client = len(title) >= 4 and ("(" in title[3] or title[3] == "[local]")
            if client and title[2] != self.name:
                continue  # another database's backend
            if title[1:3] == ["autovacuum", "worker"] and len(title) > 3 and self.name not in title:
                continue  # vacuuming another database
            cpu = _proc_cpu(pid)
            if cpu is not None:
                out[pid] = (client, cpu)
        return out


class DatabaseWindow:
    """A measured window's database CPU: samples in a thread until :meth:`stop`."""

    def __init__(self, db: Database) -> None:
        import threading

        self.db = db
        self.first = db.sample()
        self.last = dict(self.first)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.last.update(self.db.sample())

    def stop(self) -> tuple[float, int]:
        """(CPU seconds spent in the window, backends new in the window)."""
        self._stop.set()
        self._thread.join()
        self.last.update(self.db.sample())
        spent = sum(
            cpu - self.first.get(pid, (False, 0.0))[1] for pid, (_c, cpu) in self.last.items()
        )
        new = sum(1 for pid, (client, _) in self.last.items() if client and pid not in self.first)
        return spent, new


async def drive(
    base: str, requests: list[tuple[str, str, Any, dict]], seconds: float, concurrency: int
) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    errors = 0

    async def worker(k: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        i = k
        while time.perf_counter() < deadline:
            method, path, body, headers = requests[i % len(requests)]
            i += concurrency
            t = time.perf_counter()
            payload = body() if callable(body) else body
            r = await client.request(method, base + path, json=payload, headers=headers)
            latencies.append(time.perf_counter() - t)
            if r.status_code >= 400:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(k, client) for k in range(concurrency)))
    if errors:
        print(f"  !! {errors} error responses")
    return latencies


def report(
    name: str,
    lat: list[float],
    seconds: float,
    server_cpu: float,
    own_cpu: float,
    db: tuple[float, int] | None = None,
    machine: tuple[float, float] | None = None,
) -> dict[str, float]:
    """One window's figures. ``db``: the database's CPU seconds and new backends (PostgreSQL);
    ``machine``: the machine's busy and total CPU seconds (all cores) in the window."""
    lat = sorted(lat)
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
    n = len(lat)
    figures = {
        "rate": n / seconds,
        "p50": p50,
        "p99": p99,
        "cpu": server_cpu / n * 1000,
        "gen": own_cpu / n * 1000,
        "load": os.getloadavg()[0],
    }
    db_part = ""
    if db is not None:
        figures["db"] = db[0] / n * 1000
        db_part = f", database {figures['db']:.2f} ms"
    print(
        f"  {name:<20} {n / seconds:8.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
        f"CPU/request: server {figures['cpu']:.2f} ms{db_part}, load generator "
        f"{figures['gen']:.2f} ms   {load()}",
        flush=True,
    )
    if machine is not None:
        # Where the machine's cores went in the window (cores busy on average, wall time).
        busy, total = machine
        cores = os.cpu_count() or 1
        wall = total / cores
        parts = [
            ("server", server_cpu),
            ("database", db[0] if db else 0.0),
            ("load generator", own_cpu),
        ]
        if db is None:
            parts = [p for p in parts if p[0] != "database"]
        other = busy - sum(c for _, c in parts)
        line = ", ".join(f"{k} {c / wall:.2f}" for k, c in parts)
        figures.update({f"cores {k}": c / wall for k, c in parts})
        figures["cores other"] = other / wall
        figures["cores idle"] = (total - busy) / wall
        new = f"; {db[1]} new database connections" if db is not None else ""
        print(
            f"  {'':<20} the {cores} cores: {line}, other processes {other / wall:.2f}, "
            f"idle {(total - busy) / wall:.2f}{new}",
            flush=True,
        )
    return figures


def measured(
    name: str,
    server_pid: int,
    base: str,
    requests: list[tuple[str, str, Any, dict]],
    args: argparse.Namespace,
    db: Database | None = None,
) -> dict[str, float]:
    window = DatabaseWindow(db) if db is not None else None
    server0, own0, (busy0, total0) = cpu_seconds(server_pid), own_cpu_seconds(), machine_jiffies()
    lat = asyncio.run(drive(base, requests, args.seconds, args.concurrency))
    server1, own1, (busy1, total1) = cpu_seconds(server_pid), own_cpu_seconds(), machine_jiffies()
    spent = window.stop() if window is not None else None
    tick = os.sysconf("SC_CLK_TCK")
    return report(
        name,
        lat,
        args.seconds,
        server1 - server0,
        own1 - own0,
        spent,
        ((busy1 - busy0) / tick, (total1 - total0) / tick),
    )


# ---------------------------------------------------------------- one or two checkouts


def child(tree: Path, op: str, *extra: str) -> None:
    """Run this script's app-side step ``op`` in a process that imports ``tree``'s code."""
    env = {**os.environ, "SKILLTRACE_BENCH_ROOT": str(tree), "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", op, *extra],
        env=env,
        check=True,
    )


def child_main(args: argparse.Namespace) -> None:
    learners_file = Path(args.learners_file)
    if args.child == "prepare":
        learners = prepare(args.database_url, Path(args.data_dir), args.learners)
        learners_file.write_text(json.dumps(learners))
        return
    os.environ["SKILLTRACE_DATABASE_URL"] = args.database_url
    os.environ["SKILLTRACE_DATA_DIR"] = args.data_dir
    if args.child == "in-process":
        learners = [tuple(x) for x in json.loads(learners_file.read_text())]
        in_process(args.database_url, learners, args.in_process)  # type: ignore[arg-type]
    else:
        total, bad = check_ledgers(args.database_url)
        print(f"  ledger: {total} enrolments recomputed from events, {bad} mismatches")


class Tree:
    """One checkout under test: its database, its learners and its server."""

    def __init__(self, label: str, root: Path, database_url: str) -> None:
        self.label = label
        self.root = root
        self.database_url = database_url
        self.data_dir = Path(tempfile.mkdtemp(prefix="st-bench-"))
        self.learners_file = self.data_dir / "learners.json"
        self.server: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.figures: dict[str, list[dict[str, float]]] = {"/healthz": [], "heartbeat": []}
        self.db: Database | None = None  # PostgreSQL: its server's CPU for this database

    def step(self, op: str, args: argparse.Namespace) -> None:
        print(f"  [{self.label}: {self.root}]", flush=True)
        child(
            self.root,
            op,
            "--database-url",
            self.database_url,
            "--data-dir",
            str(self.data_dir),
            "--learners-file",
            str(self.learners_file),
            "--learners",
            str(args.learners),
            "--in-process",
            str(args.in_process),
        )

    def learners(self) -> list[tuple[str, str, str]]:
        return [tuple(x) for x in json.loads(self.learners_file.read_text())]  # type: ignore[misc]

    def start(self, workers: int) -> None:
        port = free_port()
        env = {
            **os.environ,
            "SKILLTRACE_DATABASE_URL": self.database_url,
            "SKILLTRACE_DATA_DIR": str(self.data_dir),
            "SKILLTRACE_FACE_WORKERS": "0",
            "SKILLTRACE_LOG_LEVEL": "WARNING",
            "SKILLTRACE_ROLLCALL_SWEEP_INTERVAL_S": "0",
            "PYTHONPATH": str(self.root),
        }
        env.pop("SKILLTRACE_BENCH_ROOT", None)
        self.server = subprocess.Popen(
            # The tree's code, whatever the venv's entry point names.
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
            + ["--workers", str(workers)],
            env=env,
            cwd=str(self.root),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120  # a busy machine starts workers slowly
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.label}: the server did not answer /healthz within 120 s")

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(30)
            self.server = None


def run(
    label: str,
    database_urls: list[str],
    workers: int,
    args: argparse.Namespace,
    roots: list[tuple[str, Path]],
) -> None:
    print(
        f"\n== {label}: {args.learners} learners, {args.concurrency} concurrent, "
        f"{workers} server worker(s) per tree   {load()}",
        flush=True,
    )
    trees = [Tree(name, root, url) for (name, root), url in zip(roots, database_urls, strict=True)]
    for tree in trees:
        tree.step("prepare", args)
        if tree.database_url.startswith("postgresql"):
            from sqlalchemy.engine import make_url

            tree.db = Database(tree.database_url, str(make_url(tree.database_url).database))
    if args.in_process:
        for tree in trees:
            tree.step("in-process", args)
    started: dict[str, float] = {}

    def playing(sid: str, lesson: str) -> Callable[[], dict[str, Any]]:
        return lambda: {
            "visible": True,
            "lesson_id": lesson,
            "position_ms": position_ms(sid, started),
        }

    try:
        for tree in trees:
            tree.start(workers)
        for tree in trees:
            tree.wait_ready()
        requests: dict[str, dict[str, list[tuple[str, str, Any, dict]]]] = {}
        for tree in trees:
            beats = [
                (
                    "POST",
                    f"/api/v1/sessions/{sid}/heartbeat",
                    playing(sid, lesson),
                    {"Authorization": f"Bearer {tok}"},
                )
                for tok, sid, lesson in tree.learners()
            ]
            requests[tree.label] = {"/healthz": [("GET", "/healthz", None, {})], "heartbeat": beats}
            # Warm-up: every learner once at least (the token cache knows a learner who beats
            # every 30 s; the pool has grown to its size), so the first window is as the next.
            asyncio.run(drive(tree.base, beats, 1.5, args.concurrency))
        for r in range(args.rounds):
            order = trees if r % 2 == 0 else trees[::-1]
            for target in ("/healthz", "heartbeat"):
                for tree in order:
                    assert tree.server is not None
                    name = target if len(trees) == 1 else f"{target} ({tree.label})"
                    tree.figures[target].append(
                        measured(
                            name,
                            tree.server.pid,
                            tree.base,
                            requests[tree.label][target],
                            args,
                            tree.db,
                        )
                    )
    finally:
        for tree in trees:
            tree.stop()
    for tree in trees:
        tree.step("ledger", args)
    summary(label, trees)


def summary(label: str, trees: list[Tree]) -> None:
    """Each tree's figures side by side (each round's, as measured, with its load average)."""

    def cell(f: dict[str, float], key: str) -> str:
        if key not in f:
            return "-"
        fmt = {"rate": "{:.0f}", "p50": "{:.1f}", "p99": "{:.1f}"}.get(key, "{:.2f}")
        return fmt.format(f[key])

    rows = [
        ("/healthz req/s", "/healthz", "rate"),
        ("/healthz server CPU ms", "/healthz", "cpu"),
        ("heartbeat req/s", "heartbeat", "rate"),
        ("heartbeat / /healthz", "ratio", ""),
        ("heartbeat server CPU ms", "heartbeat", "cpu"),
        ("heartbeat database CPU ms", "heartbeat", "db"),
        ("heartbeat load gen CPU ms", "heartbeat", "gen"),
        ("heartbeat cores: server", "heartbeat", "cores server"),
        ("  database", "heartbeat", "cores database"),
        ("  load generator", "heartbeat", "cores load generator"),
        ("  other processes", "heartbeat", "cores other"),
        ("  idle", "heartbeat", "cores idle"),
        ("/healthz cores: server", "/healthz", "cores server"),
        ("  load generator", "/healthz", "cores load generator"),
        ("  idle", "/healthz", "cores idle"),
        ("heartbeat p50 ms", "heartbeat", "p50"),
        ("heartbeat p99 ms", "heartbeat", "p99"),
        ("load average (1 min)", "heartbeat", "load"),
    ]
    print(f"\n  {label}, side by side (one column per round):")
    print("  " + f"{'':<26}" + "".join(f"{t.label + ' ' + str(t.root):<40}" for t in trees))
    for title, target, key in rows:
        line = f"  {title:<26}"
        for tree in trees:
            if target == "ratio":
                cells = [
                    f"{h['rate'] / b['rate']:.0%}"
                    for h, b in zip(
                        tree.figures["heartbeat"], tree.figures["/healthz"], strict=True
                    )
                ]
            elif key == "load":
                cells = [f"{f['load']:.2f}" for f in tree.figures[target]]
            else:
                cells = [cell(f, key) for f in tree.figures[target]]
            line += f"{' / '.join(cells):<40}"
        print(line)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--learners", type=int, default=200)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument(
        "--sqlite-workers", type=int, default=1, help="SQLite is best served by one process"
    )
    p.add_argument("--postgres-workers", type=int, default=2)
    p.add_argument("--workers", type=int, help="the same worker count for both databases")
    p.add_argument("--only", choices=["sqlite", "postgres"])
    p.add_argument(
        "--in-process",
        type=int,
        default=1000,
        metavar="N",
        help="heartbeats for the in-process figures (0: skip them)",
    )
    p.add_argument(
        "--tree",
        "--baseline-tree",
        dest="tree",
        metavar="PATH",
        help="another checkout to measure in the same run, as the baseline (before)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        help="measurements of each target per tree, alternating (default 1; 2 with --tree)",
    )
    p.add_argument("--child", choices=["prepare", "in-process", "ledger"], help=argparse.SUPPRESS)
    p.add_argument("--database-url", help=argparse.SUPPRESS)
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.add_argument("--learners-file", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child_main(args)
        return
    if args.workers:
        args.sqlite_workers = args.postgres_workers = args.workers
    here = Path(__file__).resolve().parents[1]
    roots = [("after", here)]
    if args.tree:
        base = Path(args.tree).resolve()
        if not (base / "app" / "__init__.py").is_file():
            raise SystemExit(f"--tree {base}: not a SkillTrace checkout (no app/)")
        roots.insert(0, ("before", base))
    else:
        roots = [("this tree", here)]
    if args.rounds is None:
        args.rounds = 2 if args.tree else 1
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}   {load()}")
    if args.only != "postgres":
        tmp = Path(tempfile.mkdtemp(prefix="st-bench-db-"))
        urls = [f"sqlite:///{tmp / f'bench{i}.db'}" for i in range(len(roots))]
        run("SQLite", urls, args.sqlite_workers, args, roots)
    pg = os.environ.get("SKILLTRACE_TEST_POSTGRES_URL")
    if args.only == "sqlite":
        return
    if pg:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        names = [f"skilltrace_bench_{uuid.uuid4().hex[:6]}" for _ in roots]
        admin = create_engine(
            pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as c:
            for name in names:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        urls = [
            make_url(pg).set(database=name).render_as_string(hide_password=False) for name in names
        ]
        try:
            run("PostgreSQL", urls, args.postgres_workers, args, roots)
        finally:
            with admin.connect() as c:
                for name in names:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        print("\n(PostgreSQL skipped: set SKILLTRACE_TEST_POSTGRES_URL)")


if __name__ == "__main__":
    main()

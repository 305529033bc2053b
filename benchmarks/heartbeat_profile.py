"""Where a heartbeat's time goes: cProfile over N heartbeats through the whole app (ASGI, no
network), on a fresh SQLite or PostgreSQL database, top frames by own time and by cumulative time.

    .venv/bin/python benchmarks/heartbeat_profile.py [--n 2000] [--top 10] [--postgres]
        [--sort tottime|cumtime] [--out profile.pstats] [--tree PATH] [--cpu]

``--tree PATH`` profiles another checkout first (the baseline, e.g. ``git worktree add
/tmp/base main``), in a child process importing its code, then this one: both profiles in one
run, one after the other (``--out`` then names two files, ``*-before`` and ``*-after``).

The same learners and app as benchmarks/heartbeat_load.py's in-process figure. cProfile sees one
thread, so work the app sends to the thread pool (``anyio.to_thread.run_sync``) runs inline here:
the profile shows the CPU each step costs, not the waits of the hops between threads (their count
is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

#: The checkout whose app is profiled: this script's own, or the one a ``--tree`` run names.
ROOT = Path(os.environ.get("SKILLTRACE_BENCH_ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from heartbeat_load import prepare  # noqa: E402


async def asgi_call(app: object, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
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

    await app(scope, receive, send)  # type: ignore[operator]
    return status


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--learners", type=int, default=200)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--sort", default="tottime", choices=["tottime", "cumtime"])
    p.add_argument("--postgres", action="store_true", help="SKILLTRACE_TEST_POSTGRES_URL")
    p.add_argument("--out", help="also write the raw pstats here (for a flame graph viewer)")
    p.add_argument(
        "--text", action="store_true", help="heartbeats name no lesson (default: a video lesson)"
    )
    p.add_argument("--tree", metavar="PATH", help="profile this checkout first, as the baseline")
    p.add_argument(
        "--cpu",
        action="store_true",
        help="time frames by this process's CPU time, not the wall clock (waits on PostgreSQL "
        "then cost nothing: what the process spends, as heartbeat_load.py's server CPU)",
    )
    args = p.parse_args()
    if args.tree:
        profile_both(args)
        return
    os.environ.setdefault("SKILLTRACE_FACE_WORKERS", "0")
    os.environ.setdefault("SKILLTRACE_LOG_LEVEL", "WARNING")
    os.environ["SKILLTRACE_ROLLCALL_SWEEP_INTERVAL_S"] = "0"
    os.environ["SKILLTRACE_WEBHOOK_DELIVERY_INTERVAL_S"] = "0"
    admin = None
    name = ""
    if args.postgres:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        pg = os.environ["SKILLTRACE_TEST_POSTGRES_URL"]
        name = f"skilltrace_prof_{uuid.uuid4().hex[:6]}"
        admin = create_engine(
            pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(pg).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='st-prof-')) / 'prof.db'}"
    try:
        learners = prepare(url, Path(tempfile.mkdtemp(prefix="st-prof-data-")), args.learners)
        from app.config import get_settings
        from app.main import create_app

        get_settings.cache_clear()
        app = create_app()

        def body_of(lesson: str, i: int) -> bytes:
            if args.text:
                return b'{"visible":true}'
            return f'{{"visible":true,"lesson_id":"{lesson}","position_ms":{1000 * i}}}'.encode()

        beats = [
            (
                f"/api/v1/sessions/{sid}/heartbeat",
                [
                    (b"authorization", f"Bearer {token}".encode()),
                    (b"content-type", b"application/json"),
                ],
                lesson,
            )
            for token, sid, lesson in learners
        ]

        async def run(n: int) -> float:
            t = time.perf_counter()
            for i in range(n):
                path, headers, lesson = beats[i % len(beats)]
                body = body_of(lesson, i // len(beats))
                length = (b"content-length", str(len(body)).encode())
                status = await asgi_call(app, path, [*headers, length], body)
                assert status == 200, status
            return (time.perf_counter() - t) / n * 1000

        from sqlalchemy import event

        from app.db import get_engine

        statements: list[str] = []
        commits = 0

        def on_statement(conn: object, cursor: object, statement: str, *a: object) -> None:
            statements.append(statement.split(None, 1)[0].upper())

        def on_commit(conn: object) -> None:
            nonlocal commits
            commits += 1

        import anyio.to_thread

        hops = 0
        real_run_sync = anyio.to_thread.run_sync

        async def inline(func, *a, **_kw):  # type: ignore[no-untyped-def]
            nonlocal hops
            hops += 1
            return func(*a)

        asyncio.run(run(200))  # warm-up: statement caches, pool
        engine = get_engine()
        event.listen(engine, "before_cursor_execute", on_statement)
        event.listen(engine, "commit", on_commit)
        asyncio.run(run(200))
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)
        kinds = {k: statements.count(k) / 200 for k in sorted(set(statements))}
        print(
            f"statements per heartbeat ({'no lesson' if args.text else 'a video lesson'}): "
            f"{len(statements) / 200:.2f} ("
            + ", ".join(f"{k} {v:.2f}" for k, v in kinds.items())
            + f") + {commits / 200:.2f} commit"
        )
        anyio.to_thread.run_sync = inline  # type: ignore[assignment]
        profiler = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
        profiler.enable()
        per = asyncio.run(run(args.n))
        profiler.disable()
        anyio.to_thread.run_sync = real_run_sync  # type: ignore[assignment]
        db = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"{args.n} heartbeats, {per:.3f} ms each under the profiler ({db}); "
            f"{hops / args.n:.1f} thread-pool hops per heartbeat"
            + ("; frames timed by CPU time" if args.cpu else "")
        )
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(args.sort)
        stats.print_stats(args.top)
        print(out.getvalue())
        if args.out:
            stats.dump_stats(args.out)
    finally:
        if admin is not None:
            from sqlalchemy import text

            from app.db import dispose_engines

            dispose_engines()
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def profile_both(args: argparse.Namespace) -> None:
    """The baseline checkout's profile, then this one's, each in a child process."""
    base = Path(args.tree).resolve()
    if not (base / "app" / "__init__.py").is_file():
        raise SystemExit(f"--tree {base}: not a SkillTrace checkout (no app/)")
    here = Path(__file__).resolve().parents[1]
    rest = [a for a in sys.argv[1:] if a != "--tree" and a != args.tree]
    for label, root in (("before", base), ("after", here)):
        argv = list(rest)
        if args.out:
            stem, dot, ext = args.out.rpartition(".")
            named = f"{stem}-{label}.{ext}" if dot else f"{args.out}-{label}"
            argv[argv.index(args.out)] = named
        print(f"== {label}: {root}   load {os.getloadavg()[0]:.2f}", flush=True)
        env = {**os.environ, "SKILLTRACE_BENCH_ROOT": str(root), "PYTHONPATH": str(root)}
        subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv], env=env, check=True)


if __name__ == "__main__":
    main()

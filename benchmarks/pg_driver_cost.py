"""What the PostgreSQL driver itself costs a heartbeat: the client's CPU for one heartbeat-shaped
transaction, through psycopg as the app sends it and, when it is installed, through asyncpg.

    SKILLTRACE_TEST_POSTGRES_URL=postgresql://… .venv/bin/python benchmarks/pg_driver_cost.py
        [--n 3000] [--rounds 3]

The transaction has the heartbeat's shape (app/courses/heartbeat.py on PostgreSQL): the study
session's row locked, a 20-column read with an aggregate over the session's heartbeats, the
heartbeat's row inserted and the session updated in one statement, the commit. It runs on its own
tables in a scratch database, one connection, one transaction after another; no app code, so the
figure is the driver's (and the kernel's socket calls) alone. Variants, alternating per round:

- ``psycopg, pipelined``: what the app does (the lock and the read in one round trip);
- ``psycopg, one by one``: the same statements each in its own round trip;
- ``asyncpg``: ``BEGIN``, the three statements and ``COMMIT`` on one asyncio connection (asyncpg
  has no pipeline for reads), skipped unless ``pip install asyncpg`` was done (it is not a
  dependency: this measures whether it would be worth one).

Client CPU is this process's user + system time per transaction; wall time includes the
server's work and the waits. Compare within one run (the load average is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

SESSIONS = 50
COLUMNS = 14  # with the 6 named ones: a read of 20 columns and an aggregate, as the heartbeat's
LOCK = "SELECT id FROM drv_s WHERE id = %s FOR UPDATE"
_NUMBERED = ", ".join(f"c{i}" for i in range(COLUMNS))  # this script's own column names
READ = (
    f"SELECT user_id, state, started_at, last_at, open_ms, {_NUMBERED}"  # noqa: S608
    ", (SELECT coalesce(sum(credited_ms), 0) FROM drv_h"
    " WHERE session_id = s.id AND at > s.started_at) FROM drv_s s WHERE id = %s"
)
WRITE = (
    "WITH n AS (INSERT INTO drv_h VALUES (%s, %s, %s, %s, %s, %s, %s))"
    " UPDATE drv_s SET last_at = %s, open_ms = %s WHERE id = %s"
)


def dollar(sql: str) -> str:
    """``%s`` placeholders as asyncpg's ``$1, $2, …``."""
    parts = sql.split("%s")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


def prepare(url: str) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(SESSIONS)]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS drv_h")
        c.execute("DROP TABLE IF EXISTS drv_s")
        cols = ", ".join(f"c{i} int" for i in range(COLUMNS))
        c.execute(
            "CREATE TABLE drv_s (id uuid PRIMARY KEY, user_id uuid, state text,"
            f" started_at timestamptz, last_at timestamptz, open_ms bigint, {cols})"
        )
        c.execute(
            "CREATE TABLE drv_h (id uuid PRIMARY KEY, session_id uuid, at timestamptz,"
            " visible bool, credited_ms int, position_ms bigint, reach_ms bigint)"
        )
        c.execute("CREATE INDEX ON drv_h (session_id, at)")
        ones = ", ".join(["1"] * COLUMNS)
        for sid in ids:
            c.execute(
                f"INSERT INTO drv_s VALUES (%s, %s, 'studying', now(), now(), 0, {ones})",  # noqa: S608
                (sid, uuid.uuid4()),
            )
    return ids


def _write_args(sid: uuid.UUID, open_ms: int) -> tuple[Any, ...]:
    now = dt.datetime.now(dt.UTC)
    return (uuid.uuid4(), sid, now, True, 1000, 5000, 5000, now, open_ms + 1000, sid)


def psycopg_run(url: str, ids: list[uuid.UUID], n: int, *, pipelined: bool) -> None:
    with psycopg.connect(url) as conn:
        for k in range(n):
            sid = ids[k % len(ids)]
            if pipelined:
                with conn.pipeline():
                    lock, read = conn.cursor(), conn.cursor()
                    lock.execute(LOCK, (sid,))
                    read.execute(READ, (sid,))
            else:
                lock = conn.execute(LOCK, (sid,))
                read = conn.execute(READ, (sid,))
            lock.fetchone()
            row = read.fetchone()
            assert row is not None
            conn.execute(WRITE, _write_args(sid, row[4]))
            conn.commit()


def asyncpg_run(url: str, ids: list[uuid.UUID], n: int) -> None:
    import asyncpg  # type: ignore[import-not-found, unused-ignore]

    lock, read, write = dollar(LOCK), dollar(READ), dollar(WRITE)

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            for k in range(n):
                sid = ids[k % len(ids)]
                async with conn.transaction():
                    await conn.fetchrow(lock, sid)
                    row = await conn.fetchrow(read, sid)
                    await conn.execute(write, *_write_args(sid, row[4]))
        finally:
            await conn.close()

    asyncio.run(go())


def timed(run: Callable[[], None], n: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return (time.process_time() - cpu) / n * 1e3, (time.perf_counter() - wall) / n * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="transactions per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = os.environ.get("SKILLTRACE_TEST_POSTGRES_URL")
    if not base:
        sys.exit("set SKILLTRACE_TEST_POSTGRES_URL (a server where the user may create databases)")
    name = f"skilltrace_drv_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        ids = prepare(url)
        variants: dict[str, Callable[[], None]] = {
            "psycopg, pipelined (the app)": lambda: psycopg_run(url, ids, args.n, pipelined=True),
            "psycopg, one by one": lambda: psycopg_run(url, ids, args.n, pipelined=False),
        }
        try:
            import asyncpg  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
        except ImportError:
            print("(asyncpg not installed: pip install asyncpg to measure it too)")
        else:
            variants["asyncpg"] = lambda: asyncpg_run(url, ids, args.n)
        for run in variants.values():  # warm the server's caches and plans
            timed(run, args.n)
        print(f"{args.n} heartbeat-shaped transactions per variant and round; client CPU / wall")
        for r in range(1, args.rounds + 1):
            for label, run in variants.items():
                cpu, wall = timed(run, args.n)
                load = os.getloadavg()[0]
                print(
                    f"  round {r}  {label:30} {cpu:.3f} ms CPU  {wall:.3f} ms wall  load {load:.2f}"
                )
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()

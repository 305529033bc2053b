"""Audit appends per second: one institution's chain (appends serialise on its head row) against
several chains at once, each append in its own committed transaction as a request makes it.

    .venv/bin/python benchmarks/audit_append.py [--seconds 5] [--threads 4] [--only sqlite|postgres]

On SQLite every write transaction queues on the one database lock whatever the chain; on
PostgreSQL appends to different chains run in parallel and only one chain's appends queue. The
PostgreSQL run uses SKILLTRACE_TEST_POSTGRES_URL (a server where the user may create databases).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SKILLTRACE_SECRET_KEY", "bench-secret-key-" + "x" * 32)


def run(label: str, url: str, seconds: float, threads: int) -> None:
    from app.accounts import service as accounts
    from app.audit import service as audit
    from app.audit.service import Actor
    from app.db import make_engine, transaction
    from app.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as s:
        insts = [
            accounts.create_institution(
                s, code=f"A{uuid.uuid4().hex[:6]}", name=f"审计压测机构{i}", actor=Actor.system()
            ).id
            for i in range(threads)
        ]

    def measure(chains: list[uuid.UUID]) -> float:
        stop = time.perf_counter() + seconds
        counts = [0] * len(chains)

        def worker(k: int, inst: uuid.UUID) -> None:
            while time.perf_counter() < stop:
                with transaction(engine) as s:
                    audit.append(
                        s,
                        actor=Actor.system("bench"),
                        action="bench.append",
                        subject=f"bench:{k}:{counts[k]}",
                        payload={"n": counts[k]},
                        institution_id=inst,
                    )
                counts[k] += 1

        ts = [threading.Thread(target=worker, args=(k, c)) for k, c in enumerate(chains)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sum(counts) / seconds

    one = measure(insts[:1])
    same = measure([insts[0]] * threads)
    spread = measure(insts)
    load = f"load {os.getloadavg()[0]:.2f}"
    print(
        f"{label}: one chain, 1 writer {one:.0f} appends/s; one chain, {threads} writers "
        f"{same:.0f}/s; {threads} chains, one writer each {spread:.0f}/s   {load}"
    )
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--only", choices=["sqlite", "postgres"])
    args = ap.parse_args()
    if args.only != "postgres":
        tmp = Path(tempfile.mkdtemp(prefix="st-audit-"))
        run("SQLite", f"sqlite:///{tmp / 'audit.db'}", args.seconds, args.threads)
    pg = os.environ.get("SKILLTRACE_TEST_POSTGRES_URL")
    if args.only == "sqlite" or not pg:
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"skilltrace_audit_{uuid.uuid4().hex[:6]}"
    admin = create_engine(
        pg.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run(
            "PostgreSQL",
            make_url(pg).set(database=name).render_as_string(False),
            args.seconds,
            args.threads,
        )
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()

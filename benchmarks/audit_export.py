"""Audit export and offline verification speed over a long chain.

    .venv/bin/python benchmarks/audit_export.py [--entries 1000000]

Builds one chain of N entries (bulk insert of rows whose hashes come from app.audit.chain) in
a temporary, migrated SQLite file and, if SKILLTRACE_TEST_POSTGRES_URL is set, in a temporary
PostgreSQL database. Measures, per backend:

- export: app.audit.export.iter_export_bytes (the HTTP path) and, for comparison, the ORM path
  ``export_lines(iter_export())`` (the CLI), entries/s and peak RSS growth while exporting to
  /dev/null;
- verify: ChainVerifier over the exported file (parse + recompute every hash), entries/s.

Goals: export >= 50 k entries/s with RSS growth <= 50 MB; verification >= 100 k entries/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("SKILLTRACE_SECRET_KEY", "bench-secret-key-" + "x" * 32)

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.audit import export  # noqa: E402
from app.audit import service as audit  # noqa: E402
from app.audit.chain import GENESIS, ChainVerifier, canonical, entry_hash  # noqa: E402
from app.audit.models import AuditChainHead, AuditEntry  # noqa: E402
from app.db import make_engine, transaction  # noqa: E402
from app.migrate import upgrade  # noqa: E402

CHAIN = f"inst:{uuid.UUID(int=1)}"


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakRss:
    """Samples RSS every few ms in a thread: the peak during a block, above its start."""

    def __enter__(self) -> PeakRss:
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.start


def build(url: str, n: int) -> float:
    engine = make_engine(url, pooled=False)
    t0 = time.perf_counter()
    prev = GENESIS
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[dict[str, Any]] = []
    actions = ("rollcall.passed", "study.session_started", "quiz.attempt_submitted")
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            t = start + timedelta(milliseconds=seq * 50)
            payload = {
                "session": str(uuid.UUID(int=seq)),
                "segment_seconds": seq % 900,
                "attendance_event": str(uuid.UUID(int=seq * 7)),
                "课程": "电工基础",
            }
            fields = {
                "chain": CHAIN,
                "seq": seq,
                "time": audit.format_time(t),
                "actor": f"user:{uuid.UUID(int=seq % 5000)}",
                "action": actions[seq % 3],
                "subject": f"rollcall:{uuid.UUID(int=seq)}",
                "payload": payload,
                "prev_hash": prev,
            }
            h = entry_hash(fields)
            batch.append({**fields, "time": t, "payload": canonical(payload).decode(), "hash": h})
            prev = h
            if len(batch) == 10_000:
                conn.execute(insert(AuditEntry), batch)
                batch.clear()
        if batch:
            conn.execute(insert(AuditEntry), batch)
        conn.execute(
            insert(AuditChainHead),
            [{"chain": CHAIN, "seq": n, "head_hash": prev, "updated_at": datetime.now(UTC)}],
        )
    engine.dispose()
    return time.perf_counter() - t0


def measure(url: str, n: int, out_dir: Path, label: str) -> dict[str, Any]:
    engine = make_engine(url, pooled=False)
    res: dict[str, Any] = {"backend": label, "entries": n}
    path = out_dir / f"{label}.ndjson"
    for name in ("fast", "orm"):
        with PeakRss() as mem, transaction(engine, reading=True) as s:
            t0 = time.perf_counter()
            size = 0
            with path.open("wb") if name == "fast" else open(os.devnull, "wb") as fh:
                chunks = (
                    export.iter_export_bytes(s, CHAIN)
                    if name == "fast"
                    else audit.export_lines(audit.iter_export(s, CHAIN))
                )
                for chunk in chunks:
                    fh.write(chunk)
                    size += len(chunk)
            dt = time.perf_counter() - t0
        res[f"export_{name}_entries_per_s"] = round(n / dt)
        res[f"export_{name}_rss_growth_mb"] = round(mem.growth, 1)
        res[f"export_{name}_s"] = round(dt, 2)
    res["file_mb"] = round(path.stat().st_size / 1e6, 1)
    t0 = time.perf_counter()
    v = ChainVerifier()
    cp = None
    with path.open("rb") as fh:
        for line in fh:
            obj = json.loads(line)
            if obj.get("type") == "checkpoint":
                cp = obj
                continue
            assert v.feed(obj, raw=line) is None, v.result
    r = v.finish(cp)
    dt = time.perf_counter() - t0
    assert r.ok and r.entries == n, r
    res["verify_entries_per_s"] = round(n / dt)
    res["verify_s"] = round(dt, 2)
    engine.dispose()
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    args = ap.parse_args()
    n = args.entries
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        url = f"sqlite:///{tmp_path / 'bench.db'}"
        upgrade(url)
        print(f"sqlite: building {n} entries ...", file=sys.stderr)
        built = build(url, n)
        print(f"  built in {built:.1f} s", file=sys.stderr)
        results.append(measure(url, n, tmp_path, "sqlite"))
        print(json.dumps(results[-1]))
        pg = os.environ.get("SKILLTRACE_TEST_POSTGRES_URL")
        if pg:
            name = f"skilltrace_bench_{uuid.uuid4().hex[:6]}"
            admin_url = pg.replace("postgresql://", "postgresql+psycopg://", 1)
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            db = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            try:
                upgrade(db)
                print(f"postgresql: building {n} entries ...", file=sys.stderr)
                built = build(db, n)
                print(f"  built in {built:.1f} s", file=sys.stderr)
                results.append(measure(db, n, tmp_path, "postgresql"))
                print(json.dumps(results[-1]))
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()

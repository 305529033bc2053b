"""Audit export and offline verification speed over a long chain (issue #5).

    .venv/bin/python benchmarks/audit_export.py [--entries 1000000] [--postgres URL]
        [--compare-tree /path/to/another/checkout]

Builds one valid chain of N entries (hashes from app.audit.chain, bulk-inserted) in a migrated
SQLite file, cached under var/bench/ and reused while it still has N entries, and with
``--postgres URL`` (default: $SKILLTRACE_TEST_POSTGRES_URL) in a database of its own on that
server, created for the run and dropped at its end (``--keep-db`` keeps it for the next run).
Then, per backend, each in a fresh child process:

- export: app.audit.export.iter_export_bytes (what the HTTP export and ``skilltrace audit
  export`` run) to a file, entries/s and peak RSS growth (VmHWM reset through
  /proc/self/clear_refs right before, so the peak is the export's own);
- verify: app.audit.verify.verify_export over that file, the checkpoint's signature against
  the JWKS included (what ``skilltrace audit verify FILE --jwks FILE`` runs), entries/s and RSS
  growth;
- baselines measured in the same run, to judge the figures on a busy machine: export — the
  same rows through the plain DB-API cursor, each hashed as ``sha256(json.dumps(row,
  sort_keys=True))``; verify — ``json.loads`` plus ``sha256`` of each line of the file;
- with ``--compare-tree``, the verifier of another checkout (say main's, before a change) on
  the same file, alternating with this one's, best of two runs each.

Goals: export >= 50 k entries/s with RSS growth <= 50 MB; verification >= 100 k entries/s.
The load average is printed with the figures (other work on the machine slows them down).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
#: A child measuring ``--compare-tree`` imports ``app`` from that tree instead of this one.
APP_ROOT = os.environ.get("SKILLTRACE_BENCH_APP_ROOT") or str(REPO_ROOT)
sys.path.insert(0, APP_ROOT)
os.environ.setdefault("SKILLTRACE_SECRET_KEY", "bench-secret-key-" + "x" * 32)

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.audit import service as audit  # noqa: E402
from app.audit.chain import GENESIS, canonical, entry_hash  # noqa: E402
from app.migrate import upgrade  # noqa: E402

CHAIN = f"inst:{uuid.UUID(int=1)}"
EXPORT_GOAL, VERIFY_GOAL, RSS_GOAL_MB = 50_000, 100_000, 50.0
BASELINE_ROWS = 200_000
HEAD_SQL = "SELECT seq FROM audit_chain_heads WHERE chain = {p}"
COLUMNS = ("chain", "seq", "time", "actor", "action", "subject", "payload", "prev_hash", "hash")


# --------------------------------------------------------------------------- the chain


def chain_rows(n: int) -> Iterator[tuple[Any, ...]]:
    """N entries of one chain, in COLUMNS order, linked and hashed as app.audit.service does."""
    prev = GENESIS
    start = datetime(2026, 1, 1, tzinfo=UTC)
    actions = ("rollcall.passed", "study.session_started", "quiz.attempt_submitted")
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
        prev = entry_hash(fields)
        yield (
            CHAIN,
            seq,
            t,
            fields["actor"],
            fields["action"],
            fields["subject"],
            canonical(payload).decode(),
            fields["prev_hash"],
            prev,
        )


def sqlite_head(path: Path) -> int | None:
    if not path.exists():
        return None
    with sqlite3.connect(path) as c:
        try:
            row = c.execute(
                "SELECT seq FROM audit_chain_heads WHERE chain = ?", (CHAIN,)
            ).fetchone()
        except sqlite3.Error:
            return None
    return row[0] if row else None


def build_sqlite(path: Path, n: int) -> float:
    """A migrated SQLite file holding the chain (built under a temporary name, then renamed)."""
    t0 = time.perf_counter()
    tmp = path.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    upgrade(f"sqlite:///{tmp}")
    # SQLAlchemy's storage format for the (naive UTC) DATETIME column.
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    with sqlite3.connect(tmp) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=OFF")
        sql = f"INSERT INTO audit_entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 9)})"  # noqa: S608
        batch: list[tuple[Any, ...]] = []
        last = ""
        for row in chain_rows(n):
            batch.append((*row[:2], row[2].astimezone(UTC).strftime(fmt), *row[3:]))
            if len(batch) == 50_000:
                c.executemany(sql, batch)
                last = batch[-1][-1]
                batch.clear()
        if batch:
            c.executemany(sql, batch)
            last = batch[-1][-1]
        c.execute(
            "INSERT INTO audit_chain_heads (chain, seq, head_hash, updated_at) VALUES (?,?,?,?)",
            (CHAIN, n, last, datetime.now(UTC).strftime(fmt)),
        )
    c.execute("PRAGMA journal_mode=DELETE")  # committed: fold the WAL in and remove it
    c.close()
    tmp.rename(path)
    return time.perf_counter() - t0


def pg_head(url: str) -> int | None:
    with psycopg.connect(url) as c:
        try:
            row = c.execute(
                "SELECT seq FROM audit_chain_heads WHERE chain = %s", (CHAIN,)
            ).fetchone()
        except psycopg.Error:
            return None
    return row[0] if row else None


def build_pg(url: str, n: int) -> float:
    t0 = time.perf_counter()
    upgrade(url)
    last = GENESIS
    with psycopg.connect(url) as c, c.cursor() as cur:
        with cur.copy(f"COPY audit_entries ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in chain_rows(n):
                copy.write_row(row)
                last = row[-1]
        cur.execute(
            "INSERT INTO audit_chain_heads (chain, seq, head_hash, updated_at) "
            "VALUES (%s, %s, %s, now())",
            (CHAIN, n, last),
        )
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("VACUUM ANALYZE audit_entries")
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- measuring (child)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


class Peak:
    """Peak RSS growth over a block: VmHWM reset at its start (Linux clear_refs), or, where
    that is refused, ru_maxrss of this process (then the growth is an upper bound)."""

    def __enter__(self) -> Peak:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.exact = True
        except OSError:
            self.exact = False
        self.start_kb = _status_kb("VmRSS")
        return self

    def __exit__(self, *exc: Any) -> None:
        peak = (
            _status_kb("VmHWM")
            if self.exact
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        )
        self.growth_mb = max(0, peak - self.start_kb) / 1024


def child_export(url: str, out: str) -> dict[str, Any]:
    from app.audit import export, signing
    from app.db import make_engine, transaction

    engine = make_engine(url, pooled=False)
    size = 0
    with transaction(engine, reading=True) as s:
        # Warm up (connection, lazy imports, the signing key) with an export of no entries.
        list(export.iter_export_bytes(s, CHAIN, since=datetime(9999, 1, 1, tzinfo=UTC)))
        with Peak() as mem, open(out, "wb") as fh:
            t0 = time.perf_counter()
            for chunk in export.iter_export_bytes(s, CHAIN):
                fh.write(chunk)
                size += len(chunk)
            dt = time.perf_counter() - t0
    Path(out + ".jwks").write_text(json.dumps(signing.jwks()))
    engine.dispose()
    return {"seconds": dt, "rss_growth_mb": mem.growth_mb, "bytes": size, "exact": mem.exact}


def child_verify(path: str) -> dict[str, Any]:
    import jwt  # noqa: F401 - imported by check_signature: not part of the measurement

    from app.audit import signing, verify  # noqa: F401 - signing: as above

    keys = Path(path + ".jwks")
    with Peak() as mem, open(path, "rb") as fh:
        t0 = time.perf_counter()
        if hasattr(verify, "verify_export"):
            result = verify.verify_export(fh, keys)
        else:  # a --compare-tree from before verify_export: what its CLI ran
            checked = verify.verify_lines(fh)
            assert checked.checkpoint is not None, checked.result
            verify.check_signature(checked.checkpoint, keys, checked.checkpoint_line)
            result = checked.result
        assert result.ok, result
        dt = time.perf_counter() - t0
    return {
        "seconds": dt,
        "rss_growth_mb": mem.growth_mb,
        "entries": result.entries,
        "exact": mem.exact,
    }


def child_export_baseline(url: str, limit: int) -> dict[str, Any]:
    sql = (
        f"SELECT {', '.join(COLUMNS)} FROM audit_entries WHERE chain = {{p}} "  # noqa: S608
        f"ORDER BY seq LIMIT {int(limit)}"
    )
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(make_url(url).database or "")
        cur = conn.cursor()
        cur.execute(sql.format(p="?"), (CHAIN,))
    else:
        conn = psycopg.connect(url)
        cur = conn.cursor(name="baseline")
        cur.execute(sql.format(p="%s"), (CHAIN,))
    t0 = time.perf_counter()
    n = 0
    while rows := cur.fetchmany(2000):
        for row in rows:
            obj = dict(zip(COLUMNS, row, strict=True))
            obj["time"] = str(obj["time"])
            hashlib.sha256(
                json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            ).hexdigest()
        n += len(rows)
    dt = time.perf_counter() - t0
    conn.close()
    return {"seconds": dt, "entries": n}


def child_verify_baseline(path: str, limit: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            json.loads(line)
            hashlib.sha256(line).hexdigest()
            n += 1
            if n == limit:
                break
    return {"seconds": time.perf_counter() - t0, "entries": n}


def run_child(*args: str, app_root: Path | None = None) -> dict[str, Any]:
    load = os.getloadavg()[0]
    env = dict(os.environ)
    if app_root is not None:
        env["SKILLTRACE_BENCH_APP_ROOT"] = str(app_root)
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    res["load"] = (load, os.getloadavg()[0])
    return res


# --------------------------------------------------------------------------- the table


def measure(
    url: str, n: int, out_dir: Path, label: str, compare: Path | None = None
) -> list[dict[str, Any]]:
    path = str(out_dir / f"{label}.ndjson")
    rows: list[dict[str, Any]] = []
    base = run_child("export-baseline", url, str(min(n, BASELINE_ROWS)))
    exp = run_child("export", url, path)
    rows.append(
        {
            "backend": label,
            "what": "export NDJSON",
            "rate": n / exp["seconds"],
            "goal": EXPORT_GOAL,
            "rss_mb": exp["rss_growth_mb"],
            "baseline": base["entries"] / base["seconds"],
            "baseline_what": "DB-API rows, json.dumps+sha256",
            "seconds": exp["seconds"],
            "load": exp["load"],
            "file_mb": exp["bytes"] / 1e6,
            "rss_exact": exp["exact"],
        }
    )
    vbase = run_child("verify-baseline", path, str(min(n, BASELINE_ROWS)))
    ver = run_child("verify", path)
    if compare is not None:
        # The other tree's verifier on the same file, alternating with this one's so "before"
        # and "after" meet the same load: best of two each.
        other = [run_child("verify", path, app_root=compare)]
        ver = min(ver, run_child("verify", path), key=lambda r: r["seconds"])
        other.append(run_child("verify", path, app_root=compare))
        best = min(other, key=lambda r: r["seconds"])
        assert best["entries"] == n, best
        rows.append(
            {
                "backend": label,
                "what": "verify (compare)",
                "rate": n / best["seconds"],
                "goal": VERIFY_GOAL,
                "rss_mb": best["rss_growth_mb"],
                "baseline": vbase["entries"] / vbase["seconds"],
                "baseline_what": "json.loads+sha256 per line",
                "seconds": best["seconds"],
                "load": best["load"],
                "rss_exact": best["exact"],
            }
        )
    assert ver["entries"] == n, ver
    rows.append(
        {
            "backend": label,
            "what": "verify (CLI path)",
            "rate": n / ver["seconds"],
            "goal": VERIFY_GOAL,
            "rss_mb": ver["rss_growth_mb"],
            "baseline": vbase["entries"] / vbase["seconds"],
            "baseline_what": "json.loads+sha256 per line",
            "seconds": ver["seconds"],
            "load": ver["load"],
            "rss_exact": ver["exact"],
        }
    )
    os.unlink(path)
    os.unlink(path + ".jwks")
    return rows


def print_table(rows: list[dict[str, Any]], n: int) -> None:
    print(f"\n{n:,} entries; goals: export >= {EXPORT_GOAL:,}/s, RSS growth <= {RSS_GOAL_MB} MB,")
    print(f"verify >= {VERIFY_GOAL:,}/s. Load average (1 min) before/after each measurement.\n")
    head = (
        f"{'backend':<11}{'measure':<19}{'entries/s':>11}  {'goal':>9} {'met':<4}"
        f"{'RSS +MB':>8}  {'met':<4}{'baseline/s':>11}  {'x base':>6}  {'load':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        rss_met = "yes" if r["rss_mb"] <= RSS_GOAL_MB else "NO"
        print(
            f"{r['backend']:<11}{r['what']:<19}{r['rate']:>11,.0f}  {r['goal']:>9,} "
            f"{'yes' if r['rate'] >= r['goal'] else 'NO':<4}{r['rss_mb']:>8.1f}  "
            f"{rss_met if r['what'].startswith('export') else '':<4}"
            f"{r['baseline']:>11,.0f}  {r['rate'] / r['baseline']:>6.2f}  "
            f"{r['load'][0]:>4.2f}/{r['load'][1]:<4.2f}"
        )
    print(
        "\nbaselines: export = "
        + rows[0]["baseline_what"]
        + "; verify = "
        + rows[1]["baseline_what"]
    )
    if any(r["what"] == "verify (compare)" for r in rows):
        print("verify (compare): the --compare-tree verifier, best of a run before and after")
    exact = all(r["rss_exact"] for r in rows)
    print(
        "RSS +MB: peak (VmHWM, reset at the start) minus RSS at the start"
        if exact
        else "RSS +MB: upper bound (ru_maxrss; /proc/self/clear_refs was refused)"
    )
    for r in rows:
        if "file_mb" in r:
            print(f"{r['backend']}: export file {r['file_mb']:.1f} MB in {r['seconds']:.1f} s")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        res = {
            "export": lambda: child_export(rest[0], rest[1]),
            "verify": lambda: child_verify(rest[0]),
            "export-baseline": lambda: child_export_baseline(rest[0], int(rest[1])),
            "verify-baseline": lambda: child_verify_baseline(rest[0], int(rest[1])),
        }[kind]()
        print(json.dumps(res))
        return
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument(
        "--postgres",
        default=os.environ.get("SKILLTRACE_TEST_POSTGRES_URL"),
        help="PostgreSQL server URL (a database of its own is created there)",
    )
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "var" / "bench")
    ap.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database")
    ap.add_argument(
        "--compare-tree",
        type=Path,
        help="another checkout (e.g. main's) whose verifier is measured on the same file too",
    )
    args = ap.parse_args()
    n = args.entries
    cache: Path = args.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    # The checkpoint signing key lives under the data dir: keep it with the cache.
    os.environ["SKILLTRACE_DATA_DIR"] = str(cache)
    rows: list[dict[str, Any]] = []
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    if not args.no_sqlite:
        path = cache / f"audit-chain-{n}.sqlite"
        if sqlite_head(path) != n:
            print(f"sqlite: building {n:,} entries ...", file=sys.stderr)
            print(f"  built in {build_sqlite(path, n):.1f} s", file=sys.stderr)
        else:
            print(f"sqlite: reusing {path}", file=sys.stderr)
        url = f"sqlite:///{path}"
        upgrade(url)
        rows += measure(url, n, cache, "sqlite", args.compare_tree)
    if args.postgres:
        server = make_url(args.postgres.replace("postgresql+psycopg://", "postgresql://", 1))
        name = f"skilltrace_bench_audit_{n}"
        db_url = server.set(database=name).render_as_string(hide_password=False)
        admin = server.render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as c:
            exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists and pg_head(db_url) != n:
                c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                exists = None
            if not exists:
                c.execute(f'CREATE DATABASE "{name}"')
        try:
            if not exists:
                print(f"postgresql: building {n:,} entries ...", file=sys.stderr)
                print(f"  built in {build_pg(db_url, n):.1f} s", file=sys.stderr)
            else:
                print(f"postgresql: reusing database {name}", file=sys.stderr)
            upgrade(db_url)
            rows += measure(db_url, n, cache, "postgresql", args.compare_tree)
        finally:
            if not args.keep_db:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print_table(rows, n)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()

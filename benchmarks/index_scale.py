"""The app's 1:N face index at 1 M templates: memory per process, refresh cost, query time,
exactness at the decision threshold, and cold start from the database against cold start from
the node's encrypted snapshot — old tree and new tree alternating in one run.

    .venv/bin/python benchmarks/index_scale.py --baseline-tree /tmp/index-base \\
        [--templates 1000000] [--db /tmp/index-1m.db] [--queries 100] [--truth 20] \\
        [--wait-load 3] [--rounds 2] [--query-rounds 2]

    # only the searches, old against new (the same queries in each tree):
    .venv/bin/python benchmarks/index_scale.py --baseline-tree /tmp/base --rounds 0 ...

The database (SQLite) is filled fast: templates of 6 SFace-like unit embeddings (5 frames and
their centroid, as enrolment stores them), encrypted with the app's own AES-GCM encoding
(``_encode_embeddings``: the cold load pays the real decryption), inserted by ``executemany``
in 50 k blocks; it is kept at ``--db`` and reused by later runs with the same ``--templates``.
Each measurement runs in a child process of its tree (``PYTHONPATH=tree``), so the RSS figures
are a fresh process's and the trees never share code:

1. old tree: cold start (first refresh: every template read and decrypted), RSS delta;
2. new tree: the same cold start, then it writes the snapshot; refresh with nothing written,
   after 100 and after 10,000 template writes (re-enrolments: retire one, add one, through the
   ORM as the app writes them); queries (refresh + search, a burst of 5 probes planted at
   cosine 0.45-0.62 of a random template's centre, threshold 0.50): median and p99; exactness of
   the first ``--truth`` queries against the exact float64 fused score of every template
   (decrypted from the database, no prefilter, no int8): 0 missed, 0 extra is the goal;
3. new tree: cold start from the snapshot, catching up the 10,100 writes made since;
then ``--rounds`` - 1 more rounds of (old cold start, new cold start from the snapshot);
4. ``--query-rounds`` rounds of (old tree, new tree): a fresh process loads the index (round 1
   from the database, writing its own snapshot; later rounds from it) and runs the same
   ``--queries`` searches (targets at fixed rows of the database); memory per template of each
   tree; with ``--rounds 0`` the new tree's round 1 also checks exactness (``--truth``).
Before each child it waits (at most ``--wait-max`` s) for the 1-minute load average to fall below
``--wait-load``; the load is printed beside every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DIM, PER = 128, 6
SECRET = "index-scale-benchmark-secret-" + "z" * 32
THRESHOLD = 0.50


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3
    return 0.0


def unit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def make(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    """``n`` templates: 5 noisy frames around a random direction, and their centroid."""
    centres = unit(rng.standard_normal((n, 1, DIM), dtype=np.float32))
    frames = unit(centres + rng.standard_normal((n, PER - 1, DIM), dtype=np.float32) * 0.03)
    return np.concatenate([frames, unit(frames.mean(1, keepdims=True))], axis=1)


def toward(rng: np.random.Generator, target: np.ndarray[Any, Any], cos: float) -> Any:
    """A burst of 5 probes whose similarity to ``target``'s centre is about ``cos``."""
    c = unit(target.mean(0))
    r = unit(rng.standard_normal(DIM))
    r = unit(r - (r @ c) * c)
    base = unit(cos * c + np.sqrt(max(0.0, 1 - cos * cos)) * r)
    return unit(base[None, :] + rng.standard_normal((5, DIM)) * 0.01)


# ------------------------------------------------------------------ the database


def build(db: Path, n: int) -> None:
    from app.attendance.sface import SFACE_IDENTITY as M
    from app.attendance.templates import _encode_embeddings
    from app.migrate import upgrade

    if db.exists():
        con = sqlite3.connect(db)
        have = con.execute("SELECT count(*) FROM face_templates").fetchone()[0]
        con.close()
        if have >= n:
            print(f"database {db}: {have:,} templates (reused)   load {load()}")
            return
        db.unlink()
    t = time.perf_counter()
    upgrade(f"sqlite:///{db}")
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    rng = np.random.default_rng(19)
    now = "2026-12-03 00:00:00.000000"
    for start in range(0, n, 50_000):
        block = make(rng, min(50_000, n - start))
        rows = []
        for e in block:
            blob, digest = _encode_embeddings(e)
            rows.append(
                (uuid.uuid4().hex, uuid.uuid4().hex, blob, digest, PER, M.name, M.version)
                + (now, M.engine, M.sha256)
            )
        con.executemany(
            "INSERT INTO face_templates (id, user_id, status, embeddings_enc, embeddings_sha256,"
            " n_embeddings, model_name, model_version, created_at, face_engine, model_sha256,"
            " change_seq) VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            rows,
        )
        con.commit()
    con.close()
    print(
        f"database {db}: {n:,} encrypted templates built in {time.perf_counter() - t:.0f} s,"
        f" {db.stat().st_size / 1e9:.1f} GB   load {load()}"
    )


# ------------------------------------------------------------------ child: one tree


def child(args: argparse.Namespace) -> None:
    import inspect

    from sqlalchemy import create_engine
    from sqlmodel import Session

    from app.attendance.search import TemplateIndex
    from app.attendance.sface import SFACE_IDENTITY as M
    from app.attendance.templates import _decode_embeddings

    out: dict[str, Any] = {"load_start": load()}
    engine = create_engine(f"sqlite:///{args.db}")
    kwargs = {}
    if args.snapshot and "snapshot" in inspect.signature(TemplateIndex).parameters:
        kwargs["snapshot"] = Path(args.snapshot)
    index = TemplateIndex(_decode_embeddings, M, **kwargs)
    rss0 = rss_mb()
    t, c = time.perf_counter(), time.process_time()
    with Session(engine) as s:
        index.refresh(s)
    out["cold_s"], out["cold_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    out["rss_delta_mb"] = rss_mb() - rss0
    out["peak_rss_mb"] = peak_mb()
    out["templates"], out["index_bytes"] = len(index), index.nbytes
    out["from_snapshot"] = getattr(index, "restored", None) is not None
    out["load_after_cold"] = load()
    if args.save:
        t = time.perf_counter()
        assert index.save_snapshot()
        out["save_s"] = time.perf_counter() - t
        out["snapshot_mb"] = Path(args.snapshot).stat().st_size / 1e6
    if args.full:
        full(index, engine, args, out)
    elif args.queries_only:
        queries(index, engine, args, out)
    print("RESULT " + json.dumps(out), flush=True)


def full(index: Any, engine: Any, args: argparse.Namespace, out: dict[str, Any]) -> None:
    from sqlmodel import Session, col, select

    from app.attendance.models import FaceTemplate, TemplateStatus
    from app.attendance.sface import SFACE_IDENTITY as M
    from app.attendance.templates import _encode_embeddings
    from app.db import transaction

    idle = []
    with Session(engine) as s:
        for _ in range(20):
            t = time.perf_counter()
            index.refresh(s)
            idle.append(time.perf_counter() - t)
            s.rollback()
    out["refresh_idle_ms"] = statistics.median(idle) * 1000
    rng = np.random.default_rng(29)
    for writes in (100, 10_000):
        with transaction(engine) as s:  # re-enrolments: retire one, add one
            old = s.exec(
                select(FaceTemplate)
                .where(col(FaceTemplate.status) == TemplateStatus.active)
                .order_by(col(FaceTemplate.created_at).desc(), col(FaceTemplate.id))
                .offset(int(rng.integers(0, max(1, min(100_000, len(index) - writes)))))
                .limit(writes // 2)
            ).all()
            for tpl in old:
                tpl.status = TemplateStatus.retired
                s.add(tpl)
                blob, digest = _encode_embeddings(make(rng, 1)[0])
                s.add(
                    FaceTemplate(
                        user_id=tpl.user_id,
                        status=TemplateStatus.active,
                        embeddings_enc=blob,
                        embeddings_sha256=digest,
                        n_embeddings=PER,
                        face_engine=M.engine,
                        model_name=M.name,
                        model_version=M.version,
                        model_sha256=M.sha256,
                    )
                )
        with Session(engine) as s:
            t = time.perf_counter()
            index.refresh(s)
            out[f"refresh_{writes}_ms"] = (time.perf_counter() - t) * 1000
        out[f"load_after_{writes}"] = load()
    queries(index, engine, args, out)


def queries(index: Any, engine: Any, args: argparse.Namespace, out: dict[str, Any]) -> None:
    """``--queries`` searches (refresh + search), then the exactness of the first ``--truth``.
    The targets are the same for every tree and run: the templates at fixed rows of the
    database (a later re-enrolment may have retired one: the exact answer still decides)."""
    from sqlmodel import Session

    from app.attendance.templates import _decode_embeddings

    rng = np.random.default_rng(31)
    with engine.connect() as conn:
        rows = [
            conn.exec_driver_sql(
                "SELECT embeddings_enc FROM face_templates WHERE rowid = ?",
                (1 + 997 * i % len(index),),
            ).one()
            for i in range(args.queries)
        ]
    cosines = rng.uniform(0.45, 0.62, len(rows)).tolist()
    bursts = [toward(rng, _decode_embeddings(r[0]), c) for r, c in zip(rows, cosines, strict=True)]
    times, cpu, found = [], [], []
    with Session(engine) as s:
        for probes in bursts:
            t, c = time.perf_counter(), time.process_time()
            index.refresh(s)
            hits = index.search(s, probes, THRESHOLD, exclude_user=uuid.uuid4())
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            found.append({u for u, _ in hits})
    out["query_cpu_median_ms"] = statistics.median(cpu) * 1000
    times.sort()
    out["query_median_ms"] = statistics.median(times) * 1000
    out["query_p99_ms"] = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
    out["query_max_ms"] = times[-1] * 1000
    out["queries"] = len(times)
    out["load_after_queries"] = load()
    if args.truth:
        exactness(engine, bursts[: args.truth], found, out)


def exactness(
    engine: Any, bursts: list[Any], found: list[set[uuid.UUID]], out: dict[str, Any]
) -> None:
    """The exact fused score of every active template for ``bursts``, against ``found``."""
    from app.attendance.face import fused_score
    from app.attendance.sface import SFACE_IDENTITY as M
    from app.attendance.templates import _decode_embeddings

    probes = np.stack(bursts).astype(np.float64)  # (q, 5, 128)
    pu = unit(probes).reshape(-1, DIM)
    truth: list[set[uuid.UUID]] = [set() for _ in range(len(probes))]
    scanned = near = 0
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT user_id, embeddings_enc FROM face_templates WHERE status = 'active'"
            " AND face_engine = ? AND model_sha256 = ?",
            (M.engine, M.sha256),
        ).yield_per(20_000)
        for chunk in rows.partitions():
            embs = np.stack([_decode_embeddings(r[1]) for r in chunk]).astype(np.float64)
            t_, k_, q_ = len(chunk), embs.shape[1], len(probes)
            sims = (unit(embs).reshape(-1, DIM) @ pu.T).reshape(t_, k_, q_, -1)
            sims = sims.transpose(0, 2, 1, 3).reshape(t_, q_, -1)  # (t, q, pairs)
            top = -np.partition(-sims, 2, axis=2)[:, :, :3].mean(2)  # mean of the 3 closest
            for ti, qi in zip(*np.nonzero(np.abs(top - THRESHOLD) < 1e-6), strict=True):
                near += 1  # at the threshold itself: the app's own function decides
                top[ti, qi] = fused_score(probes[qi], embs[ti], "cosine")
            for ti, qi in zip(*np.nonzero(top >= THRESHOLD), strict=True):
                truth[qi].add(uuid.UUID(str(chunk[ti][0])))
            scanned += len(chunk)
    got = found[: len(truth)]
    out["truth_queries"], out["truth_scanned"], out["truth_at_threshold"] = (
        len(truth),
        scanned,
        near,
    )
    out["matches"] = sum(len(w & g) for w, g in zip(truth, got, strict=True))
    out["missed"] = sum(len(w - g) for w, g in zip(truth, got, strict=True))
    out["extra"] = sum(len(g - w) for w, g in zip(truth, got, strict=True))
    out["load_end"] = load()


# ------------------------------------------------------------------ the run


def finder_child(n: int) -> None:
    """What a refresh after 100 template writes (50 re-enrolments) spends finding the written
    templates among ``n`` loaded ones: the old tree sorts every id each refresh; the new one
    keeps its sorted ids and merges the 50 added rows."""
    from app.attendance import search

    rng = np.random.default_rng(3)
    ids = np.frombuffer(rng.bytes(16 * (n + 50)), "S16").copy()
    alive = np.ones(n + 50, bool)
    written = ids[rng.choice(n, 100, replace=False)]
    times = []
    for _ in range(7):
        if hasattr(search._Finder, "extend"):
            finder = search._Finder(ids[:n], alive[:n])  # built once, at the first refresh
            t = time.perf_counter()
            finder.rows(written, ids)
            finder.extend(ids, n, n + 50)
        else:
            t = time.perf_counter()
            search._Finder(ids[:n], alive[:n]).rows(written)
        times.append(time.perf_counter() - t)
    print("RESULT " + json.dumps({"ms": statistics.median(times) * 1000, "load": load()}))


def run_child(
    tree: Path, args: argparse.Namespace, *flags: str, truth: int | None = None
) -> dict[str, Any]:
    if args.wait_load:
        deadline = time.monotonic() + args.wait_max
        while os.getloadavg()[0] >= args.wait_load and time.monotonic() < deadline:
            time.sleep(15)
    env = dict(os.environ, PYTHONPATH=str(tree), SKILLTRACE_SECRET_KEY=SECRET)
    env["SKILLTRACE_DATA_DIR"] = args.workdir
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--db", str(args.db)]
    cmd += ["--queries", str(args.queries), "--truth", str(args.truth if truth is None else truth)]
    proc = subprocess.run(  # noqa: S603 - this script, in the other tree's environment
        [*cmd, *flags], env=env, cwd=tree, capture_output=True, text=True, check=False
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        sys.exit(f"child failed ({tree} {flags}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(line[-1][len("RESULT ") :])
    return result


def cold_line(label: str, r: dict[str, Any], n: int) -> str:
    return (
        f"  {label:<44} {r['cold_s']:7.1f} s wall {r['cold_cpu_s']:7.1f} s CPU"
        f"  RSS +{r['rss_delta_mb']:6.0f} MB ({r['rss_delta_mb'] * 1e6 / n:5.0f} B/template,"
        f" peak {r['peak_rss_mb']:.0f} MB)   load {r['load_start']} -> {r['load_after_cold']}"
    )


def query_line(label: str, r: dict[str, Any]) -> str:
    n = r["templates"]
    return (
        f"  {label:<22} median {r['query_median_ms']:6.0f} ms, p99 {r['query_p99_ms']:6.0f} ms,"
        f" max {r['query_max_ms']:6.0f} ms, CPU median {r['query_cpu_median_ms']:6.0f} ms;"
        f" index {r['index_bytes'] / n:5.0f} B/template, RSS +{r['rss_delta_mb'] * 1e6 / n:5.0f}"
        f" B/template ({'snapshot' if r['from_snapshot'] else 'database'})"
        f"   load {r['load_after_cold']} -> {r['load_after_queries']}"
    )


def exact_line(f: dict[str, Any]) -> str:
    return (
        f"  exactness, {f['truth_queries']} queries vs the exact fused score of all"
        f" {f['truth_scanned']:,} templates: {f['matches']} matches, {f['missed']} missed,"
        f" {f['extra']} extra ({f['truth_at_threshold']} scores within 1e-6 of the"
        f" threshold)   load {f['load_end']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-tree", type=Path, help="old tree (e.g. a worktree of main)")
    ap.add_argument("--tree", type=Path, default=REPO_ROOT, help="new tree (this one)")
    ap.add_argument("--templates", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "index-scale.db")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--truth", type=int, default=20, help="queries checked against exact scores")
    ap.add_argument("--wait-load", type=float, default=3.0, help="0: do not wait")
    ap.add_argument("--wait-max", type=float, default=180, help="longest wait for it, seconds")
    ap.add_argument("--rounds", type=int, default=2, help="cold-start rounds (0: none)")
    ap.add_argument("--query-rounds", type=int, default=2, help="old/new query rounds")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--finder", action="store_true", help="only the refresh's id lookup")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--snapshot", default="", help=argparse.SUPPRESS)
    ap.add_argument("--save", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--queries-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sys.path.insert(0, os.getcwd())
        if args.finder:
            finder_child(args.templates)
        else:
            child(args)
        return
    if args.finder:  # only the id lookup of a refresh, both trees in turn, twice
        for round_ in range(2):
            for label, tree in (("old", args.baseline_tree), ("new", args.tree)):
                r = run_child(tree, args, "--finder", "--templates", str(args.templates))
                print(
                    f"  finding 100 written templates among {args.templates:,}, {label} tree"
                    f" (round {round_ + 1}): {r['ms']:.1f} ms   load {r['load']}"
                )
        return
    os.environ["SKILLTRACE_SECRET_KEY"] = SECRET
    sys.path.insert(0, str(args.tree))
    n = args.templates
    with tempfile.TemporaryDirectory() as work:
        args.workdir = work
        os.environ["SKILLTRACE_DATA_DIR"] = work
        build(args.db, n)
        snap = str(Path(work) / "index.snapshot")
        if args.rounds:
            print(f"== cold start, {n:,} templates (old: {args.baseline_tree}; new: {args.tree})")
            for round_ in range(args.rounds):
                if args.baseline_tree:
                    r = run_child(args.baseline_tree, args)
                    print(cold_line(f"old: from the database (round {round_ + 1})", r, n))
                if round_ == 0:
                    r = run_child(args.tree, args, "--snapshot", snap, "--save", "--full")
                    print(cold_line("new: from the database (no snapshot yet)", r, n))
                    full_result = r
                    print(
                        f"  new: snapshot written in {r['save_s']:.1f} s, {r['snapshot_mb']:.0f} MB"
                        f" ({r['snapshot_mb'] * 1e6 / n:.0f} B/template)"
                    )
                    r = run_child(args.tree, args, "--snapshot", snap, "--save")
                    print(cold_line("new: snapshot + catch-up of 10,100 writes", r, n))
                else:
                    r = run_child(args.tree, args, "--snapshot", snap)
                    print(cold_line(f"new: from the snapshot (round {round_ + 1})", r, n))
                assert r["templates"] == n and (round_ == 0 or r["from_snapshot"])
            f = full_result
            print(f"== the new tree's index at {f['templates']:,} templates")
            print(
                f"  index arrays {f['index_bytes'] / f['templates']:.0f} B/template"
                f" ({f['index_bytes'] / 1e9:.2f} GB)"
            )
            print(f"  refresh, nothing written: {f['refresh_idle_ms']:.2f} ms")
            for w in (100, 10_000):
                print(
                    f"  refresh after {w:,} template writes: {f[f'refresh_{w}_ms']:.0f} ms"
                    f"   load {f[f'load_after_{w}']}"
                )
            print(query_line(f"new: {f['queries']} searches", f))
            print(exact_line(f))
        if not args.query_rounds:
            return
        print(
            f"== a search (refresh + query, burst of 5 probes) at {n:,} templates, the same"
            f" {args.queries} queries in each tree, trees alternating"
        )
        for round_ in range(args.query_rounds):
            for label, tree in (("old", args.baseline_tree), ("new", args.tree)):
                if tree is None:
                    continue
                flags = ["--queries-only", "--snapshot", str(Path(work) / f"{label}-q.snapshot")]
                flags += ["--save"] if round_ == 0 else []
                truth = args.truth if label == "new" and round_ == 0 and not args.rounds else 0
                r = run_child(tree, args, *flags, truth=truth)
                print(query_line(f"{label} (round {round_ + 1})", r))
                if truth:
                    print(exact_line(r))


if __name__ == "__main__":
    main()

"""1:N duplicate-face search at national scale: 1 M synthetic SFace templates (128-d, 5 unit
embeddings each), memory per node, refresh cost and query time, and whether a compact index
(float16 or int8 centroids, float16 embeddings) keeps recall exact at the decision threshold.

    .venv/bin/python benchmarks/dedupe_scale.py [--templates 1000000] [--queries 40]
        [--refresh-rows 1000000] [--threshold 0.50] [--app-templates 200000] [--no-layouts]

``--app-templates N`` measures the app's own index (app/attendance/search.py) on a SQLite
database of N synthetic templates, against the refresh it replaced, in the same run: before,
every search first read every active template's id (and kept float64 arrays per template);
after, a refresh reads the change clock and only the templates written since, and the index
keeps int8 embeddings in one matrix. The templates are stored unencrypted and decoded by a
plain decoder, so the figures are the index's own; the AES-GCM decryption the app adds to
loading (once per template per process) is timed separately.

Layouts compared:

- ``app``: what app/attendance/search.py holds today: a float64 array per template, a Python
  list and a dict of template ids (measured on a sample of 10,000 and scaled);
- ``float32`` / ``float16`` / ``int8``: every embedding in one contiguous (N, 5, 128) matrix; a
  query scores every template blockwise (one matrix product, the top-3 mean per template). With
  a compact type, a score within the worst rounding error of the threshold is scored again from
  float32 (in the app: decrypted from the database), so every decision is the exact one.

Recall is checked against float32 brute force (every template, no prefilter) on probes planted
near the threshold (genuine duplicates at cosine ~0.50-0.60, near misses at ~0.45-0.50). The
refresh cost is the query the app runs before each search (every active template's id) on a
SQLite table of ``--refresh-rows`` rows, as app/attendance/search.py issues it.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

DIM = 128
PER = 5
K = 3  # the fused score: mean of the k largest probe-embedding similarities


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def unit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def fused(probes: np.ndarray[Any, Any], embs: np.ndarray[Any, Any]) -> float:
    sims = (probes.astype(np.float32) @ embs.astype(np.float32).T).ravel()
    return float(np.sort(sims)[-K:].mean())


def make(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    out = np.empty((n, PER, DIM), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        centres = unit(rng.standard_normal((m, 1, DIM), dtype=np.float32))
        noise = rng.standard_normal((m, PER, DIM), dtype=np.float32) * 0.03
        out[start : start + m] = unit(centres + noise)
    return out


def toward(
    rng: np.random.Generator, target: np.ndarray[Any, Any], cos: float
) -> np.ndarray[Any, Any]:
    """A burst of PER probes whose similarity to ``target``'s centre is about ``cos``."""
    c = unit(target.mean(0))
    r = unit(rng.standard_normal(DIM).astype(np.float32))
    r = unit(r - (r @ c) * c)
    base = unit(cos * c + np.sqrt(max(0.0, 1 - cos * cos)) * r)
    return unit(base[None, :] + rng.standard_normal((PER, DIM)).astype(np.float32) * 0.01)


#: Worst error of one similarity <p, e> (unit p) from storing e in a compact type: float16 rounds
#: each component to 11 significant bits (|err| <= 2^-11 |e|); int8 at scale 1/127 to 1/254 per
#: component (|err| <= sqrt(128) / 254). A score within this of the threshold is re-scored exact.
MARGIN = {"float32": 0.0, "float16": 2.0**-11 + 1e-6, "int8": float(np.sqrt(DIM)) / 254 + 1e-6}


class Index:
    """Every embedding in one matrix of ``dtype``; a query scores all templates blockwise
    (a matrix product and the top-k mean per template), then re-scores from float32 the few
    whose compact score lies within :data:`MARGIN` of the threshold: exact decisions."""

    def __init__(self, embs: np.ndarray[Any, Any], dtype: str) -> None:
        self.dtype = dtype
        self.exact = embs  # stands for the database: compact scores are re-checked from it
        if dtype == "int8":
            self.embs: np.ndarray[Any, Any] = np.clip(np.rint(embs * 127), -127, 127).astype(
                np.int8
            )
        else:
            self.embs = embs.astype(dtype, copy=dtype != "float32")

    @property
    def nbytes(self) -> int:
        return 0 if self.dtype == "float32" else int(self.embs.nbytes)

    def search(self, probes: np.ndarray[Any, Any], t: float) -> tuple[set[int], int, int]:
        p = probes.astype(np.float32).T  # (128, 5)
        margin = MARGIN[self.dtype]
        hits: set[int] = set()
        near = 0
        step = 65_536
        for start in range(0, len(self.embs), step):
            block = self.embs[start : start + step].reshape(-1, DIM).astype(np.float32, copy=False)
            sims = (block @ p).reshape(-1, PER * PER)
            if self.dtype == "int8":
                sims *= np.float32(1 / 127)
            top = np.partition(sims, PER * PER - K, axis=1)[:, -K:].mean(1)
            sure = np.nonzero(top >= t + margin)[0]
            hits |= {start + int(i) for i in sure}
            if margin:
                unsure = np.nonzero(np.abs(top - t) < margin)[0]
                near += len(unsure)
                for i in unsure.tolist():
                    if fused(probes, self.exact[start + i]) >= t:
                        hits.add(start + i)
        return hits, near, len(self.embs)


def truth(embs: np.ndarray[Any, Any], probes: np.ndarray[Any, Any], t: float) -> set[int]:
    """Every template's exact fused score, no prefilter."""
    hits: set[int] = set()
    p = probes.astype(np.float32)
    for start in range(0, len(embs), 50_000):
        block = embs[start : start + 50_000]  # (m, 5, 128)
        sims = np.einsum("mkd,pd->mkp", block, p).reshape(len(block), -1)
        top = np.sort(sims, axis=1)[:, -K:].mean(1)
        hits |= {start + int(i) for i in np.nonzero(top >= t)[0]}
    return hits


def app_layout_bytes(embs: np.ndarray[Any, Any], sample: int) -> float:
    """Bytes per template of app/attendance/search.py's structures, measured on a sample."""
    import tracemalloc

    tracemalloc.start()
    row_of: dict[str, int] = {}
    users: list[uuid.UUID] = []
    arrays: list[np.ndarray[Any, Any]] = []
    alive: list[bool] = []
    for i in range(sample):
        row_of[uuid.uuid4().hex] = i
        users.append(uuid.uuid4())
        arrays.append(np.asarray(embs[i], np.float64))
        alive.append(True)
    centres = np.array([e.mean(0) for e in arrays], np.float32)
    radius = np.array([np.linalg.norm(e - e.mean(0), axis=1).max() for e in arrays], np.float32)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del row_of, users, arrays, alive, centres, radius
    return size / sample


def refresh_cost(rows: int) -> tuple[float, float]:
    """Seconds for the app's refresh query (ids of every active template) over ``rows`` rows,
    and for the set the index builds from them."""
    from app.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "refresh.db"
        upgrade(f"sqlite:///{path}")
        db = sqlite3.connect(path)
        now = "2026-12-03 00:00:00.000000"
        sha = "0" * 64
        for start in range(0, rows, 100_000):
            db.executemany(
                "INSERT INTO face_templates (id, user_id, status, embeddings_enc,"
                " embeddings_sha256, n_embeddings, model_name, model_version, created_at,"
                " face_engine, model_sha256) VALUES (?, ?, 'active', 'x', ?, 5, 'sface',"
                " '4.12', ?, 'sface', ?)",
                (
                    (uuid.uuid4().hex, uuid.uuid4().hex, sha, now, sha)
                    for _ in range(min(100_000, rows - start))
                ),
            )
        db.commit()
        times = []
        sets = []
        for _ in range(3):
            t = time.perf_counter()
            ids = db.execute(
                "SELECT id FROM face_templates WHERE status = 'active' AND face_engine = 'sface'"
                " AND model_name = 'sface' AND model_sha256 = ?",
                (sha,),
            ).fetchall()
            q = time.perf_counter() - t
            t = time.perf_counter()
            current = {str(v[0]).replace("-", "") for v in ids}
            sets.append(time.perf_counter() - t)
            times.append(q)
            assert len(current) == rows
        db.close()
    return statistics.median(times), statistics.median(sets)


def app_index(n: int, changes: int, queries: int, threshold: float) -> None:
    """The app's index on ``n`` templates: cold load, refresh with nothing / ``changes`` written,
    memory, query; and the refresh it replaced (every id before each search), same database."""
    import base64
    import hashlib
    import tracemalloc

    from sqlalchemy import create_engine
    from sqlmodel import Session, select

    from app.attendance.models import FaceTemplate, TemplateStatus
    from app.attendance.search import TemplateIndex
    from app.attendance.sface import SFACE_IDENTITY as M
    from app.db import transaction
    from app.migrate import upgrade

    def decode(blob: str) -> np.ndarray[Any, Any]:
        return np.frombuffer(base64.b64decode(blob), "<f4").reshape(-1, DIM)

    def encode(e: np.ndarray[Any, Any]) -> str:
        return base64.b64encode(np.asarray(e, "<f4").tobytes()).decode()

    rng = np.random.default_rng(23)
    print(f"== the app's index, {n:,} templates on SQLite   load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.db"
        upgrade(f"sqlite:///{path}")
        db = sqlite3.connect(path)
        now = "2026-12-03 00:00:00.000000"
        t = time.perf_counter()
        faces = np.empty((0, PER, DIM), np.float32)
        for start in range(0, n, 50_000):
            block = make(rng, min(50_000, n - start))
            if start == 0:
                faces = block[:1000].copy()  # query targets
            db.executemany(
                "INSERT INTO face_templates (id, user_id, status, embeddings_enc,"
                " embeddings_sha256, n_embeddings, model_name, model_version, created_at,"
                " face_engine, model_sha256, change_seq) VALUES (?, ?, 'active', ?, ?, ?, ?, ?,"
                " ?, ?, ?, 1)",
                (
                    (
                        uuid.uuid4().hex,
                        uuid.uuid4().hex,
                        encode(e),
                        "0" * 64,
                        PER,
                        M.name,
                        M.version,
                        now,
                        M.engine,
                        M.sha256,
                    )
                    for e in block
                ),
            )
            db.commit()
        db.close()
        print(f"  database built in {time.perf_counter() - t:.0f} s")
        engine = create_engine(f"sqlite:///{path}")

        with engine.connect() as conn:  # before: what every search ran first
            q_times, s_times = [], []
            for _ in range(3):
                t = time.perf_counter()
                ids = conn.exec_driver_sql(
                    "SELECT id FROM face_templates WHERE status = 'active' AND face_engine = ?"
                    " AND model_name = ? AND model_sha256 = ?",
                    (M.engine, M.name, M.sha256),
                ).fetchall()
                q_times.append(time.perf_counter() - t)
                t = time.perf_counter()
                assert len({str(v[0]).replace("-", "") for v in ids}) == n
                s_times.append(time.perf_counter() - t)
        before = statistics.median(q_times) + statistics.median(s_times)
        print(
            f"  before: refresh before each search (every id + id set) "
            f"{statistics.median(q_times) * 1000:.0f} + {statistics.median(s_times) * 1000:.0f}"
            f" ms = {before * 1000:.0f} ms   load {os.getloadavg()[0]:.2f}"
        )
        old_bytes = app_layout_bytes(faces, min(1000, len(faces)))
        print(f"  before: memory {old_bytes:.0f} B/template -> {old_bytes * n / 1e9:.2f} GB")

        index = TemplateIndex(decode, M)
        tracemalloc.start()
        t, c = time.perf_counter(), time.process_time()
        with Session(engine) as s:
            index.refresh(s)
        cold, cold_cpu = time.perf_counter() - t, time.process_time() - c
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(index) == n
        print(
            f"  after: cold load {cold:.1f} s ({cold_cpu:.1f} s CPU; once per process), index"
            f" {index.nbytes / n:.0f} B/template -> {index.nbytes / n * 1e6 / 1e9:.2f} GB at 1 M"
            f" (peak {peak / 1e9:.2f} GB while loading)   load {os.getloadavg()[0]:.2f}"
        )
        idle = []
        with Session(engine) as s:
            for _ in range(20):
                t = time.perf_counter()
                index.refresh(s)
                idle.append(time.perf_counter() - t)
                s.rollback()
        print(f"  after: refresh, nothing written: {statistics.median(idle) * 1000:.2f} ms")
        with transaction(engine) as s:  # re-enrolments: retire some, add as many
            old = s.exec(select(FaceTemplate).limit(changes // 2)).all()
            for tpl in old:
                tpl.status = TemplateStatus.retired
                s.add(tpl)
                e = unit(decode(tpl.embeddings_enc or "") + rng.normal(0, 0.01, (PER, DIM)))
                s.add(
                    FaceTemplate(
                        user_id=tpl.user_id,
                        status=TemplateStatus.active,
                        embeddings_enc=encode(e),
                        embeddings_sha256=hashlib.sha256(encode(e).encode()).hexdigest(),
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
            delta = time.perf_counter() - t
        assert len(index) == n
        print(
            f"  after: refresh, {changes} templates written ({changes // 2} re-enrolments):"
            f" {delta * 1000:.0f} ms (before: {before * 1000:.0f} ms whatever changed)"
        )
        times = []
        with Session(engine) as s:
            for i in range(queries):
                probes = toward(rng, faces[changes + i], float(rng.uniform(0.45, 0.62)))
                t = time.perf_counter()
                index.refresh(s)
                index.search(s, probes, threshold, exclude_user=uuid.uuid4())
                times.append(time.perf_counter() - t)
        print(
            f"  after: a search (refresh + query, burst of 5 probes): median "
            f"{statistics.median(times) * 1000:.0f} ms   load {os.getloadavg()[0]:.2f}"
        )
        engine.dispose()
    from app.attendance.templates import _decode_embeddings, _encode_embeddings

    blob, _ = _encode_embeddings(faces[0])
    t = time.perf_counter()
    for _ in range(200):
        _decode_embeddings(blob)
    dec = (time.perf_counter() - t) / 200
    print(
        f"  AES-GCM decryption the app adds per template loaded: {dec * 1e6:.0f} us"
        f" -> {dec * n:.0f} s at {n:,} (cold load only)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--templates", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--refresh-rows", type=int, default=1_000_000)
    ap.add_argument("--threshold", type=float, default=0.50, help="SFace accept (cosine)")
    ap.add_argument("--truth-queries", type=int, default=10, help="brute-force checked queries")
    ap.add_argument("--app-templates", type=int, default=200_000, help="0: skip")
    ap.add_argument("--app-changes", type=int, default=100)
    ap.add_argument("--no-layouts", action="store_true", help="only the app's index")
    args = ap.parse_args()
    if args.app_templates:
        app_index(args.app_templates, args.app_changes, 20, args.threshold)
    if args.no_layouts:
        return
    rng = np.random.default_rng(19)
    print(f"load {os.getloadavg()[0]:.2f}; N = {args.templates:,} templates x {PER} x {DIM}")

    rss0 = rss_mb()
    t = time.perf_counter()
    embs = make(rng, args.templates)
    took = time.perf_counter() - t
    print(f"  synthetic templates: {took:.1f} s, {embs.nbytes / 1e6:.0f} MB float32")

    per = app_layout_bytes(embs, min(10_000, args.templates))
    print(
        f"  app layout today (float64 array per template, list, dict): {per:.0f} B/template "
        f"-> {per * args.templates / 1e9:.2f} GB at N"
    )

    for dtype in ("float32", "float16", "int8"):
        gc.collect()
        t = time.perf_counter()
        index = Index(embs, dtype)
        build = time.perf_counter() - t
        size = embs.nbytes if dtype == "float32" else index.nbytes
        print(
            f"  {dtype}: embeddings {size / 1e6:.0f} MB ({size / args.templates:.0f} B/template),"
            f" built in {build:.1f} s"
        )
        times, cpu, found, missed, extra, near = [], [], 0, 0, 0, 0
        targets = rng.choice(args.templates, size=args.queries, replace=False)
        for n, target in enumerate(targets):
            cos = float(rng.uniform(0.45, 0.62))
            probes = toward(rng, embs[target], cos)
            t, c = time.perf_counter(), time.process_time()
            hits, r, _ = index.search(probes, args.threshold)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            near += r
            if n < args.truth_queries:
                want = truth(embs, probes, args.threshold)
                found += len(want & hits)
                missed += len(want - hits)
                extra += len(hits - want)
        times.sort()
        print(
            f"    query (a burst of 5 probes): median {statistics.median(times):.0f} ms, "
            f"p95 {times[max(0, int(len(times) * 0.95) - 1)]:.0f} ms, CPU "
            f"{statistics.median(cpu):.0f} ms (all threads); vs brute force on "
            f"{min(args.truth_queries, args.queries)} queries: {found} matches found, "
            f"{missed} missed, {extra} extra; {near} scores re-checked from float32 "
            f"(within {MARGIN[dtype]:.4f} of the threshold)"
        )
        del index
    print(f"  peak RSS {peak_mb():.0f} MB (start {rss0:.0f} MB)")

    if args.refresh_rows:
        q, s = refresh_cost(args.refresh_rows)
        print(
            f"  refresh before each search (SQLite, {args.refresh_rows:,} rows): id query "
            f"{q * 1000:.0f} ms + id set {s * 1000:.0f} ms"
        )
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

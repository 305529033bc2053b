"""1:N face search: NumPy brute force over N templates vs the service's per-template loop.

    .venv/bin/python benchmarks/dedupe.py [--templates 100000] [--queries 50] [--loop-n 2000]

Synthetic templates: random unit vectors in 128-d (dlib embeddings are unit-length), 5
embeddings each around a centre, plus a few planted near-duplicates of the query faces. The
brute force keeps every embedding in one float32 matrix with precomputed squared norms and
answers a query (a burst of 5 probe embeddings) with one matrix product, a per-template min
(the exact prefilter of app.reports.fraud.shared_face_pairs) and the exact fused distance for
the few candidates. The service path is app.attendance.service.find_duplicates on a temporary
SQLite database of --loop-n templates: an in-memory centroid index (app/attendance/search.py),
refreshed incrementally from the database before each query; the first query builds it
(decrypting every template once) and is reported apart.
"""

from __future__ import annotations

import argparse
import os
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
os.environ.setdefault("SKILLTRACE_SECRET_KEY", "bench-secret-key-" + "x" * 32)

from app.attendance.face import fused_distance  # noqa: E402

PER_TEMPLATE = 5
THRESHOLD = 0.38


def unit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def make_templates(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    centres = unit(rng.normal(size=(n, 1, 128)).astype(np.float32))
    noise = rng.normal(scale=0.02, size=(n, PER_TEMPLATE, 128)).astype(np.float32)
    return unit(centres + noise)  # (n, 5, 128)


class MatrixIndex:
    """One row per template (its centroid) in a float32 matrix; a query is one matrix product.

    Exact prefilter by the triangle inequality: every embedding of a template lies within its
    radius r of the centroid c, so d(p, t) >= d(p, c) - r; a template whose closest probe is
    farther than threshold + r from c cannot match. Survivors get the exact fused distance.
    """

    def __init__(self, templates: np.ndarray[Any, Any]) -> None:
        self.n = templates.shape[0]
        self.templates = templates
        centres = templates.mean(1)
        self.radius = np.linalg.norm(templates - centres[:, None, :], axis=2).max(1) + 1e-4
        self.flat = np.ascontiguousarray(centres, dtype=np.float32)
        self.sq = (self.flat * self.flat).sum(1)

    def search(self, probes: np.ndarray[Any, Any], threshold: float) -> list[tuple[int, float]]:
        p = probes.astype(np.float32)
        d2 = (p * p).sum(1).min() + self.sq - 2.0 * (self.flat @ p.T).max(1)
        lower = np.sqrt(np.clip(d2, 0, None)) - self.radius
        cand = np.nonzero(lower <= threshold + 1e-3)[0]
        hits = [(int(i), fused_distance(probes, self.templates[i])) for i in cand]
        return sorted([h for h in hits if h[1] <= threshold], key=lambda h: h[1])


def bench_matrix(n: int, queries: int, rng: np.random.Generator) -> None:
    t0 = time.perf_counter()
    templates = make_templates(rng, n)
    planted = rng.choice(n, size=queries, replace=False)
    # near-duplicates: a second account enrolled with the same face as the planted template
    dup_of = {int(i): n + k for k, i in enumerate(planted[:5])}
    extra = np.stack(
        [unit(templates[i] + rng.normal(scale=0.01, size=(PER_TEMPLATE, 128))) for i in dup_of]
    )
    templates = np.concatenate([templates, extra.astype(np.float32)])
    index = MatrixIndex(templates)
    build = time.perf_counter() - t0
    times = []
    found = 0
    for q in planted:
        probes = unit(templates[q] + rng.normal(scale=0.02, size=(PER_TEMPLATE, 128))).astype(
            np.float32
        )
        t = time.perf_counter()
        hits = index.search(probes, THRESHOLD)
        times.append((time.perf_counter() - t) * 1000)
        ids = {h[0] for h in hits}
        assert int(q) in ids, "the probe's own template must match"
        if int(q) in dup_of:
            assert dup_of[int(q)] in ids
            found += 1
    times.sort()
    print(
        f"matrix brute force, N={index.n} templates ({index.flat.shape[0]} centroid rows, "
        f"{index.flat.nbytes / 1e6:.0f} MB float32), build {build:.1f} s: "
        f"median {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} ms "
        f"per query; planted duplicates found {found}/{len(dup_of)}"
    )


def bench_loop(n: int, queries: int, rng: np.random.Generator) -> None:
    from sqlalchemy import create_engine
    from sqlmodel import Session

    from app.attendance import service as attendance
    from app.attendance.models import FaceTemplate, TemplateStatus
    from app.attendance.sface import SFACE_IDENTITY
    from app.db import make_engine

    # SFace compares cosine similarities: on unit vectors d <= THRESHOLD is cos >= 1 - d^2 / 2.
    COSINE = 1 - THRESHOLD**2 / 2
    from app.migrate import upgrade

    templates = make_templates(rng, n)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'loop.db'}"
        upgrade(url)
        # Plain engine for the bulk insert: SQLite leaves foreign keys off, so no user rows needed.
        users = [uuid.uuid4() for _ in range(n)]
        loader = create_engine(url)
        with Session(loader) as s:
            for u, embs in zip(users, templates, strict=True):
                blob, digest = attendance._encode_embeddings(embs)
                s.add(
                    FaceTemplate(
                        user_id=u,
                        status=TemplateStatus.active,
                        embeddings_enc=blob,
                        embeddings_sha256=digest,
                        n_embeddings=PER_TEMPLATE,
                        # The configured (default) model's identity, so the per-model index
                        # searches these synthetic unit vectors.
                        face_engine=SFACE_IDENTITY.engine,
                        model_name=SFACE_IDENTITY.name,
                        model_version=SFACE_IDENTITY.version,
                        model_sha256=SFACE_IDENTITY.sha256,
                    )
                )
            s.commit()
        loader.dispose()
        engine = make_engine(url, pooled=False)
        times = []
        with Session(engine) as s:
            t = time.perf_counter()
            attendance.find_duplicates(
                s, templates[0][:1], exclude_user=uuid.uuid4(), threshold=COSINE
            )
            first = (time.perf_counter() - t) * 1000
            for q in rng.choice(n, size=queries, replace=False):
                probes = unit(templates[q] + rng.normal(scale=0.02, size=(PER_TEMPLATE, 128)))
                t = time.perf_counter()
                hits = attendance.find_duplicates(
                    s, probes, exclude_user=uuid.uuid4(), threshold=COSINE
                )
                times.append((time.perf_counter() - t) * 1000)
                assert users[q] in {h[0] for h in hits}
        engine.dispose()
    med = statistics.median(times)
    print(
        f"service find_duplicates (index refresh + search), N={n}: first query (builds the "
        f"index) {first:.0f} ms, then median {med:.1f} ms per query"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--templates", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--loop-n", type=int, default=2000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    bench_matrix(args.templates, args.queries, rng)
    bench_loop(args.loop_n, min(args.queries, 10), rng)


if __name__ == "__main__":
    main()

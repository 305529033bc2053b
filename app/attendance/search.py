"""1:N face search over every active template, held compactly in memory per process.

Kept whole: the exactness argument below (the prefilter's bound, the int8 error bound, the
re-check) spans the index's loading, prefilter and scoring; split apart, the proof and the code
it covers would live in different modules.

The brute-force loop (decrypt and compare every template per query) costs ~0.1-0.2 ms per
template: 10-20 s per enrolment at 100 k learners. This index keeps one row per template, its
centroid and radius, and answers a query with one pass of matrix products over the centroids
plus an exact check of the few candidates — the same answer as brute force:

every compared vector of a template (its embeddings; for cosine, their unit vectors) lies
within its radius ``r`` of the centroid ``c`` as stored (int8), so for any probe ``p`` and such
``e``: d(p, e) >= d(p, c) - r, and for unit vectors p·e <= p·c + r. The fused distance (a mean
of the k smallest probe-embedding distances) is never below the smallest and the fused cosine
(a mean of the k largest similarities) never above the largest, so a template whose centroid is
farther than ``threshold + r`` from every probe (cosine: ``max p·c < threshold - r``) cannot
match and is skipped (:meth:`TemplateIndex._prefilter`). At 1 M templates that pass reads
128 MB of int8 centroids, converted block by block for float32 products, ≈ 0.1 s.

**Compact.** The embeddings are stored as int8 (one scale per template) in one matrix, with the
exact bound ``q`` of their rounding error (the largest distance between an embedding and its
int8 copy; for cosine, between their unit vectors). A score from the int8 copy is within ``q`` of
the exact one (a mean of the k closest of scores each off by at most ``q`` is off by at most
``q``), so a candidate whose compact score misses the threshold by more than ``q`` is decided;
the rest — the matches and the few near the threshold — are scored again from the template in
the database, exactly as before. ≈ 0.97 KB per template with 6 embeddings (768 B of them,
128 B the int8 centroid) instead of 6 KB (float64 arrays in lists and dicts);
benchmarks/index_scale.py measures 0 missed and 0 extra matches against the exact float64
fused score of every template (docs/SCALING.md).

**Incremental.** The index follows the database through the change clock
(:mod:`app.attendance.templateclock`): each refresh reads the clock's one row and loads only the
templates stamped since the value it saw (new ones decrypted and added, retired and deleted ones
dropped), so every node's index follows enrolments, re-enrolments and consent withdrawals made
by any process; with nothing changed a refresh is that one read. There is one index per face
model (templates of different models are not comparable). A process starts from the node's
encrypted snapshot of its index when one is usable (:mod:`app.attendance.indexsnapshot`), then
loads what was written since. Past one process's memory (≈ 1 GB per million templates) the
index is sharded exactly, by province (docs/SCALING.md): an approximate vector index cannot
promise the exact answer at the threshold.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from app.attendance import indexsnapshot, templateclock
from app.attendance.face import ModelIdentity, fused_score, matches
from app.attendance.models import FaceTemplate, TemplateStatus

Decoder = Callable[[str], np.ndarray[Any, Any]]
DIM = 128
_FETCH_CHUNK = 2000
_TEMPLATES = FaceTemplate.__table__  # type: ignore[attr-defined]
#: Slack for float32 rounding in the centroid prefilter and the compact scores (a cosine
#: from int8 codes in float32 is within ~1e-5 of the exact one; see _compact_scores).
_PREFILTER_SLACK = 1e-3
_SCORE_SLACK = 1e-4
#: Multiply-adds (M x N x K) per matrix product. OpenBLAS runs a product of at most 65,536 x 4
#: on the calling thread and a larger one on a thread per core, which on a busy machine wait
#: for each other: at 1 M templates and load 7 the whole prefilter took 0.6-1.2 s in products
#: of 1,024-16,384 centroids and 0.10-0.11 s in products of 256-400 (5 probes).
_ONE_THREAD = 65_536 * 4
#: Per-template arrays (``_<name>``) other than the bookkeeping ones (alive, start).
_FIELDS = ("ids", "users", "centres", "cscale", "radius", "scale", "qerr", "count")

log = logging.getLogger("skilltrace")


def _grow(array: np.ndarray[Any, Any], need: int) -> np.ndarray[Any, Any]:
    """``array`` with room for ``need`` rows (doubling), its content kept."""
    if len(array) >= need:
        return array
    out = np.zeros((max(need, 2 * len(array), 64), *array.shape[1:]), array.dtype)
    out[: len(array)] = array
    return out


class TemplateIndex:
    """Every active template of one model in one database, compact, refreshed incrementally."""

    def __init__(self, decode: Decoder, model: ModelIdentity, snapshot: Path | None = None) -> None:
        self._decode = decode
        self.model = model
        #: The node's encrypted copy of this index (:mod:`app.attendance.indexsnapshot`): read
        #: when the index is empty, written by :meth:`save_snapshot`. None: not used.
        self.snapshot = snapshot
        self.restored: int | None = None  # clock value of the snapshot this index started from
        self.saved: int | None = None  # clock value of the last snapshot read or written
        self.saved_at = float("-inf")  # time.monotonic() of that
        self._lock = threading.Lock()  # the arrays
        self._refreshing = threading.Lock()  # one refresh at a time
        self._epoch: str | None = None
        self._seen = 0  # the change clock's value this index has loaded up to
        self._clear()

    def _clear(self) -> None:
        self._n = 0  # template rows in use (alive or not)
        self._m = 0  # embedding rows in use
        self._live = 0
        self._ids = np.zeros(0, "S16")  # template id, 16 bytes
        self._users = np.zeros(0, "S16")
        self._alive = np.zeros(0, bool)
        self._centres = np.zeros((0, DIM), np.int8)  # the centroid, int8 (its own scale)
        self._cscale = np.zeros(0, np.float32)
        self._radius = np.zeros(0, np.float32)  # from the int8 centroid to the farthest embedding
        self._scale = np.zeros(0, np.float32)  # int8 -> float
        self._qerr = np.zeros(0, np.float32)  # bound of the int8 copy's score error
        self._start = np.zeros(0, np.int64)  # first embedding row
        self._count = np.zeros(0, np.int16)
        self._emb = np.zeros((0, DIM), np.int8)
        self._finder: _Finder | None = None  # rows by id, kept across refreshes

    def __len__(self) -> int:
        return self._live

    @property
    def seen(self) -> int:
        """The change clock's value the index has loaded up to."""
        return self._seen

    @property
    def nbytes(self) -> int:
        """Memory the index's arrays take (their used rows)."""
        n, m = self._n, self._m
        per_row = sum(
            a.itemsize * int(np.prod(a.shape[1:]))
            for a in (
                self._ids,
                self._users,
                self._alive,
                self._centres,
                self._cscale,
                self._radius,
                self._scale,
                self._qerr,
                self._start,
                self._count,
            )
        )
        return n * per_row + m * DIM + (self._finder.nbytes if self._finder is not None else 0)

    def refresh(self, session: Session) -> None:
        """Follow the database: load the templates written since the clock value last seen —
        add the active ones, drop the others — and nothing when the clock has not moved."""
        conn = session.connection()
        with self._refreshing:
            epoch, now = templateclock.read(conn)
            if self._epoch is None and epoch is not None and self.snapshot is not None:
                self._restore(epoch, now)
            if epoch != self._epoch or now < self._seen:  # another database, or emptied
                with self._lock:
                    self._clear()
                self._epoch, self._seen = epoch, 0
            if now == self._seen:
                return
            # No upper bound: a row written again after the clock was read is loaded in its
            # newest state now, and again (idempotently) by the next refresh.
            rows = conn.execute(
                sa.select(
                    _TEMPLATES.c.id,
                    _TEMPLATES.c.user_id,
                    _TEMPLATES.c.status,
                    _TEMPLATES.c.embeddings_enc,
                )
                .where(
                    _TEMPLATES.c.change_seq > self._seen,
                    _TEMPLATES.c.face_engine == self.model.engine,
                    _TEMPLATES.c.model_name == self.model.name,
                    _TEMPLATES.c.model_sha256 == self.model.sha256,
                )
                .execution_options(yield_per=_FETCH_CHUNK)
            )
            with self._lock:
                if self._finder is None:  # sorted once; then kept up to date (below)
                    self._finder = _Finder(self._ids[: self._n], self._alive[: self._n])
                finder, before = self._finder, self._n
            try:
                for chunk in rows.partitions():
                    added = [
                        (r.id.bytes, r.user_id.bytes, self._decode(r.embeddings_enc))
                        for r in chunk
                        if r.status == TemplateStatus.active and r.embeddings_enc
                    ]
                    with self._lock:  # a written template is dropped, and added again if active
                        ids = np.array([r.id.bytes for r in chunk], "S16")
                        gone = finder.rows(ids, self._ids)
                        self._live -= int(self._alive[gone].sum())
                        self._alive[gone] = False
                        self._add(added)
            finally:  # also what a failed refresh added: the next one finds it
                with self._lock:
                    finder.extend(self._ids, before, self._n)
            with self._lock:
                self._compact()
            self._seen = now

    def _restore(self, epoch: str, now: int) -> None:
        """Start from the node's snapshot when it is authentic and of this database (same
        epoch, not ahead of its clock); the caller then loads what was written since."""
        if self.snapshot is None:
            return
        try:
            snap = indexsnapshot.read(self.snapshot, self.model, room=0.125)
        except FileNotFoundError:
            return
        except (indexsnapshot.SnapshotInvalid, OSError, ValueError, KeyError) as exc:
            log.warning("face index snapshot %s not used: %s", self.snapshot, exc)
            return
        if snap.epoch != epoch or snap.seen > now:
            log.info("face index snapshot %s is of another database state", self.snapshot)
            return
        n, a = snap.templates, snap.arrays
        with self._lock:
            for name in _FIELDS:
                setattr(self, f"_{name}", a[name])
            self._emb = a["emb"]
            self._alive = np.zeros(len(a["ids"]), bool)
            self._alive[:n] = True
            counts = a["count"].astype(np.int64)
            self._start = np.cumsum(counts) - counts
            self._n, self._m, self._live = n, snap.embeddings, n
            self._finder = None
        self._epoch, self._seen = epoch, snap.seen
        self.restored = self.saved = snap.seen
        self.saved_at = time.monotonic()

    def save_snapshot(self) -> bool:
        """Write the live templates and the clock value they are loaded up to to the node's
        snapshot (encrypted; see :mod:`app.attendance.indexsnapshot`). False when there is
        nothing loaded or another process of the node is writing it."""
        if self.snapshot is None:
            return False
        with self._refreshing, self._lock:  # a consistent view; the write runs unlocked
            if self._epoch is None:
                return False
            n = self._n
            # The rows below n are never rewritten in place (compaction makes new arrays)
            # except "alive", copied here: a template dropped later is written, and dropped
            # again by the catch-up after the next start, since its write is past ``seen``.
            arrays = {name: getattr(self, f"_{name}")[:n] for name in _FIELDS}
            arrays["emb"] = self._emb[: self._m]
            alive, starts = self._alive[:n].copy(), self._start[:n]
            snap = indexsnapshot.Snapshot(self._epoch, self._seen, arrays, n, self._m)
        if not indexsnapshot.write(self.snapshot, self.model, snap, alive, starts):
            return False
        self.saved, self.saved_at = snap.seen, time.monotonic()
        return True

    def snapshot_due(self, interval_s: float) -> bool:
        """Has the index moved past its last snapshot, at least ``interval_s`` ago?"""
        return (
            self.snapshot is not None
            and self._epoch is not None
            and self._seen != self.saved
            and time.monotonic() - self.saved_at >= interval_s
        )

    def _add(self, templates: list[tuple[bytes, bytes, np.ndarray[Any, Any]]]) -> None:
        if not templates:
            return
        n, m = self._n, self._m
        need_n = n + len(templates)
        need_m = m + sum(len(e) for _, _, e in templates)
        self._ids, self._users = _grow(self._ids, need_n), _grow(self._users, need_n)
        self._alive = _grow(self._alive, need_n)
        self._centres, self._cscale = _grow(self._centres, need_n), _grow(self._cscale, need_n)
        self._radius = _grow(self._radius, need_n)
        self._scale, self._qerr = _grow(self._scale, need_n), _grow(self._qerr, need_n)
        self._start, self._count = _grow(self._start, need_n), _grow(self._count, need_n)
        self._emb = _grow(self._emb, need_m)
        by_count: dict[int, list[tuple[bytes, bytes, np.ndarray[Any, Any]]]] = {}
        for tid, uid, raw in templates:
            e = np.asarray(raw).reshape(-1, DIM)
            by_count.setdefault(len(e), []).append((tid, uid, e))
        for k, group in by_count.items():  # one set of array operations per size
            g = len(group)
            e = np.stack([t[2] for t in group]).astype(np.float64)  # (g, k, DIM)
            scale = (np.maximum(np.abs(e).max((1, 2)), 1e-12) / 127).astype(np.float32)
            q = _int8(e, scale)
            back = q.astype(np.float64) * scale.astype(np.float64)[:, None, None]
            exact = e  # what fused_score compares: unit vectors for cosine
            if self.model.metric == "cosine":
                back, exact = _unit(back), _unit(e)
            err = np.linalg.norm(back - exact, axis=2).max(1)
            # The centroid, int8, and the radius from that int8 centroid (as the prefilter
            # reads it) to the farthest compared vector: the prefilter's bound holds exactly.
            centre = exact.mean(1)
            cscale = (np.maximum(np.abs(centre).max(1), 1e-12) / 127).astype(np.float32)
            cq = _int8(centre[:, None, :], cscale)[:, 0]
            cback = cq.astype(np.float64) * cscale.astype(np.float64)[:, None]
            radius = np.linalg.norm(exact - cback[:, None, :], axis=2).max(1)
            rows = slice(n, n + g)
            self._ids[rows] = [t[0] for t in group]
            self._users[rows] = [t[1] for t in group]
            self._alive[rows] = True
            self._centres[rows] = cq
            self._cscale[rows] = cscale
            self._radius[rows] = _up(radius)
            self._scale[rows] = scale
            self._qerr[rows] = _up(err)
            self._start[rows] = m + k * np.arange(g)
            self._count[rows] = k
            self._emb[m : m + g * k] = q.reshape(-1, DIM)
            n, m = n + g, m + g * k
        self._n, self._m = n, m
        self._live += len(templates)

    def _compact(self) -> None:
        """Rows of dropped templates are freed once they are the greater part."""
        dead = self._n - self._live
        if dead <= max(1024, self._live):
            return
        keep = np.nonzero(self._alive[: self._n])[0]
        rows = np.concatenate(
            [np.arange(s, s + c) for s, c in zip(self._start[keep], self._count[keep], strict=True)]
            or [np.zeros(0, np.int64)]
        )
        self._emb = self._emb[rows].copy()
        counts = self._count[keep].copy()
        self._start = np.concatenate([[0], np.cumsum(counts.astype(np.int64))[:-1]])
        self._count = counts
        for name in ("alive", *_FIELDS[:-1]):  # count: above
            setattr(self, f"_{name}", getattr(self, f"_{name}")[keep].copy())
        self._n, self._m = len(keep), len(rows)
        self._finder = None  # rows renumbered

    def search(
        self,
        session: Session,
        probes: np.ndarray[Any, Any],
        threshold: float,
        *,
        exclude_user: uuid.UUID,
    ) -> list[tuple[uuid.UUID, float]]:
        """Users with an active template of this model as close as ``threshold`` (fused score in
        the model's metric), closest first. The scores are exact: every match is scored from its
        template in the database (``session``), as loaded by the last :meth:`refresh`."""
        metric = self.model.metric
        sign = 1.0 if metric == "euclidean" else -1.0  # sort key: smaller = closer
        unsure: list[tuple[bytes, bytes]] = []
        with self._lock:
            if self._live == 0:
                return []
            near = self._prefilter(probes, threshold)
            near = near[self._alive[near] & (self._users[near] != exclude_user.bytes)]
            for i in self._compact_scores(near, probes, threshold):
                unsure.append((_bytes16(self._ids[i]), _bytes16(self._users[i])))
        best: dict[uuid.UUID, float] = {}
        for _tid, user, embs in self._exact(session, unsure):
            d = fused_score(probes, embs, metric)
            if matches(d, threshold, metric) and sign * d < sign * best.get(user, sign * np.inf):
                best[user] = d
        return sorted(best.items(), key=lambda h: sign * h[1])

    def _prefilter(self, probes: np.ndarray[Any, Any], threshold: float) -> Any:
        """The rows whose centroid is near enough a probe for the template to match: the rest
        cannot. One pass over the int8 centroids, in blocks (no copy of the matrix).

        With ``c`` the int8 centroid as stored and ``r`` the radius from it, every compared
        vector ``e`` of the template is ``c + d`` with ``|d| <= r``. Cosine (probes and ``e``
        unit): ``p·e <= p·c + r``, and the fused score (a mean of the closest similarities)
        is at most the largest, so a template with ``max p·c < threshold - r`` cannot match.
        Euclidean: ``|p - e| >= |p - c| - r`` and the fused distance is at least the smallest,
        so one with ``min |p - c| > threshold + r`` cannot."""
        n, cosine = self._n, self.model.metric == "cosine"
        p = np.atleast_2d(np.asarray(probes, np.float64))
        if cosine:
            p = _unit(p)
        p32 = p.astype(np.float32)
        p2 = (p * p).sum(1).astype(np.float32)[:, None]
        step = _rows_per_product(len(p))
        best = np.empty(n, np.float32)  # per row: max p·c (cosine), min |p - c|^2 (euclidean)
        block = np.empty((step, DIM), np.float32)
        dots = np.empty((len(p), step), np.float32)  # probes x rows: reduced over probes
        centres, cscale = self._centres, self._cscale
        for a in range(0, n, step):
            b = min(n, a + step)
            c, d = block[: b - a], dots[:, : b - a]
            np.copyto(c, centres[a:b], casting="unsafe")  # int8 -> float32, exact
            np.matmul(p32, c.T, out=d)  # in steps of each row's scale
            if cosine:
                d.max(0, out=best[a:b])
            else:
                s = cscale[a:b]
                d *= -2 * s
                d += p2
                d.min(0, out=best[a:b])
                best[a:b] += np.einsum("ij,ij->i", c, c) * (s * s)
        if cosine:
            best *= cscale[:n]
            best += self._radius[:n]
            return np.nonzero(best >= threshold - _PREFILTER_SLACK)[0]
        np.sqrt(np.maximum(best, 0, out=best), out=best)
        best -= self._radius[:n]
        return np.nonzero(best <= threshold + _PREFILTER_SLACK)[0]

    def _compact_scores(
        self, candidates: np.ndarray[Any, Any], probes: np.ndarray[Any, Any], threshold: float
    ) -> list[int]:
        """The candidates whose fused score from the int8 copy matches ``threshold`` or is
        within its error bound of it (the rest cannot match), scored in blocks.

        Cosine is computed in float32 from the int8 codes (the scale cancels in a unit
        vector): the codes and their squared norms (below 2**24) are exact, and a dot product
        of 128 terms with a unit probe is off by at most ~128 * 2**-24 * |code|, so each
        similarity, and the mean of the closest, is within ~1e-5 of the exact one — inside
        ``_SCORE_SLACK``. Euclidean distances cancel near 0 and are computed in float64."""
        cosine = self.model.metric == "cosine"
        p = np.atleast_2d(np.asarray(probes, np.float64))
        if cosine:
            p = _unit(p)
        kind = np.float32 if cosine else np.float64
        pt, p2 = np.ascontiguousarray(p.T, kind), (p * p).sum(1)
        step = _rows_per_product(len(p))
        sign = -1.0 if cosine else 1.0
        out: list[int] = []
        counts = self._count[candidates]
        for k in np.unique(counts).tolist():
            same = candidates[counts == k]
            kk = max(1, min(3, k * len(p)))  # fused_score's mean of the 3 closest pairs
            for block in range(0, len(same), 4096):
                idx = same[block : block + 4096]
                rows = (self._start[idx][:, None] + np.arange(k)).ravel()
                e = self._emb[rows].astype(kind)  # in steps of the template's scale
                e2 = np.einsum("ij,ij->i", e, e)
                dots = np.empty((len(rows), len(p)), kind)
                for a in range(0, len(rows), step):
                    np.matmul(e[a : a + step], pt, out=dots[a : a + step])
                if cosine:
                    s = (dots / np.sqrt(np.maximum(e2, 1))[:, None]).reshape(len(idx), -1)
                    score = -np.partition(-s, kk - 1, axis=1)[:, :kk]
                else:
                    sc = np.repeat(self._scale[idx].astype(np.float64), k)[:, None]
                    d2 = (e2[:, None] * sc + -2 * dots) * sc + p2
                    d = np.sqrt(np.clip(d2, 0, None)).reshape(len(idx), -1)
                    score = np.partition(d, kk - 1, axis=1)[:, :kk]
                margin = self._qerr[idx].astype(np.float64) + _SCORE_SLACK
                keep = sign * (score.mean(1, dtype=np.float64) - threshold) <= margin
                out.extend(idx[keep].tolist())  # a match, or too near to tell
        return out

    def _exact(
        self, session: Session, picked: list[tuple[bytes, bytes]]
    ) -> list[tuple[uuid.UUID, uuid.UUID, np.ndarray[Any, Any]]]:
        """The exact embeddings of ``picked`` (template, user) from the database."""
        if not picked:
            return []
        user_of = {uuid.UUID(bytes=t): uuid.UUID(bytes=u) for t, u in picked}
        out = []
        for start in range(0, len(picked), 500):
            ids = list(user_of)[start : start + 500]
            for tid, blob in session.connection().execute(
                sa.select(_TEMPLATES.c.id, _TEMPLATES.c.embeddings_enc).where(
                    _TEMPLATES.c.id.in_(ids)
                )
            ):
                if blob:  # wiped since the refresh (consent withdrawn): no longer a match
                    out.append((tid, user_of[tid], np.asarray(self._decode(blob), np.float64)))
        return out


class _Finder:
    """The rows of templates by id, sorted by the ids' first 8 bytes (random in a UUID) and
    searched by bisection. Built once from the alive rows (a sort: ~0.1-0.3 s at 1 M), then
    each refresh merges the rows it added (no sort of the whole); rows dropped since stay
    listed, harmlessly (dropping a dropped row again changes nothing). Compaction renumbers
    the rows and starts a new one."""

    def __init__(self, ids: np.ndarray[Any, Any], alive: np.ndarray[Any, Any]) -> None:
        rows = np.nonzero(alive)[0]
        keys = _prefix(ids[rows])
        order = np.argsort(keys, kind="stable")
        self._keys, self._rows = keys[order], rows[order]

    @property
    def nbytes(self) -> int:
        return int(self._keys.nbytes + self._rows.nbytes)

    def extend(self, ids: np.ndarray[Any, Any], start: int, stop: int) -> None:
        """Add rows ``start:stop`` of ``ids`` (the index's ids array)."""
        if stop <= start:
            return
        keys = _prefix(ids[start:stop])
        order = np.argsort(keys, kind="stable")
        at = np.searchsorted(self._keys, keys[order], "right")
        self._keys = np.insert(self._keys, at, keys[order])
        self._rows = np.insert(self._rows, at, np.arange(start, stop, dtype=np.int64)[order])

    def rows(self, ids: np.ndarray[Any, Any], all_ids: np.ndarray[Any, Any]) -> Any:
        """The rows holding ``ids``, ``all_ids`` being the index's ids array."""
        if not len(self._keys) or not len(ids):
            return np.zeros(0, np.int64)
        keys = _prefix(ids)
        lo = np.searchsorted(self._keys, keys, "left")
        hi = np.searchsorted(self._keys, keys, "right")
        found = [
            int(row)
            for i, (a, b) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True))
            for row in self._rows[a:b]  # almost always 0 or 1 row
            if all_ids[row] == ids[i]
        ]
        return np.array(found, np.int64)


def _bytes16(value: bytes) -> bytes:
    """An id from an "S16" array (NumPy strips its trailing zero bytes)."""
    return bytes(value).ljust(16, b"\0")


def _prefix(ids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The first 8 bytes of each 16-byte id as an integer."""
    return np.ascontiguousarray(ids).view(np.uint64).reshape(-1, 2)[:, 0].copy()


def _rows_per_product(probes: int) -> int:
    """Rows of 128 per product with ``probes`` that OpenBLAS computes on the calling thread."""
    return max(1, _ONE_THREAD // (DIM * max(1, probes)))


def _int8(x: np.ndarray[Any, Any], scale: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``x`` (rows, k, DIM) in steps of each row's ``scale``, as int8."""
    steps = np.rint(x / scale.astype(np.float64)[:, None, None])
    return np.clip(steps, -127, 127).astype(np.int8)


def _up(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``x`` as float32, rounded up (a bound stays a bound)."""
    out: np.ndarray[Any, Any] = np.nextafter(x.astype(np.float32), np.float32(np.inf))
    return out


def _unit(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return out


_indexes: dict[str, TemplateIndex] = {}
_indexes_lock = threading.Lock()


def index_for(
    session: Session, decode: Decoder, model: ModelIdentity, snapshot_dir: Path | None = None
) -> TemplateIndex:
    """The process's index of ``model``'s templates in the session's database, with its
    snapshot in ``snapshot_dir`` (None: none)."""
    url = str(session.get_bind().engine.url)  # the password masked
    key = f"{url}|{model.engine}|{model.name}|{model.sha256}"
    with _indexes_lock:
        if key not in _indexes:
            path = None
            if snapshot_dir is not None:
                db = hashlib.sha256(url.encode()).hexdigest()[:16]
                path = snapshot_dir / f"{db}-{model.engine}-{model.sha256[:16]}.snapshot"
            _indexes[key] = TemplateIndex(decode, model, path)
        return _indexes[key]

"""1:N face search over every active template, held compactly in memory per process.

The brute-force loop (decrypt and compare every template per query) costs ~0.1-0.2 ms per
template: 10-20 s per enrolment at 100 k learners. This index keeps one row per template, its
centroid and radius, and answers a query with one matrix product plus an exact check of the few
candidates — the same answer as brute force:

every embedding of a template lies within its radius ``r`` of the centroid ``c``, so for any
probe ``p`` and embedding ``e``: d(p, e) >= d(p, c) - r. The fused distance (a mean of the k
smallest probe-embedding distances) is never below the smallest, so a template whose nearest
probe is farther than ``threshold + r`` from its centroid cannot match and is skipped. A model
whose metric is cosine similarity (SFace, unit-length embeddings) is searched with the same bound,
since ``cos >= t`` is ``d <= sqrt(2 - 2t)`` for unit vectors and the fused score (a mean of the k
largest similarities) never exceeds the largest.

**Compact.** The embeddings are stored as int8 (one scale per template) in one matrix, with the
exact bound ``q`` of their rounding error (the largest distance between an embedding and its
int8 copy; for cosine, between their unit vectors). A score from the int8 copy is within ``q`` of
the exact one (a mean of the k closest of scores each off by at most ``q`` is off by at most
``q``), so a candidate whose compact score misses the threshold by more than ``q`` is decided;
the rest — the matches and the few near the threshold — are scored again from the template in
the database, exactly as before. 1.1-1.3 KB per template instead of 6 KB (float64 arrays in
lists and dicts); benchmarks/dedupe_scale.py measured 0 missed and 0 extra matches against
float32 brute force (docs/SCALING.md).

**Incremental.** The index follows the database through the change clock
(:mod:`app.attendance.templateclock`): each refresh reads the clock's one row and loads only the
templates stamped since the value it saw (new ones decrypted and added, retired and deleted ones
dropped), so every node's index follows enrolments, re-enrolments and consent withdrawals made
by any process; with nothing changed a refresh is that one read. There is one index per face
model (templates of different models are not comparable). A process starts from the node's
encrypted snapshot of its index when one is usable (:mod:`app.attendance.indexsnapshot`), then
loads what was written since. Past one process's memory (≈ 1.4 GB per million templates) the
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
#: Slack for float32 rounding in the centroid prefilter and the compact scores.
_PREFILTER_SLACK = 1e-3
_SCORE_SLACK = 1e-5
#: Per-template arrays (``_<name>``) other than the bookkeeping ones (alive, start).
_FIELDS = ("ids", "users", "centres", "radius", "scale", "qerr", "count")

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
        self._centres = np.zeros((0, DIM), np.float32)
        self._radius = np.zeros(0, np.float32)
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
        self._centres, self._radius = _grow(self._centres, need_n), _grow(self._radius, need_n)
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
            centre = e.mean(1)
            scale = (np.maximum(np.abs(e).max((1, 2)), 1e-12) / 127).astype(np.float32)
            q = np.clip(np.rint(e / scale[:, None, None]), -127, 127).astype(np.int8)
            back = q.astype(np.float64) * scale.astype(np.float64)[:, None, None]
            exact = e
            if self.model.metric == "cosine":  # fused_score compares unit vectors
                back, exact = _unit(back), _unit(e)
            err = np.linalg.norm(back - exact, axis=2).max(1).astype(np.float32)
            rows = slice(n, n + g)
            self._ids[rows] = [t[0] for t in group]
            self._users[rows] = [t[1] for t in group]
            self._alive[rows] = True
            self._centres[rows] = centre
            self._radius[rows] = np.linalg.norm(e - centre[:, None, :], axis=2).max(1)
            self._scale[rows] = scale
            self._qerr[rows] = np.nextafter(err, np.float32(np.inf))
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
        for name in ("_ids", "_users", "_alive", "_centres", "_radius", "_scale", "_qerr"):
            setattr(self, name, getattr(self, name)[keep].copy())
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
        # Euclidean bound on the nearest probe-embedding distance that can still match.
        bound = threshold if metric == "euclidean" else float(np.sqrt(max(0.0, 2 - 2 * threshold)))
        p = np.atleast_2d(np.asarray(probes, np.float32))
        sign = 1.0 if metric == "euclidean" else -1.0  # sort key: smaller = closer
        unsure: list[tuple[bytes, bytes]] = []
        with self._lock:
            n = self._n
            if self._live == 0:
                return []
            centres = self._centres[:n]
            # Squared distance of every centroid to its nearest probe, in one product.
            d2 = (p * p).sum(1)[None, :] + (centres * centres).sum(1)[:, None] - 2 * centres @ p.T
            nearest = np.sqrt(np.clip(d2.min(1), 0, None))
            near = (nearest - self._radius[:n] <= bound + _PREFILTER_SLACK) & self._alive[:n]
            near &= self._users[:n] != exclude_user.bytes
            for i in self._compact_scores(np.nonzero(near)[0], probes, threshold):
                unsure.append((_bytes16(self._ids[i]), _bytes16(self._users[i])))
        best: dict[uuid.UUID, float] = {}
        for _tid, user, embs in self._exact(session, unsure):
            d = fused_score(probes, embs, metric)
            if matches(d, threshold, metric) and sign * d < sign * best.get(user, sign * np.inf):
                best[user] = d
        return sorted(best.items(), key=lambda h: sign * h[1])

    def _compact_scores(
        self, candidates: np.ndarray[Any, Any], probes: np.ndarray[Any, Any], threshold: float
    ) -> list[int]:
        """The candidates whose fused score from the int8 copy matches ``threshold`` or is
        within its error bound of it (the rest cannot match), scored in blocks."""
        metric = self.model.metric
        p = np.atleast_2d(np.asarray(probes, np.float64))
        if metric == "cosine":
            p = _unit(p)
        sign = 1.0 if metric == "euclidean" else -1.0
        out: list[int] = []
        counts = self._count[candidates]
        for k in np.unique(counts).tolist():
            same = candidates[counts == k]
            kk = max(1, min(3, k * len(p)))  # fused_score's mean of the 3 closest pairs
            for block in range(0, len(same), 4096):
                idx = same[block : block + 4096]
                rows = self._start[idx][:, None] + np.arange(k)
                e = (
                    self._emb[rows].astype(np.float64)
                    * self._scale[idx].astype(np.float64)[:, None, None]
                )
                if metric == "cosine":
                    s = _unit(e) @ p.T  # (c, k, probes)
                    score = -np.partition(-s.reshape(len(idx), -1), kk - 1, axis=1)[:, :kk]
                else:
                    d2 = (e * e).sum(2)[:, :, None] + (p * p).sum(1) - 2 * (e @ p.T)
                    d = np.sqrt(np.clip(d2, 0, None)).reshape(len(idx), -1)
                    score = np.partition(d, kk - 1, axis=1)[:, :kk]
                margin = self._qerr[idx].astype(np.float64) + _SCORE_SLACK
                keep = sign * (score.mean(1) - threshold) <= margin  # a match, or too near
                out.extend(idx[keep].tolist())
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

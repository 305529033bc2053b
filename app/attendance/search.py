"""1:N face search over every active template, kept decrypted in memory per process.

The brute-force loop (decrypt and compare every template per query) costs ~0.1-0.2 ms per
template: 10-20 s per enrolment at 100 k learners. This index keeps one row per template, its
centroid and radius, and answers a query with one matrix product plus an exact check of the few
candidates — the same answer as brute force:

every embedding of a template lies within its radius ``r`` of the centroid ``c``, so for any
probe ``p`` and embedding ``e``: d(p, e) >= d(p, c) - r. The fused distance (a mean of the k
smallest probe-embedding distances) is never below the smallest, so a template whose nearest
probe is farther than ``threshold + r`` from its centroid cannot match and is skipped.

The index refreshes incrementally from the database before each search (ids only; only new
templates are fetched and decrypted), so it follows enrolments, re-enrolments and consent
withdrawals made by any process. There is one index per face model (templates of different
models are not comparable): a model whose metric is cosine similarity (SFace, unit-length
embeddings) is searched with the same bound, since ``cos >= t`` is ``d <= sqrt(2 - 2t)`` for
unit vectors and the fused score (a mean of the k largest similarities) never exceeds the largest.
It is the embedded default; at national scale a vector index
(pgvector, FAISS) takes its place behind the same function.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlmodel import Session, col, select

from app.attendance.face import ModelIdentity, fused_score, matches
from app.attendance.models import FaceTemplate, TemplateStatus

Decoder = Callable[[str], np.ndarray[Any, Any]]
_FETCH_CHUNK = 500


class TemplateIndex:
    """Centroids of all active templates of one database, refreshed from it on demand."""

    def __init__(self, decode: Decoder, model: ModelIdentity) -> None:
        self._decode = decode
        self.model = model
        self._lock = threading.Lock()
        self._row_of: dict[str, int] = {}  # template id as 32 hex digits -> row
        self._users: list[uuid.UUID] = []
        self._embeddings: list[np.ndarray[Any, Any]] = []
        self._alive: list[bool] = []
        self._centres = np.zeros((0, 128), np.float32)
        self._radius = np.zeros(0, np.float32)
        self._dirty = False

    def __len__(self) -> int:
        return sum(self._alive)

    def refresh(self, session: Session) -> None:
        """Follow the database: drop templates no longer active, decrypt and add new ones."""
        # Ids only, as raw driver values: converting 100 k UUIDs through the ORM type costs
        # more than the whole search.
        raw = session.connection().execute(
            text(
                "SELECT id FROM face_templates WHERE status = :active AND face_engine = :engine"
                " AND model_name = :name AND model_sha256 = :sha256"
            ),
            {
                "active": TemplateStatus.active.value,
                "engine": self.model.engine,
                "name": self.model.name,
                "sha256": self.model.sha256,
            },
        )
        current = {_hex(v) for v in raw.scalars()}
        with self._lock:
            for key, row in self._row_of.items():
                if self._alive[row] and key not in current:
                    self._alive[row] = False
            new = [uuid.UUID(key) for key in current if key not in self._row_of]
        for start in range(0, len(new), _FETCH_CHUNK):
            chunk = new[start : start + _FETCH_CHUNK]
            rows = session.exec(
                select(FaceTemplate.id, FaceTemplate.user_id, FaceTemplate.embeddings_enc).where(
                    col(FaceTemplate.id).in_(chunk)
                )
            ).all()
            decoded = [(tid.hex, uid, self._decode(blob)) for tid, uid, blob in rows if blob]
            with self._lock:
                for key, uid, embs in decoded:
                    if key in self._row_of:
                        continue
                    self._row_of[key] = len(self._users)
                    self._users.append(uid)
                    self._embeddings.append(np.asarray(embs, np.float64))
                    self._alive.append(True)
                    self._dirty = True

    def _matrix(self) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        if self._dirty:
            known = len(self._centres)
            add = self._embeddings[known:]
            centres = np.array([e.mean(0) for e in add], np.float32).reshape(-1, 128)
            radius = np.array(
                [np.linalg.norm(e - e.mean(0), axis=1).max() for e in add], np.float32
            )
            self._centres = np.concatenate([self._centres, centres])
            self._radius = np.concatenate([self._radius, radius])
            self._dirty = False
        return self._centres, self._radius

    def search(
        self, probes: np.ndarray[Any, Any], threshold: float, *, exclude_user: uuid.UUID
    ) -> list[tuple[uuid.UUID, float]]:
        """Users with an active template of this model as close as ``threshold`` (fused score in
        the model's metric), closest first."""
        metric = self.model.metric
        # Euclidean bound on the nearest probe-embedding distance that can still match.
        bound = threshold if metric == "euclidean" else float(np.sqrt(max(0.0, 2 - 2 * threshold)))
        p = np.atleast_2d(np.asarray(probes, np.float32))
        with self._lock:
            centres, radius = self._matrix()
            if len(centres) == 0:
                return []
            # Squared distance of every centroid to its nearest probe, in one product.
            d2 = (p * p).sum(1)[None, :] + (centres * centres).sum(1)[:, None] - 2 * centres @ p.T
            nearest = np.sqrt(np.clip(d2.min(1), 0, None))
            candidates = np.nonzero(nearest - radius <= bound + 1e-3)[0]
            picked = [
                (self._users[i], self._embeddings[i])
                for i in candidates.tolist()
                if self._alive[i] and self._users[i] != exclude_user
            ]
        sign = 1.0 if metric == "euclidean" else -1.0  # sort key: smaller = closer
        best: dict[uuid.UUID, float] = {}
        for user, embs in picked:
            d = fused_score(probes, embs, metric)
            if matches(d, threshold, metric) and sign * d < sign * best.get(user, sign * np.inf):
                best[user] = d
        return sorted(best.items(), key=lambda h: sign * h[1])


def _hex(value: object) -> str:
    """A UUID from the driver (uuid.UUID on PostgreSQL, hex text on SQLite) as 32 hex digits."""
    return value.hex if isinstance(value, uuid.UUID) else str(value).replace("-", "")


_indexes: dict[str, TemplateIndex] = {}
_indexes_lock = threading.Lock()


def index_for(session: Session, decode: Decoder, model: ModelIdentity) -> TemplateIndex:
    """The process's index of ``model``'s templates in the session's database."""
    key = f"{session.get_bind().engine.url}|{model.engine}|{model.name}|{model.sha256}"
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = TemplateIndex(decode, model)
        return _indexes[key]

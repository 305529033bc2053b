"""Streamed frames analysed while the learner is still streaming, not all at submit.

A streamed check is 10-15 s of frames (120-180 of them) and each costs ~90 ms of face
analysis on this hardware: analysed at submit, the learner waited 5-13 s for the answer after
the last action. Each stored frame is now handed to the face pool once its upload commits;
at submit, :func:`analyse_stored` takes the finished (or still running) analyses and analyses
only what is missing. The decision is the same: an analysis depends only on the frame's bytes
and the engine configuration, which is the cache key, and anything not found (another app
node took the upload, a result was evicted, the pool restarted, or no pool: ``face_workers``
0) is analysed at submit as before.

The cache is per process and bounded (:data:`MAX_FRAMES` entries, oldest evicted first), so
abandoned checks cost nothing lasting. The total work does not change; only when it happens.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future

from app.attendance import engine
from app.attendance.exceptions import FaceEngineUnavailable
from app.attendance.pool import FrameResult
from app.config import get_settings

log = logging.getLogger(__name__)

#: Analyses kept at most (~1 MB per 100 frames, crops included): about 15 checks in flight per
#: process before the oldest frames fall back to analysis at submit.
MAX_FRAMES = 2048
#: How long submit waits for an analysis already under way before analysing the frame itself.
WAIT_S = 60.0


class _Cache:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Future[FrameResult]] = OrderedDict()

    def put(self, key: str, future: Future[FrameResult]) -> None:
        with self._lock:
            self._items[key] = future
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def take(self, key: str) -> Future[FrameResult] | None:
        with self._lock:
            return self._items.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _Cache(MAX_FRAMES)


def _key(config: object, digest: str) -> str:
    return f"{config!r}|{digest}"


def prefetch(data: bytes, digest: str) -> None:
    """Start analysing a stored frame in the face pool (no-op without a pool or when off)."""
    if not get_settings().face_prefetch:
        return
    pool = engine.get_pool()
    if pool is None:
        return
    try:
        future = pool.submit(data)
    except FaceEngineUnavailable:  # stopping: submit analyses it
        return
    _cache.put(_key(pool.config, digest), future)


def analyse_stored(frames: Sequence[tuple[bytes, str]]) -> list[FrameResult]:
    """The analyses of ``(bytes, sha256)`` frames in order: prefetched where found, the rest
    analysed now (in the pool, with its retries)."""
    results: list[FrameResult | None] = [None] * len(frames)
    missing: list[int] = []
    pool = engine.get_pool()
    for i, (_data, digest) in enumerate(frames):
        future = _cache.take(_key(pool.config, digest)) if pool is not None else None
        if future is None:
            missing.append(i)
            continue
        try:
            results[i] = future.result(timeout=WAIT_S)
        except Exception as exc:  # a worker died, the pool restarted, or it took too long
            log.info("prefetched analysis lost (%s): analysing at submit", type(exc).__name__)
            missing.append(i)
    if missing:
        fresh = engine.analyse_frames([frames[i][0] for i in missing])
        for i, r in zip(missing, fresh, strict=True):
            results[i] = r
    done = [r for r in results if r is not None]
    assert len(done) == len(frames)  # noqa: S101 - every frame was found or analysed above
    return done


def clear() -> None:
    """Forget every prefetched analysis (tests; a changed engine configuration never matches)."""
    _cache.clear()


__all__ = ["MAX_FRAMES", "WAIT_S", "analyse_stored", "clear", "prefetch"]

"""The process-wide face analyser the service uses, configured from settings.

With ``face_workers > 0`` frames are analysed in a :class:`FacePool` (separate processes: the
CPU-bound work never blocks the event loop or holds the GIL of the web process); with 0 they are
analysed in the calling thread (the request's worker thread, never the event loop), which keeps
test start-up fast.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from app.attendance.exceptions import FaceRejected
from app.attendance.face import DecodeLimits, DlibFaceEngine, EngineConfig, FaceAnalysis
from app.attendance.pool import FacePool, FrameResult, PoolState
from app.config import get_settings

_lock = threading.Lock()
_pool: FacePool | None = None
_local: DlibFaceEngine | None = None


def engine_config() -> EngineConfig:
    s = get_settings()
    return EngineConfig(
        limits=DecodeLimits(max_bytes=s.face_max_frame_bytes, max_pixels=s.face_max_frame_pixels)
    )


def _analyse_local(frames: Sequence[bytes]) -> list[FrameResult]:
    global _local
    with _lock:
        if _local is None:
            _local = DlibFaceEngine(engine_config())
        engine = _local
    out: list[FrameResult] = []
    for data in frames:
        try:
            out.append(engine.analyse_bytes(data))
        except FaceRejected as exc:
            out.append(exc)
    return out


def get_pool() -> FacePool | None:
    global _pool
    workers = get_settings().face_workers
    if workers == 0:
        return None
    with _lock:
        if _pool is None:
            _pool = FacePool(workers=workers, config=engine_config())
        return _pool


def analyse_frames(frames: Sequence[bytes]) -> list[FaceAnalysis | FaceRejected]:
    """Analyse a burst; each result is an analysis or the rejection for that frame, in order."""
    pool = get_pool()
    if pool is None:
        return _analyse_local(frames)
    return pool.analyse_frames_sync(frames)


def start() -> None:
    """Start and warm the pool (application start-up), so the first learner does not wait."""
    pool = get_pool()
    if pool is not None:
        pool.warm_up()


def pool_state() -> PoolState | None:
    """The face workers' state (``/readyz``), or ``None`` when frames are analysed in-process.

    Does not start a pool that was never started."""
    with _lock:
        pool = _pool
    return pool.state() if pool is not None else None


def shutdown(timeout: float = 10.0) -> None:
    """Stop the face workers (application shutdown): running jobs get ``timeout`` seconds,
    then the workers are killed, so no worker outlives the server."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close(wait=True, timeout=timeout)


@dataclass(frozen=True)
class EngineStatus:
    """What this process's face analyser is doing, for the admin console's status page."""

    #: ``pool`` (worker processes) or ``in_process`` (the request's thread, face_workers = 0).
    mode: str
    workers: int
    #: Pool only: worker processes alive, frames queued or being analysed; None in-process.
    alive: int | None = None
    in_flight: int | None = None
    #: Whether the pool (or the in-process engine) has been started in this process.
    started: bool = False


def status() -> EngineStatus:
    """The face engine's state in this process, without starting anything."""
    workers = get_settings().face_workers
    if workers == 0:
        return EngineStatus(mode="in_process", workers=0, started=_local is not None)
    pool = _pool
    if pool is None:
        return EngineStatus(mode="pool", workers=workers, alive=0, in_flight=0)
    return EngineStatus(
        mode="pool",
        workers=pool.workers,
        alive=pool.alive_workers(),
        in_flight=pool.in_flight,
        started=True,
    )

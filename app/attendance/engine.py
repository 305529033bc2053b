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

from app.attendance.engines import identity_of, liveness_params, make_engine, stream_params
from app.attendance.exceptions import FaceRejected
from app.attendance.face import (
    DecodeLimits,
    DlibFaceEngine,
    EngineConfig,
    FaceAnalysis,
    ModelIdentity,
)
from app.attendance.liveness import LivenessParams
from app.attendance.pad import verify_pad_files
from app.attendance.pool import FacePool, FrameResult, PoolState
from app.attendance.sface import verify_model_files
from app.attendance.streaming import StreamParams
from app.config import get_settings

_lock = threading.Lock()
_pool: FacePool | None = None
_local: DlibFaceEngine | None = None


def engine_config() -> EngineConfig:
    s = get_settings()
    return EngineConfig(
        limits=DecodeLimits(max_bytes=s.face_max_frame_bytes, max_pixels=s.face_max_frame_pixels),
        engine=s.face_engine,
    )


def current_model() -> ModelIdentity:
    """The configured engine's model: what new templates and decisions record."""
    return identity_of(get_settings().face_engine)


def thresholds() -> tuple[float, float]:
    """(accept, reject) for the configured engine's model, in its metric."""
    return get_settings().face_thresholds()


def current_liveness_params() -> LivenessParams:
    return liveness_params(get_settings().face_engine)


def current_stream_params() -> StreamParams:
    """The streamed protocol as configured: the engine's identity bounds, the number of
    reveals and the actions they are drawn from."""
    s = get_settings()
    actions = tuple(a for a in s.face_stream_actions.split(",") if a)
    return stream_params(
        s.face_engine,
        reveals=s.face_stream_reveals,
        actions=actions,
        min_fps=s.face_stream_min_fps,
        max_gap_s=s.face_stream_max_gap_s,
    )


def _analyse_local(frames: Sequence[bytes]) -> list[FrameResult]:
    global _local
    config = engine_config()
    with _lock:
        # Rebuilt when the settings changed (tests switch engines): the frames must be analysed
        # by the model that current_model() names on the event and the template.
        if _local is None or _local.config != config:
            _local = make_engine(config)
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
    config = engine_config()
    with _lock:
        if _pool is not None and _pool.config != config:
            _pool.close(wait=False)  # the settings changed (another engine): new workers
            _pool = None
        if _pool is None:
            _pool = FacePool(workers=workers, config=config)
        return _pool


def analyse_frames(frames: Sequence[bytes]) -> list[FaceAnalysis | FaceRejected]:
    """Analyse a burst; each result is an analysis or the rejection for that frame, in order."""
    pool = get_pool()
    if pool is None:
        return _analyse_local(frames)
    return pool.analyse_frames_sync(frames)


def start() -> None:
    """Check the model files and warm the pool (application start-up), so the first learner
    does not wait; a model file that is not the vendored one stops the start-up
    (:class:`app.attendance.sface.ModelFileError`)."""
    if get_settings().face_engine == "sface":
        verify_model_files()
        verify_pad_files()
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

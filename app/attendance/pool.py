"""Process pool for the CPU-bound face work, so it never runs on the event loop.

Each worker process builds one :class:`DlibFaceEngine` in its initialiser (models loaded once,
~0.5 s and ~150 MB per worker). Frames go in as bytes and come back as
:class:`~app.attendance.face.FaceAnalysis` or as the :class:`FaceRejected` error *object* (returned,
not raised, so one bad frame in a burst does not hide the others' results). Anything else that
goes wrong in a worker (a bug) is raised in the caller.

Uses the ``spawn`` start method by default: forking a process that already runs an asyncio loop,
threads (uvicorn, SQLAlchemy pools) or dlib's own thread pool is unsafe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Literal

from app.attendance.exceptions import FaceRejected
from app.attendance.face import (
    DlibFaceEngine,
    EngineConfig,
    FaceAnalysis,
    FileSample,
    measure_file,
)

FrameResult = FaceAnalysis | FaceRejected

_ENGINE: DlibFaceEngine | None = None


def _init_worker(config: EngineConfig) -> None:
    """Pool initialiser: build this worker's engine and load the models now."""
    global _ENGINE
    # dlib/OpenCV may start their own threads; with one worker per core, extra threads only
    # contend. Limit before any heavy work.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # noqa: S110 - best effort; the pool works without it
        pass
    _ENGINE = DlibFaceEngine(config)
    _ENGINE.warm_up()


def _analyse_in_worker(data: bytes) -> FrameResult:
    engine = _ENGINE
    if engine is None:  # pragma: no cover - only without the initialiser
        raise RuntimeError("face worker not initialised")
    try:
        return engine.analyse_bytes(data)
    except FaceRejected as exc:
        return exc


def _measure_file_in_worker(path: str) -> FileSample:
    engine = _ENGINE
    if engine is None:  # pragma: no cover - only without the initialiser
        raise RuntimeError("face worker not initialised")
    return measure_file(engine, path)


def _worker_rss_kib() -> tuple[int, int]:
    """(pid, peak resident set size in KiB on Linux) of this worker."""
    import resource

    return os.getpid(), int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _noop() -> int:
    return os.getpid()


class FacePool:
    """A pool of face worker processes.

    ``async`` callers (FastAPI) use :meth:`analyse_frames`; scripts, the CLI and tests use
    :meth:`analyse_frames_sync`. Use it as a (sync) context manager or call :meth:`close`.
    """

    def __init__(
        self,
        workers: int = 2,
        config: EngineConfig | None = None,
        start_method: Literal["spawn", "forkserver"] = "spawn",
    ) -> None:
        if workers < 1:
            raise ValueError("a face pool needs at least one worker")
        self.workers = workers
        self.config = config or EngineConfig()
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(start_method),
            initializer=_init_worker,
            initargs=(self.config,),
        )
        self._in_flight = 0
        self._count_lock = threading.Lock()

    def warm_up(self) -> None:
        """Start every worker and load its models now (call at application start-up)."""
        futures = [self._executor.submit(_noop) for _ in range(self.workers * 2)]
        for f in futures:
            f.result()

    def submit(self, data: bytes) -> Future[FrameResult]:
        """Analyse one frame in a worker; the future's result is an analysis or a rejection."""
        future = self._executor.submit(_analyse_in_worker, data)
        with self._count_lock:
            self._in_flight += 1
        future.add_done_callback(self._one_done)
        return future

    def _one_done(self, _future: Future[FrameResult]) -> None:
        with self._count_lock:
            self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """Frames submitted and not analysed yet (queued or running): the pool's queue depth."""
        return self._in_flight

    def alive_workers(self) -> int:
        """Worker processes alive now (the executor starts them on demand, up to ``workers``)."""
        processes = self._executor._processes or {}  # None once the executor has shut down
        return sum(1 for p in processes.values() if p.is_alive())

    def submit_measure_file(self, path: str | os.PathLike[str]) -> Future[FileSample]:
        """Lenient measurement of an image file (calibration): see :func:`measure_file`."""
        return self._executor.submit(_measure_file_in_worker, os.fspath(path))

    async def analyse_frames(self, frames: Sequence[bytes]) -> list[FrameResult]:
        """Analyse a burst concurrently without blocking the event loop; results in order."""
        futures = [asyncio.wrap_future(self.submit(data)) for data in frames]
        return list(await asyncio.gather(*futures))

    def analyse_frames_sync(self, frames: Sequence[bytes]) -> list[FrameResult]:
        """Blocking variant of :meth:`analyse_frames` (CLI, scripts, tests)."""
        futures = [self.submit(data) for data in frames]
        return [f.result() for f in futures]

    def worker_peak_rss_kib(self) -> dict[int, int]:
        """Peak RSS (KiB) by worker pid, for benchmarks; best effort (asks every worker it can)."""
        futures = [self._executor.submit(_worker_rss_kib) for _ in range(self.workers * 4)]
        return dict(f.result() for f in futures)

    def close(self, wait: bool = True) -> None:
        """Stop the workers."""
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> FacePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def split_results(
    results: Sequence[FrameResult],
) -> tuple[list[FaceAnalysis], list[tuple[int, FaceRejected]]]:
    """Separate good frames from rejected ones (with their index in the burst)."""
    good: list[FaceAnalysis] = []
    bad: list[tuple[int, FaceRejected]] = []
    for i, r in enumerate(results):
        if isinstance(r, FaceRejected):
            bad.append((i, r))
        else:
            good.append(r)
    return good, bad


__all__ = ["FacePool", "FrameResult", "split_results"]

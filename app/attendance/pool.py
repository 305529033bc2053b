"""Process pool for the CPU-bound face work, so it never runs on the event loop.

Each worker process builds one engine (:func:`app.attendance.engines.make_engine`) in its
initialiser (models loaded once, ~0.5 s; ~420 MB peak RSS per SFace worker measured). Frames
go in as bytes and come back as :class:`~app.attendance.face.FaceAnalysis` or as the
:class:`FaceRejected` error *object* (returned, not raised, so one bad frame in a burst does not
hide the others' results). Anything else that
goes wrong in a worker (a bug) is raised in the caller.

Uses the ``spawn`` start method by default: forking a process that already runs an asyncio loop,
threads (uvicorn, SQLAlchemy pools) or dlib's own thread pool is unsafe.

Failures of the workers themselves:

* A worker that dies (``kill -9``, the OOM killer, a crash in native code) breaks a
  ``ProcessPoolExecutor`` for good: every later job would fail. :meth:`FacePool.analyse_frames`
  replaces the broken executor with a fresh one and runs the jobs that were lost once more;
  if they are lost again it raises :class:`FaceEngineUnavailable` (503 with ``Retry-After``).
* Workers exit on their own when the process that started them is gone (a thread in each
  worker waits on its parent's sentinel), so a server killed without a chance to clean up leaves no
  workers behind, and so no ``multiprocessing`` resource tracker either (it exits when the last
  process holding its pipe does). ``prctl(PR_SET_PDEATHSIG)`` is not used: Linux sends that
  signal when the *thread* that spawned the worker exits, and workers are spawned lazily from
  request threads that come and go.
* :meth:`FacePool.close` waits (bounded) for the workers and kills any that do not stop.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import cv2

from app.attendance.engines import make_engine
from app.attendance.exceptions import FaceEngineUnavailable, FaceRejected
from app.attendance.face import (
    DlibFaceEngine,
    EngineConfig,
    FaceAnalysis,
    FileSample,
    measure_file,
)

FrameResult = FaceAnalysis | FaceRejected
T = TypeVar("T")
A = TypeVar("A")

log = logging.getLogger("skilltrace.face")

_ENGINE: DlibFaceEngine | None = None

#: Suggested wait (Retry-After) when the face workers cannot take a job.
RETRY_AFTER_S = 5


def _watch_parent() -> None:
    """Exit this worker as soon as the process that started it is gone. Runs in a daemon thread
    of the worker: multiprocessing hands every child a sentinel of its parent (the read end of a
    pipe whose write end only the parent holds), which becomes ready when the parent exits,
    however it exits."""
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - not started by multiprocessing
        return
    multiprocessing.connection.wait([parent.sentinel])
    os._exit(0)


def _init_worker(config: EngineConfig) -> None:
    """Pool initialiser: watch the parent, then build this worker's engine and load the models."""
    global _ENGINE
    threading.Thread(target=_watch_parent, daemon=True, name="parent-watch").start()
    # One OpenCV thread per worker: the pool's parallelism is its processes. numpy's and
    # OpenCV's OpenBLAS pools (a thread per core, started when this module was imported, so
    # OMP_NUM_THREADS would come too late) stay idle on this path: CPU time per frame is the
    # same with them limited to one thread (benchmarks/face_latency.py, README).
    cv2.setNumThreads(1)
    _ENGINE = make_engine(config)
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


def _hold(seconds: float) -> int:
    """Keep this worker busy a moment, so the next job goes to another worker."""
    time.sleep(seconds)
    return os.getpid()


@dataclass(frozen=True, slots=True)
class PoolState:
    """What ``/readyz`` reports about the face workers."""

    workers: int  # configured
    alive: int  # worker processes running now
    pids: tuple[int, ...]
    in_flight: int  # frames submitted and not finished (queued or being analysed)
    restarts: int  # times a broken pool was replaced since start-up
    closed: bool

    @property
    def ready(self) -> bool:
        return not self.closed and self.alive >= self.workers


class FacePool:
    """A pool of face worker processes that survives the death of a worker.

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
        self._context = multiprocessing.get_context(start_method)
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0
        self._in_flight = 0
        self.restarts = 0
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(self.config,),
        )

    # -- submitting ---------------------------------------------------------------------------

    def _current(self) -> tuple[int, ProcessPoolExecutor]:
        with self._lock:
            if self._closed:
                raise FaceEngineUnavailable(
                    "The face workers are stopping.", retry_after=RETRY_AFTER_S
                )
            return self._generation, self._executor

    def _job_done(self, _: Future[Any]) -> None:
        with self._lock:
            self._in_flight -= 1

    def _submit(self, fn: Callable[..., T], *args: Any) -> tuple[int, Future[T]]:
        """Submit to the current executor; a broken one gives a future failed with
        :class:`BrokenProcessPool` (handled like a job lost to a dying worker)."""
        generation, executor = self._current()
        try:
            future = executor.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError) as exc:
            # RuntimeError: the executor was shut down because another thread replaced it.
            future = Future()
            future.set_exception(exc if isinstance(exc, BrokenProcessPool) else BrokenProcessPool())
            return generation, future
        with self._lock:
            self._in_flight += 1
        future.add_done_callback(self._job_done)
        return generation, future

    def _replace(self, generation: int) -> None:
        """Replace the executor of ``generation`` (broken) with a fresh, warming one; a no-op if
        another caller already did."""
        with self._lock:
            if self._closed or generation != self._generation:
                return
            old = self._executor
            self._executor = self._new_executor()
            self._generation += 1
            self.restarts += 1
            executor = self._executor
        log.warning("a face worker died; replacing the face pool (restart %d)", self.restarts)
        # Start every new worker now (models load in the background) instead of on demand.
        for _ in range(self.workers):
            executor.submit(_noop)
        old.shutdown(wait=False, cancel_futures=True)

    def submit(self, data: bytes) -> Future[FrameResult]:
        """Analyse one frame in a worker; the future's result is an analysis or a rejection.

        No retry: a worker dying fails this future with :class:`BrokenProcessPool` (use
        :meth:`analyse_frames_sync` / :meth:`analyse_frames`, which retry)."""
        return self._submit(_analyse_in_worker, data)[1]

    @property
    def in_flight(self) -> int:
        """Frames submitted and not analysed yet (queued or running): the pool's queue depth."""
        return self._in_flight

    def alive_workers(self) -> int:
        """Worker processes alive now (the executor starts them on demand, up to ``workers``)."""
        return self.state().alive

    def submit_measure_file(self, path: str | os.PathLike[str]) -> Future[FileSample]:
        """Lenient measurement of an image file (calibration): see :func:`measure_file`."""
        return self._submit(_measure_file_in_worker, os.fspath(path))[1]

    async def analyse_frames(self, frames: Sequence[bytes]) -> list[FrameResult]:
        """Analyse a burst without blocking the event loop (waits in a thread); in order."""
        return await asyncio.to_thread(self.analyse_frames_sync, frames)

    def analyse_frames_sync(self, frames: Sequence[bytes]) -> list[FrameResult]:
        """Analyse a burst concurrently in the workers and wait; results in order."""
        return self.run(_analyse_in_worker, frames)

    def run(self, fn: Callable[[A], T], items: Sequence[A]) -> list[T]:
        """``[fn(item) for item in items]`` in the workers, concurrently; results in order.

        Items lost to a worker that died are run once more in a fresh pool; lost twice, the
        call fails with :class:`FaceEngineUnavailable` (nothing else is retried). ``fn`` must be
        a module-level function (it is pickled by name)."""
        results: dict[int, T] = {}
        todo = list(range(len(items)))
        for attempt in (1, 2):
            submitted = [(i, *self._submit(fn, items[i])) for i in todo]
            lost: dict[int, int] = {}  # item index -> generation of the pool that lost it
            for i, generation, future in submitted:
                try:
                    results[i] = future.result()
                except BrokenProcessPool:
                    lost[i] = generation
            if not lost:
                return [results[i] for i in range(len(items))]
            log.warning("%d face job(s) lost to a dying worker (attempt %d)", len(lost), attempt)
            for generation in set(lost.values()):
                self._replace(generation)
            todo = sorted(lost)
        raise self._unavailable()

    def _unavailable(self) -> FaceEngineUnavailable:
        return FaceEngineUnavailable(
            "A face worker stopped twice while analysing these frames.", retry_after=RETRY_AFTER_S
        )

    # -- state and lifetime -----------------------------------------------------------------

    def warm_up(self, timeout: float = 120.0) -> set[int]:
        """Start every worker and load its models now (call at application start-up).

        Returns the pids of the workers once every one has answered a job, i.e. finished its
        initialiser: the executor starts a worker per submitted job, and the first worker up
        answers quick jobs while its siblings still load their models."""
        deadline = time.monotonic() + timeout
        seen: set[int] = set()
        while len(seen) < self.workers:
            futures = [self._submit(_hold, 0.05)[1] for _ in range(self.workers * 2)]
            seen.update(f.result() for f in futures)
            if time.monotonic() > deadline:
                raise self._unavailable()
        return seen

    def state(self) -> PoolState:
        """Workers alive, jobs in flight, restarts; replaces a pool found broken while idle."""
        with self._lock:
            generation, executor = self._generation, self._executor
            broken = bool(getattr(executor, "_broken", False))
        if broken:
            self._replace(generation)
        with self._lock:
            processes = dict(getattr(self._executor, "_processes", None) or {})
            alive = tuple(sorted(pid for pid, p in processes.items() if p.is_alive()))
            return PoolState(
                workers=self.workers,
                alive=len(alive),
                pids=alive,
                in_flight=self._in_flight,
                restarts=self.restarts,
                closed=self._closed,
            )

    def worker_peak_rss_kib(self) -> dict[int, int]:
        """Peak RSS (KiB) by worker pid, for benchmarks; best effort (asks every worker it can)."""
        futures = [self._submit(_worker_rss_kib)[1] for _ in range(self.workers * 4)]
        return dict(f.result() for f in futures)

    def close(self, wait: bool = True, timeout: float = 10.0) -> None:
        """Stop the workers: queued jobs are cancelled, running ones may finish within
        ``timeout`` seconds; workers still alive then are killed. ``wait=False`` returns at once
        (the workers stop after their current job)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            executor = self._executor
        processes = list((getattr(executor, "_processes", None) or {}).values())
        if not wait:
            executor.shutdown(wait=False, cancel_futures=True)
            return
        stopper = threading.Thread(
            target=executor.shutdown, kwargs={"wait": True, "cancel_futures": True}, daemon=True
        )
        stopper.start()
        stopper.join(timeout)
        for p in processes:
            if p.is_alive():
                log.warning("face worker %s did not stop in %.0f s; killing it", p.pid, timeout)
                p.kill()
                p.join(2.0)
        stopper.join(2.0)

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


__all__ = ["FacePool", "FrameResult", "PoolState", "split_results"]

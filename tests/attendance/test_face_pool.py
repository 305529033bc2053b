"""The face pool outlives its workers: a dead worker is replaced and its jobs run once more."""

from __future__ import annotations

import os
import signal

import pytest

from app.attendance import exceptions as exc
from app.attendance.face import FaceAnalysis
from app.attendance.pool import FacePool
from tests.face_data import blink_burst
from tests.procs import alive, exit_worker, wait_for

pytestmark = pytest.mark.slow


def test_killed_worker_is_replaced_and_the_next_burst_succeeds() -> None:
    frames = blink_burst("a")[:3]
    with FacePool(workers=2) as pool:
        pool.warm_up()
        workers = set(pool.worker_peak_rss_kib())  # pids, asked of the workers themselves
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: not alive(victim), timeout=30)

        results = pool.analyse_frames_sync(frames)

        assert all(isinstance(r, FaceAnalysis) for r in results), results
        state = pool.state()
        assert state.restarts == 1 and state.ready
        assert victim not in state.pids and len(state.pids) == 2


def test_killed_while_busy_the_lost_frames_run_again() -> None:
    frames = blink_burst("b")
    with FacePool(workers=2) as pool:
        pool.warm_up()
        victim = min(set(pool.worker_peak_rss_kib()))
        futures = [pool.submit(f) for f in frames]  # keep both workers busy...
        os.kill(victim, signal.SIGKILL)  # ...and kill one mid-way

        results = pool.analyse_frames_sync(frames[:4])

        assert all(isinstance(r, FaceAnalysis) for r in results)
        assert all(f.done() for f in futures)  # the raw futures failed or finished, none hang


def test_a_job_that_kills_its_worker_twice_is_unavailable_not_a_crash() -> None:
    with FacePool(workers=1) as pool:
        pool.warm_up()
        with pytest.raises(exc.FaceEngineUnavailable) as err:
            pool.run(exit_worker, [0])
        assert err.value.status == 503 and err.value.extra["retry_after"] > 0
        assert pool.state().restarts == 2
        # The pool is usable again for everybody else.
        assert isinstance(pool.analyse_frames_sync(blink_burst("c")[:1])[0], FaceAnalysis)


def test_closed_pool_answers_unavailable_and_leaves_no_worker() -> None:
    pool = FacePool(workers=2)
    pool.warm_up()
    workers = set(pool.worker_peak_rss_kib())
    pool.close()
    assert not any(alive(pid) for pid in workers)
    with pytest.raises(exc.FaceEngineUnavailable):
        pool.analyse_frames_sync(blink_burst("a")[:1])

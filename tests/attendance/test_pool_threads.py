"""Face workers: a warm-up that returns only when every worker has loaded its models (the
first worker up used to answer every warm-up job while the second was still loading), and one
OpenCV thread per worker."""

from __future__ import annotations

import cv2

from app.attendance.face import EngineConfig
from app.attendance.pool import FacePool


def _opencv_threads(_: int) -> int:
    return int(cv2.getNumThreads())


def test_warm_up_waits_for_every_worker() -> None:
    with FacePool(workers=2, config=EngineConfig(engine="dlib", pad=False)) as pool:
        answered = pool.warm_up()
        assert len(answered) == 2
        assert answered == set(pool.state().pids)
        assert pool.run(_opencv_threads, [0, 1]) == [1, 1]

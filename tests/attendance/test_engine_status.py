"""What the admin console's status page reads from the face engine: the mode, the workers alive
and the frames in flight, without starting anything itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.attendance import engine
from app.attendance.face import FaceAnalysis, RGBImage, encode_jpeg
from app.config import get_settings


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int], None]]:
    def set_workers(n: int) -> None:
        monkeypatch.setenv("SKILLTRACE_FACE_WORKERS", str(n))
        get_settings.cache_clear()

    yield set_workers
    engine.shutdown()
    get_settings.cache_clear()


def test_in_process_mode(workers: Callable[[int], None]) -> None:
    workers(0)
    status = engine.status()
    assert status.mode == "in_process" and status.workers == 0
    assert status.alive is None and status.in_flight is None


@pytest.mark.slow
def test_pool_mode_counts_workers_and_frames(
    workers: Callable[[int], None], load: Callable[[str], RGBImage]
) -> None:
    workers(1)
    engine.shutdown()
    before = engine.status()
    assert (before.mode, before.started, before.alive, before.in_flight) == ("pool", False, 0, 0)
    engine.start()
    started = engine.status()
    assert started.started and started.workers == 1 and started.alive == 1
    frame = encode_jpeg(load("face_recognition/obama/obama.jpg"))
    results = engine.analyse_frames([frame, frame, b"not an image"])
    assert isinstance(results[0], FaceAnalysis)
    assert engine.status().in_flight == 0  # every frame submitted came back
    pool = engine.get_pool()
    assert pool is not None
    pool.close()
    assert pool.alive_workers() == 0

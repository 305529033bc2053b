"""Streamed frames analysed as they arrive (app/attendance/prefetch.py): what the cache gives
back, what it analyses at submit instead, and that it never answers for other bytes or another
engine configuration."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest

from app.attendance import engine, prefetch
from app.attendance.exceptions import NoFace


@dataclass(frozen=True)
class Config:
    name: str


class FakePool:
    """Submits complete at once with a marker naming the bytes; ``fail`` bytes fail."""

    def __init__(self, name: str = "a", fail: frozenset[bytes] = frozenset()) -> None:
        self.config = Config(name)
        self.fail = fail
        self.submitted: list[bytes] = []

    def submit(self, data: bytes) -> Future[Any]:
        self.submitted.append(data)
        f: Future[Any] = Future()
        if data in self.fail:
            f.set_exception(RuntimeError("worker died"))
        else:
            f.set_result(f"prefetched:{data.decode()}")
        return f


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePool]:
    fake = FakePool(fail=frozenset({b"dies"}))
    analysed: list[list[bytes]] = []

    def analyse_now(frames: Sequence[bytes]) -> list[Any]:
        analysed.append(list(frames))
        return [f"now:{d.decode()}" for d in frames]

    monkeypatch.setattr(engine, "get_pool", lambda: fake)
    monkeypatch.setattr(engine, "analyse_frames", analyse_now)
    fake.analysed = analysed  # type: ignore[attr-defined]
    prefetch.clear()
    yield fake
    prefetch.clear()


def test_prefetched_frames_are_not_analysed_again(pool: FakePool) -> None:
    for d in (b"f0", b"f1", b"dies"):
        prefetch.prefetch(d, f"sha-{d.decode()}")
    frames = [(b"f0", "sha-f0"), (b"f1", "sha-f1"), (b"dies", "sha-dies"), (b"f3", "sha-f3")]
    out = prefetch.analyse_stored(frames)
    # In order; the lost analysis and the frame that was never prefetched analysed now, together.
    assert out == ["prefetched:f0", "prefetched:f1", "now:dies", "now:f3"]
    assert pool.analysed == [[b"dies", b"f3"]]  # type: ignore[attr-defined]
    # Taken once: a second submit of the same frames analyses them (nothing is served twice).
    assert prefetch.analyse_stored(frames[:1]) == ["now:f0"]


def test_another_engine_configuration_never_uses_them(
    pool: FakePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefetch.prefetch(b"f0", "sha-f0")
    other = FakePool("b")
    monkeypatch.setattr(engine, "get_pool", lambda: other)
    assert prefetch.analyse_stored([(b"f0", "sha-f0")]) == ["now:f0"]


def test_the_cache_is_bounded_oldest_first(pool: FakePool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefetch._cache, "limit", 3)
    for i in range(5):
        prefetch.prefetch(f"f{i}".encode(), f"sha{i}")
    assert len(prefetch._cache) == 3
    out = prefetch.analyse_stored([(f"f{i}".encode(), f"sha{i}") for i in range(5)])
    assert out == ["now:f0", "now:f1", "prefetched:f2", "prefetched:f3", "prefetched:f4"]


def test_off_or_without_a_pool_nothing_is_prefetched(
    pool: FakePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLTRACE_FACE_PREFETCH", "false")
    from app.config import get_settings

    get_settings.cache_clear()
    try:
        prefetch.prefetch(b"f0", "sha-f0")
    finally:
        monkeypatch.delenv("SKILLTRACE_FACE_PREFETCH")
        get_settings.cache_clear()
    monkeypatch.setattr(engine, "get_pool", lambda: None)
    prefetch.prefetch(b"f1", "sha-f1")
    assert pool.submitted == [] and len(prefetch._cache) == 0
    assert prefetch.analyse_stored([(b"f1", "sha-f1")]) == ["now:f1"]


def test_a_rejection_is_kept_like_an_analysis(pool: FakePool) -> None:
    f: Future[Any] = Future()
    f.set_result(NoFace())
    prefetch._cache.put(prefetch._key(pool.config, "sha-x"), f)
    (out,) = prefetch.analyse_stored([(b"x", "sha-x")])
    assert isinstance(out, NoFace)

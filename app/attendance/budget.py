"""How many pixels a burst may make the face workers decode, per request and per learner.

A small compressed file can declare a large picture (a 124 KB PNG declaring 4000x4000 16-bit
RGBA inflates to 128 MB), so bytes are no measure of the work: what a frame's header declares
is. Before any frame reaches a face worker, :func:`admit_burst` reads every frame's header
(no pixel decoded) and refuses

* a frame that is not a JPEG/PNG or declares too many pixels (``not_an_image`` /
  ``image_too_large``, as the worker would, only sooner);
* a burst whose frames declare more than ``face_max_burst_pixels`` in total
  (413 ``burst_too_large``);
* a burst that would take the learner's frames of the last minute above
  ``face_max_pixels_per_learner_minute`` (429 ``frame_budget_exceeded`` with ``Retry-After``).

Refused bursts are not charged; admitted ones are charged whatever their frames turn out to be.
The per-learner window lives in this process's memory: with several server processes each
keeps its own (a learner's bound is then that many times larger).
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from app import clock
from app.attendance.engine import engine_config
from app.attendance.exceptions import BurstTooLarge, FrameBudgetExceeded
from app.attendance.face import read_header
from app.config import get_settings

WINDOW = timedelta(minutes=1)
#: Forget idle learners once this many are tracked (memory stays bounded).
_PRUNE_ABOVE = 10_000


class PixelBudget:
    """Pixels charged per learner over a sliding window; thread-safe."""

    def __init__(self, per_window: int, window: timedelta = WINDOW) -> None:
        self.per_window = per_window
        self.window = window
        self._lock = threading.Lock()
        self._spent: dict[uuid.UUID, deque[tuple[datetime, int]]] = {}

    def charge(self, learner_id: uuid.UUID, pixels: int, now: datetime) -> None:
        """Record ``pixels`` for the learner or raise :class:`FrameBudgetExceeded`."""
        with self._lock:
            if len(self._spent) > _PRUNE_ABOVE:
                self._prune(now)
            spent = self._spent.setdefault(learner_id, deque())
            self._expire(spent, now)
            used = sum(p for _, p in spent)
            if used + pixels > self.per_window:
                retry = self._retry_after(spent, used, pixels, now)
                raise FrameBudgetExceeded(
                    f"Too many picture pixels in the last minute; try again in {retry} s.",
                    retry_after=retry,
                )
            spent.append((now, pixels))

    def _expire(self, spent: deque[tuple[datetime, int]], now: datetime) -> None:
        while spent and spent[0][0] <= now - self.window:
            spent.popleft()

    def _retry_after(
        self, spent: deque[tuple[datetime, int]], used: int, pixels: int, now: datetime
    ) -> int:
        """Seconds until enough of the window has expired for ``pixels`` to fit."""
        for at, p in spent:
            used -= p
            if used + pixels <= self.per_window:
                return max(1, math.ceil((at + self.window - now).total_seconds()))
        return max(1, math.ceil(self.window.total_seconds()))

    def _prune(self, now: datetime) -> None:
        for key in list(self._spent):
            self._expire(self._spent[key], now)
            if not self._spent[key]:
                del self._spent[key]


_lock = threading.Lock()
_budget: PixelBudget | None = None


def learner_budget() -> PixelBudget:
    """The process-wide per-learner budget (rebuilt when the setting changes)."""
    global _budget
    per_minute = get_settings().face_max_pixels_per_learner_minute
    with _lock:
        if _budget is None or _budget.per_window != per_minute:
            _budget = PixelBudget(per_minute)
        return _budget


def admit_burst(frames: Sequence[bytes], learner_id: uuid.UUID) -> int:
    """Refuse a burst whose headers declare too many pixels (see the module doc); returns the
    pixels charged to the learner."""
    s = get_settings()
    limits = engine_config().limits
    total = sum(read_header(data, limits).pixels for data in frames)
    if total > s.face_max_burst_pixels:
        raise BurstTooLarge(
            f"The pictures declare {total} pixels in total; "
            f"at most {s.face_max_burst_pixels} per check.",
            max_burst_pixels=s.face_max_burst_pixels,
        )
    learner_budget().charge(learner_id, total, clock.now())
    return total

"""Simulated time: the frozen clock set to the start of the history, the steps that run in time
order on it, and the progress callback seeding reports through."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from app import clock

#: Called with (step description, steps done, steps total) as seeding goes.
ProgressFn = Callable[[str, int, int], None]


def no_progress(what: str, done: int, total: int) -> None:
    return None


@contextmanager
def time_travel(start: datetime) -> Iterator[clock.FrozenClock]:
    previous = clock.get_clock()
    frozen = clock.FrozenClock(start)
    clock.set_clock(frozen)
    try:
        yield frozen
    finally:
        clock.set_clock(previous)


@dataclass
class _Step:
    """Something that happens at ``at`` on the demo's timeline."""

    at: datetime
    seq: int
    run: Callable[[], None]


class Timeline:
    """Steps run in time order with the frozen clock set to each step's time (never back)."""

    def __init__(self, frozen: clock.FrozenClock, end: datetime) -> None:
        self.frozen = frozen
        self.end = end  # nothing simulated happens after the moment seeding started
        self.steps: list[_Step] = []
        self.issued = 0  # certificates issued so far
        self.first_papers = 0  # first quiz attempts so far
        self.kept: list[tuple[datetime, datetime]] = []

    def at(self, when: datetime, run: Callable[[], None]) -> None:
        if when < self.end:
            self.steps.append(_Step(when, len(self.steps), run))

    def keep_clear(self, start: datetime, end: datetime) -> None:
        """Keep ``[start, end)`` free of long steps (a sitting, a quiz: see :meth:`clear_of`),
        so the steps planned inside it run at their own time. The clock never goes back: a
        step that advances it past a later step's time delays that step (the offline
        session's check-in ran at 09:30 instead of 09:05 behind a sitting started just before
        it: twice in 44 seedings)."""
        self.kept.append((start, end))

    def clear_of(self, when: datetime, length: timedelta) -> datetime:
        """``when``, or the end of the kept interval a step of up to ``length`` would overlap."""
        for start, end in sorted(self.kept):
            if when < end and when + length > start:
                when = end
        return when

    def play(self, progress: ProgressFn) -> None:
        n = 0
        while self.steps:  # a step may add later steps (a review decided the next day)
            self.steps.sort(key=lambda st: (st.at, st.seq), reverse=True)
            st = self.steps.pop()
            if n % 25 == 0:
                progress("学员与学习记录", n, n + len(self.steps))
            if st.at > self.frozen.now():
                self.frozen.set(st.at)
            st.run()
            n += 1
        progress("学员与学习记录", n, n)

"""The reveal plan (:class:`Schedule`): when each random action is revealed, in the answer to
which frame, and the window it must appear in; the server's random, the server's clock."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from app.attendance.streaming.params import StreamParams

# ---------------------------------------------------------------- the schedule


@dataclass(slots=True)
class Reveal:
    """One action of a check: when it was due and when it was actually revealed (ms since the
    first frame; ``None`` until a frame's response carried it)."""

    action: str
    #: Delay from the previous window's end (or the first frame, for the first reveal).
    delay_ms: int
    revealed_ms: int | None = None


@dataclass(slots=True)
class Schedule:
    """The server's secret plan for a check and how far it got. JSON-serialisable
    (:meth:`to_json`/:meth:`from_json`), so a check session can live in the database."""

    reveals: list[Reveal]
    window_ms: int
    started: bool = False
    last_seq: int = -1
    last_ms: int = -1
    #: The last frame's capture time on the client's clock, when its upload gave capture times.
    last_client_ms: int | None = None
    #: A refused frame voids the stream (``frame_out_of_order``, ``frame_repeated``, ...).
    broken: str | None = None

    @classmethod
    def draw(cls, params: StreamParams, rng: secrets.SystemRandom | Any | None = None) -> Schedule:
        """Random actions (distinct while ``params.actions`` lasts) and random reveal moments,
        from a CSPRNG by default."""
        r = rng or secrets.SystemRandom()
        actions: list[str] = []
        pool = list(params.actions)
        for _ in range(params.reveals):
            choice = r.choice(pool)
            actions.append(choice)
            pool.remove(choice)
            if not pool:
                pool = list(params.actions)
        reveals = []
        for i, a in enumerate(actions):
            lo, hi = params.first_reveal_s if i == 0 else params.gap_s
            reveals.append(Reveal(a, round(1000 * r.uniform(lo, hi))))
        return cls(reveals=reveals, window_ms=round(1000 * params.window_s))

    @property
    def actions(self) -> list[str]:
        return [r.action for r in self.reveals]

    def due_ms(self, index: int) -> int | None:
        """When reveal ``index`` is due (ms since the first frame), once the one before it was
        revealed; ``None`` while it cannot be known yet."""
        if index == 0:
            return self.reveals[0].delay_ms
        prev = self.reveals[index - 1].revealed_ms
        if prev is None:
            return None
        return prev + self.window_ms + self.reveals[index].delay_ms

    def end_ms(self) -> int | None:
        """When the last window closes (known once the last reveal is out)."""
        last = self.reveals[-1].revealed_ms
        return None if last is None else last + self.window_ms

    def on_frame(self, t_ms: int) -> Reveal | None:
        """Advance the plan with a frame that arrived at ``t_ms``; returns the reveal this
        frame's response carries when it is the moment to reveal one (at most one per frame)."""
        self.started = True
        self.last_ms = t_ms
        for i, rev in enumerate(self.reveals):
            if rev.revealed_ms is not None:
                continue
            due = self.due_ms(i)
            if due is not None and t_ms >= due:
                rev.revealed_ms = t_ms
                return rev
            return None
        return None

    def on_frames(self, times: list[int]) -> Reveal | None:
        """Advance the plan with one upload's frames (their times, the last one its arrival):
        the earlier frames only move the clock; a reveal is due at the arrival only, because
        the answer to the upload is what carries it (the learner cannot react earlier)."""
        for t_ms in times[:-1]:
            self.started = True
            self.last_ms = t_ms
        return self.on_frame(times[-1])

    def current(self, t_ms: int) -> Reveal | None:
        """The revealed action whose window is open at ``t_ms``."""
        for rev in self.reveals:
            if (
                rev.revealed_ms is not None
                and rev.revealed_ms <= t_ms < rev.revealed_ms + self.window_ms
            ):
                return rev
        return None

    def complete(self, t_ms: int) -> bool:
        """Has the last window closed by ``t_ms``?"""
        end = self.end_ms()
        return end is not None and t_ms >= end

    def to_json(self) -> dict[str, Any]:
        return {
            "reveals": [asdict(r) for r in self.reveals],
            "window_ms": self.window_ms,
            "started": self.started,
            "last_seq": self.last_seq,
            "last_ms": self.last_ms,
            "last_client_ms": self.last_client_ms,
            "broken": self.broken,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schedule:
        return cls(
            reveals=[Reveal(**r) for r in data["reveals"]],
            window_ms=int(data["window_ms"]),
            started=bool(data.get("started", False)),
            last_seq=int(data.get("last_seq", -1)),
            last_ms=int(data.get("last_ms", -1)),
            last_client_ms=data.get("last_client_ms"),
            broken=data.get("broken"),
        )

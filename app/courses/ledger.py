"""The verified-minutes ledger as a pure function of stored events.

Rules (DESIGN.md §4, issue "Study sessions"):

* credit is made of *segments* between two verifications of one study session: check-in opens
  one, each passed roll-call closes it (credited) and opens the next;
* a visible heartbeat earns the gap since the previous heartbeat of the session, in whole
  milliseconds (never rounded to seconds), capped at the heartbeat interval; an invisible one
  earns nothing; nothing is earned unless the session is ``studying``;
* a failed or missed roll-call forfeits the open segment under ``strict`` (the default) or keeps
  it (up to the last heartbeat) under ``lenient``, and pauses the session;
* a roll-call in ``review`` holds the open segment until staff decide: approved → credited and
  the session studies on; rejected → forfeited and the session stays paused;
* ending a session (by the learner, or by checking in elsewhere) credits the open segment;
* confirmed credit per Asia/Shanghai calendar day is capped at the course's daily cap, in the
  order segments are confirmed.

:func:`replay` derives everything from the raw events; the live path in ``study.py`` applies the
same rules incrementally and a check (``skilltrace ledger check``, ``GET …/ledger``) compares both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from app.clock import SHANGHAI

EventKind = Literal["start", "hb", "miss", "pass", "fail", "hold", "decide", "end"]
# Order of events at the same instant: a heartbeat at the deadline still counts, a session ends
# after its last heartbeat.
_ORDER: dict[str, int] = {
    "start": 0, "hb": 1, "miss": 2, "pass": 3, "fail": 3, "hold": 3, "decide": 4, "end": 5
}  # fmt: skip


def day_of(t: datetime) -> date:
    """The Asia/Shanghai calendar day of an instant."""
    return t.astimezone(SHANGHAI).date()


#: Credit is kept in whole milliseconds: a gap is never rounded to a second, so sub-second gaps
#: earn what they last and nothing is lost to rounding heartbeat after heartbeat.
MS = timedelta(milliseconds=1)
#: The smallest step between two stored times of one session (the database keeps microseconds).
TICK = timedelta(microseconds=1)


def after(last: datetime | None, now: datetime) -> datetime:
    """``now``, or just after ``last`` if ``now`` is not later: the stored times of one session
    strictly increase, so a replay orders its events exactly as they happened."""
    return now if last is None or now > last else last + TICK


def heartbeat_credit(prev: datetime, at: datetime, visible: bool, interval_s: int) -> int:
    """Milliseconds a heartbeat earns: the gap since the previous one (whole milliseconds),
    capped at the heartbeat interval; nothing if hidden."""
    if not visible:
        return 0
    gap_ms = (at - prev) // MS
    return max(0, min(gap_ms, interval_s * 1000))


@dataclass(frozen=True)
class HeartbeatStep:
    """Where a heartbeat is stored and what it earns."""

    at: datetime
    earned_ms: int


def heartbeat_step(
    *,
    studying: bool,
    started_at: datetime,
    segment_started_at: datetime,
    last_heartbeat_at: datetime | None,
    now: datetime,
    visible: bool,
    interval_s: int,
) -> HeartbeatStep:
    """One heartbeat of a live session, from the session's stored columns: the one rule both
    heartbeat paths of ``app/courses/heartbeat.py`` (Core fast path, ORM path) apply.

    The heartbeat is stored after everything the session stored before (its last heartbeat,
    the last resolution that opened the segment); it earns the gap since the previous heartbeat
    (or the start) while the session is studying, as :func:`replay` credits it.
    """
    last = max(segment_started_at, last_heartbeat_at or segment_started_at)
    at = after(last, now)
    earned = 0
    if studying:
        earned = heartbeat_credit(last_heartbeat_at or started_at, at, visible, interval_s)
    return HeartbeatStep(at=at, earned_ms=earned)


def grant(per_day: dict[date, int], used: dict[date, int], cap_ms: int) -> dict[date, int]:
    """What of a segment's per-day milliseconds fits under the daily cap; updates ``used``."""
    granted: dict[date, int] = {}
    for day in sorted(per_day):
        g = max(0, min(per_day[day], cap_ms - used.get(day, 0)))
        granted[day] = g
        used[day] = used.get(day, 0) + g
    return granted


@dataclass(frozen=True)
class Policy:
    heartbeat_interval_s: int
    daily_cap_s: int
    strict: bool

    @property
    def daily_cap_ms(self) -> int:
        return self.daily_cap_s * 1000


@dataclass(frozen=True, order=True)
class Event:
    at: datetime
    order: int
    kind: EventKind
    session: str
    visible: bool = False
    ref: str = ""  # the attendance event a hold/decide is about
    approved: bool = False

    @classmethod
    def make(
        cls,
        kind: EventKind,
        at: datetime,
        session: str,
        *,
        visible: bool = False,
        ref: str = "",
        approved: bool = False,
    ) -> Event:
        return cls(at, _ORDER[kind], kind, session, visible, ref, approved)


@dataclass
class _Session:
    state: str = "studying"
    prev: datetime | None = None
    open: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    held: dict[str, dict[date, int]] = field(default_factory=dict)


@dataclass
class LedgerResult:
    """Everything in milliseconds; the ``*_seconds`` views are whole seconds (rounded down)."""

    credited_ms: int = 0
    forfeited_ms: int = 0
    held_ms: int = 0
    rollcalls_total: int = 0
    rollcalls_passed: int = 0
    per_day_ms: dict[date, int] = field(default_factory=dict)
    #: Milliseconds earned by each heartbeat, by session, in order (before caps and forfeits).
    heartbeat_credits: dict[str, list[int]] = field(default_factory=dict)

    @property
    def credited_seconds(self) -> int:
        return self.credited_ms // 1000

    @property
    def forfeited_seconds(self) -> int:
        return self.forfeited_ms // 1000

    @property
    def held_seconds(self) -> int:
        return self.held_ms // 1000

    @property
    def per_day(self) -> dict[date, int]:
        """Whole seconds per day."""
        return {d: v // 1000 for d, v in self.per_day_ms.items()}


def replay(policy: Policy, events: list[Event]) -> LedgerResult:
    """Derive credit, forfeits and roll-call counts of one enrolment from its raw events."""
    result = LedgerResult()
    used: dict[date, int] = {}
    sessions: dict[str, _Session] = {}
    held_owner: dict[str, str] = {}

    def confirm(per_day: dict[date, int]) -> None:
        granted = grant(per_day, used, policy.daily_cap_ms)
        result.credited_ms += sum(granted.values())

    for e in sorted(events):
        s = sessions.setdefault(e.session, _Session())
        if e.kind == "start":
            s.state, s.prev = "studying", e.at
        elif e.kind == "hb":
            earned = 0
            if s.state == "studying" and s.prev is not None:
                earned = heartbeat_credit(s.prev, e.at, e.visible, policy.heartbeat_interval_s)
                s.open[day_of(e.at)] += earned
            result.heartbeat_credits.setdefault(e.session, []).append(earned)
            s.prev = e.at
        elif e.kind == "pass":
            if s.state != "studying":  # roll-calls are only offered while studying
                continue
            confirm(dict(s.open))
            s.open = defaultdict(int)
            result.rollcalls_total += 1
            result.rollcalls_passed += 1
        elif e.kind in ("fail", "miss"):
            if s.state != "studying":
                continue
            if policy.strict:
                result.forfeited_ms += sum(s.open.values())
            else:
                confirm(dict(s.open))
            s.open = defaultdict(int)
            s.state = "paused"
            result.rollcalls_total += 1
        elif e.kind == "hold":
            if s.state != "studying":
                continue
            s.held[e.ref] = dict(s.open)
            held_owner[e.ref] = e.session
            s.open = defaultdict(int)
            s.state = "review"
        elif e.kind == "decide":
            owner = held_owner.pop(e.ref, None)
            if owner is None:
                continue
            o = sessions[owner]
            held = o.held.pop(e.ref)
            result.rollcalls_total += 1
            if e.approved:
                confirm(held)
                result.rollcalls_passed += 1
                if o.state == "review":
                    o.state = "studying"
            else:
                result.forfeited_ms += sum(held.values())
                if o.state == "review":
                    o.state = "paused"
        elif e.kind == "end":
            if s.state == "studying":
                confirm(dict(s.open))
            s.open = defaultdict(int)
            s.state = "ended"
    result.held_ms = sum(sum(h.values()) for s in sessions.values() for h in s.held.values())
    result.per_day_ms = {d: v for d, v in sorted(used.items()) if v}
    return result

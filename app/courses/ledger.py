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
* staff may excuse a failed or missed roll-call: what it forfeited is confirmed then (under the
  daily cap as it stands at that moment) and it counts as passed; the session stays paused;
* ending a session (by the learner, or by checking in elsewhere) credits the open segment;
* confirmed credit per Asia/Shanghai calendar day is capped at the course's daily cap and, across
  all of a learner's enrolments, at the learner's daily cap, in the order segments are confirmed;
* a heartbeat may name the lesson on screen and, for a video, the playback position. A text
  lesson earns the wall-time gap (as a heartbeat without a lesson does). A video lesson earns the
  newly watched span instead (:func:`playback_step`): how far the playback position got beyond
  the furthest point watched so far, at most the wall-time gap (so at most 1× speed); a position
  further ahead than 1x playback from that point reaches (a skip ahead) earns nothing, nor does
  replaying what was watched, a paused player, or a heartbeat without a position. The furthest
  point of a lesson advances exactly by what its heartbeats earn and, like credit, only for
  segments that are confirmed (a forfeited segment must be watched again). A lesson's watched
  milliseconds are those of its heartbeats in confirmed segments (before the daily caps, which
  limit the course's hours, not what was watched).

:func:`replay` derives everything from the raw events; the live path in ``study.py`` applies the
same rules incrementally and a check (``skilltrace ledger check``, ``GET …/ledger``) compares both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from app.clock import SHANGHAI

EventKind = Literal["start", "hb", "miss", "pass", "fail", "hold", "decide", "excuse", "end"]
# Order of events at the same instant: a heartbeat at the deadline still counts, a session ends
# after its last heartbeat.
_ORDER: dict[str, int] = {
    "start": 0, "hb": 1, "miss": 2, "pass": 3, "fail": 3, "hold": 3, "decide": 4, "excuse": 4,
    "end": 5,
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


#: How far a video's reported position may run ahead of what the server's clock allows: the page
#: reads the position a moment before the server stamps the heartbeat. Never more than the gap is
#: earned, so the slack does not add up from one heartbeat to the next.
SEEK_SLACK_MS = 1_500


@dataclass(frozen=True)
class LessonRule:
    """What the ledger needs of a lesson: video or not, and a hosted video's length."""

    video: bool
    duration_ms: int | None = None


@dataclass(frozen=True)
class PlaybackStep:
    """What a heartbeat earns for its lesson, and the lesson's furthest point after it."""

    earned_ms: int
    reach_ms: int | None  # a video's new furthest point when it earned something, else None


def playback_step(
    *, gap_ms: int, rule: LessonRule | None, position_ms: int | None, reach_ms: int
) -> PlaybackStep:
    """The credit rule of one heartbeat for the lesson it names.

    ``gap_ms`` is what the heartbeat earns as wall time (:func:`heartbeat_credit`: zero if hidden
    or not studying). No lesson or a text lesson: the gap. A video: how far the playback position
    got beyond ``reach_ms`` (the furthest point watched so far), at most the gap — nothing if the
    position is further ahead than playing at 1x from that point for the gap can reach (a skip
    ahead, a faster speed, another lesson playing in between), or without a position. Replaying
    what was watched earns nothing; a paused player earns nothing.
    """
    if rule is None or not rule.video:
        return PlaybackStep(gap_ms, None)
    if position_ms is None or gap_ms <= 0:
        return PlaybackStep(0, None)
    position = max(0, position_ms)
    if rule.duration_ms is not None:
        position = min(position, rule.duration_ms)
    if position > reach_ms + gap_ms + SEEK_SLACK_MS:
        return PlaybackStep(0, None)
    earned = max(0, min(position - reach_ms, gap_ms))
    return PlaybackStep(earned, reach_ms + earned if earned else None)


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


def grant(
    per_day: dict[date, int],
    used: dict[date, int],
    cap_ms: int,
    learner_used: dict[date, int] | None = None,
    learner_cap_ms: int | None = None,
) -> dict[date, int]:
    """What of a segment's per-day milliseconds fits under the daily cap (the course's, and the
    learner's across enrolments when given); updates ``used`` (and ``learner_used``)."""
    granted: dict[date, int] = {}
    for day in sorted(per_day):
        room = cap_ms - used.get(day, 0)
        if learner_used is not None and learner_cap_ms is not None:
            room = min(room, learner_cap_ms - learner_used.get(day, 0))
        g = max(0, min(per_day[day], room))
        granted[day] = g
        used[day] = used.get(day, 0) + g
        if learner_used is not None:
            learner_used[day] = learner_used.get(day, 0) + g
    return granted


@dataclass(frozen=True)
class Policy:
    heartbeat_interval_s: int
    daily_cap_s: int
    strict: bool
    #: The course's lessons by id (as the events name them); a lesson not here earns wall time.
    lessons: Mapping[str, LessonRule] = field(default_factory=dict)

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
    ref: str = ""  # the attendance event a hold/decide is about; the roll-call a fail/miss/excuse
    approved: bool = False
    enrollment: str = ""  # whose event it is, when one replay covers a learner's enrolments
    lesson: str = ""  # the lesson a heartbeat named
    position_ms: int = -1  # a heartbeat's playback position; -1: none given

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
        enrollment: str = "",
        lesson: str = "",
        position_ms: int | None = None,
    ) -> Event:
        position = -1 if position_ms is None else position_ms
        return cls(
            at, _ORDER[kind], kind, session, visible, ref, approved, enrollment, lesson, position
        )


@dataclass
class _Open:
    """A segment's credit not yet confirmed: per day, per lesson, and the lessons' reach."""

    per_day: dict[date, int] = field(default_factory=lambda: defaultdict(int))
    lesson_ms: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reach: dict[str, int] = field(default_factory=dict)

    @property
    def ms(self) -> int:
        return sum(self.per_day.values())


@dataclass
class _Session:
    enrollment: str = ""
    state: str = "studying"
    prev: datetime | None = None
    open: _Open = field(default_factory=_Open)
    held: dict[str, _Open] = field(default_factory=dict)


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
    #: Per lesson: milliseconds of its heartbeats in confirmed segments, and its furthest point.
    lesson_ms: dict[str, int] = field(default_factory=dict)
    lesson_reach_ms: dict[str, int] = field(default_factory=dict)

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
    results = replay_learner(lambda _: policy, events)
    if len(results) > 1:
        raise ValueError("events of several enrolments: use replay_learner")
    return next(iter(results.values()), LedgerResult())


def replay_learner(
    policy_of: Callable[[str], Policy],
    events: list[Event],
    learner_cap_ms: int | None = None,
) -> dict[str, LedgerResult]:
    """Derive each enrolment's credit from the raw events of one learner (every enrolment: the
    learner's daily cap is shared by them, in the order segments are confirmed)."""
    results: dict[str, LedgerResult] = {}
    used: dict[str, dict[date, int]] = defaultdict(dict)
    learner_used: dict[date, int] = {}
    sessions: dict[str, _Session] = {}
    held_owner: dict[str, str] = {}
    confirmed_reach: dict[str, dict[str, int]] = defaultdict(dict)
    #: What each failed or missed roll-call forfeited (by roll-call, with its session), until
    #: staff excuse it.
    excusable: dict[str, tuple[_Session, _Open]] = {}

    def confirm(s: _Session, o: _Open) -> None:
        result = results.setdefault(s.enrollment, LedgerResult())
        granted = grant(
            dict(o.per_day),
            used[s.enrollment],
            policy_of(s.enrollment).daily_cap_ms,
            learner_used,
            learner_cap_ms,
        )
        result.credited_ms += sum(granted.values())
        for lesson, ms in o.lesson_ms.items():
            if ms:
                result.lesson_ms[lesson] = result.lesson_ms.get(lesson, 0) + ms
        reach = confirmed_reach[s.enrollment]
        for lesson, r in o.reach.items():
            reach[lesson] = max(reach.get(lesson, 0), r)

    for e in sorted(events):
        s = sessions.setdefault(e.session, _Session(enrollment=e.enrollment))
        result = results.setdefault(s.enrollment, LedgerResult())
        policy = policy_of(s.enrollment)
        if e.kind == "start":
            s.state, s.prev = "studying", e.at
        elif e.kind == "hb":
            earned = 0
            position = None if e.position_ms < 0 else e.position_ms
            if s.state == "studying" and s.prev is not None:
                gap = heartbeat_credit(s.prev, e.at, e.visible, policy.heartbeat_interval_s)
                reach = max(
                    confirmed_reach[s.enrollment].get(e.lesson, 0), s.open.reach.get(e.lesson, 0)
                )
                step = playback_step(
                    gap_ms=gap,
                    rule=policy.lessons.get(e.lesson),
                    position_ms=position,
                    reach_ms=reach,
                )
                earned = step.earned_ms
                s.open.per_day[day_of(e.at)] += earned
                if earned and e.lesson in policy.lessons:
                    s.open.lesson_ms[e.lesson] += earned
                if step.reach_ms is not None:
                    s.open.reach[e.lesson] = step.reach_ms
            result.heartbeat_credits.setdefault(e.session, []).append(earned)
            s.prev = e.at
        elif e.kind == "pass":
            if s.state != "studying":  # roll-calls are only offered while studying
                continue
            confirm(s, s.open)
            s.open = _Open()
            result.rollcalls_total += 1
            result.rollcalls_passed += 1
        elif e.kind in ("fail", "miss"):
            if s.state != "studying":
                continue
            if policy.strict:
                result.forfeited_ms += s.open.ms
            else:
                confirm(s, s.open)
            if e.ref:
                excusable[e.ref] = (s, s.open if policy.strict else _Open())
            s.open = _Open()
            s.state = "paused"
            result.rollcalls_total += 1
        elif e.kind == "excuse":
            stashed = excusable.pop(e.ref, None)
            if stashed is None:
                continue
            owner_session, forfeited = stashed
            owner_result = results.setdefault(owner_session.enrollment, LedgerResult())
            confirm(owner_session, forfeited)
            owner_result.forfeited_ms -= forfeited.ms
            owner_result.rollcalls_passed += 1
        elif e.kind == "hold":
            if s.state != "studying":
                continue
            s.held[e.ref] = s.open
            held_owner[e.ref] = e.session
            s.open = _Open()
            s.state = "review"
        elif e.kind == "decide":
            owner = held_owner.pop(e.ref, None)
            if owner is None:
                continue
            o = sessions[owner]
            held = o.held.pop(e.ref)
            owner_result = results.setdefault(o.enrollment, LedgerResult())
            owner_result.rollcalls_total += 1
            if e.approved:
                confirm(o, held)
                owner_result.rollcalls_passed += 1
                if o.state == "review":
                    o.state = "studying"
            else:
                owner_result.forfeited_ms += held.ms
                if o.state == "review":
                    o.state = "paused"
        elif e.kind == "end":
            if s.state == "studying":
                confirm(s, s.open)
            s.open = _Open()
            s.state = "ended"
    for s in sessions.values():
        results[s.enrollment].held_ms += sum(h.ms for h in s.held.values())
    for enrollment, result in results.items():
        result.per_day_ms = {d: v for d, v in sorted(used[enrollment].items()) if v}
        result.lesson_reach_ms = {
            lesson: r for lesson, r in sorted(confirmed_reach[enrollment].items()) if r
        }
        result.lesson_ms = dict(sorted(result.lesson_ms.items()))
    return results

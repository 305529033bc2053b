"""Property tests of the verified-minutes ledger (pure replay of raw events), in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.courses.ledger import (
    MS,
    Event,
    Policy,
    day_of,
    grant,
    heartbeat_credit,
    heartbeat_step,
    replay,
)

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai: sessions cross midnight


@st.composite
def timelines(draw: st.DrawFn) -> tuple[Policy, list[Event], list[tuple[datetime, datetime]]]:
    """A few sessions, each: start, heartbeats with gaps, roll-call outcomes, maybe an end."""
    policy = Policy(
        heartbeat_interval_s=draw(st.sampled_from([15, 30, 60])),
        daily_cap_s=draw(st.sampled_from([600, 3600, 8 * 3600])),
        strict=draw(st.booleans()),
    )
    events: list[Event] = []
    spans: list[tuple[datetime, datetime]] = []
    t = T0
    for n in range(draw(st.integers(1, 3))):
        sid = f"s{n}"
        start = t
        events.append(Event.make("start", t, sid))
        for _ in range(draw(st.integers(0, 25))):
            # Milliseconds: sub-second gaps (a busy page, a retry) must earn what they last.
            t += timedelta(milliseconds=draw(st.integers(0, 200_000)))
            kind = draw(st.sampled_from(["hb"] * 6 + ["pass", "fail", "miss", "hold"]))
            if kind == "hb":
                events.append(Event.make("hb", t, sid, visible=draw(st.booleans())))
            elif kind == "hold":
                ref = f"{sid}-{len(events)}"
                events.append(Event.make("hold", t, sid, ref=ref))
                if draw(st.booleans()):
                    t2 = t + timedelta(milliseconds=draw(st.integers(1, 500_000)))
                    events.append(
                        Event.make("decide", t2, sid, ref=ref, approved=draw(st.booleans()))
                    )
            else:
                events.append(Event.make(kind, t, sid))
        if draw(st.booleans()):
            t += timedelta(milliseconds=draw(st.integers(0, 100_000)))
            events.append(Event.make("end", t, sid))
        spans.append((start, t))
        t += timedelta(seconds=draw(st.integers(1, 3000)))
    return policy, events, spans


@settings(max_examples=300, deadline=None)
@given(timelines())
def test_credit_never_exceeds_wall_time(
    case: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
) -> None:
    policy, events, spans = case
    result = replay(policy, events)
    wall_ms = sum((end - start) // MS for start, end in spans)
    assert 0 <= result.credited_ms <= wall_ms
    assert result.credited_ms + result.forfeited_ms + result.held_ms <= wall_ms


@settings(max_examples=300, deadline=None)
@given(timelines())
def test_invisible_time_earns_nothing(
    case: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
) -> None:
    policy, events, _ = case
    hidden = [
        Event.make("hb", e.at, e.session, visible=False) if e.kind == "hb" else e for e in events
    ]
    result = replay(policy, hidden)
    assert result.credited_ms == 0
    assert all(c == 0 for credits in result.heartbeat_credits.values() for c in credits)


@settings(max_examples=300, deadline=None)
@given(timelines())
def test_nothing_counts_after_a_missed_rollcall_under_strict(
    case: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
) -> None:
    policy, events, _ = case
    strict = Policy(policy.heartbeat_interval_s, policy.daily_cap_s, strict=True)
    ordered = sorted(events)
    for i, e in enumerate(ordered):
        if e.kind == "miss":
            # A miss the timeline puts where no roll-call can be (the session is paused, ended or
            # awaiting review: roll-calls are only offered while studying) is not a miss.
            if replay(strict, ordered[: i + 1]).rollcalls_total == (
                replay(strict, ordered[:i]).rollcalls_total
            ):
                continue
            # Whatever follows a miss in that session, the credit equals replaying without it:
            # the session is paused and its open segment forfeited.
            after = [x for x in ordered[i + 1 :] if x.session == e.session and x.kind == "hb"]
            base = replay(strict, ordered)
            without = replay(strict, [x for x in ordered if x not in after])
            assert base.credited_ms == without.credited_ms
            break


@settings(max_examples=200, deadline=None)
@given(timelines())
def test_daily_cap_holds_per_shanghai_day(
    case: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
) -> None:
    policy, events, _ = case
    result = replay(policy, events)
    assert all(v <= policy.daily_cap_ms for v in result.per_day_ms.values())
    assert sum(result.per_day_ms.values()) == result.credited_ms


@settings(max_examples=200, deadline=None)
@given(timelines())
def test_replay_is_order_independent(
    case: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
) -> None:
    policy, events, _ = case
    assert replay(policy, events) == replay(policy, list(reversed(events)))


def test_heartbeat_credit_is_capped_and_never_negative() -> None:
    assert heartbeat_credit(T0, T0 + timedelta(seconds=10), True, 30) == 10_000
    assert heartbeat_credit(T0, T0 + timedelta(seconds=300), True, 30) == 30_000
    assert heartbeat_credit(T0, T0 - timedelta(seconds=5), True, 30) == 0
    assert heartbeat_credit(T0, T0 + timedelta(seconds=10), False, 30) == 0
    assert heartbeat_credit(T0, T0 + timedelta(seconds=1.2345), True, 30) == 1_234


def test_days_are_shanghai_days() -> None:
    assert str(day_of(datetime(2026, 3, 2, 15, 59, tzinfo=UTC))) == "2026-03-02"
    assert str(day_of(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))) == "2026-03-03"
    used: dict = {}
    assert grant({day_of(T0): 500_000}, used, 600_000) == {day_of(T0): 500_000}
    assert grant({day_of(T0): 500_000}, used, 600_000) == {day_of(T0): 100_000}


def test_a_worked_example() -> None:
    p = Policy(heartbeat_interval_s=30, daily_cap_s=3600, strict=True)
    s = "s"
    ev = [Event.make("start", T0, s)]
    t = T0
    for _ in range(10):  # 10 visible heartbeats, 30 s apart: 300 s
        t += timedelta(seconds=30)
        ev.append(Event.make("hb", t, s, visible=True))
    ev.append(Event.make("pass", t + timedelta(seconds=1), s))  # credited: 300
    for _ in range(4):  # 120 s more, then a missed roll-call forfeits them
        t += timedelta(seconds=30)
        ev.append(Event.make("hb", t, s, visible=True))
    ev.append(Event.make("miss", t + timedelta(seconds=5), s))
    t += timedelta(seconds=30)
    ev.append(Event.make("hb", t, s, visible=True))  # paused: nothing
    r = replay(p, ev)
    assert (r.credited_seconds, r.forfeited_seconds) == (300, 120)
    assert (r.rollcalls_total, r.rollcalls_passed) == (2, 1)
    lenient = replay(Policy(30, 3600, strict=False), ev)
    assert lenient.credited_seconds == 420
    assert (r.credited_ms, lenient.credited_ms) == (300_000, 420_000)


# ---------------------------------------------------------------- milliseconds


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([15, 30, 60]),
    st.lists(st.integers(0, 90_000), min_size=1, max_size=40),
)
def test_credit_keeps_every_millisecond(interval_s: int, gaps_ms: list[int]) -> None:
    """Visible heartbeats of one studying session: the credit is the sum of the capped gaps to
    the millisecond (it used to truncate each gap to whole seconds: ten heartbeats 0.9 s apart
    earned nothing)."""
    p = Policy(heartbeat_interval_s=interval_s, daily_cap_s=24 * 3600, strict=True)
    ev = [Event.make("start", T0, "s")]
    t = T0
    for gap in gaps_ms:
        t += timedelta(milliseconds=gap)
        ev.append(Event.make("hb", t, "s", visible=True))
    ev.append(Event.make("end", t + MS, "s"))
    r = replay(p, ev)
    assert r.credited_ms == sum(min(gap, interval_s * 1000) for gap in gaps_ms)
    assert r.credited_seconds == r.credited_ms // 1000


def test_sub_second_gaps_add_up() -> None:
    p = Policy(heartbeat_interval_s=30, daily_cap_s=3600, strict=True)
    ev = [Event.make("start", T0, "s")]
    ev += [
        Event.make("hb", T0 + n * timedelta(milliseconds=900), "s", visible=True)
        for n in range(1, 11)
    ]
    ev.append(Event.make("end", T0 + timedelta(seconds=10), "s"))
    r = replay(p, ev)
    assert (r.credited_ms, r.credited_seconds) == (9_000, 9)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-2_000, 60_000), st.booleans(), st.booleans()),
        min_size=1,
        max_size=40,
    )
)
def test_the_live_step_is_what_the_replay_credits(
    beats: list[tuple[int, bool, bool]],
) -> None:
    """The live heartbeat step (both paths of app/courses/heartbeat.py) applied to requests at
    any times (late, early, at once) stores strictly increasing times, and replaying what it
    stored credits each heartbeat exactly what the step credited."""
    interval_s = 30
    started = last_stored = T0
    last_hb = None
    now = T0
    stored: list[Event] = [Event.make("start", T0, "s")]
    earned: list[int] = []
    for delta_ms, visible, microsecond_late in beats:
        now += timedelta(milliseconds=delta_ms, microseconds=int(microsecond_late))
        step = heartbeat_step(
            studying=True,
            started_at=started,
            segment_started_at=started,
            last_heartbeat_at=last_hb,
            now=now,
            visible=visible,
            interval_s=interval_s,
        )
        assert step.at > last_stored
        assert 0 <= step.earned_ms <= interval_s * 1000
        last_stored = last_hb = step.at
        stored.append(Event.make("hb", step.at, "s", visible=visible))
        earned.append(step.earned_ms)
    r = replay(Policy(interval_s, 24 * 3600, strict=True), stored)
    assert r.heartbeat_credits["s"] == earned

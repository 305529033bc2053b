"""Property tests of the verified-minutes ledger (pure replay of raw events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.courses.ledger import Event, Policy, day_of, grant, heartbeat_credit, replay

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
            t += timedelta(seconds=draw(st.integers(0, 200)))
            kind = draw(st.sampled_from(["hb"] * 6 + ["pass", "fail", "miss", "hold"]))
            if kind == "hb":
                events.append(Event.make("hb", t, sid, visible=draw(st.booleans())))
            elif kind == "hold":
                ref = f"{sid}-{len(events)}"
                events.append(Event.make("hold", t, sid, ref=ref))
                if draw(st.booleans()):
                    t2 = t + timedelta(seconds=draw(st.integers(1, 500)))
                    events.append(
                        Event.make("decide", t2, sid, ref=ref, approved=draw(st.booleans()))
                    )
            else:
                events.append(Event.make(kind, t, sid))
        if draw(st.booleans()):
            t += timedelta(seconds=draw(st.integers(0, 100)))
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
    wall = sum(int((end - start).total_seconds()) for start, end in spans)
    assert 0 <= result.credited_seconds <= wall
    assert result.credited_seconds + result.forfeited_seconds + result.held_seconds <= wall


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
    assert result.credited_seconds == 0
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
            assert base.credited_seconds == without.credited_seconds
            break


@settings(max_examples=200, deadline=None)
@given(timelines())
def test_daily_cap_holds_per_shanghai_day(
    case: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
) -> None:
    policy, events, _ = case
    result = replay(policy, events)
    assert all(v <= policy.daily_cap_s for v in result.per_day.values())
    assert sum(result.per_day.values()) == result.credited_seconds


@settings(max_examples=200, deadline=None)
@given(timelines())
def test_replay_is_order_independent(
    case: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
) -> None:
    policy, events, _ = case
    assert replay(policy, events) == replay(policy, list(reversed(events)))


def test_heartbeat_credit_is_capped_and_never_negative() -> None:
    assert heartbeat_credit(T0, T0 + timedelta(seconds=10), True, 30) == 10
    assert heartbeat_credit(T0, T0 + timedelta(seconds=300), True, 30) == 30
    assert heartbeat_credit(T0, T0 - timedelta(seconds=5), True, 30) == 0
    assert heartbeat_credit(T0, T0 + timedelta(seconds=10), False, 30) == 0


def test_days_are_shanghai_days() -> None:
    assert str(day_of(datetime(2026, 3, 2, 15, 59, tzinfo=UTC))) == "2026-03-02"
    assert str(day_of(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))) == "2026-03-03"
    used: dict = {}
    assert grant({day_of(T0): 500}, used, 600) == {day_of(T0): 500}
    assert grant({day_of(T0): 500}, used, 600) == {day_of(T0): 100}


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

"""Property tests of the verified-minutes ledger (pure replay of raw events), in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.courses.ledger import (
    MS,
    SEEK_SLACK_MS,
    Event,
    LessonRule,
    Policy,
    day_of,
    grant,
    heartbeat_credit,
    heartbeat_step,
    replay,
    replay_learner,
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


# ---------------------------------------------------------------- playback (issue 15)

VIDEO, TEXT = "video-lesson", "text-lesson"
DURATION_MS = 600_000


def lesson_policy(interval_s: int = 30, cap_s: int = 24 * 3600, strict: bool = True) -> Policy:
    return Policy(
        interval_s,
        cap_s,
        strict,
        lessons={
            VIDEO: LessonRule(video=True, duration_ms=DURATION_MS),
            TEXT: LessonRule(video=False),
        },
    )


@st.composite
def playback(draw: st.DrawFn) -> tuple[list[Event], int]:
    """One studying session on the video lesson: a player driven by random actions (play at a
    speed, pause, seek back or ahead, hide the tab), a heartbeat after each action with the
    position the player reports. Returns the events and the wall time in milliseconds."""
    events = [Event.make("start", T0, "s")]
    t, position, wall = T0, 0, 0
    for _ in range(draw(st.integers(1, 40))):
        action = draw(st.sampled_from(["play", "play", "play", "pause", "back", "ahead", "hide"]))
        gap = draw(st.integers(0, 45_000))
        visible = True
        if action == "play":
            speed = draw(st.sampled_from([0.5, 1.0, 1.0, 1.25, 2.0]))
            position += int(gap * speed)
        elif action == "back":
            position = max(0, position - draw(st.integers(0, 120_000))) + gap
        elif action == "ahead":
            position += draw(st.integers(2_000, 200_000)) + gap
        elif action == "hide":
            visible = False
            position += gap if draw(st.booleans()) else 0  # a player left running when hidden
        position = min(position, DURATION_MS)
        t += timedelta(milliseconds=gap)
        wall += gap
        events.append(Event.make("hb", t, "s", visible=visible, lesson=VIDEO, position_ms=position))
    events.append(Event.make("end", t + MS, "s"))
    return events, wall


@settings(max_examples=300, deadline=None)
@given(playback())
def test_video_credit_is_bounded_by_wall_time_and_the_video(case: tuple[list[Event], int]) -> None:
    events, wall = case
    r = replay(lesson_policy(), events)
    assert 0 <= r.credited_ms <= min(wall, DURATION_MS)
    # The furthest point advances exactly by what was credited (one session, nothing forfeited).
    assert r.lesson_ms.get(VIDEO, 0) == r.lesson_reach_ms.get(VIDEO, 0) == r.credited_ms


@settings(max_examples=300, deadline=None)
@given(playback())
def test_a_video_earns_no_more_than_the_span_the_player_covered(
    case: tuple[list[Event], int],
) -> None:
    """Never more than the furthest position the player reported."""
    events, _ = case
    r = replay(lesson_policy(), events)
    furthest = max((e.position_ms for e in events if e.kind == "hb"), default=0)
    assert r.credited_ms <= furthest


@settings(max_examples=300, deadline=None)
@given(playback(), st.integers(0, 39), st.integers(SEEK_SLACK_MS + 30_001, 300_000))
def test_skipping_ahead_earns_nothing_after_the_skip(
    case: tuple[list[Event], int], at: int, jump: int
) -> None:
    """Seek ahead past the furthest point and keep playing forwards: nothing more is credited
    than before the skip (the server does not credit what the player should have refused)."""
    events, _ = case
    beats = [e for e in events if e.kind == "hb"]
    at = min(at, len(beats) - 1)
    before = [e for e in events if e.kind != "hb" or e <= beats[at]]
    base = replay(lesson_policy(), before)
    # From the skip on, the player plays forwards at 1x from reach + jump.
    pos = base.lesson_reach_ms.get(VIDEO, 0) + jump
    t = beats[at].at
    skipped = [e for e in before if e.kind != "end"]
    for _ in range(10):
        t += timedelta(seconds=30)
        pos += 30_000
        skipped.append(Event.make("hb", t, "s", visible=True, lesson=VIDEO, position_ms=pos))
    skipped.append(Event.make("end", t + MS, "s"))
    r = replay(lesson_policy(), skipped)
    assert r.credited_ms == base.credited_ms
    assert r.lesson_reach_ms == base.lesson_reach_ms


@settings(max_examples=200, deadline=None)
@given(playback())
def test_rewinding_and_watching_again_earns_nothing(case: tuple[list[Event], int]) -> None:
    events, _ = case
    base = replay(lesson_policy(), events)
    reach = base.lesson_reach_ms.get(VIDEO, 0)
    again = [e for e in events if e.kind != "end"]
    t = max(e.at for e in again)
    pos = 0  # back to the start, then play at 1x up to the furthest point again
    while pos + 30_000 <= reach:
        t += timedelta(seconds=30)
        pos += 30_000
        again.append(Event.make("hb", t, "s", visible=True, lesson=VIDEO, position_ms=pos))
    again.append(Event.make("end", t + MS, "s"))
    assert replay(lesson_policy(), again).credited_ms == base.credited_ms


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([0.25, 0.5, 0.75, 1.0]), st.integers(1, 30))
def test_at_or_below_normal_speed_the_span_watched_is_credited(speed: float, beats: int) -> None:
    """Credit is the span watched, not the wall time: half speed earns half the wall time."""
    events = [Event.make("start", T0, "s")]
    for n in range(1, beats + 1):
        at = T0 + timedelta(seconds=30 * n)
        pos = int(30_000 * n * speed)
        events.append(Event.make("hb", at, "s", visible=True, lesson=VIDEO, position_ms=pos))
    events.append(Event.make("end", T0 + timedelta(seconds=30 * beats + 1), "s"))
    r = replay(lesson_policy(), events)
    assert r.credited_ms == min(int(30_000 * beats * speed), DURATION_MS)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([1.5, 2.0, 4.0]), st.integers(2, 30))
def test_faster_than_normal_speed_earns_at_most_one_gap(speed: float, beats: int) -> None:
    """Played faster than 1x, the player is further ahead than 1x playback reaches: nothing."""
    events = [Event.make("start", T0, "s")]
    for n in range(1, beats + 1):
        at = T0 + timedelta(seconds=30 * n)
        pos = min(int(30_000 * n * speed), DURATION_MS)
        events.append(Event.make("hb", at, "s", visible=True, lesson=VIDEO, position_ms=pos))
    r = replay(lesson_policy(), events + [Event.make("end", T0 + timedelta(hours=1), "s")])
    assert r.credited_ms == 0


@settings(max_examples=200, deadline=None)
@given(playback())
def test_a_hidden_tab_earns_nothing_even_with_the_video_playing(
    case: tuple[list[Event], int],
) -> None:
    events, _ = case
    hidden = [
        Event.make("hb", e.at, e.session, visible=False, lesson=e.lesson, position_ms=e.position_ms)
        if e.kind == "hb"
        else e
        for e in events
    ]
    r = replay(lesson_policy(), hidden)
    assert r.credited_ms == 0 and r.lesson_reach_ms == {}


def test_a_video_heartbeat_without_a_position_earns_nothing_a_text_one_the_gap() -> None:
    events = [Event.make("start", T0, "s")]
    events.append(Event.make("hb", T0 + timedelta(seconds=30), "s", visible=True, lesson=VIDEO))
    events.append(Event.make("hb", T0 + timedelta(seconds=60), "s", visible=True, lesson=TEXT))
    events.append(Event.make("hb", T0 + timedelta(seconds=90), "s", visible=True))
    events.append(Event.make("end", T0 + timedelta(seconds=91), "s"))
    r = replay(lesson_policy(), events)
    assert r.heartbeat_credits["s"] == [0, 30_000, 30_000]
    assert r.lesson_ms == {TEXT: 30_000}


def test_a_worked_playback_example() -> None:
    """Play 60 s, seek ahead 5 minutes (refused by the server), come back, play on; the
    forfeited stretch after a missed roll-call must be watched again."""
    s, ev = "s", [Event.make("start", T0, "s")]

    def hb(sec: int, pos_s: float, visible: bool = True) -> None:
        ev.append(
            Event.make(
                "hb", T0 + timedelta(seconds=sec), s, visible=visible, lesson=VIDEO,
                position_ms=int(pos_s * 1000),
            )
        )  # fmt: skip

    hb(30, 30)
    hb(60, 60)  # 60 s watched
    hb(90, 390)  # skipped 5 minutes ahead: nothing
    hb(120, 420)  # playing on beyond the furthest point: nothing
    hb(150, 75)  # back to the furthest point, 15 s more watched
    hb(180, 90)  # half speed: 15 s more
    ev.append(Event.make("pass", T0 + timedelta(seconds=181), s))  # confirmed: 90 s
    hb(210, 120)
    ev.append(Event.make("miss", T0 + timedelta(seconds=211), s))  # 30 s forfeited
    r = replay(lesson_policy(), ev)
    assert r.heartbeat_credits[s] == [30_000, 30_000, 0, 0, 15_000, 15_000, 30_000]
    assert (r.credited_ms, r.forfeited_ms) == (90_000, 30_000)
    assert (r.lesson_ms, r.lesson_reach_ms) == ({VIDEO: 90_000}, {VIDEO: 90_000})


# ---------------------------------------------------------------- the learner's daily cap


@settings(max_examples=200, deadline=None)
@given(timelines(), timelines(), st.sampled_from([300, 1800, 8 * 3600]))
def test_the_learner_cap_holds_across_enrolments(
    a: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
    b: tuple[Policy, list[Event], list[tuple[datetime, datetime]]],
    learner_cap_s: int,
) -> None:
    """Two enrolments of one learner: per Shanghai day, together never above the learner's cap,
    each never above its course's; with a cap that never binds, each is what it is alone."""
    policies = {"A": a[0], "B": b[0]}

    def tagged(events: list[Event], enrollment: str) -> list[Event]:
        return [
            Event(e.at, e.order, e.kind, f"{enrollment}{e.session}", e.visible,
                  f"{enrollment}{e.ref}" if e.ref else "", e.approved, enrollment)
            for e in events
        ]  # fmt: skip

    events = tagged(a[1], "A") + tagged(b[1], "B")
    results = replay_learner(policies.__getitem__, events, learner_cap_s * 1000)
    days: dict[Any, int] = {}
    for name, r in results.items():
        assert all(v <= policies[name].daily_cap_ms for v in r.per_day_ms.values())
        for d, v in r.per_day_ms.items():
            days[d] = days.get(d, 0) + v
    assert all(v <= learner_cap_s * 1000 for v in days.values())
    unbound = replay_learner(policies.__getitem__, events, None)
    assert unbound["A"].credited_ms == replay(a[0], a[1]).credited_ms
    assert unbound["B"].credited_ms == replay(b[0], b[1]).credited_ms
    assert all(results[n].credited_ms <= unbound[n].credited_ms for n in results)

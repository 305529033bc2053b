"""The live ledger (study service, real database) always equals the replay of its stored events.

Roll-call verdicts are stored attendance events made directly here: this file tests time and
credit rules, not faces (the full path with real faces is in test_study_api.py).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, Outcome, ReviewStatus
from app.courses import study
from app.courses.models import (
    CreditPolicy,
    Enrollment,
    Heartbeat,
    LearnerDailyCredit,
    Lesson,
    LessonKind,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.courses.rollcall import grant_exception
from app.db import transaction
from tests.factories import (
    attendance_verdict,
    course_row,
    make_institution,
    make_learner,
    make_user,
    self_enrolled,
    start_session,
)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("policy", [CreditPolicy.strict, CreditPolicy.lenient])
def test_live_credit_equals_replay(
    engine: Any, clock: Any, seed: int, policy: CreditPolicy
) -> None:
    rng = random.Random(seed)
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst)
    course = course_row(
        engine,
        inst,
        credit_policy=policy,
        heartbeat_interval_s=30,
        rollcall_min_interval_s=60,
        rollcall_max_interval_s=240,
        rollcall_response_window_s=60,
        daily_cap_minutes=rng.choice([10, 30, 480]),
    )
    enrollment = self_enrolled(engine, learner, course)
    clock.set(clock.now().replace(hour=15, minute=rng.randint(0, 59)))  # around Shanghai midnight
    sid = start_session(engine, learner, enrollment, course)
    for _ in range(200):
        op = rng.choices(
            ["hb", "answer", "expire", "end", "restart", "decide", "excuse"],
            [60, 25, 2, 1, 4, 6, 3],
        )[0]
        # Fractions of a second too: the ledger keeps milliseconds, live and replayed alike.
        clock.advance(
            seconds=rng.choice([0, 0.001, 0.25, 0.9, 1, 1.5, 5, 20, 29, 29.9999, 30, 31, 45, 90])
        )
        with transaction(engine) as s:
            user = s.get(type(learner), learner.id)
            current = s.get(StudySession, sid)
            assert current is not None
            if op == "hb":
                if current.state is not SessionState.ended:
                    study.heartbeat(s, user, sid, visible=rng.random() < 0.85)
            elif op == "answer":
                rc = s.exec(
                    select(RollCall).where(
                        RollCall.session_id == sid, RollCall.status == RollCallStatus.pending
                    )
                ).first()  # type: ignore[arg-type]
                if rc is not None and clock.now() <= rc.deadline:
                    # A mismatch, and a liveness failure with a clear face match (staff review
                    # it once the roll-call's chances or window run out).
                    outcome, why, median = rng.choice(
                        [
                            (Outcome.passed, None, "0.2000"),
                            (Outcome.passed, None, "0.2000"),
                            (Outcome.failed, "face_mismatch", "0.6000"),
                            (Outcome.failed, "liveness_failed", "0.3000"),
                            (Outcome.review, "uncertain_match", "0.4500"),
                        ]
                    )
                    ev = attendance_verdict(
                        s, learner, outcome, inst, reason_code=why, median_distance=median
                    )
                    study.settle_rollcall(s, s.get(StudySession, sid), rc, ev)  # type: ignore[arg-type]
            elif op == "expire":
                study.sweep_missed_rollcalls(s)
            elif op == "end":
                if current.state is not SessionState.ended:
                    study.end_session(s, user, sid)
            elif op == "excuse":
                excusable = s.exec(
                    select(RollCall).where(
                        RollCall.enrollment_id == enrollment.id,  # type: ignore[arg-type]
                        RollCall.status.in_(  # type: ignore[attr-defined]
                            [RollCallStatus.failed, RollCallStatus.missed]
                        ),
                        RollCall.excused_at.is_(None),  # type: ignore[union-attr]
                    )
                ).all()
                reviewed = {
                    e.id for e in s.exec(select(AttendanceEvent)) if e.review_status is not None
                }
                excusable = [r for r in excusable if r.attendance_event_id not in reviewed]
                if excusable:
                    staff_user = s.get(type(staff), staff.id)
                    grant_exception(
                        s,
                        Principal.of_user(staff_user),  # type: ignore[arg-type]
                        rng.choice(excusable).id,
                        reason="摄像头故障，已核实",
                    )
            elif op == "decide" and (
                pending_reviews := [
                    e.id
                    for e in s.exec(select(AttendanceEvent).order_by(AttendanceEvent.created_at))  # type: ignore[arg-type]
                    if e.review_status is ReviewStatus.pending
                ]
            ):
                ev_id = pending_reviews.pop(0)
                staff_user = s.get(type(staff), staff.id)
                attendance.review(
                    s,
                    Principal.of_user(staff_user),
                    ev_id,
                    approve=rng.random() < 0.6,
                    reason="checked",
                )
        if op == "restart":
            sid = start_session(engine, learner, enrollment, course)
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None
        check = study.check_ledger(s, e)
    assert check.matches, (check.stored_ms, check.stored_rollcalls, check.recomputed)
    assert check.stored_seconds > 0 or check.recomputed.forfeited_seconds >= 0


def _lessons(engine: Any, course: Any, video_ms: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A hosted video lesson of ``video_ms`` and a text lesson, made directly in the database."""
    with transaction(engine) as s:
        video = Lesson(
            course_id=course.id,
            position=1,
            title="安全用电视频",
            kind=LessonKind.video,
            body_or_url="",
            minutes=max(1, video_ms // 60_000),
            video_key=f"lessons/{uuid.uuid4()}.webm",
            video_type="video/webm",
            video_bytes=1_000,
            duration_ms=video_ms,
        )
        text = Lesson(
            course_id=course.id,
            position=2,
            title="电工基础",
            kind=LessonKind.text,
            body_or_url="欧姆定律……",
            minutes=5,
        )
        s.add_all([video, text])
        s.flush()
        return video.id, text.id


@pytest.mark.parametrize("seed", range(4))
def test_live_playback_and_learner_cap_equal_replay(
    engine: Any, clock: Any, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two enrolments of one learner, video and text lessons, a player that plays at several
    speeds, pauses, seeks back and ahead, and hides the tab: the stored credit, the lessons'
    progress and the learner's cap across both enrolments equal the replay of stored events."""
    from app.config import get_settings

    monkeypatch.setenv("SKILLTRACE_LEARNER_DAILY_CAP_MINUTES", "12")
    get_settings.cache_clear()
    rng = random.Random(seed)
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    enrolments = []
    for cap in (10, 480):
        course = course_row(
            engine,
            inst,
            heartbeat_interval_s=30,
            rollcall_min_interval_s=60,
            rollcall_max_interval_s=300,
            rollcall_response_window_s=60,
            daily_cap_minutes=cap,
        )
        video, text = _lessons(engine, course, video_ms=rng.choice([120_000, 900_000]))
        enrollment = self_enrolled(engine, learner, course)
        enrolments.append((enrollment, course, video, text))
    clock.set(clock.now().replace(hour=15, minute=rng.randint(30, 59)))  # around Shanghai midnight
    current = 0
    enrollment, course, video, text = enrolments[current]
    sid = start_session(engine, learner, enrollment, course)
    positions: dict[uuid.UUID, int] = {}
    for _ in range(160):
        op = rng.choices(["hb", "answer", "restart", "end"], [80, 12, 4, 1])[0]
        gap = rng.choice([0, 0.4, 5, 15, 29.5, 30, 31, 60])
        clock.advance(seconds=gap)
        with transaction(engine) as s:
            user = s.get(type(learner), learner.id)
            state = s.get(StudySession, sid).state  # type: ignore[union-attr]
            if op == "hb" and state is not SessionState.ended:
                lesson = rng.choice([video, video, text, None])
                position = None
                if lesson == video:
                    action = rng.choice(["play", "play", "fast", "pause", "back", "ahead"])
                    pos = positions.get(video, 0)
                    pos = {
                        "play": pos + int(gap * 1000),
                        "fast": pos + int(gap * 2000),
                        "pause": pos,
                        "back": max(0, pos - 40_000),
                        "ahead": pos + 120_000,
                    }[action]
                    positions[video] = position = pos
                study.heartbeat(
                    s,
                    user,
                    sid,
                    visible=rng.random() < 0.85,
                    lesson_id=lesson,
                    position_ms=position,
                )
            elif op == "answer":
                rc = s.exec(
                    select(RollCall).where(
                        RollCall.session_id == sid, RollCall.status == RollCallStatus.pending
                    )
                ).first()  # type: ignore[arg-type]
                if rc is not None and clock.now() <= rc.deadline:
                    outcome = rng.choice([Outcome.passed, Outcome.passed, Outcome.failed])
                    ev = attendance_verdict(s, learner, outcome, inst)
                    study.settle_rollcall(s, s.get(StudySession, sid), rc, ev)  # type: ignore[arg-type]
            elif op == "end" and state is not SessionState.ended:
                study.end_session(s, user, sid)
        if op == "restart":
            current = rng.randrange(2)
            enrollment, course, video, text = enrolments[current]
            positions.clear()
            sid = start_session(engine, learner, enrollment, course)
    with transaction(engine) as s:
        study.end_session(s, s.get(type(learner), learner.id), sid)
    with Session(engine) as s:
        days: dict[Any, int] = {}
        for e_row, *_ in enrolments:
            e = s.get(Enrollment, e_row.id)
            assert e is not None
            check = study.check_ledger(s, e)
            assert check.matches, (check.stored_ms, check.stored_lessons, check.recomputed)
            for d, ms in check.recomputed.per_day_ms.items():
                days[d] = days.get(d, 0) + ms
        # The videos were watched (whatever became of the segments): heartbeats earned a span.
        assert s.exec(select(Heartbeat).where(col(Heartbeat.reach_ms) > 0)).first() is not None
        assert all(ms <= 12 * 60_000 for ms in days.values())
        stored = s.exec(select(LearnerDailyCredit).where(LearnerDailyCredit.user_id == learner.id))
        assert {r.day: r.ms for r in stored if r.ms} == {d: ms for d, ms in days.items() if ms}
    get_settings.cache_clear()


def test_the_daily_cap_is_the_learners_across_enrolments(
    engine: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two courses with 8-hour caps each, a learner cap of 10 minutes: 8 minutes in the first
    course leave 2 for the second the same day; the next Shanghai day starts afresh."""
    from app.config import get_settings

    monkeypatch.setenv("SKILLTRACE_LEARNER_DAILY_CAP_MINUTES", "10")
    get_settings.cache_clear()
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    clock.set(clock.now().replace(hour=2, minute=0))  # 10:00 in Shanghai
    rows = []
    for _ in range(2):
        course = course_row(engine, inst, heartbeat_interval_s=60, daily_cap_minutes=480)
        e = self_enrolled(engine, learner, course)
        rows.append((e, course))

    def study_minutes(index: int, minutes: int) -> None:
        e, course = rows[index]
        sid = start_session(engine, learner, e, course)
        for _ in range(minutes):
            clock.advance(seconds=60)
            with transaction(engine) as s:
                study.heartbeat(s, s.get(type(learner), learner.id), sid, visible=True)
        with transaction(engine) as s:
            study.end_session(s, s.get(type(learner), learner.id), sid)

    def credited(index: int) -> int:
        with Session(engine) as s:
            e = s.get(Enrollment, rows[index][0].id)
            assert e is not None and study.check_ledger(s, e).matches
            return e.credited_seconds // 60

    with transaction(engine) as s:  # no roll-call in the way
        for _, course in rows:
            c = s.get(type(course), course.id)
            c.rollcall_min_interval_s = c.rollcall_max_interval_s = 7200  # type: ignore[union-attr]
    study_minutes(0, 8)
    study_minutes(1, 5)
    assert (credited(0), credited(1)) == (8, 2)
    clock.advance(hours=24)
    study_minutes(1, 5)
    assert (credited(0), credited(1)) == (8, 7)
    get_settings.cache_clear()

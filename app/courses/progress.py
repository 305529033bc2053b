"""Completion: required minutes reached, quiz passed, roll-call pass rate at or above policy,
and, where the course asks for it, every lesson finished (its required minutes watched or read)
and its offline practical minutes earned (app/courses/offline.py).

A blended course (one that requires offline minutes) also requires the practical assessment
(实操考核) passed: the instructor's latest marking of the learner, at any of the class's
offline sessions, must be a pass. A learner not assessed yet, or whose latest marking failed,
does not complete; a later pass (at a make-up session, or the instructor's corrected marking)
completes them then. Completion, once recorded, is never taken back (a certificate may rest on
it): a failing mark after completion changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.audit import service as audit
from app.audit.service import Actor
from app.courses.models import (
    Course,
    CreditSegment,
    Enrollment,
    Heartbeat,
    Lesson,
    LessonKind,
    LessonProgress,
    PracticalAssessment,
    SegmentStatus,
    SessionState,
    StudySession,
)

#: Called with (session, enrollment, course, actor) right after an enrolment completes, in the
#: same transaction (automatic certificates, webhooks; subscribed in app/wiring.py).
completion_hooks: list[Callable[[Session, Enrollment, Course, Actor], None]] = []


@dataclass(frozen=True)
class LessonStatus:
    """One lesson for one enrolment: confirmed milliseconds watched (or read) against what the
    lesson requires (its minutes; for a hosted video at most its length)."""

    lesson_id: uuid.UUID
    position: int
    title: str
    kind: LessonKind
    watched_ms: int
    required_ms: int
    reach_ms: int

    @property
    def finished(self) -> bool:
        return self.watched_ms >= self.required_ms


def required_ms(lesson: Lesson) -> int:
    need = lesson.minutes * 60_000
    return min(need, lesson.duration_ms) if lesson.duration_ms else need


def open_lesson_ms(session: Session, enrollment: Enrollment) -> dict[uuid.UUID, int]:
    """Per lesson, what the enrolment's open stretches of study earned (heartbeats since the
    last passed face check of each studying session): shown next to the confirmed minutes as
    the counter shows its open stretch, confirmed or forfeited at the next roll-call."""
    rows = session.exec(
        select(Heartbeat.lesson_id, func.sum(Heartbeat.credited_ms))
        .join(StudySession, col(StudySession.id) == col(Heartbeat.session_id))
        .where(
            col(StudySession.enrollment_id) == enrollment.id,
            col(StudySession.state) == SessionState.studying,
            col(Heartbeat.at) > col(StudySession.segment_started_at),
            col(Heartbeat.lesson_id).is_not(None),
        )
        .group_by(col(Heartbeat.lesson_id))
    ).all()
    return {lesson_id: int(ms or 0) for lesson_id, ms in rows if lesson_id is not None}


def lesson_statuses(session: Session, enrollment: Enrollment) -> list[LessonStatus]:
    """Every lesson of the enrolment's course, in order, with what the learner did of it."""
    rows = session.exec(
        select(Lesson, LessonProgress)
        .join(
            LessonProgress,
            (col(LessonProgress.lesson_id) == col(Lesson.id))
            & (col(LessonProgress.enrollment_id) == enrollment.id),
            isouter=True,
        )
        .where(col(Lesson.course_id) == enrollment.course_id)
        .order_by(col(Lesson.position), col(Lesson.created_at), col(Lesson.id))
    ).all()
    return [
        LessonStatus(
            lesson_id=lesson.id,
            position=lesson.position,
            title=lesson.title,
            kind=lesson.kind,
            watched_ms=done.watched_ms if done else 0,
            required_ms=required_ms(lesson),
            reach_ms=done.reach_ms if done else 0,
        )
        for lesson, done in rows
    ]


def practical_passed(session: Session, enrollment: Enrollment) -> bool | None:
    """The enrolment's practical assessment as it stands: the latest marking's result (True
    passed, False failed), None while never assessed."""
    latest = session.exec(
        select(PracticalAssessment.passed)
        .where(col(PracticalAssessment.enrollment_id) == enrollment.id)
        .order_by(col(PracticalAssessment.assessed_at).desc(), col(PracticalAssessment.id))
        .limit(1)
    ).first()
    return None if latest is None else bool(latest)


#: ``progress(practical=...)``: the caller did not look the assessment up.
NOT_LOOKED_UP = "not_looked_up"


@dataclass(frozen=True)
class Progress:
    credited_minutes: int
    required_minutes: int
    quiz_passed: bool
    best_quiz_score: int | None
    rollcalls_total: int
    rollcalls_passed: int
    #: Percent, or None while no roll-call has been resolved (nothing to fail yet).
    rollcall_pass_rate: int | None
    min_pass_rate: int
    complete: bool
    missing: list[str] = field(default_factory=list)
    missing_zh: list[str] = field(default_factory=list)
    require_each_lesson: bool = False
    #: Lessons finished / in the course, when the caller looked them up.
    lessons_finished: int | None = None
    lessons_total: int | None = None
    #: Blended training: offline practical minutes credited at offline sessions (verified
    #: check-in to check-out), and what the course requires of them (0: none).
    offline_minutes: int = 0
    offline_required_minutes: int = 0


@dataclass(frozen=True)
class StudyTime:
    """An enrolment's study time as every page shows it (milliseconds): the study page's
    counter and the progress page read this one thing, so they always agree."""

    confirmed_ms: int  # credited: counts towards the course
    open_ms: int  # studied since the last passed face check: confirmed at the next roll-call
    held_ms: int  # waiting for a staff review decision
    forfeited_ms: int  # lost to failed or missed roll-calls (strict policy)

    @property
    def shown_seconds(self) -> int:
        """The counter: confirmed plus the open stretch, whole seconds."""
        return (self.confirmed_ms + self.open_ms) // 1000


def study_time(session: Session, enrollment: Enrollment) -> StudyTime:
    studying = session.exec(
        select(func.coalesce(func.sum(StudySession.open_ms), 0)).where(
            col(StudySession.enrollment_id) == enrollment.id,
            col(StudySession.state) == SessionState.studying,
        )
    ).one()
    by_status = dict(
        session.exec(
            select(CreditSegment.status, func.sum(CreditSegment.ms))
            .where(
                col(CreditSegment.enrollment_id) == enrollment.id,
                col(CreditSegment.status).in_([SegmentStatus.held, SegmentStatus.forfeited]),
            )
            .group_by(col(CreditSegment.status))
        ).all()
    )
    return StudyTime(
        confirmed_ms=enrollment.credited_ms,
        open_ms=int(studying or 0),
        held_ms=int(by_status.get(SegmentStatus.held) or 0),
        forfeited_ms=int(by_status.get(SegmentStatus.forfeited) or 0),
    )


def pass_rate(enrollment: Enrollment) -> int | None:
    if enrollment.rollcalls_total == 0:
        return None
    return (100 * enrollment.rollcalls_passed) // enrollment.rollcalls_total


def progress(
    enrollment: Enrollment,
    course: Course,
    lessons: list[LessonStatus] | None = None,
    practical: bool | None | str = NOT_LOOKED_UP,
) -> Progress:
    """Where the learner stands, with what is still missing in words.

    A course that requires every lesson finished is judged on ``lessons`` (from
    :func:`lesson_statuses`), a blended course's practical assessment on ``practical`` (from
    :func:`practical_passed`); a caller that did not look them up sees each condition as met
    only once the enrolment has completed (never as met too early)."""
    minutes = enrollment.credited_seconds // 60
    rate = pass_rate(enrollment)
    missing: list[str] = []
    missing_zh: list[str] = []
    if minutes < course.required_minutes:
        left = course.required_minutes - minutes
        missing.append(f"{left} more verified minutes of study")
        missing_zh.append(f"还需完成 {left} 分钟有效学时")
    offline = enrollment.offline_minutes
    if offline < course.offline_required_minutes:
        left = course.offline_required_minutes - offline
        missing.append(f"{left} more minutes of offline practical training")
        missing_zh.append(f"还需完成 {left} 分钟线下实训")
    if course.offline_required_minutes and practical is not True:
        if practical is False:
            missing.append("pass the practical assessment (the latest one was marked failed)")
            missing_zh.append("需通过实操考核（最近一次考核不合格）")
        elif practical is None:
            missing.append("pass the practical assessment (not assessed yet)")
            missing_zh.append("需通过实操考核（尚未考核）")
        elif enrollment.completed_at is None:
            missing.append("pass the practical assessment")
            missing_zh.append("需通过实操考核")
    if not enrollment.quiz_passed:
        missing.append(f"pass the quiz (score {course.pass_score} or more)")
        missing_zh.append(f"需通过考试（{course.pass_score} 分及以上）")
    if rate is not None and rate < course.rollcall_min_pass_rate:
        missing.append(
            f"roll-call pass rate {rate}% is below the required {course.rollcall_min_pass_rate}%"
        )
        missing_zh.append(f"随机点名通过率 {rate}% 低于要求的 {course.rollcall_min_pass_rate}%")
    finished = sum(1 for lesson in lessons if lesson.finished) if lessons is not None else None
    if course.require_each_lesson:
        if lessons is not None:
            left = len(lessons) - (finished or 0)
            if left:
                missing.append(f"finish every lesson ({left} not finished)")
                missing_zh.append(f"每个课时都需学完（还有 {left} 个课时未学完）")
        elif enrollment.completed_at is None:
            missing.append("finish every lesson")
            missing_zh.append("每个课时都需学完")
    return Progress(
        credited_minutes=minutes,
        required_minutes=course.required_minutes,
        quiz_passed=enrollment.quiz_passed,
        best_quiz_score=enrollment.best_quiz_score,
        rollcalls_total=enrollment.rollcalls_total,
        rollcalls_passed=enrollment.rollcalls_passed,
        rollcall_pass_rate=rate,
        min_pass_rate=course.rollcall_min_pass_rate,
        complete=not missing,
        missing=missing,
        missing_zh=missing_zh,
        require_each_lesson=course.require_each_lesson,
        lessons_finished=finished,
        lessons_total=len(lessons) if lessons is not None else None,
        offline_minutes=offline,
        offline_required_minutes=course.offline_required_minutes,
    )


def refresh_completion(
    session: Session, enrollment: Enrollment, course: Course, actor: Actor
) -> bool:
    """Mark the enrolment complete the moment the last condition is met (audited, once).

    Call after every change to credit, quiz result or roll-call counts. Returns whether it
    completed now.
    """
    if enrollment.completed_at is not None:
        return False
    lessons = lesson_statuses(session, enrollment) if course.require_each_lesson else None
    practical = practical_passed(session, enrollment) if course.offline_required_minutes else None
    p = progress(enrollment, course, lessons, practical)
    if not p.complete:
        return False
    enrollment.completed_at = clock.now()
    session.add(enrollment)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="enrollment.completed",
        subject=f"enrollment:{enrollment.id}",
        payload={
            "course": str(course.id),
            "user": str(enrollment.user_id),
            "credited_minutes": p.credited_minutes,
            **({"offline_minutes": p.offline_minutes} if course.offline_required_minutes else {}),
            "quiz_score": p.best_quiz_score,
            "rollcall_pass_rate": p.rollcall_pass_rate,
        },
        institution_id=enrollment.institution_id,
    )
    for hook in completion_hooks:
        hook(session, enrollment, course, actor)
    return True

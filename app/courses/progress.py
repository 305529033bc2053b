"""Completion: required minutes reached, quiz passed, roll-call pass rate at or above policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from app import clock
from app.audit import service as audit
from app.audit.service import Actor
from app.courses.models import Course, Enrollment

#: Called with (session, enrollment, course, actor) right after an enrolment completes, in the
#: same transaction (automatic certificates, webhooks; subscribed in app/wiring.py).
completion_hooks: list[Callable[[Session, Enrollment, Course, Actor], None]] = []


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


def pass_rate(enrollment: Enrollment) -> int | None:
    if enrollment.rollcalls_total == 0:
        return None
    return (100 * enrollment.rollcalls_passed) // enrollment.rollcalls_total


def progress(enrollment: Enrollment, course: Course) -> Progress:
    """Where the learner stands, with what is still missing in words."""
    minutes = enrollment.credited_seconds // 60
    rate = pass_rate(enrollment)
    missing: list[str] = []
    missing_zh: list[str] = []
    if minutes < course.required_minutes:
        left = course.required_minutes - minutes
        missing.append(f"{left} more verified minutes of study")
        missing_zh.append(f"还需完成 {left} 分钟有效学时")
    if not enrollment.quiz_passed:
        missing.append(f"pass the quiz (score {course.pass_score} or more)")
        missing_zh.append(f"需通过考试（{course.pass_score} 分及以上）")
    if rate is not None and rate < course.rollcall_min_pass_rate:
        missing.append(
            f"roll-call pass rate {rate}% is below the required {course.rollcall_min_pass_rate}%"
        )
        missing_zh.append(f"随机点名通过率 {rate}% 低于要求的 {course.rollcall_min_pass_rate}%")
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
    p = progress(enrollment, course)
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
            "quiz_score": p.best_quiz_score,
            "rollcall_pass_rate": p.rollcall_pass_rate,
        },
        institution_id=enrollment.institution_id,
    )
    for hook in completion_hooks:
        hook(session, enrollment, course, actor)
    return True

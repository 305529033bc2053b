"""Authoring a course: create a draft, change it, publish it.

Functions take the request's session, ``flush()`` and never commit; each write appends its
audit entry in the same transaction. Lessons and questions are in :mod:`app.courses.content`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.principal import Principal
from app.audit import service as audit
from app.courses.exceptions import (
    CourseHoursShort,
    CourseIncomplete,
    InvalidCourse,
)
from app.courses.models import (
    Course,
    CourseStatus,
    CreditPolicy,
    Lesson,
    Level,
    Question,
    QuizOpens,
)
from app.courses.policy import (
    DESCRIPTION_CHARS,
    OCCUPATION_NAME_CHARS,
    PERCENT,
    REQUIRED_MINUTES,
    SUBSIDY_FEN,
    TITLE_CHARS,
    CoursePolicy,
    _bounded,
    _check_policy,
    _course_for_write,
    _draft_for_write,
    _occupation_code,
    _text,
    may_author,
)
from app.errors import Forbidden

# ---------------------------------------------------------------- courses


def create_course(
    session: Session,
    principal: Principal,
    *,
    title: str,
    occupation_code: str,
    occupation_name: str,
    level: Level | str,
    required_minutes: int,
    pass_score: int,
    subsidy_fen: int,
    description: str = "",
    policy: CoursePolicy | None = None,
) -> Course:
    """A draft course of the caller's institution (staff only), with its policy checked."""
    institution_id = principal.institution_id
    if not may_author(principal) or institution_id is None:
        raise Forbidden("Only staff of an institution create courses.")
    policy = policy or CoursePolicy()
    title = _text(title, "title", TITLE_CHARS, InvalidCourse)
    occupation_code = _occupation_code(occupation_code, InvalidCourse)
    occupation_name = _text(
        occupation_name, "occupation_name", OCCUPATION_NAME_CHARS, InvalidCourse
    )
    description = (
        _text(description, "description", DESCRIPTION_CHARS, InvalidCourse)
        if description.strip()
        else ""
    )
    try:
        level = Level(level)
    except ValueError:
        raise InvalidCourse(
            f"level must be one of {', '.join(v.value for v in Level)}.", field="level"
        ) from None
    _bounded(required_minutes, "required_minutes", REQUIRED_MINUTES, InvalidCourse)
    _bounded(pass_score, "pass_score", PERCENT, InvalidCourse)
    _bounded(subsidy_fen, "subsidy_fen", SUBSIDY_FEN, InvalidCourse)
    _check_policy(policy)
    course = Course(
        institution_id=institution_id,
        title=title,
        description=description,
        occupation_code=occupation_code,
        occupation_name=occupation_name,
        level=level,
        required_minutes=required_minutes,
        pass_score=pass_score,
        subsidy_fen=subsidy_fen,
        status=CourseStatus.draft,
        created_at=clock.now(),
        **asdict(policy),
    )
    session.add(course)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="course.created",
        subject=f"course:{course.id}",
        payload={
            "title": course.title,
            "occupation_code": course.occupation_code,
            "occupation_name": course.occupation_name,
            "level": course.level.value,
            "required_minutes": course.required_minutes,
            "pass_score": course.pass_score,
            "subsidy_fen": course.subsidy_fen,
            "policy": {
                k: str(v) if isinstance(v, StrEnum) else v for k, v in asdict(policy).items()
            },
        },
        institution_id=course.institution_id,
    )
    return course


def publish_course(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    """Open a draft for enrolment: it needs a lesson, a full quiz's worth of questions, and
    lessons whose minutes add up to at least the course's required minutes (the course-hour
    norm: finishing every lesson must be enough to meet the course's hours).

    Offline practical minutes (``offline_required_minutes``) are a separate requirement met at
    offline sessions, never by lessons, so they are not part of that sum. Publishing a
    published course changes nothing (partners may retry).
    """
    course = _course_for_write(session, principal, course_id)
    if course.status is CourseStatus.published:
        return course
    lessons = _count(session, Lesson, course.id)
    questions = _count(session, Question, course.id)
    lesson_minutes = lesson_minutes_of(session, course.id)
    missing: list[str] = []
    missing_zh: list[str] = []
    if lessons < 1:
        missing.append("at least one lesson")
        missing_zh.append("至少一个课时")
    if questions < course.quiz_question_count:
        short = course.quiz_question_count - questions
        missing.append(
            f"{short} more quiz questions "
            f"(a quiz draws {course.quiz_question_count}, the bank has {questions})"
        )
        missing_zh.append(
            f"再添加 {short} 道试题"
            f"（每次考试抽 {course.quiz_question_count} 题，题库现有 {questions} 题）"
        )
    hours_short = lessons >= 1 and lesson_minutes < course.required_minutes
    if hours_short:
        short = course.required_minutes - lesson_minutes
        missing.append(
            f"{short} more minutes of lessons (the lessons add up to {lesson_minutes} minutes, "
            f"the course requires {course.required_minutes}): add or lengthen lessons, or "
            "lower the course's required minutes"
        )
        missing_zh.append(
            f"再增加 {short} 分钟课时（各课时合计 {lesson_minutes} 分钟，"
            f"课程要求 {course.required_minutes} 分钟学时）：请添加或延长课时，或降低课程要求学时"
        )
    if missing:
        error = CourseHoursShort if hours_short and len(missing) == 1 else CourseIncomplete
        raise error(
            "The course cannot be published yet: it needs " + " and ".join(missing) + ".",
            missing=missing,
            missing_zh=missing_zh,
            lessons=lessons,
            questions=questions,
            quiz_question_count=course.quiz_question_count,
            required_minutes=course.required_minutes,
            lesson_minutes=lesson_minutes,
            minutes_short=max(0, course.required_minutes - lesson_minutes),
        )
    course.status = CourseStatus.published
    course.published_at = clock.now()
    session.add(course)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="course.published",
        subject=f"course:{course.id}",
        payload={"lessons": lessons, "questions": questions, "lesson_minutes": lesson_minutes},
        institution_id=course.institution_id,
    )
    return course


def lesson_minutes_of(session: Session, course_id: uuid.UUID) -> int:
    """The minutes a course's lessons require, added up."""
    return int(
        session.exec(
            select(func.coalesce(func.sum(Lesson.minutes), 0)).where(
                col(Lesson.course_id) == course_id
            )
        ).one()
    )


def _count(session: Session, table: type[Lesson] | type[Question], course_id: uuid.UUID) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(table).where(col(table.course_id) == course_id)
        ).one()
    )


@dataclass(frozen=True)
class CourseChanges:
    """What to change in a draft course; ``None`` leaves a field as it is. Policy fields carry
    the course's column names (those of :class:`CoursePolicy`)."""

    title: str | None = None
    description: str | None = None
    occupation_code: str | None = None
    occupation_name: str | None = None
    level: Level | str | None = None
    required_minutes: int | None = None
    pass_score: int | None = None
    subsidy_fen: int | None = None
    rollcall_min_interval_s: int | None = None
    rollcall_max_interval_s: int | None = None
    rollcall_response_window_s: int | None = None
    rollcall_min_pass_rate: int | None = None
    daily_cap_minutes: int | None = None
    credit_policy: CreditPolicy | str | None = None
    heartbeat_interval_s: int | None = None
    quiz_question_count: int | None = None
    quiz_time_limit_s: int | None = None
    quiz_max_attempts: int | None = None
    quiz_opens: QuizOpens | str | None = None
    require_each_lesson: bool | None = None
    offline_required_minutes: int | None = None


def _audit_value(value: object) -> object:
    return str(value) if isinstance(value, StrEnum) else value


def update_course(
    session: Session, principal: Principal, course_id: uuid.UUID, changes: CourseChanges
) -> Course:
    """Change a draft course's fields (staff of the owning institution), checked as at creation.

    Audited as ``course.updated`` with each changed field's old and new value (the description
    by its hash). Nothing to change writes nothing.
    """
    course = _draft_for_write(session, principal, course_id)
    new: dict[str, object] = {}
    if changes.title is not None:
        new["title"] = _text(changes.title, "title", TITLE_CHARS, InvalidCourse)
    if changes.description is not None:
        new["description"] = (
            _text(changes.description, "description", DESCRIPTION_CHARS, InvalidCourse)
            if changes.description.strip()
            else ""
        )
    if changes.occupation_code is not None:
        new["occupation_code"] = _occupation_code(changes.occupation_code, InvalidCourse)
    if changes.occupation_name is not None:
        new["occupation_name"] = _text(
            changes.occupation_name, "occupation_name", OCCUPATION_NAME_CHARS, InvalidCourse
        )
    if changes.level is not None:
        try:
            new["level"] = Level(changes.level)
        except ValueError:
            raise InvalidCourse(
                f"level must be one of {', '.join(v.value for v in Level)}.", field="level"
            ) from None
    for name, bounds in (
        ("required_minutes", REQUIRED_MINUTES),
        ("pass_score", PERCENT),
        ("subsidy_fen", SUBSIDY_FEN),
    ):
        value = getattr(changes, name)
        if value is not None:
            _bounded(value, name, bounds, InvalidCourse)
            new[name] = value
    if changes.credit_policy is not None:
        try:
            new["credit_policy"] = CreditPolicy(changes.credit_policy)
        except ValueError:
            raise InvalidCourse(
                "credit_policy must be strict or lenient.", field="credit_policy"
            ) from None
    if changes.quiz_opens is not None:
        try:
            new["quiz_opens"] = QuizOpens(changes.quiz_opens)
        except ValueError:
            raise InvalidCourse(
                "quiz opens must be after_hours or any_time.", field="opens"
            ) from None
    policy_fields = [f for f in asdict(CoursePolicy()) if f not in ("credit_policy", "quiz_opens")]
    for name in policy_fields:
        value = getattr(changes, name)
        if value is not None:
            new[name] = value
    # The policy is checked whole: a new minimum must not pass the kept maximum.
    _check_policy(
        CoursePolicy(
            **{
                name: new.get(name, getattr(course, name))  # type: ignore[arg-type]
                for name in asdict(CoursePolicy())
            }
        )
    )
    changed = {k: v for k, v in new.items() if getattr(course, k) != v}
    if not changed:
        return course
    payload: dict[str, object] = {}
    for name, value in changed.items():
        old = getattr(course, name)
        if name == "description":
            payload[name] = {
                "old_sha256": hashlib.sha256(str(old).encode()).hexdigest(),
                "new_sha256": hashlib.sha256(str(value).encode()).hexdigest(),
            }
        else:
            payload[name] = [_audit_value(old), _audit_value(value)]
        setattr(course, name, value)
    session.add(course)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="course.updated",
        subject=f"course:{course.id}",
        payload={"changed": payload},
        institution_id=course.institution_id,
    )
    return course

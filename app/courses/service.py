"""Course rules: courses and their policies, lessons, question banks, publishing, the catalogue,
enrolment, and who may see an enrolment.

Functions take the request's session, ``flush()`` and never commit; each write appends its
audit entry in the same transaction. Only staff of the owning institution write a course; a
draft is visible to that institution (staff, its API keys) and to regulators, a published
course to anyone signed in. Lessons and questions may still be added to a published course:
a quiz attempt already started keeps the paper it was given (see ``app/courses/quiz.py``).
Changing a course's fields, and editing, moving or removing its lessons and questions, is for
drafts only (409 ``course_published`` afterwards): learners were credited and examined on them.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.exceptions import InvalidInput
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.chain import canonical
from app.courses.exceptions import (
    AlreadyEnrolled,
    CourseIncomplete,
    CourseNotFound,
    CoursePublished,
    EnrollmentNotFound,
    InvalidCourse,
    InvalidLesson,
    InvalidQuestion,
    LessonNotFound,
    QuestionNotFound,
)
from app.courses.models import (
    Course,
    CourseStatus,
    CreditPolicy,
    Enrollment,
    Lesson,
    LessonKind,
    Level,
    Question,
    QuestionKind,
)
from app.errors import Forbidden, ValidationFailed

# ---------------------------------------------------------------- limits
# The request schemas (app/courses/schemas.py) declare the same bounds, so partners see them in
# OpenAPI; the service checks them again for callers that do not come through HTTP. Upper bounds
# keep every number inside a 32-bit column and every text inside its column.

REQUIRED_MINUTES = (1, 100_000)
PERCENT = (0, 100)
SUBSIDY_FEN = (0, 100_000_000)  # 1,000,000 yuan; the largest standards are a few thousand
#: Short roll-call intervals (seconds) are allowed so demos and tests need not wait.
ROLLCALL_INTERVAL_S = (5, 86_400)
RESPONSE_WINDOW_S = (10, 3_600)
DAILY_CAP_MINUTES = (1, 1_440)
HEARTBEAT_INTERVAL_S = (5, 600)
QUIZ_QUESTION_COUNT = (1, 200)
QUIZ_TIME_LIMIT_S = (30, 86_400)
QUIZ_MAX_ATTEMPTS = (1, 100)
LESSON_MINUTES = (1, 10_000)
OPTIONS = (2, 10)
OPTION_CHARS = 500
STEM_CHARS = 4_000
LESSON_BODY_CHARS = 100_000
TITLE_CHARS = 200
OCCUPATION_CODE_CHARS = 32
OCCUPATION_NAME_CHARS = 100
DESCRIPTION_CHARS = 10_000
JUDGE_OPTIONS = ("正确", "错误")


@dataclass(frozen=True)
class CoursePolicy:
    """Roll-call, credit and quiz policy of a course; field names are the course's columns."""

    rollcall_min_interval_s: int = 600
    rollcall_max_interval_s: int = 1800
    rollcall_response_window_s: int = 90
    rollcall_min_pass_rate: int = 80
    daily_cap_minutes: int = 480
    credit_policy: CreditPolicy = CreditPolicy.strict
    heartbeat_interval_s: int = 30
    quiz_question_count: int = 10
    quiz_time_limit_s: int = 1800
    quiz_max_attempts: int = 3


def _text(value: str, field: str, max_chars: int, error: type[ValidationFailed]) -> str:
    """Trimmed, non-empty text a database column (and the audit's canonical JSON) can hold."""
    value = value.strip()
    if not value:
        raise error(f"{field} must not be empty.", field=field)
    if len(value) > max_chars:
        raise error(f"{field} is longer than {max_chars} characters.", field=field)
    if "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise error(f"{field} contains characters that cannot be stored.", field=field)
    return value


def _bounded(
    value: int, field: str, bounds: tuple[int, int], error: type[ValidationFailed]
) -> None:
    low, high = bounds
    if isinstance(value, bool) or not low <= value <= high:
        raise error(f"{field} must be between {low} and {high}.", field=field)


def _check_policy(policy: CoursePolicy) -> None:
    _bounded(policy.rollcall_min_interval_s, "min_interval_s", ROLLCALL_INTERVAL_S, InvalidCourse)
    _bounded(policy.rollcall_max_interval_s, "max_interval_s", ROLLCALL_INTERVAL_S, InvalidCourse)
    if policy.rollcall_min_interval_s > policy.rollcall_max_interval_s:
        raise InvalidCourse(
            "The roll-call min_interval_s must not exceed max_interval_s.", field="min_interval_s"
        )
    _bounded(
        policy.rollcall_response_window_s, "response_window_s", RESPONSE_WINDOW_S, InvalidCourse
    )
    _bounded(policy.rollcall_min_pass_rate, "min_pass_rate", PERCENT, InvalidCourse)
    _bounded(policy.daily_cap_minutes, "daily_cap_minutes", DAILY_CAP_MINUTES, InvalidCourse)
    _bounded(
        policy.heartbeat_interval_s, "heartbeat_interval_s", HEARTBEAT_INTERVAL_S, InvalidCourse
    )
    if not isinstance(policy.credit_policy, CreditPolicy):
        raise InvalidCourse("credit_policy must be strict or lenient.", field="credit_policy")
    _bounded(policy.quiz_question_count, "question_count", QUIZ_QUESTION_COUNT, InvalidCourse)
    _bounded(policy.quiz_time_limit_s, "time_limit_s", QUIZ_TIME_LIMIT_S, InvalidCourse)
    _bounded(policy.quiz_max_attempts, "max_attempts", QUIZ_MAX_ATTEMPTS, InvalidCourse)


# ---------------------------------------------------------------- permissions


def can_read_course(principal: Principal, course: Course) -> bool:
    """Published: anyone signed in. Draft: staff and API keys of the owner, regulators."""
    if course.status is CourseStatus.published:
        return True
    if principal.role is Role.learner:
        return False
    return principal.can_see_institution(course.institution_id)


def _owner_staff(principal: Principal, course: Course) -> None:
    if (
        principal.user is None
        or principal.role is not Role.staff
        or principal.institution_id != course.institution_id
    ):
        raise Forbidden("Only staff of the institution that owns the course can change it.")


def get_course(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    """A course the caller may read; anything else is reported as not found."""
    course = session.get(Course, course_id)
    if course is None or not can_read_course(principal, course):
        raise CourseNotFound()
    return course


def _course_for_write(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    # The row lock serialises writes to one course (lesson positions, publish vs. new questions).
    course = session.get(Course, course_id, with_for_update=True)
    if course is None or not can_read_course(principal, course):
        raise CourseNotFound()
    _owner_staff(principal, course)
    return course


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
    if principal.user is None or principal.role is not Role.staff or not principal.institution_id:
        raise Forbidden("Only staff of an institution create courses.")
    policy = policy or CoursePolicy()
    title = _text(title, "title", TITLE_CHARS, InvalidCourse)
    occupation_code = _text(
        occupation_code, "occupation_code", OCCUPATION_CODE_CHARS, InvalidCourse
    )
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
        institution_id=principal.institution_id,
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
                k: str(v) if isinstance(v, CreditPolicy) else v for k, v in asdict(policy).items()
            },
        },
        institution_id=course.institution_id,
    )
    return course


def publish_course(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    """Open a draft for enrolment: it needs a lesson and a full quiz's worth of questions.

    Publishing a published course changes nothing (partners may retry).
    """
    course = _course_for_write(session, principal, course_id)
    if course.status is CourseStatus.published:
        return course
    lessons = _count(session, Lesson, course.id)
    questions = _count(session, Question, course.id)
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
    if missing:
        raise CourseIncomplete(
            "The course cannot be published yet: it needs " + " and ".join(missing) + ".",
            missing=missing,
            missing_zh=missing_zh,
            lessons=lessons,
            questions=questions,
            quiz_question_count=course.quiz_question_count,
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
        payload={"lessons": lessons, "questions": questions},
        institution_id=course.institution_id,
    )
    return course


def _count(session: Session, table: type[Lesson] | type[Question], course_id: uuid.UUID) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(table).where(col(table.course_id) == course_id)
        ).one()
    )


def _encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        after_ts, after_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        after = datetime.fromisoformat(after_ts)
        if after.tzinfo is None:
            raise ValueError("naive")
        return after, uuid.UUID(after_id)
    except (ValueError, UnicodeError):
        raise InvalidInput("invalid cursor") from None


def list_catalogue(
    session: Session,
    *,
    occupation_code: str | None = None,
    level: Level | None = None,
    institution_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Course], str | None]:
    """Published courses, oldest first, filtered, cursor-paginated (like learners)."""
    stmt = select(Course).where(col(Course.status) == CourseStatus.published)
    if occupation_code:
        code = _text(occupation_code, "occupation_code", OCCUPATION_CODE_CHARS, InvalidInput)
        stmt = stmt.where(col(Course.occupation_code) == code)
    if level is not None:
        stmt = stmt.where(col(Course.level) == level)
    if institution_id is not None:
        stmt = stmt.where(col(Course.institution_id) == institution_id)
    if cursor:
        after_ts, after_id = _decode_cursor(cursor)
        stmt = stmt.where(
            (col(Course.created_at) > after_ts)
            | ((col(Course.created_at) == after_ts) & (col(Course.id) > after_id))
        )
    stmt = stmt.order_by(col(Course.created_at), col(Course.id)).limit(limit + 1)
    rows = list(session.exec(stmt))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1].created_at, rows[-1].id)
    return rows, next_cursor


# ---------------------------------------------------------------- lessons


def _check_video_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidLesson("A video lesson needs an http(s) URL.", field="body_or_url")
    if any(c.isspace() for c in url):
        raise InvalidLesson("The video URL must not contain spaces.", field="body_or_url")


def add_lesson(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    *,
    title: str,
    kind: LessonKind | str,
    body_or_url: str,
    minutes: int,
) -> Lesson:
    """Append a lesson (text, or an http(s) video URL); allowed on published courses too."""
    course = _course_for_write(session, principal, course_id)
    title = _text(title, "title", TITLE_CHARS, InvalidLesson)
    try:
        kind = LessonKind(kind)
    except ValueError:
        raise InvalidLesson("kind must be video or text.", field="kind") from None
    body_or_url = _text(body_or_url, "body_or_url", LESSON_BODY_CHARS, InvalidLesson)
    if kind is LessonKind.video:
        _check_video_url(body_or_url)
    _bounded(minutes, "minutes", LESSON_MINUTES, InvalidLesson)
    last = session.exec(
        select(func.max(col(Lesson.position))).where(col(Lesson.course_id) == course.id)
    ).one()
    lesson = Lesson(
        course_id=course.id,
        position=(last or 0) + 1,
        title=title,
        kind=kind,
        body_or_url=body_or_url,
        minutes=minutes,
        created_at=clock.now(),
    )
    session.add(lesson)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.added",
        subject=f"lesson:{lesson.id}",
        payload={
            "course": str(course.id),
            "position": lesson.position,
            "title": lesson.title,
            "kind": kind.value,
            "minutes": minutes,
            "content_sha256": hashlib.sha256(body_or_url.encode()).hexdigest(),
            "course_published": course.status is CourseStatus.published,
        },
        institution_id=course.institution_id,
    )
    return lesson


def list_lessons(session: Session, principal: Principal, course_id: uuid.UUID) -> list[Lesson]:
    """The lessons of a course the caller may read, in order."""
    course = get_course(session, principal, course_id)
    return list(
        session.exec(
            select(Lesson)
            .where(col(Lesson.course_id) == course.id)
            .order_by(col(Lesson.position), col(Lesson.created_at))
        )
    )


# ---------------------------------------------------------------- questions


def _check_question(
    kind: QuestionKind, options: Sequence[str] | None, answer: Sequence[int]
) -> tuple[list[str], list[int]]:
    """Options and answer indexes as stored: judge questions default to 正确/错误."""
    if kind is QuestionKind.judge and not options:
        options = list(JUDGE_OPTIONS)
    opts = [_text(o, "options", OPTION_CHARS, InvalidQuestion) for o in options or []]
    low, high = OPTIONS
    if kind is QuestionKind.judge and len(opts) != 2:
        raise InvalidQuestion("A judge question has exactly two options.", field="options")
    if not low <= len(opts) <= high:
        raise InvalidQuestion(f"A question has {low} to {high} options.", field="options")
    if len(set(opts)) != len(opts):
        raise InvalidQuestion("Two options have the same text.", field="options")
    if any(isinstance(i, bool) or not 0 <= i < len(opts) for i in answer):
        raise InvalidQuestion(
            f"Answers are option indexes from 0 to {len(opts) - 1}.", field="answer"
        )
    if len(set(answer)) != len(answer):
        raise InvalidQuestion("An option is named twice in the answer.", field="answer")
    if kind is QuestionKind.multiple:
        if not answer:
            raise InvalidQuestion("A multiple-choice question needs at least one answer.")
    elif len(answer) != 1:
        raise InvalidQuestion(f"A {kind.value} question has exactly one answer.", field="answer")
    return opts, sorted(answer)


def add_question(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    *,
    kind: QuestionKind | str,
    stem: str,
    options: Sequence[str] | None,
    answer: Sequence[int],
) -> Question:
    """Add a question to the bank; answers are option indexes. Allowed on published courses:
    attempts already started keep their own copy of the questions they drew."""
    course = _course_for_write(session, principal, course_id)
    try:
        kind = QuestionKind(kind)
    except ValueError:
        raise InvalidQuestion("kind must be single, multiple or judge.", field="kind") from None
    stem = _text(stem, "stem", STEM_CHARS, InvalidQuestion)
    opts, ans = _check_question(kind, options, answer)
    question = Question(
        course_id=course.id,
        kind=kind,
        stem=stem,
        options=opts,
        answer=ans,
        created_at=clock.now(),
    )
    session.add(question)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="question.added",
        subject=f"question:{question.id}",
        # The answer itself stays out of the trail (partners with audit:read export it); its
        # hash still proves later what the question and its key were.
        payload={
            "course": str(course.id),
            "kind": kind.value,
            "options": len(opts),
            "content_sha256": hashlib.sha256(
                canonical({"stem": stem, "options": opts, "answer": ans})
            ).hexdigest(),
            "course_published": course.status is CourseStatus.published,
        },
        institution_id=course.institution_id,
    )
    return question


def list_questions(session: Session, principal: Principal, course_id: uuid.UUID) -> list[Question]:
    """The question bank with answers: staff of the owning institution only."""
    course = get_course(session, principal, course_id)
    _owner_staff(principal, course)
    return list(
        session.exec(
            select(Question)
            .where(col(Question.course_id) == course.id)
            .order_by(col(Question.created_at), col(Question.id))
        )
    )


# ---------------------------------------------------------------- enrolment


def enrol(session: Session, principal: Principal, course_id: uuid.UUID) -> Enrollment:
    """Enrol the signed-in learner in a published course.

    A second enrolment is refused with 409 ``already_enrolled`` naming the existing one, so a
    partner can retry safely.
    """
    user = principal.user
    if user is None or user.role is not Role.learner:
        raise Forbidden("Only learners enrol in courses.")
    course = get_course(session, principal, course_id)  # learners never see drafts
    existing = _enrollment_of(session, course.id, user.id)
    if existing is not None:
        raise AlreadyEnrolled(enrollment_id=str(existing.id))
    enrollment = Enrollment(
        course_id=course.id,
        user_id=user.id,
        institution_id=course.institution_id,
        created_at=clock.now(),
    )
    session.add(enrollment)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # A concurrent request enrolled the same learner between our check and our insert.
        existing = _enrollment_of(session, course.id, user.id)
        raise AlreadyEnrolled(enrollment_id=str(existing.id) if existing else None) from None
    audit.append(
        session,
        actor=principal.actor,
        action="enrollment.created",
        subject=f"enrollment:{enrollment.id}",
        payload={
            "course": str(course.id),
            "user": str(user.id),
            "occupation_code": course.occupation_code,
            "level": course.level.value,
        },
        institution_id=course.institution_id,
    )
    return enrollment


def _enrollment_of(session: Session, course_id: uuid.UUID, user_id: uuid.UUID) -> Enrollment | None:
    return session.exec(
        select(Enrollment).where(
            col(Enrollment.course_id) == course_id, col(Enrollment.user_id) == user_id
        )
    ).first()


def list_my_enrollments(session: Session, principal: Principal) -> list[tuple[Enrollment, Course]]:
    """The signed-in learner's enrolments with their courses, newest first (one query)."""
    if principal.user is None:
        raise Forbidden()
    rows = session.exec(
        select(Enrollment, Course)
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(col(Enrollment.user_id) == principal.user.id)
        .order_by(col(Enrollment.created_at).desc(), col(Enrollment.id))
    ).all()
    return [(e, c) for e, c in rows]


def can_see_enrollment(principal: Principal, enrollment: Enrollment) -> bool:
    """The learner themself, staff of the enrolment's institution, regulators, and API keys of
    that institution with the ``courses:read`` scope."""
    if principal.user is not None and principal.user.id == enrollment.user_id:
        return True
    if principal.role is Role.learner:
        return False
    if principal.api_key is not None and "courses:read" not in principal.scopes:
        return False
    return principal.can_see_institution(enrollment.institution_id)


def get_enrollment_for(
    session: Session,
    principal: Principal,
    enrollment_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Enrollment:
    """An enrolment the caller may see (:func:`can_see_enrollment`); else 404.

    ``for_update`` locks the row (``SELECT … FOR UPDATE``; SQLite already holds the write lock)
    and reloads it, for callers that change credit, quiz results or completion.
    """
    enrollment = session.get(
        Enrollment, enrollment_id, with_for_update=for_update, populate_existing=for_update
    )
    if enrollment is None or not can_see_enrollment(principal, enrollment):
        raise EnrollmentNotFound()
    return enrollment


def course_of(session: Session, enrollment: Enrollment) -> Course:
    course = session.get(Course, enrollment.course_id)
    if course is None:  # pragma: no cover - a foreign key guarantees it
        raise CourseNotFound()
    return course


# ---------------------------------------------------------------- editing drafts
# A published course is frozen: its settings, lessons and questions are what learners were
# credited and examined on. Editing, reordering and removing are for drafts only (adding to a
# published course stays allowed through add_lesson / add_question, as the API always did).


def _draft_for_write(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    course = _course_for_write(session, principal, course_id)
    if course.status is CourseStatus.published:
        raise CoursePublished()
    return course


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
        new["occupation_code"] = _text(
            changes.occupation_code, "occupation_code", OCCUPATION_CODE_CHARS, InvalidCourse
        )
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
    policy_fields = [f for f in asdict(CoursePolicy()) if f != "credit_policy"]
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


def _lesson_of(session: Session, course: Course, lesson_id: uuid.UUID) -> Lesson:
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or lesson.course_id != course.id:
        raise LessonNotFound()
    return lesson


def _ordered_lessons(session: Session, course_id: uuid.UUID) -> list[Lesson]:
    return list(
        session.exec(
            select(Lesson)
            .where(col(Lesson.course_id) == course_id)
            .order_by(col(Lesson.position), col(Lesson.created_at), col(Lesson.id))
        )
    )


def _renumber(session: Session, lessons: Sequence[Lesson]) -> None:
    for n, lesson in enumerate(lessons, start=1):
        if lesson.position != n:
            lesson.position = n
            session.add(lesson)


def update_lesson(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    *,
    title: str | None = None,
    kind: LessonKind | str | None = None,
    body_or_url: str | None = None,
    minutes: int | None = None,
) -> Lesson:
    """Change a lesson of a draft course; the result is checked as a new lesson would be."""
    course = _draft_for_write(session, principal, course_id)
    lesson = _lesson_of(session, course, lesson_id)
    new_title = lesson.title if title is None else _text(title, "title", TITLE_CHARS, InvalidLesson)
    try:
        new_kind = lesson.kind if kind is None else LessonKind(kind)
    except ValueError:
        raise InvalidLesson("kind must be video or text.", field="kind") from None
    new_body = (
        lesson.body_or_url
        if body_or_url is None
        else _text(body_or_url, "body_or_url", LESSON_BODY_CHARS, InvalidLesson)
    )
    if new_kind is LessonKind.video:
        _check_video_url(new_body)
    new_minutes = lesson.minutes if minutes is None else minutes
    _bounded(new_minutes, "minutes", LESSON_MINUTES, InvalidLesson)
    changed = [
        name
        for name, value in (
            ("title", new_title),
            ("kind", new_kind),
            ("body_or_url", new_body),
            ("minutes", new_minutes),
        )
        if getattr(lesson, name) != value
    ]
    if not changed:
        return lesson
    lesson.title, lesson.kind, lesson.body_or_url, lesson.minutes = (
        new_title,
        new_kind,
        new_body,
        new_minutes,
    )
    session.add(lesson)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.updated",
        subject=f"lesson:{lesson.id}",
        payload={
            "course": str(course.id),
            "changed": changed,
            "position": lesson.position,
            "title": lesson.title,
            "kind": lesson.kind.value,
            "minutes": lesson.minutes,
            "content_sha256": hashlib.sha256(lesson.body_or_url.encode()).hexdigest(),
        },
        institution_id=course.institution_id,
    )
    return lesson


def move_lesson(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    *,
    position: int,
) -> Lesson:
    """Move a lesson of a draft course to ``position`` (1 = first); the others close up."""
    course = _draft_for_write(session, principal, course_id)
    lesson = _lesson_of(session, course, lesson_id)
    lessons = _ordered_lessons(session, course.id)
    _bounded(position, "position", (1, len(lessons)), InvalidLesson)
    old = lessons.index(lesson) + 1
    if old == position:
        return lesson
    lessons.remove(lesson)
    lessons.insert(position - 1, lesson)
    _renumber(session, lessons)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.moved",
        subject=f"lesson:{lesson.id}",
        payload={"course": str(course.id), "from": old, "to": position},
        institution_id=course.institution_id,
    )
    return lesson


def remove_lesson(
    session: Session, principal: Principal, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> None:
    """Remove a lesson of a draft course; the lessons after it move up."""
    course = _draft_for_write(session, principal, course_id)
    lesson = _lesson_of(session, course, lesson_id)
    payload = {
        "course": str(course.id),
        "position": lesson.position,
        "title": lesson.title,
        "kind": lesson.kind.value,
        "content_sha256": hashlib.sha256(lesson.body_or_url.encode()).hexdigest(),
    }
    session.delete(lesson)
    session.flush()
    _renumber(session, _ordered_lessons(session, course.id))
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.removed",
        subject=f"lesson:{lesson_id}",
        payload=payload,
        institution_id=course.institution_id,
    )


def _question_of(session: Session, course: Course, question_id: uuid.UUID) -> Question:
    question = session.get(Question, question_id)
    if question is None or question.course_id != course.id:
        raise QuestionNotFound()
    return question


def _question_hash(q: Question) -> str:
    return hashlib.sha256(
        canonical({"stem": q.stem, "options": q.options, "answer": q.answer})
    ).hexdigest()


def update_question(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    question_id: uuid.UUID,
    *,
    kind: QuestionKind | str | None = None,
    stem: str | None = None,
    options: Sequence[str] | None = None,
    answer: Sequence[int] | None = None,
) -> Question:
    """Change a question of a draft course's bank; the result is checked whole (kind, options
    and answer together). Audited by content hash: the answer stays out of the trail."""
    course = _draft_for_write(session, principal, course_id)
    question = _question_of(session, course, question_id)
    try:
        new_kind = question.kind if kind is None else QuestionKind(kind)
    except ValueError:
        raise InvalidQuestion("kind must be single, multiple or judge.", field="kind") from None
    new_stem = question.stem if stem is None else _text(stem, "stem", STEM_CHARS, InvalidQuestion)
    opts, ans = _check_question(
        new_kind,
        question.options if options is None else options,
        question.answer if answer is None else answer,
    )
    if (new_kind, new_stem, opts, ans) == (
        question.kind,
        question.stem,
        question.options,
        question.answer,
    ):
        return question
    before = _question_hash(question)
    question.kind, question.stem, question.options, question.answer = (
        new_kind,
        new_stem,
        opts,
        ans,
    )
    session.add(question)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="question.updated",
        subject=f"question:{question.id}",
        payload={
            "course": str(course.id),
            "kind": new_kind.value,
            "options": len(opts),
            "old_content_sha256": before,
            "content_sha256": _question_hash(question),
        },
        institution_id=course.institution_id,
    )
    return question


def remove_question(
    session: Session, principal: Principal, course_id: uuid.UUID, question_id: uuid.UUID
) -> None:
    """Remove a question from a draft course's bank."""
    course = _draft_for_write(session, principal, course_id)
    question = _question_of(session, course, question_id)
    payload = {
        "course": str(course.id),
        "kind": question.kind.value,
        "content_sha256": _question_hash(question),
    }
    session.delete(question)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="question.removed",
        subject=f"question:{question_id}",
        payload=payload,
        institution_id=course.institution_id,
    )


# ---------------------------------------------------------------- staff views


@dataclass(frozen=True)
class CourseSummary:
    """A course of the institution with what it holds and who studies it."""

    course: Course
    lessons: int
    questions: int
    enrollments: int
    completed: int


def list_institution_courses(
    session: Session, principal: Principal, *, limit: int = 500
) -> list[CourseSummary]:
    """The staff member's institution's courses, drafts and published, newest first, with
    counts (one grouped query per count, not one per course)."""
    if principal.user is None or principal.role is not Role.staff or not principal.institution_id:
        raise Forbidden("Only staff of an institution list its courses.")
    rows = list(
        session.exec(
            select(Course)
            .where(col(Course.institution_id) == principal.institution_id)
            .order_by(col(Course.created_at).desc(), col(Course.id))
            .limit(limit)
        )
    )
    ids = [c.id for c in rows]

    def grouped(
        table: type[Lesson] | type[Question] | type[Enrollment], *where: Any
    ) -> dict[uuid.UUID, int]:
        stmt = (
            select(col(table.course_id), func.count())
            .where(col(table.course_id).in_(ids), *where)
            .group_by(col(table.course_id))
        )
        return {cid: int(n) for cid, n in session.exec(stmt)}

    lessons = grouped(Lesson)
    questions = grouped(Question)
    enrollments = grouped(Enrollment)
    completed = grouped(Enrollment, col(Enrollment.completed_at).is_not(None))
    return [
        CourseSummary(
            course=c,
            lessons=lessons.get(c.id, 0),
            questions=questions.get(c.id, 0),
            enrollments=enrollments.get(c.id, 0),
            completed=completed.get(c.id, 0),
        )
        for c in rows
    ]


def list_course_enrollments(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[tuple[Enrollment, User]], str | None]:
    """A course's enrolments with their learners, oldest first, cursor-paginated: staff of
    the owning institution and regulators (anyone else: not found)."""
    course = get_course(session, principal, course_id)
    if (
        principal.user is None
        or principal.role is Role.learner
        or not principal.can_see_institution(course.institution_id)
    ):
        raise CourseNotFound()
    stmt = (
        select(Enrollment, User)
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(col(Enrollment.course_id) == course.id)
    )
    if cursor:
        after_ts, after_id = _decode_cursor(cursor)
        stmt = stmt.where(
            (col(Enrollment.created_at) > after_ts)
            | ((col(Enrollment.created_at) == after_ts) & (col(Enrollment.id) > after_id))
        )
    stmt = stmt.order_by(col(Enrollment.created_at), col(Enrollment.id)).limit(limit + 1)
    rows = [(e, u) for e, u in session.exec(stmt).all()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = _encode_cursor(last.created_at, last.id)
    return rows, next_cursor


def get_own_course(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    """A course of the caller's own institution, for its staff; anything else: not found
    (a published course of another institution is readable, but not theirs to manage)."""
    course = session.get(Course, course_id)
    if (
        course is None
        or principal.user is None
        or principal.role is not Role.staff
        or principal.institution_id != course.institution_id
    ):
        raise CourseNotFound()
    return course

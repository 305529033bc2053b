"""Course policy and limits, and who may read or write a course.

The bounds every course, lesson and question is checked against (the request schemas in
``app/courses/schemas/`` declare the same ones for OpenAPI), the text and number validators,
the roll-call/credit/quiz :class:`CoursePolicy`, and the permission helpers the authoring,
catalogue and enrolment modules share: a draft is visible to its institution (staff, its API
keys) and to regulators, a published course to anyone signed in; only staff of the owning
institution write a course, and a published course is frozen (409 ``course_published``).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.accounts.exceptions import InvalidInput
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.courses.exceptions import (
    CourseNotFound,
    CoursePublished,
    InvalidCourse,
)
from app.courses.models import (
    Course,
    CourseStatus,
    CreditPolicy,
    QuizOpens,
)
from app.errors import Forbidden, ValidationFailed
from app.validation import OCCUPATION_CODE_RE, check_text, normalise_identifier

# ---------------------------------------------------------------- limits
# The request schemas (app/courses/schemas/) declare the same bounds, so partners see them in
# OpenAPI; the service checks them again for callers that do not come through HTTP. Upper bounds
# keep every number inside a 32-bit column and every text inside its column.

REQUIRED_MINUTES = (1, 100_000)
OFFLINE_REQUIRED_MINUTES = (0, 100_000)
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
    #: When the quiz opens: after the required verified minutes (the default), or at any time.
    quiz_opens: QuizOpens = QuizOpens.after_hours
    #: Completion also needs every lesson finished (its required minutes watched or read).
    require_each_lesson: bool = False
    #: Blended training: offline practical minutes completion needs (0: none).
    offline_required_minutes: int = 0


def _text(value: str, field: str, max_chars: int, error: type[ValidationFailed]) -> str:
    """Trimmed, non-empty text a database column (and the audit's canonical JSON) can hold."""
    value = value.strip()
    if not value:
        raise error(f"{field} must not be empty.", field=field)
    if len(value) > max_chars:
        raise error(f"{field} is longer than {max_chars} characters.", field=field)
    # No control or format characters (NUL, bidi overrides, zero-width…): 422 invalid_text.
    return check_text(value, field=field, multiline=field in _MULTILINE_FIELDS)


_MULTILINE_FIELDS = frozenset({"description", "body_or_url", "stem"})


def _occupation_code(value: str, error: type[ValidationFailed]) -> str:
    """One spelling per occupation (full-width digits fold, spaces go): the subsidy rule
    compares codes, so ``４-03-02-01`` must not be a second occupation."""
    code = normalise_identifier(value)
    if not OCCUPATION_CODE_RE.fullmatch(code):
        raise error(
            "occupation_code must be the classification's code, e.g. 4-03-02-01.",
            field="occupation_code",
        )
    return code


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
    _bounded(
        policy.offline_required_minutes,
        "offline_required_minutes",
        OFFLINE_REQUIRED_MINUTES,
        InvalidCourse,
    )
    if not isinstance(policy.quiz_opens, QuizOpens):
        raise InvalidCourse("quiz opens must be after_hours or any_time.", field="opens")


# ---------------------------------------------------------------- permissions


def can_read_course(principal: Principal, course: Course) -> bool:
    """Published: anyone signed in. Draft: staff and API keys of the owner, regulators."""
    if course.status is CourseStatus.published:
        return True
    if principal.role is Role.learner:
        return False
    return principal.can_see_institution(course.institution_id)


def may_author(principal: Principal) -> bool:
    """Signed-in staff of an institution write its courses; admins, regulators, learners and
    API keys do not (the API and the staff pages both ask this)."""
    return (
        principal.user is not None
        and principal.role is Role.staff
        and principal.institution_id is not None
    )


def _author(principal: Principal) -> None:
    """Refuse anyone who may not author at all before looking the course up (403, not 404)."""
    if not may_author(principal):
        raise Forbidden("Only staff of the institution that owns the course can change it.")


def _owner_staff(principal: Principal, course: Course) -> None:
    if not may_author(principal) or principal.institution_id != course.institution_id:
        raise Forbidden("Only staff of the institution that owns the course can change it.")


def get_course(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    """A course the caller may read; anything else is reported as not found."""
    course = session.get(Course, course_id)
    if course is None or not can_read_course(principal, course):
        raise CourseNotFound()
    return course


def _course_for_write(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    _author(principal)
    # The row lock serialises writes to one course (lesson positions, publish vs. new questions).
    course = session.get(Course, course_id, with_for_update=True)
    if course is None or not can_read_course(principal, course):
        raise CourseNotFound()
    _owner_staff(principal, course)
    return course


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


# ---------------------------------------------------------------- editing drafts
# A published course is frozen: its settings, lessons and questions are what learners were
# credited and examined on. Adding, editing, reordering and removing are for drafts only.


def _draft_for_write(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    course = _course_for_write(session, principal, course_id)
    if course.status is CourseStatus.published:
        raise CoursePublished()
    return course

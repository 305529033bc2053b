"""Reading courses: the public catalogue, the staff's views of their institution's courses and
the learners lists of staff and regulators (``search_enrollments``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app import paging
from app.accounts.exceptions import InstitutionNotFound, InvalidInput
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.repository import visible_to
from app.clock import SHANGHAI
from app.courses.exceptions import (
    CourseNotFound,
)
from app.courses.models import (
    Course,
    CourseStatus,
    Enrollment,
    Lesson,
    Level,
    Question,
)
from app.courses.policy import (
    _decode_cursor,
    _encode_cursor,
    _occupation_code,
    get_course,
    may_author,
)
from app.errors import DomainError, Forbidden
from app.paging import Page
from app.programmes import standards

#: An enrolment's state on the staff's lists: still studying, or every condition met.
EnrolmentState = Literal["in_progress", "complete"]


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
        code = _occupation_code(occupation_code, InvalidInput)
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
    if not may_author(principal):
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


def _shanghai_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def search_enrollments(
    session: Session,
    principal: Principal,
    *,
    institution_id: uuid.UUID | None = None,
    course_id: uuid.UUID | None = None,
    q: str = "",
    state: EnrolmentState | None = None,
    enrolled_from: date | None = None,
    enrolled_to: date | None = None,
    page: int = 1,
    per_page: int = paging.PER_PAGE,
) -> Page[tuple[Enrollment, User, Course]]:
    """The enrolments the caller supervises, in enrolment order, with learners and courses:
    staff their own institution's, a regulator (or admin) those of the institutions in their
    jurisdiction (``visible_to``, the one rule). Filtered to one institution and one course
    (outside what the caller sees: not found), the learner's real name, username or phone
    matching ``q``, a state, enrolled between two Asia/Shanghai days (inclusive). Offset paging
    with the total."""
    staff = may_author(principal) and principal.institution_id is not None
    if not staff and not (principal.is_regulator and principal.user is not None):
        raise Forbidden("Only staff of an institution and regulators list learners.")
    page, per_page = paging.bounds(page, per_page)
    where: list[Any] = [visible_to(principal, Enrollment.institution_id)]
    if institution_id is not None:
        if not principal.can_see_institution(institution_id):
            raise InstitutionNotFound()
        where.append(col(Enrollment.institution_id) == institution_id)
    if course_id is not None:
        if staff:
            get_own_course(session, principal, course_id)
        else:
            supervised_course(session, principal, course_id)
        where.append(col(Enrollment.course_id) == course_id)
    q = q.strip()
    if q:
        pattern = paging.like(q)
        where.append(
            or_(
                col(User.real_name).ilike(pattern, escape="\\"),
                col(User.username).ilike(pattern, escape="\\"),
                col(User.phone).ilike(pattern, escape="\\"),
            )
        )
    if state == "complete":
        where.append(col(Enrollment.completed_at).is_not(None))
    elif state == "in_progress":
        where.append(col(Enrollment.completed_at).is_(None))
    if enrolled_from is not None:
        where.append(col(Enrollment.created_at) >= _shanghai_day_start(enrolled_from))
    if enrolled_to is not None:
        end = _shanghai_day_start(enrolled_to + timedelta(days=1))
        where.append(col(Enrollment.created_at) < end)
    joined = (
        select(Enrollment, User, Course)
        .join(User, col(User.id) == col(Enrollment.user_id))
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(*where)
    )
    total = int(
        session.exec(
            select(func.count())
            .select_from(Enrollment)
            .join(User, col(User.id) == col(Enrollment.user_id))
            .where(*where)
        ).one()
    )
    rows = session.exec(
        joined.order_by(col(Enrollment.created_at), col(Enrollment.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page([(e, u, c) for e, u, c in rows], total, page, per_page)


def supervised_course(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    """A course of an institution in a regulator's jurisdiction; anything else: not found."""
    course = session.get(Course, course_id)
    if course is None or not principal.is_regulator:
        raise CourseNotFound()
    if not principal.can_see_institution(course.institution_id):
        raise CourseNotFound()
    return course


def supervised_course_titles(
    session: Session, principal: Principal, institution_id: uuid.UUID | None = None
) -> dict[uuid.UUID, tuple[str, uuid.UUID]]:
    """The courses of the institutions a regulator supervises (or of one of them), by id:
    (title, institution id), in title order (one query: the regulator's course filter)."""
    if not principal.is_regulator:
        raise Forbidden("Only regulators list the courses they supervise.")
    stmt = select(Course.id, Course.title, Course.institution_id).where(
        visible_to(principal, Course.institution_id)
    )
    if institution_id is not None:
        stmt = stmt.where(col(Course.institution_id) == institution_id)
    rows = session.exec(stmt.order_by(col(Course.title), col(Course.id))).all()
    return {cid: (title, inst) for cid, title, inst in rows}


def course_filter_titles(session: Session, principal: Principal) -> dict[uuid.UUID, str]:
    """The courses a list may be filtered by, in title order: staff their institution's, a
    regulator (or admin) those in the jurisdiction (with the institution's name)."""
    if principal.role is Role.staff:
        return own_course_titles(session, principal)
    if not principal.is_regulator or principal.user is None:
        raise Forbidden("Only staff and regulators filter lists by course.")
    titles = supervised_course_titles(session, principal)
    names = dict(
        session.exec(
            select(Institution.id, Institution.name).where(
                col(Institution.id).in_({inst for _t, inst in titles.values()})
            )
        ).all()
    )
    return {cid: f"{title}（{names.get(inst, '')}）" for cid, (title, inst) in titles.items()}


def course_learners(session: Session, principal: Principal, course_id: uuid.UUID) -> Any:
    """``SELECT user_id`` of the learners enrolled in a course the caller supervises (staff:
    their institution's, regulators: their jurisdiction's; else not found): the course filter
    of lists about learners in other domains (the review queue)."""
    if principal.role is Role.staff:
        get_own_course(session, principal, course_id)
    else:
        supervised_course(session, principal, course_id)
    return select(col(Enrollment.user_id)).where(col(Enrollment.course_id) == course_id)


def own_course_titles(session: Session, principal: Principal) -> dict[uuid.UUID, str]:
    """The titles of the staff member's institution's courses by id, in title order (one
    query: the course filter of the learners list)."""
    if not may_author(principal) or principal.institution_id is None:
        raise Forbidden("Only staff of an institution list its courses.")
    rows = session.exec(
        select(Course.id, Course.title)
        .where(col(Course.institution_id) == principal.institution_id)
        .order_by(col(Course.title), col(Course.id))
    ).all()
    return {cid: title for cid, title in rows}  # noqa: C416 - rows are Row objects


def get_own_course(session: Session, principal: Principal, course_id: uuid.UUID) -> Course:
    """A course of the caller's own institution, for its staff; anything else: not found
    (a published course of another institution is readable, but not theirs to manage)."""
    course = session.get(Course, course_id)
    if (
        course is None
        or not may_author(principal)
        or principal.institution_id != course.institution_id
    ):
        raise CourseNotFound()
    return course


@dataclass(frozen=True)
class CourseAmount:
    """A course and the subsidy standard its certificates would carry on a day (None: none, or
    the course's occupation code is not a valid one)."""

    course: Course
    found: standards.InForce | None


def course_amounts(
    session: Session, principal: Principal, institution: Any, on_date: date
) -> list[CourseAmount]:
    """Each course of the staff member's institution with the standard in force on ``on_date``
    for the institution's region (``standards.standard_in_force``)."""
    if not may_author(principal) or principal.institution_id != institution.id:
        raise Forbidden("Only staff of an institution see what its courses are paid.")
    rows = session.exec(
        select(Course)
        .where(col(Course.institution_id) == institution.id)
        .order_by(col(Course.occupation_code), col(Course.level))
    ).all()
    out: list[CourseAmount] = []
    for c in rows:
        try:
            code = standards.normalise_occupation_code(c.occupation_code)
        except DomainError:
            out.append(CourseAmount(c, None))
            continue
        found = standards.standard_in_force(session, institution, code, c.level.value, on_date)
        out.append(CourseAmount(c, found))
    return out


def occupations_taught(session: Session, institution_id: uuid.UUID) -> list[tuple[str, str]]:
    """The (occupation code, level) pairs of an institution's courses, sorted: what a registry
    approval starts from (app/web/regulator/registry.py)."""
    rows = session.exec(
        select(col(Course.occupation_code), col(Course.level))
        .where(col(Course.institution_id) == institution_id)
        .distinct()
    )
    return sorted({(code, level.value) for code, level in rows})

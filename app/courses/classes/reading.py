"""Classes: who may see a class, and reading classes, rosters and head teachers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.accounts.principal import Principal, Scope
from app.courses.classes.rules import ENROLLABLE
from app.courses.exceptions import ClassNotFound, CourseNotFound
from app.courses.models import Course, CourseClass, Enrollment
from app.courses.policy import get_course, may_author
from app.courses.progress import Progress, progress
from app.errors import Forbidden


@dataclass(frozen=True)
class ClassSummary:
    """A class with its roster's size and how many have completed."""

    klass: CourseClass
    enrolled: int
    completed: int

    @property
    def seats_left(self) -> int | None:
        cap = self.klass.capacity
        return None if cap is None else max(cap - self.enrolled, 0)


@dataclass(frozen=True)
class RosterLine:
    """One learner on a class roster with where they stand."""

    enrollment: Enrollment
    learner: User
    progress: Progress


def can_see_class(principal: Principal, klass: CourseClass) -> bool:
    """Staff and the institution's keys (``courses:read``), regulators; learners: never here
    (a learner's own class comes with their enrolment, :func:`my_class`)."""
    if principal.role is Role.learner:
        return False
    if principal.api_key is not None and Scope.courses_read.value not in principal.scopes:
        return False
    return principal.can_see_institution(klass.institution_id)


def get_class(
    session: Session, principal: Principal, class_id: uuid.UUID, *, for_update: bool = False
) -> CourseClass:
    """A class the caller may see (:func:`can_see_class`); anything else: 404."""
    klass = session.get(
        CourseClass, class_id, with_for_update=for_update, populate_existing=for_update
    )
    if klass is None or not can_see_class(principal, klass):
        raise ClassNotFound()
    return klass


def _own_class_for_write(
    session: Session, principal: Principal, class_id: uuid.UUID
) -> CourseClass:
    if not may_author(principal):
        raise Forbidden("Only staff of the institution that runs the class can change it.")
    klass = get_class(session, principal, class_id, for_update=True)
    if klass.institution_id != principal.institution_id:
        raise ClassNotFound()
    return klass


def _counts(session: Session, class_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    if not class_ids:
        return {}
    done = func.count(col(Enrollment.completed_at))
    rows = session.exec(
        select(col(Enrollment.class_id), func.count(), done)
        .where(col(Enrollment.class_id).in_(class_ids))
        .group_by(col(Enrollment.class_id))
    )
    return {cid: (int(n), int(c)) for cid, n, c in rows}


def list_classes(
    session: Session, principal: Principal, course_id: uuid.UUID
) -> list[ClassSummary]:
    """A course's classes, earliest start first, with roster sizes: for staff and keys of its
    institution and regulators (learners see the classes open to them in
    :func:`enrollable_classes`)."""
    course = get_course(session, principal, course_id)
    if principal.role is Role.learner or not principal.can_see_institution(course.institution_id):
        raise CourseNotFound()
    if principal.api_key is not None and Scope.courses_read.value not in principal.scopes:
        raise CourseNotFound()
    rows = list(
        session.exec(
            select(CourseClass)
            .where(col(CourseClass.course_id) == course.id)
            .order_by(col(CourseClass.starts_on), col(CourseClass.code))
        )
    )
    counts = _counts(session, [k.id for k in rows])
    return [ClassSummary(k, *counts.get(k.id, (0, 0))) for k in rows]


def enrollable_classes(session: Session, course: Course) -> list[ClassSummary]:
    """The scheduled (non-default) classes of a course that take enrolments now: planned or
    open, with a seat left, earliest start first."""
    rows = list(
        session.exec(
            select(CourseClass)
            .where(
                col(CourseClass.course_id) == course.id,
                col(CourseClass.is_default).is_(False),
                col(CourseClass.status).in_(ENROLLABLE),
            )
            .order_by(col(CourseClass.starts_on), col(CourseClass.code))
        )
    )
    counts = _counts(session, [k.id for k in rows])
    summaries = [ClassSummary(k, *counts.get(k.id, (0, 0))) for k in rows]
    return [s for s in summaries if s.seats_left is None or s.seats_left > 0]


def summary(session: Session, klass: CourseClass) -> ClassSummary:
    return ClassSummary(klass, *_counts(session, [klass.id]).get(klass.id, (0, 0)))


def roster(session: Session, principal: Principal, class_id: uuid.UUID) -> list[RosterLine]:
    """A class's learners with their progress, in enrolment order (two queries)."""
    klass = get_class(session, principal, class_id)
    course = session.get(Course, klass.course_id)
    if course is None:  # pragma: no cover - a foreign key guarantees it
        raise ClassNotFound()
    rows = session.exec(
        select(Enrollment, User)
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(col(Enrollment.class_id) == klass.id)
        .order_by(col(Enrollment.created_at), col(Enrollment.id))
    ).all()
    return [RosterLine(e, u, progress(e, course)) for e, u in rows]


def my_class(session: Session, enrollment: Enrollment) -> CourseClass:
    """The class of an enrolment (the caller already may see the enrolment)."""
    klass = session.get(CourseClass, enrollment.class_id)
    if klass is None:  # pragma: no cover - a foreign key guarantees it
        raise ClassNotFound()
    return klass


def head_teacher_names(session: Session, klasses: list[CourseClass]) -> dict[uuid.UUID, str]:
    """Class id → its head teacher's name (real name, else username), in one query."""
    ids = {k.head_teacher_id for k in klasses if k.head_teacher_id is not None}
    if not ids:
        return {}
    users = {
        u.id: (u.real_name or u.username)
        for u in session.exec(select(User).where(col(User.id).in_(ids)))
    }
    return {
        k.id: users[k.head_teacher_id]
        for k in klasses
        if k.head_teacher_id is not None and k.head_teacher_id in users
    }


def classes_of(session: Session, enrollments: list[Enrollment]) -> dict[uuid.UUID, CourseClass]:
    """Enrolment id → its class, in one query (the learner's own pages)."""
    ids = {e.class_id for e in enrollments}
    if not ids:
        return {}
    rows = {k.id: k for k in session.exec(select(CourseClass).where(col(CourseClass.id).in_(ids)))}
    return {e.id: rows[e.class_id] for e in enrollments if e.class_id in rows}

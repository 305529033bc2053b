"""Enrolment: a learner joins a published course; who may see an enrolment."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.courses import classes
from app.courses.exceptions import (
    AlreadyEnrolled,
    CourseNotFound,
    EnrollmentNotFound,
)
from app.courses.models import (
    Course,
    Enrollment,
)
from app.courses.policy import get_course
from app.errors import Forbidden

# ---------------------------------------------------------------- enrolment


def enrol(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    *,
    class_id: uuid.UUID | None = None,
) -> Enrollment:
    """Enrol the signed-in learner in a published course, into a class of it.

    ``class_id`` picks the class; without it the earliest scheduled class with a seat is
    taken, or the course's default class if it schedules none
    (:func:`app.courses.classes.class_for_self_enrolment`). A second enrolment is refused with
    409 ``already_enrolled`` naming the existing one, so a partner can retry safely.
    """
    user = principal.user
    if user is None or user.role is not Role.learner:
        raise Forbidden("Only learners enrol in courses.")
    course = get_course(session, principal, course_id)  # learners never see drafts
    existing = classes.enrollment_of(session, course.id, user.id)
    if existing is not None:
        raise AlreadyEnrolled(enrollment_id=str(existing.id))
    klass = classes.class_for_self_enrolment(session, course, class_id)
    return classes.add_enrollment(
        session, klass=klass, course=course, learner=user, actor=principal.actor
    )


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


def sole_institutions(session: Session) -> dict[uuid.UUID, uuid.UUID]:
    """Learners who belong to no institution but study with exactly one (every enrolment at
    one institution): learner id → that institution (app/accounts/registration.py)."""
    rows = session.exec(
        select(col(Enrollment.user_id), col(Enrollment.institution_id))
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(col(User.role) == Role.learner, col(User.institution_id).is_(None))
        .distinct()
    ).all()
    seen: dict[uuid.UUID, set[uuid.UUID]] = {}
    for user_id, institution_id in rows:
        seen.setdefault(user_id, set()).add(institution_id)
    return {user: next(iter(insts)) for user, insts in seen.items() if len(insts) == 1}


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

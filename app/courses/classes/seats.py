"""Classes: seats and enrolment into a class (self-enrolment's choice of class, staff
enrolling their institution's learners, the one place an enrolment row is made). Moving an
enrolment to another class is :mod:`~app.courses.classes.moves`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.exceptions import UserNotFound
from app.accounts.models import Role, User
from app.accounts.principal import Principal, Scope
from app.audit import service as audit
from app.audit.service import Actor
from app.courses.classes.lifecycle import default_class
from app.courses.classes.reading import enrollable_classes, summary
from app.courses.classes.rules import EMPLOYER_CHARS, ENROLLABLE
from app.courses.exceptions import (
    AlreadyEnrolled,
    ClassClosed,
    ClassFull,
    ClassNotFound,
    CourseNotFound,
    InvalidClass,
    NoOpenClass,
)
from app.courses.models import Course, CourseClass, CourseStatus, Enrollment
from app.courses.policy import _text
from app.errors import Forbidden


def class_for_self_enrolment(
    session: Session, course: Course, class_id: uuid.UUID | None
) -> CourseClass:
    """Which class a learner enrolling themself joins: the one they chose (it must belong to
    the course and take enrolments), else the earliest scheduled class with a seat, else —
    for a course that schedules no classes — the default class."""
    if class_id is not None:
        klass = session.get(CourseClass, class_id)
        if klass is None or klass.course_id != course.id:
            raise ClassNotFound()
        return klass
    open_now = enrollable_classes(session, course)
    if open_now:
        return open_now[0].klass
    scheduled = session.exec(
        select(func.count())
        .select_from(CourseClass)
        .where(col(CourseClass.course_id) == course.id, col(CourseClass.is_default).is_(False))
    ).one()
    if scheduled:
        raise NoOpenClass()
    return default_class(session, course)


def claim_seat(session: Session, klass: CourseClass) -> None:
    """Refuse an enrolment the class cannot take (ended, full). Locks the class row first, so
    two enrolments racing for the last seat are serialised (``FOR UPDATE``; SQLite already
    holds the write lock)."""
    session.refresh(klass, with_for_update=True)
    if klass.status not in ENROLLABLE:
        raise ClassClosed()
    if klass.capacity is not None and summary(session, klass).enrolled >= klass.capacity:
        raise ClassFull()


def add_enrollment(
    session: Session,
    *,
    klass: CourseClass,
    course: Course,
    learner: User,
    actor: Actor,
    employer: str | None = None,
    via: str = "self",
    seat_claimed: bool = False,
) -> Enrollment:
    """The one place an enrolment row is made: a seat is claimed in ``klass`` (unless the caller
    already holds the class row locked and counted the seats for a whole roster:
    ``seat_claimed``), the learner must not be enrolled in the course yet (409
    ``already_enrolled``), and the audit entry is written. ``via`` says how (``self``,
    ``staff``, ``roster``)."""
    if course.status is not CourseStatus.published:
        raise CourseNotFound()
    if not seat_claimed:
        claim_seat(session, klass)
    existing = enrollment_of(session, course.id, learner.id)
    if existing is not None:
        raise AlreadyEnrolled(enrollment_id=str(existing.id))
    enrollment = _new_enrollment(klass, course, learner.id, employer)
    try:
        with session.begin_nested():
            session.add(enrollment)
            session.flush()
    except IntegrityError:
        # A concurrent request enrolled the same learner between our check and our insert.
        existing = enrollment_of(session, course.id, learner.id)
        raise AlreadyEnrolled(enrollment_id=str(existing.id) if existing else None) from None
    r = enrollment_record(enrollment, course, actor, via)
    audit.append(
        session,
        actor=r.actor,
        action=r.action,
        subject=r.subject,
        payload=r.payload,
        institution_id=course.institution_id,
    )
    return enrollment


def _new_enrollment(
    klass: CourseClass, course: Course, user_id: uuid.UUID, employer: str | None
) -> Enrollment:
    return Enrollment(
        course_id=course.id,
        user_id=user_id,
        institution_id=course.institution_id,
        class_id=klass.id,
        employer=employer,
        created_at=clock.now(),
    )


def enrollment_record(
    enrollment: Enrollment, course: Course, actor: Actor, via: str
) -> audit.Record:
    """The ``enrollment.created`` audit entry of an enrolment row (on the course's chain)."""
    return audit.Record(
        actor=actor,
        action="enrollment.created",
        subject=f"enrollment:{enrollment.id}",
        payload={
            "course": str(course.id),
            "class": str(enrollment.class_id),
            "user": str(enrollment.user_id),
            "occupation_code": course.occupation_code,
            "level": course.level.value,
            "via": via,
            "employer": enrollment.employer,
        },
    )


#: Learners looked up per ``IN (...)`` query by :func:`add_enrollments`.
LOOKUP_BATCH = 500


def add_enrollments(
    session: Session,
    *,
    klass: CourseClass,
    course: Course,
    learners: Sequence[tuple[uuid.UUID, str | None]],
    actor: Actor,
    via: str,
    seat_claimed: bool = True,
) -> tuple[list[Enrollment], list[audit.Record]]:
    """:func:`add_enrollment` for many learners (user id, employer) at once, for a caller that
    holds the class row locked and counted its seats for all of them (a roster; or one learner
    with ``seat_claimed=False``: the seat is claimed here, as add_enrollment does): the same
    checks (published course, none enrolled yet: 409 ``already_enrolled`` names the first),
    the rows inserted in one flush (executemany), and their ``enrollment.created`` records
    returned in order for the caller to append with :func:`app.audit.service.append_many` in
    this transaction (so they can interleave with other entries of the same rows)."""
    if course.status is not CourseStatus.published:
        raise CourseNotFound()
    if klass.institution_id != course.institution_id:  # pragma: no cover - a class is the course's
        raise ClassNotFound()
    if not seat_claimed:
        if len(learners) != 1:
            raise ValueError("claim the seats of several learners under the class's lock first")
        claim_seat(session, klass)
    ids = [user_id for user_id, _ in learners]
    for start in range(0, len(ids), LOOKUP_BATCH):
        existing = session.exec(
            select(Enrollment).where(
                col(Enrollment.course_id) == course.id,
                col(Enrollment.user_id).in_(ids[start : start + LOOKUP_BATCH]),
            )
        ).first()
        if existing is not None:
            raise AlreadyEnrolled(enrollment_id=str(existing.id))
    enrollments = [_new_enrollment(klass, course, uid, employer) for uid, employer in learners]
    try:
        with session.begin_nested():
            session.add_all(enrollments)
            session.flush()
    except IntegrityError:
        # A concurrent request enrolled one of them between our check and our insert.
        raise AlreadyEnrolled(enrollment_id=None) from None
    return enrollments, [enrollment_record(e, course, actor, via) for e in enrollments]


def enrollment_of(session: Session, course_id: uuid.UUID, user_id: uuid.UUID) -> Enrollment | None:
    return session.exec(
        select(Enrollment).where(
            col(Enrollment.course_id) == course_id, col(Enrollment.user_id) == user_id
        )
    ).first()


def may_enrol_others(principal: Principal) -> bool:
    """Staff signed in, or an API key with ``enrolments:write``."""
    if principal.api_key is not None:
        return Scope.enrolments_write.value in principal.scopes
    return principal.role is Role.staff and principal.institution_id is not None


def check_employer(employer: str | None) -> str | None:
    if employer is None or not employer.strip():
        return None
    return _text(employer, "employer", EMPLOYER_CHARS, InvalidClass)


def enrol_learner(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    learner_id: uuid.UUID,
    *,
    employer: str | None = None,
) -> Enrollment:
    """Staff (or a key with ``enrolments:write``) enrol one of their institution's learners
    into a class of their own institution."""
    if not may_enrol_others(principal):
        raise Forbidden("Only staff of the institution or its keys with enrolments:write.")
    klass = session.get(CourseClass, class_id)
    if klass is None or klass.institution_id != principal.institution_id:
        raise ClassNotFound()
    learner = session.get(User, learner_id)
    if (
        learner is None
        or learner.role is not Role.learner
        or learner.institution_id != principal.institution_id
    ):
        raise UserNotFound()
    course = session.get(Course, klass.course_id)
    if course is None:  # pragma: no cover - a foreign key guarantees it
        raise ClassNotFound()
    return add_enrollment(
        session,
        klass=klass,
        course=course,
        learner=learner,
        actor=principal.actor,
        employer=check_employer(employer),
        via="staff",
    )


def learners_to_enrol(
    session: Session, principal: Principal, klass: CourseClass, *, limit: int = 500
) -> list[User]:
    """The institution's learners not yet enrolled in the class's course (the staff page's
    choice list), by name."""
    if not may_enrol_others(principal) or klass.institution_id != principal.institution_id:
        raise ClassNotFound()
    enrolled = select(col(Enrollment.user_id)).where(col(Enrollment.course_id) == klass.course_id)
    return list(
        session.exec(
            select(User)
            .where(
                col(User.institution_id) == klass.institution_id,
                col(User.role) == Role.learner,
                col(User.id).not_in(enrolled),
            )
            .order_by(col(User.real_name), col(User.username))
            .limit(limit)
        )
    )

"""Classes (班级/期次): a course runs as one or more classes; enrolment is into a class.

A class has a code (期次编号) unique within its course, a name, planned first and last days, a
capacity, a head teacher (班主任, a staff member of the institution) and a roster (its
enrolments). Its life: ``planned`` → :func:`open_class` (开班) → :func:`close_class` (结业).
Planned and open classes take enrolments up to their capacity; a closed class takes none and
its roster is frozen. Later issues file the opening and the closing with the regulator: they
subscribe to :data:`class_opened_hooks` / :data:`class_closed_hooks` (called in the same
transaction, after the audit entry).

Every course has at most one *default* class (:func:`default_class`, created when first needed):
open-ended, unlimited, without head teacher. Self-enrolment in a course that runs no scheduled
class lands there, and so did every enrolment made before classes existed (migration 0019).

Who may do what: staff of the owning institution create, change, open and close classes
(signed in; API keys do not); staff, the institution's API keys with ``courses:read`` and
regulators read classes and rosters; a learner reads the class they are enrolled in.
Enrolling someone else into a class (staff, or a key with ``enrolments:write``) is
:func:`enrol_learner`; a learner's own enrolment is :func:`app.courses.enrolment.enrol`.

Functions take the request's session, ``flush()`` and never commit; every change appends its
audit entry in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.exceptions import UserNotFound
from app.accounts.models import Role, User
from app.accounts.principal import Principal, Scope
from app.audit import service as audit
from app.audit.service import Actor
from app.clock import SHANGHAI
from app.courses.exceptions import (
    AlreadyEnrolled,
    ClassClosed,
    ClassCodeTaken,
    ClassFull,
    ClassNotFound,
    ClassTransitionRefused,
    CourseNotFound,
    InvalidClass,
    NoOpenClass,
)
from app.courses.models import ClassStatus, Course, CourseClass, CourseStatus, Enrollment
from app.courses.policy import _text, get_course, may_author
from app.courses.progress import Progress, progress
from app.errors import Forbidden
from app.validation import normalise_identifier

# ---------------------------------------------------------------- limits

CODE_CHARS = 32
NAME_CHARS = 200
EMPLOYER_CHARS = 200
CAPACITY = (1, 10_000)
#: The longest a class may run (planned days, first to last inclusive).
MAX_DAYS = 3 * 366
DEFAULT_CODE = "default"
DEFAULT_NAME = "默认班（自主报名）"

#: Called with (session, class, actor) right after a class opens (开班) / closes (结业), in the
#: same transaction (regulator filings subscribe here; nothing subscribes by default).
class_opened_hooks: list[Callable[[Session, CourseClass, Actor], None]] = []
class_closed_hooks: list[Callable[[Session, CourseClass, Actor], None]] = []

ENROLLABLE = (ClassStatus.planned, ClassStatus.open)


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


# ---------------------------------------------------------------- validation


def _code(value: str) -> str:
    code = normalise_identifier(value)
    if not code or len(code) > CODE_CHARS or code.lower() == DEFAULT_CODE:
        raise InvalidClass(
            f"code must be 1-{CODE_CHARS} characters (and not {DEFAULT_CODE!r}).", field="code"
        )
    return code


def _dates(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise InvalidClass("ends_on must not be before starts_on.", field="ends_on")
    if (ends_on - starts_on).days + 1 > MAX_DAYS:
        raise InvalidClass(f"A class runs at most {MAX_DAYS} days.", field="ends_on")


def _capacity(capacity: int) -> int:
    low, high = CAPACITY
    if isinstance(capacity, bool) or not low <= capacity <= high:
        raise InvalidClass(f"capacity must be between {low} and {high}.", field="capacity")
    return capacity


def _head_teacher(session: Session, institution_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or user.role is not Role.staff or user.institution_id != institution_id:
        raise InvalidClass(
            "head_teacher_id must be a staff member of the course's institution.",
            field="head_teacher_id",
        )
    return user


def _class_payload(k: CourseClass) -> dict[str, object]:
    return {
        "course": str(k.course_id),
        "code": k.code,
        "name": k.name,
        "starts_on": k.starts_on.isoformat(),
        "ends_on": k.ends_on.isoformat() if k.ends_on else None,
        "capacity": k.capacity,
        "head_teacher": str(k.head_teacher_id) if k.head_teacher_id else None,
        "status": k.status.value,
    }


# ---------------------------------------------------------------- reading


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


# ---------------------------------------------------------------- writing


def create_class(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    *,
    code: str,
    name: str,
    starts_on: date,
    ends_on: date,
    capacity: int,
    head_teacher_id: uuid.UUID,
) -> CourseClass:
    """Schedule a class of one of the caller's institution's courses (draft or published)."""
    if not may_author(principal):
        raise Forbidden("Only staff of the institution that owns the course can add classes.")
    course = session.get(Course, course_id)
    if course is None or course.institution_id != principal.institution_id:
        raise CourseNotFound()
    code = _code(code)
    name = _text(name, "name", NAME_CHARS, InvalidClass)
    _dates(starts_on, ends_on)
    _head_teacher(session, course.institution_id, head_teacher_id)
    klass = CourseClass(
        course_id=course.id,
        institution_id=course.institution_id,
        code=code,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        capacity=_capacity(capacity),
        head_teacher_id=head_teacher_id,
        status=ClassStatus.planned,
        created_at=clock.now(),
    )
    taken = session.exec(
        select(col(CourseClass.id)).where(
            col(CourseClass.course_id) == course.id, col(CourseClass.code) == code
        )
    ).first()
    if taken is not None:
        raise ClassCodeTaken(field="code")
    try:
        with session.begin_nested():  # a concurrent twin: refused by the unique constraint
            session.add(klass)
            session.flush()
    except IntegrityError:
        raise ClassCodeTaken(field="code") from None
    audit.append(
        session,
        actor=principal.actor,
        action="class.created",
        subject=f"class:{klass.id}",
        payload=_class_payload(klass),
        institution_id=klass.institution_id,
    )
    return klass


def update_class(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    *,
    name: str | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    capacity: int | None = None,
    head_teacher_id: uuid.UUID | None = None,
) -> CourseClass:
    """Change a class that has not ended. Its planned first day only before it opens; its
    capacity never below the learners already on its roster. The default class keeps its
    shape (it is the course's open-ended catch-all)."""
    klass = _own_class_for_write(session, principal, class_id)
    if klass.status is ClassStatus.closed:
        raise ClassClosed()
    if klass.is_default:
        raise InvalidClass("The default class cannot be changed; schedule a class instead.")
    changed: dict[str, object] = {}
    if name is not None:
        klass.name = _text(name, "name", NAME_CHARS, InvalidClass)
        changed["name"] = klass.name
    if starts_on is not None and starts_on != klass.starts_on:
        if klass.status is not ClassStatus.planned:
            raise InvalidClass("An open class keeps its first day.", field="starts_on")
        klass.starts_on = starts_on
        changed["starts_on"] = starts_on.isoformat()
    if ends_on is not None:
        klass.ends_on = ends_on
        changed["ends_on"] = ends_on.isoformat()
    _dates(klass.starts_on, klass.ends_on or klass.starts_on)
    if capacity is not None:
        enrolled = summary(session, klass).enrolled
        if _capacity(capacity) < enrolled:
            raise InvalidClass(
                f"capacity must not be below the {enrolled} learners on the roster.",
                field="capacity",
            )
        klass.capacity = capacity
        changed["capacity"] = capacity
    if head_teacher_id is not None:
        _head_teacher(session, klass.institution_id, head_teacher_id)
        klass.head_teacher_id = head_teacher_id
        changed["head_teacher"] = str(head_teacher_id)
    session.add(klass)
    session.flush()
    if changed:
        audit.append(
            session,
            actor=principal.actor,
            action="class.updated",
            subject=f"class:{klass.id}",
            payload=changed,
            institution_id=klass.institution_id,
        )
    return klass


def open_class(session: Session, principal: Principal, class_id: uuid.UUID) -> CourseClass:
    """开班: a planned class of a published course starts running (once)."""
    klass = _own_class_for_write(session, principal, class_id)
    if klass.status is not ClassStatus.planned:
        raise ClassTransitionRefused()
    course = session.get(Course, klass.course_id)
    if course is None or course.status is not CourseStatus.published:
        raise ClassTransitionRefused(
            "A class opens only once its course is published.", reason="course_not_published"
        )
    klass.status = ClassStatus.open
    klass.opened_at = clock.now()
    session.add(klass)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="class.opened",
        subject=f"class:{klass.id}",
        payload={**_class_payload(klass), "enrolled": summary(session, klass).enrolled},
        institution_id=klass.institution_id,
    )
    for hook in class_opened_hooks:
        hook(session, klass, principal.actor)
    return klass


def close_class(session: Session, principal: Principal, class_id: uuid.UUID) -> CourseClass:
    """结业: an open class ends; its roster is frozen (no more enrolments)."""
    klass = _own_class_for_write(session, principal, class_id)
    if klass.status is not ClassStatus.open or klass.is_default:
        raise ClassTransitionRefused()
    klass.status = ClassStatus.closed
    klass.closed_at = clock.now()
    session.add(klass)
    session.flush()
    counts = summary(session, klass)
    audit.append(
        session,
        actor=principal.actor,
        action="class.closed",
        subject=f"class:{klass.id}",
        payload={
            **_class_payload(klass),
            "enrolled": counts.enrolled,
            "completed": counts.completed,
        },
        institution_id=klass.institution_id,
    )
    for hook in class_closed_hooks:
        hook(session, klass, principal.actor)
    return klass


def default_class(session: Session, course: Course) -> CourseClass:
    """The course's default class, created (and audited) the first time it is needed."""
    existing = session.exec(
        select(CourseClass).where(
            col(CourseClass.course_id) == course.id, col(CourseClass.is_default).is_(True)
        )
    ).first()
    if existing is not None:
        return existing
    now = clock.now()
    klass = CourseClass(
        course_id=course.id,
        institution_id=course.institution_id,
        code=DEFAULT_CODE,
        name=DEFAULT_NAME,
        is_default=True,
        starts_on=(course.published_at or now).astimezone(SHANGHAI).date(),
        status=ClassStatus.open,
        opened_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(klass)
            session.flush()
    except IntegrityError:
        # Another request created it between our look-up and our insert: use theirs.
        return session.exec(
            select(CourseClass).where(
                col(CourseClass.course_id) == course.id, col(CourseClass.is_default).is_(True)
            )
        ).one()
    audit.append(
        session,
        actor=Actor.system(),
        action="class.created",
        subject=f"class:{klass.id}",
        payload=_class_payload(klass),
        institution_id=klass.institution_id,
    )
    return klass


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
    enrollment = Enrollment(
        course_id=course.id,
        user_id=learner.id,
        institution_id=course.institution_id,
        class_id=klass.id,
        employer=employer,
        created_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(enrollment)
            session.flush()
    except IntegrityError:
        # A concurrent request enrolled the same learner between our check and our insert.
        existing = enrollment_of(session, course.id, learner.id)
        raise AlreadyEnrolled(enrollment_id=str(existing.id) if existing else None) from None
    audit.append(
        session,
        actor=actor,
        action="enrollment.created",
        subject=f"enrollment:{enrollment.id}",
        payload={
            "course": str(course.id),
            "class": str(klass.id),
            "user": str(learner.id),
            "occupation_code": course.occupation_code,
            "level": course.level.value,
            "via": via,
            "employer": employer,
        },
        institution_id=course.institution_id,
    )
    return enrollment


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


def classes_of(session: Session, enrollments: list[Enrollment]) -> dict[uuid.UUID, CourseClass]:
    """Enrolment id → its class, in one query (the learner's own pages)."""
    ids = {e.class_id for e in enrollments}
    if not ids:
        return {}
    rows = {k.id: k for k in session.exec(select(CourseClass).where(col(CourseClass.id).in_(ids)))}
    return {e.id: rows[e.class_id] for e in enrollments if e.class_id in rows}

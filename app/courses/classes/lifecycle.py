"""Classes: scheduling, changing, opening (开班) and closing (结业) a class, and the course's
default class."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.clock import SHANGHAI
from app.courses.classes.reading import _own_class_for_write, summary
from app.courses.classes.rules import (
    DEFAULT_CODE,
    DEFAULT_NAME,
    NAME_CHARS,
    _capacity,
    _class_payload,
    _code,
    _dates,
    _head_teacher,
    new_invite_code,
)
from app.courses.exceptions import (
    ClassClosed,
    ClassCodeTaken,
    ClassTransitionRefused,
    CourseNotFound,
    InvalidClass,
)
from app.courses.models import ClassStatus, Course, CourseClass, CourseStatus
from app.courses.policy import _text, may_author
from app.errors import Forbidden
from app.programmes import registry

#: Called with (session, class, actor) right after a class opens (开班) / closes (结业), in the
#: same transaction (regulator filings subscribe here; nothing subscribes by default).
class_opened_hooks: list[Callable[[Session, CourseClass, Actor], None]] = []
class_closed_hooks: list[Callable[[Session, CourseClass, Actor], None]] = []


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
        invite_code=new_invite_code(session),
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
    """开班: a planned class of a published course starts running (once); only an institution
    the regulator has approved opens classes (409 ``institution_not_approved``), and only for
    an occupation and level its approval covers (409 ``outside_approved_scope``)."""
    klass = _own_class_for_write(session, principal, class_id)
    if klass.status is not ClassStatus.planned:
        raise ClassTransitionRefused()
    course = session.get(Course, klass.course_id)
    if course is None:  # pragma: no cover - a foreign key guarantees it
        raise ClassTransitionRefused()
    registry.ensure_in_scope(
        session, klass.institution_id, course.occupation_code, course.level.value
    )
    if course.status is not CourseStatus.published:
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

"""Classes: moving an enrolment to another class of its course (转班).

One rule, :func:`_move`, for both ways in: a learner waiting in the course's default class who
types a scheduled class's code (:func:`move_from_default_class`, nothing recorded yet), and the
institution's staff moving one of their learners (:func:`move_to_class`, with a reason).

What happens to study already recorded: the credited time, quiz attempts and attendance belong
to the *enrolment* (the learner's ledger, her progress) and stay with it: the same row moves,
only its ``class_id`` changes. The subsidy, though, counts training in the class the
enrolment is in (the ``class_filed`` rule, app/filing/facts.py), and what the regional
real-name system holds of a class is its opening and completion (``class.opened`` /
``class.completed`` with the roster's *size*, app/exchange/service.py), its filings (开班备案
with the roster's size, 结业备案 with each learner's results) — there is no record type for a
roster change. So:

- a learner with nothing recorded moves between any two classes that take her (an opening
  filing holds a count, not names; enrolments after it are made the same way);
- a learner with study recorded moves only between scheduled classes neither of which was
  filed for opening (:data:`class_move_checks`, app/filing): otherwise her recorded study
  would count as the other class's filed training (409 ``class_move_filed_studied``); never out
  of the default class, whose study belongs to no scheduled class
  (``class_move_default_studied``);
- never out of or into a class that has ended (结业: its roster was reported frozen and its
  completion is filed from it; ``class_move_roster_frozen``), never once she has completed
  (``class_move_completed``: the completion and any certificate were decided in her class).

The enrolment row is locked first (``FOR UPDATE``; quiz starts and credit lock it too), so a
second submit of the same move waits and is then told she is already in the class (409
``class_move_same_class``): one move, one ``enrollment.class_changed`` entry. The seat she
held is released by the move itself (seats are the class's enrolments, counted).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.courses.classes.reading import summary
from app.courses.classes.refusals import (
    ClassOfAnotherCourse,
    EnrolmentFinished,
    InAnotherClass,
    InvalidClassMove,
    RosterFrozen,
    SameClass,
    StudiedInDefaultClass,
)
from app.courses.classes.rules import ENROLLABLE
from app.courses.classes.seats import claim_seat, may_enrol_others
from app.courses.exceptions import ClassNotFound, CourseNotFound, EnrollmentNotFound
from app.courses.models import (
    ClassStatus,
    Course,
    CourseClass,
    CourseStatus,
    Enrollment,
    OfflineAttendance,
    QuizAttempt,
    StudySession,
)
from app.errors import DomainError, Forbidden
from app.validation import check_text


@dataclass(frozen=True)
class Moved:
    """A move made: the enrolment (now in ``klass``) and the class it left."""

    enrollment: Enrollment
    from_class: CourseClass
    klass: CourseClass


#: The longest reason a clerk may type for a move.
REASON_CHARS = 200

#: Called with (session, enrollment, from class, to class, anything recorded) before a move, in
#: its transaction; a listener refuses the move by raising (app/filing: study recorded and a
#: class filed for opening). Subscribed in app/wiring.py.
class_move_checks: list[Callable[[Session, Enrollment, CourseClass, CourseClass, bool], None]] = []


def move_from_default_class(
    session: Session, enrollment: Enrollment, klass: CourseClass, *, actor: Actor, via: str
) -> Enrollment:
    """A learner in the course's default class (self-enrolled before they had a class's code,
    or before the course scheduled classes) joins the scheduled class ``klass`` of that course:
    the enrolment itself moves there, a seat claimed as for any enrolment (409
    ``class_full``/``class_closed``), with its ``enrollment.class_changed`` audit entry.

    Only while nothing is recorded in the default class (no study session, quiz attempt,
    offline attendance or credit): what was studied there was studied outside ``klass`` (its
    dates, its head teacher, the roster filed with the regulator) and must not be counted as
    that class's. Otherwise, and from any scheduled class, 409 :class:`InAnotherClass`
    (``already_enrolled``): moving is then the institution's (:func:`move_to_class`)."""
    session.refresh(enrollment, with_for_update=True)  # serialised with quiz starts and credit
    current = session.get(CourseClass, enrollment.class_id)
    if (
        current is None
        or not current.is_default
        or klass.course_id != enrollment.course_id
        or _anything_recorded(session, enrollment)
    ):
        raise InAnotherClass(enrollment_id=str(enrollment.id))
    return _move(session, enrollment, current, klass, actor=actor, via=via, studied=False)


def move_to_class(
    session: Session,
    principal: Principal,
    enrollment_id: uuid.UUID,
    class_id: uuid.UUID,
    *,
    reason: str,
) -> Moved:
    """转班: the institution's staff (or its keys with ``enrolments:write``, who may edit a
    class's roster) move one enrolment of their institution to another class of the same
    course, with the reason the clerk gives (required, at most :data:`REASON_CHARS`). Another
    institution's enrolment or class: 404. Refusals are the module's (the same class, another
    course's, ended, full, completed, study recorded that a filing would count wrongly)."""
    enrollment = _own_enrollment(session, principal, enrollment_id)
    klass = session.get(CourseClass, class_id)
    if klass is None or klass.institution_id != principal.institution_id:
        raise ClassNotFound()
    text = check_reason(reason)
    session.refresh(enrollment, with_for_update=True)
    current = session.get(CourseClass, enrollment.class_id)
    if current is None:  # pragma: no cover - a foreign key guarantees it
        raise EnrollmentNotFound()
    studied = _anything_recorded(session, enrollment)
    _move(
        session,
        enrollment,
        current,
        klass,
        actor=principal.actor,
        via="staff",
        studied=studied,
        reason=text,
    )
    return Moved(enrollment, current, klass)


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text or len(text) > REASON_CHARS:
        raise InvalidClassMove(field="reason")
    return check_text(text, field="reason")


@dataclass(frozen=True)
class MoveChoice:
    """What the staff's move form shows: the enrolment, its learner and class, the classes it
    can be moved to now (each passing the rule, with a seat; ``seats_left`` by class id, None:
    no limit), and, when there is none, why."""

    enrollment: Enrollment
    learner: User
    course: Course
    current: CourseClass
    targets: list[CourseClass]
    seats_left: dict[uuid.UUID, int | None]
    blocked: DomainError | None


def move_choice(session: Session, principal: Principal, enrollment_id: uuid.UUID) -> MoveChoice:
    """The staff's move form for one enrolment (who may and 404 as :func:`move_to_class`): the
    course's other classes that take her (planned or open, a seat left, and the rule's checks
    passed for her: recorded study and filings included)."""
    enrollment = _own_enrollment(session, principal, enrollment_id)
    current = session.get(CourseClass, enrollment.class_id)
    course = session.get(Course, enrollment.course_id)
    learner = session.get(User, enrollment.user_id)
    if current is None or course is None or learner is None:  # pragma: no cover - foreign keys
        raise EnrollmentNotFound()
    studied = _anything_recorded(session, enrollment)
    candidates = session.exec(
        select(CourseClass)
        .where(
            col(CourseClass.course_id) == enrollment.course_id,
            col(CourseClass.id) != enrollment.class_id,
            col(CourseClass.status).in_(ENROLLABLE),
        )
        .order_by(col(CourseClass.is_default), col(CourseClass.starts_on), col(CourseClass.code))
    ).all()
    targets: list[CourseClass] = []
    seats_left: dict[uuid.UUID, int | None] = {}
    blocked: DomainError | None = None
    for k in candidates:
        try:
            _check(session, enrollment, current, k, studied)
        except DomainError as err:
            blocked = blocked or err
            continue
        left = summary(session, k).seats_left
        if left != 0:
            targets.append(k)
            seats_left[k.id] = left
    if not candidates and blocked is None:
        try:
            _check(session, enrollment, current, current, studied, same_ok=True)
        except DomainError as err:
            blocked = err
    return MoveChoice(
        enrollment, learner, course, current, targets, seats_left, None if targets else blocked
    )


def _own_enrollment(session: Session, principal: Principal, enrollment_id: uuid.UUID) -> Enrollment:
    if not may_enrol_others(principal):
        raise Forbidden("Only staff of the institution or its keys with enrolments:write.")
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.institution_id != principal.institution_id:
        raise EnrollmentNotFound()
    return enrollment


def _check(
    session: Session,
    enrollment: Enrollment,
    current: CourseClass,
    klass: CourseClass,
    studied: bool,
    *,
    same_ok: bool = False,
) -> None:
    """The rule's refusals, before a seat is claimed (the module's docstring)."""
    if klass.course_id != enrollment.course_id:
        raise ClassOfAnotherCourse(class_id=str(klass.id))
    if klass.id == current.id and not same_ok:
        raise SameClass(enrollment_id=str(enrollment.id), class_id=str(klass.id))
    if enrollment.completed_at is not None:
        raise EnrolmentFinished(enrollment_id=str(enrollment.id))
    if ClassStatus.closed in (current.status, klass.status):
        raise RosterFrozen(class_id=str(klass.id), from_class=str(current.id))
    if studied and current.is_default:
        raise StudiedInDefaultClass(enrollment_id=str(enrollment.id))
    for check in class_move_checks:
        check(session, enrollment, current, klass, studied)


def _move(
    session: Session,
    enrollment: Enrollment,
    current: CourseClass,
    klass: CourseClass,
    *,
    actor: Actor,
    via: str,
    studied: bool,
    reason: str | None = None,
) -> Enrollment:
    """The rule (the module's docstring): ``enrollment`` is locked, ``current`` its class."""
    _check(session, enrollment, current, klass, studied)
    course = session.get(Course, enrollment.course_id)
    if course is None or course.status is not CourseStatus.published:
        raise CourseNotFound()
    claim_seat(session, klass)
    enrollment.class_id = klass.id
    session.add(enrollment)
    session.flush()
    payload: dict[str, object] = {
        "course": str(course.id),
        "from_class": str(current.id),
        "class": str(klass.id),
        "user": str(enrollment.user_id),
        "via": via,
    }
    if reason is not None:
        payload["reason"] = reason
    audit.append(
        session,
        actor=actor,
        action="enrollment.class_changed",
        subject=f"enrollment:{enrollment.id}",
        payload=payload,
        institution_id=course.institution_id,
    )
    return enrollment


def _anything_recorded(session: Session, enrollment: Enrollment) -> bool:
    if enrollment.credited_ms or enrollment.offline_ms or enrollment.completed_at is not None:
        return True
    for model in (StudySession, QuizAttempt, OfflineAttendance):
        of_it = col(model.enrollment_id) == enrollment.id
        if session.exec(select(col(model.id)).where(of_it).limit(1)).first() is not None:
            return True
    return False

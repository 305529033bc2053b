"""Class invite codes (班级邀请码): a code the institution hands out for one class; registering
with it, or enrolling with it when already registered, places the learner in that class.

A code is eight letters and digits from an alphabet without look-alikes (no 0/O, 1/I/L), unique
across the platform (``course_classes.invite_code``), made when a class is scheduled (migration
0037 gave existing classes theirs). Typed codes are read leniently: full-width forms fold, case
and a hyphen or spaces do not matter. A code names a class only while it takes enrolments (not
closed), its course is published and its institution takes learners; anything else is the
same refusal as an unknown institution code (422 ``institution_unavailable``), so codes cannot
be probed. Seats are claimed as for any enrolment (409 ``class_full``/``class_closed``).

A learner already in the class a code names is told so (409 ``already_enrolled``, in words
saying they are in that class: a second tap of the form, the code typed again); one waiting in
the course's default class with nothing studied is moved into the class (audited
``enrollment.class_changed``); one in another class of the course stays there (409
``already_enrolled``, in words saying why and to ask the institution).

Registration itself stays in the accounts domain (``registration.self_register``); this
module, above it, resolves the code to the class's institution and then enrols.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.accounts import registration
from app.accounts.exceptions import InstitutionUnavailable
from app.accounts.models import Institution, User
from app.accounts.principal import Principal
from app.courses import classes
from app.courses.classes import AlreadyInClass
from app.courses.classes.rules import INVITE_ALPHABET, INVITE_LENGTH
from app.courses.enrolment import enrol
from app.courses.exceptions import AlreadyEnrolled, ClassCodeUnavailable
from app.courses.models import ClassStatus, Course, CourseClass, CourseStatus, Enrollment
from app.errors import Forbidden
from app.validation import normalise_identifier

ALPHABET = INVITE_ALPHABET
LENGTH = INVITE_LENGTH


def normalise_code(typed: str) -> str:
    """``bk7q-m3xp`` / ``ＢＫ７Ｑ Ｍ３ＸＰ`` → ``BK7QM3XP``."""
    return normalise_identifier(typed or "").replace("-", "").upper()


def shown(code: str | None) -> str:
    """``BK7QM3XP`` → ``BK7Q-M3XP`` (easier to read out and type)."""
    return f"{code[:4]}-{code[4:]}" if code and len(code) == LENGTH else code or ""


def class_for_code(session: Session, typed: str) -> CourseClass | None:
    """The class a code names if it takes learners now; None when the text is not a class code
    at all (it may be an institution's code). A class code that cannot be used is refused."""
    code = normalise_code(typed)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    klass = session.exec(
        select(CourseClass).where(col(CourseClass.invite_code) == code)
    ).one_or_none()
    if klass is None:
        return None
    course = session.get(Course, klass.course_id)
    inst = session.get(Institution, klass.institution_id)
    if (
        klass.status is ClassStatus.closed
        or course is None
        or course.status is not CourseStatus.published
        or inst is None
        or inst.is_suspended
    ):
        raise InstitutionUnavailable(field="institution_code")
    return klass


def register_with_code(
    session: Session, *, code: str | None, client: str | None, **fields: Any
) -> tuple[User, Enrollment | None]:
    """Self-registration with the code the learner was given: a class invite code registers
    them into the class's institution and enrols them in that class; anything else is read as
    an institution's code (``registration.self_register``)."""
    klass = class_for_code(session, code) if code else None
    if klass is None:
        user = registration.self_register(session, institution_code=code, client=client, **fields)
        return user, None
    inst = session.get(Institution, klass.institution_id)
    if inst is None:  # checked by class_for_code; never reached
        raise InstitutionUnavailable(field="institution_code")
    user = registration.self_register(session, institution_code=inst.code, client=client, **fields)
    return user, _enrol_once(session, user, klass)


def _enrol_once(session: Session, user: User, klass: CourseClass) -> Enrollment:
    """Registration's (and the institution choice's) enrolment in the class a code names; the
    same code again (the form sent twice) is the enrolment it made."""
    try:
        return _into_class(session, Principal.of_user(user), klass)
    except AlreadyInClass:
        existing = classes.enrollment_of(session, klass.course_id, user.id)
        if existing is None:  # AlreadyInClass names it; never reached
            raise
        return existing


def _into_class(session: Session, principal: Principal, klass: CourseClass) -> Enrollment:
    """The learner in the class a code names: enrolled there; or, in the course's default class
    with nothing studied yet, moved there (``classes.move_from_default_class``). Already in
    that class: 409 :class:`AlreadyInClass`; in another class of the course that a code does
    not move them out of: 409 :class:`InAnotherClass` (both ``already_enrolled``)."""
    user = principal.user
    if user is None:
        raise Forbidden("Only learners enrol in courses.")
    existing = classes.enrollment_of(session, klass.course_id, user.id)
    if existing is None:
        try:
            return enrol(session, principal, klass.course_id, class_id=klass.id)
        except AlreadyEnrolled:  # a concurrent request (the other tap) enrolled them first
            existing = classes.enrollment_of(session, klass.course_id, user.id)
            if existing is None:
                raise
    if existing.class_id == klass.id:
        raise AlreadyInClass(enrollment_id=str(existing.id), class_id=str(klass.id))
    return classes.move_from_default_class(
        session, existing, klass, actor=principal.actor, via="code"
    )


def join_with_code(session: Session, principal: Principal, typed: str) -> Enrollment:
    """A registered learner enrols in the class a code names (their own institution's class;
    another institution's code is refused like an unknown one), as :func:`_into_class` says:
    a learner waiting in the course's default class moves into it; one already in it is told
    so (409 ``already_enrolled``, :class:`AlreadyInClass`)."""
    try:
        klass = class_for_code(session, typed)
    except InstitutionUnavailable:  # a class that no longer takes learners: the same answer
        klass = None
    user = principal.user
    if klass is None or user is None or user.institution_id not in (None, klass.institution_id):
        raise ClassCodeUnavailable(field="code")  # the request's field (``InviteCodeIn.code``)
    return _into_class(session, principal, klass)


def choose_with_code(session: Session, user: User, typed: str) -> Enrollment | None:
    """A learner of no institution chooses one later (the ``/institution`` page, ``PUT
    /me/institution``) with the code they were given, read as at registration: a class invite
    code joins the class's institution and enrols them in that class (the enrolment is
    returned); anything else is an institution's code (``registration.choose_institution``)."""
    klass = class_for_code(session, typed)
    if klass is None:
        registration.choose_institution(session, user, typed)
        return None
    inst = session.get(Institution, klass.institution_id)
    if inst is None:  # checked by class_for_code; never reached
        raise InstitutionUnavailable(field="institution_code")
    registration.choose_institution(session, user, inst.code)
    return _enrol_once(session, user, klass)

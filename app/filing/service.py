"""Class filing with the regulator: 开班备案 before a class starts, 结业备案 after it ends.

The institution files a class with the regulator of its jurisdiction (the class's course,
dates, capacity, roster size, head teacher and the site of offline parts); the regulator
approves it or returns it with a reason; a returned filing is corrected and filed again as the
next version, and every version is kept. Once the class has ended (结业) and its opening filing
was approved, the institution files its completion with the roster's results (per learner:
credited minutes, completed or not, the certificate held); the regulator decides on it the same
way.

A filing is *late* when made after it was due: an opening filing after the class's first day
less ``class_opening_lead_days``; a completion filing more than
``class_completion_filing_days`` after the class ended. Late filings carry how many days late
they were, on the institution's pages and the regulator's queue alike.

Only training in a class whose opening filing was approved counts for subsidy (the
``class_filed`` rule, :mod:`app.filing.facts`). A course's *default class* (self-enrolment in a
course that schedules no classes) has no dates and no head teacher: it cannot be filed, so
training there is not subsidised — subsidised training is filed training (seed 000 §14–17:
the training institution files each class with the human-resources department before it
starts). Institutions that want their self-enrolled learners subsidised schedule a class,
file it and enrol them there.

Who may do what: staff of the class's institution (signed in) file; regulators (not admins:
the human-resources department decides) approve or return within their jurisdiction, anyone
else gets a 404 for a filing outside it; the institution's staff and its keys with
``courses:read`` and regulators within the jurisdiction read filings. Every change is audited in
the institution's chain in the same transaction. Functions ``flush()`` and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal, Scope
from app.audit import service as audit
from app.audit.service import Actor
from app.certificates.models import Certificate, CertificateStatus
from app.clock import SHANGHAI
from app.config import get_settings
from app.courses.exceptions import ClassClosed, ClassNotFound
from app.courses.models import ClassStatus, Course, CourseClass, Enrollment
from app.courses.policy import may_author
from app.courses.progress import progress
from app.errors import Forbidden
from app.filing.exceptions import (
    ClassFilingApproved,
    ClassFilingDecided,
    ClassFilingNotFound,
    ClassFilingPending,
    ClassNotFileable,
    CompletionNotDue,
    InvalidClassFiling,
    OpeningNotApproved,
)
from app.filing.models import ClassFiling, ClassFilingLine, FilingKind, FilingStatus
from app.programmes import registry
from app.programmes.jurisdiction import jurisdiction_filter
from app.validation import check_text

SITE_CHARS = 300
NOTE_CHARS = 500
QUEUE_LIMIT = 500

#: Listeners of a filing made (with its completion lines flushed) and of the regulator's
#: decision on one, run in the change's transaction (subscribed in app/wiring.py: the regional
#: real-name system hears of both).
filed_hooks: list[Callable[[Session, ClassFiling, Actor], None]] = []
decided_hooks: list[Callable[[Session, ClassFiling, Actor], None]] = []


@dataclass(frozen=True)
class ClassFilingState:
    """Where a class stands with the regulator: its latest opening and completion filings."""

    opening: ClassFiling | None
    completion: ClassFiling | None

    @property
    def approved(self) -> bool:
        return self.opening is not None and self.opening.status is FilingStatus.approved


# ---------------------------------------------------------------- checks


def _optional_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidClassFiling(f"{field} is longer than {limit} characters.", field=field)
    return check_text(value, field=field, multiline=True)


def _reason(value: str | None) -> str:
    text = _optional_text(value, "reason", NOTE_CHARS)
    if text is None:
        raise InvalidClassFiling("A returned filing needs the reason.", field="reason")
    return text


def today() -> date:
    return clock.now().astimezone(SHANGHAI).date()


def due_date(klass: CourseClass, kind: FilingKind) -> date:
    """The last day a filing of this kind is on time (Asia/Shanghai)."""
    s = get_settings()
    if kind is FilingKind.opening:
        return klass.starts_on - timedelta(days=s.class_opening_lead_days)
    return _ended_on(klass) + timedelta(days=s.class_completion_filing_days)


def _ended_on(klass: CourseClass) -> date:
    if klass.closed_at is not None:
        return klass.closed_at.astimezone(SHANGHAI).date()
    return klass.ends_on or klass.starts_on


def _payload(f: ClassFiling) -> dict[str, object]:
    return {
        "class": str(f.class_id),
        "kind": f.kind.value,
        "version": f.version,
        "class_code": f.class_code,
        "course": str(f.course_id),
        "starts_on": f.starts_on.isoformat(),
        "ends_on": f.ends_on.isoformat() if f.ends_on else None,
        "capacity": f.capacity,
        "roster_size": f.roster_size,
        "head_teacher": str(f.head_teacher_id) if f.head_teacher_id else None,
        "site": f.site,
        "completed": f.completed,
        "certified": f.certified,
        "due_on": f.due_on.isoformat(),
        "days_late": f.days_late,
    }


# ---------------------------------------------------------------- reading


def may_read(principal: Principal, institution_id: uuid.UUID) -> bool:
    """The institution's staff and keys with ``courses:read``; regulators within their
    jurisdiction (and admins); never learners."""
    if principal.role is Role.learner:
        return False
    if principal.api_key is not None and Scope.courses_read.value not in principal.scopes:
        return False
    return principal.can_see_institution(institution_id)


def get_filing(
    session: Session, principal: Principal, filing_id: uuid.UUID, *, for_update: bool = False
) -> ClassFiling:
    """A filing the caller may read; anything else: 404 ``class_filing_not_found``."""
    f = session.get(
        ClassFiling, filing_id, with_for_update=for_update, populate_existing=for_update
    )
    if f is None or not may_read(principal, f.institution_id):
        raise ClassFilingNotFound()
    return f


def institution_names(session: Session, filings: list[ClassFiling]) -> dict[uuid.UUID, str]:
    """Institution id → name for these filings (the queue names who filed), in one query."""
    ids = {f.institution_id for f in filings}
    if not ids:
        return {}
    return {
        i.id: i.name for i in session.exec(select(Institution).where(col(Institution.id).in_(ids)))
    }


def lines_of(session: Session, filing: ClassFiling) -> list[ClassFilingLine]:
    return list(
        session.exec(
            select(ClassFilingLine)
            .where(col(ClassFilingLine.filing_id) == filing.id)
            .order_by(col(ClassFilingLine.no))
        )
    )


def versions(session: Session, class_id: uuid.UUID) -> list[ClassFiling]:
    return list(
        session.exec(
            select(ClassFiling)
            .where(col(ClassFiling.class_id) == class_id)
            .order_by(col(ClassFiling.filed_at).desc(), col(ClassFiling.version).desc())
        )
    )


def filings_of_class(
    session: Session, principal: Principal, class_id: uuid.UUID
) -> list[ClassFiling]:
    """Every version of a class's filings, newest first (its institution and regulators)."""
    klass = session.get(CourseClass, class_id)
    if klass is None or not may_read(principal, klass.institution_id):
        raise ClassNotFound()
    return versions(session, klass.id)


def states(session: Session, class_ids: list[uuid.UUID]) -> dict[uuid.UUID, ClassFilingState]:
    """Class id → its latest opening and completion filing, in one query."""
    out = {cid: ClassFilingState(None, None) for cid in class_ids}
    if not class_ids:
        return out
    latest: dict[tuple[uuid.UUID, FilingKind], ClassFiling] = {}
    for f in session.exec(
        select(ClassFiling)
        .where(col(ClassFiling.class_id).in_(class_ids))
        .order_by(col(ClassFiling.version))
    ):
        latest[(f.class_id, f.kind)] = f
    for cid in class_ids:
        out[cid] = ClassFilingState(
            latest.get((cid, FilingKind.opening)), latest.get((cid, FilingKind.completion))
        )
    return out


def state(session: Session, klass: CourseClass) -> ClassFilingState:
    return states(session, [klass.id])[klass.id]


def queue(
    session: Session,
    principal: Principal,
    *,
    status: FilingStatus | None = None,
    kind: FilingKind | None = None,
    late: bool | None = None,
    limit: int = QUEUE_LIMIT,
) -> list[ClassFiling]:
    """Filings the caller may read (a regulator: within the jurisdiction; staff: their own
    institution's), pending ones oldest first — the order they are worked — then the rest
    newest first."""
    if principal.role is Role.learner or (
        principal.api_key is not None and Scope.courses_read.value not in principal.scopes
    ):
        raise Forbidden("Class filings are read by the institution and its regulators.")
    stmt = select(ClassFiling).where(jurisdiction_filter(principal, ClassFiling.institution_id))
    if kind is not None:
        stmt = stmt.where(col(ClassFiling.kind) == kind)
    if late is True:
        stmt = stmt.where(col(ClassFiling.days_late) > 0)
    elif late is False:
        stmt = stmt.where(col(ClassFiling.days_late) == 0)
    limit = max(1, limit)
    out: list[ClassFiling] = []
    if status in (None, FilingStatus.pending):
        waiting = stmt.where(col(ClassFiling.status) == FilingStatus.pending)
        out += session.exec(waiting.order_by(col(ClassFiling.filed_at)).limit(limit))
    if status is not FilingStatus.pending and len(out) < limit:
        done = stmt.where(col(ClassFiling.status) != FilingStatus.pending)
        if status is not None:
            done = done.where(col(ClassFiling.status) == status)
        out += session.exec(done.order_by(col(ClassFiling.filed_at).desc()).limit(limit - len(out)))
    return out


# ---------------------------------------------------------------- filing (the institution)


def _own_class(session: Session, principal: Principal, class_id: uuid.UUID) -> CourseClass:
    if not may_author(principal):
        raise Forbidden("Only staff of the institution that runs the class can file it.")
    klass = session.get(CourseClass, class_id, with_for_update=True, populate_existing=True)
    if klass is None or klass.institution_id != principal.institution_id:
        raise ClassNotFound()
    if klass.is_default:
        raise ClassNotFileable()
    return klass


def file_class(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    *,
    kind: FilingKind,
    site: str | None = None,
    note: str | None = None,
) -> ClassFiling:
    """File a class's opening (before it starts) or completion (after it ended) with the
    regulator: the first version, or the next one after a return. An opening is filed only by
    an approved institution for an occupation and level its approval covers (409
    ``institution_not_approved`` / ``outside_approved_scope``); a completion reports what
    happened and is filed whatever the registry says now."""
    klass = _own_class(session, principal, class_id)  # locked: filings of a class in turn
    current = state(session, klass)
    latest = current.opening if kind is FilingKind.opening else current.completion
    if latest is not None and latest.status is FilingStatus.pending:
        raise ClassFilingPending(filing_id=str(latest.id))
    if latest is not None and latest.status is FilingStatus.approved:
        raise ClassFilingApproved(filing_id=str(latest.id))
    if kind is FilingKind.opening and klass.status is ClassStatus.closed:
        raise ClassClosed("A class that has ended is not filed for opening.")
    if kind is FilingKind.completion:
        if klass.status is not ClassStatus.closed:
            raise CompletionNotDue(class_status=klass.status.value)
        if not current.approved:
            raise OpeningNotApproved()
    course = session.get(Course, klass.course_id)
    if course is None:  # pragma: no cover - a foreign key guarantees it
        raise ClassNotFound()
    if kind is FilingKind.opening:  # what the class trains for: the approval must cover it
        registry.ensure_in_scope(
            session, klass.institution_id, course.occupation_code, course.level.value
        )
    teacher = session.get(User, klass.head_teacher_id) if klass.head_teacher_id else None
    enrolments = list(
        session.exec(
            select(Enrollment)
            .where(col(Enrollment.class_id) == klass.id)
            .order_by(col(Enrollment.created_at), col(Enrollment.id))
        )
    )
    due = due_date(klass, kind)
    filed_on = today()
    filing = ClassFiling(
        class_id=klass.id,
        institution_id=klass.institution_id,
        course_id=course.id,
        kind=kind,
        version=(latest.version + 1) if latest is not None else 1,
        class_code=klass.code,
        class_name=klass.name,
        course_title=course.title,
        occupation_code=course.occupation_code,
        occupation_name=course.occupation_name,
        level=course.level.value,
        starts_on=klass.starts_on,
        ends_on=klass.ends_on,
        capacity=klass.capacity,
        roster_size=len(enrolments),
        head_teacher_id=teacher.id if teacher else None,
        head_teacher_name=(teacher.real_name or teacher.username) if teacher else None,
        site=_optional_text(site, "site", SITE_CHARS),
        note=_optional_text(note, "note", NOTE_CHARS),
        ended_on=_ended_on(klass) if kind is FilingKind.completion else None,
        filed_at=clock.now(),
        filed_by=str(principal.actor),
        due_on=due,
        days_late=max((filed_on - due).days, 0),
    )
    lines: list[ClassFilingLine] = []
    if kind is FilingKind.completion:
        certs = {
            c.enrollment_id: c.serial
            for c in session.exec(
                select(Certificate).where(
                    col(Certificate.enrollment_id).in_([e.id for e in enrolments]),
                    col(Certificate.status) != CertificateStatus.revoked,
                )
            )
        }
        learners = {
            u.id: u
            for u in session.exec(
                select(User).where(col(User.id).in_([e.user_id for e in enrolments]))
            )
        }
        for no, e in enumerate(enrolments, start=1):
            learner = learners[e.user_id]
            p = progress(e, course)
            lines.append(
                ClassFilingLine(
                    filing_id=filing.id,
                    enrollment_id=e.id,
                    user_id=e.user_id,
                    no=no,
                    learner_name=learner.real_name or learner.username,
                    id_number_masked=learner.id_number_masked,
                    credited_minutes=p.credited_minutes,
                    required_minutes=p.required_minutes,
                    completed_at=e.completed_at,
                    certificate_serial=certs.get(e.id),
                )
            )
        filing.completed = sum(1 for x in lines if x.completed_at is not None)
        filing.certified = sum(1 for x in lines if x.certificate_serial is not None)
    try:
        with session.begin_nested():  # the class row is locked; the constraint is the backstop
            session.add(filing)
            session.flush()
    except IntegrityError:
        raise ClassFilingPending() from None
    session.add_all(lines)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="class_filing.filed",
        subject=f"class_filing:{filing.id}",
        payload={**_payload(filing), "note": filing.note},
        institution_id=filing.institution_id,
    )
    for hook in filed_hooks:
        hook(session, filing, principal.actor)
    return filing


# ---------------------------------------------------------------- deciding (the regulator)


def _pending_for_regulator(
    session: Session, principal: Principal, filing_id: uuid.UUID
) -> ClassFiling:
    if principal.user is None or principal.role is not Role.regulator:
        raise Forbidden("Class filings are decided by the regulator (人社部门).")
    filing = get_filing(session, principal, filing_id, for_update=True)
    if filing.status is not FilingStatus.pending:
        raise ClassFilingDecided(status=filing.status.value)
    return filing


def approve(
    session: Session, principal: Principal, filing_id: uuid.UUID, *, note: str | None = None
) -> ClassFiling:
    """The regulator agrees to a pending filing (a late one too: it stays flagged late)."""
    filing = _pending_for_regulator(session, principal, filing_id)
    return _decide(
        session, principal, filing, FilingStatus.approved, _optional_text(note, "note", NOTE_CHARS)
    )


def return_filing(
    session: Session, principal: Principal, filing_id: uuid.UUID, *, reason: str
) -> ClassFiling:
    """The regulator returns a pending filing with the reason; the institution corrects the
    class and files the next version."""
    filing = _pending_for_regulator(session, principal, filing_id)
    return _decide(session, principal, filing, FilingStatus.returned, _reason(reason))


def _decide(
    session: Session,
    principal: Principal,
    filing: ClassFiling,
    status: FilingStatus,
    note: str | None,
) -> ClassFiling:
    filing.status = status
    filing.decided_at = clock.now()
    filing.decided_by = str(principal.actor)
    filing.decision_note = note
    session.add(filing)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action=f"class_filing.{status.value}",
        subject=f"class_filing:{filing.id}",
        payload={
            "class": str(filing.class_id),
            "kind": filing.kind.value,
            "version": filing.version,
            "days_late": filing.days_late,
            "note": note,
        },
        institution_id=filing.institution_id,
    )
    for hook in decided_hooks:
        hook(session, filing, principal.actor)
    return filing

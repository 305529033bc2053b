"""Read models of the regulator dashboard (``app/web/regulator.py``): the summary folded along
one dimension for charts and tables, the records behind fraud evidence rows, and one learner's
file (enrolments and attendance) as a regulator or the institution's staff may see it.

Who sees what follows the services it builds on: :func:`statistics.summary_scope` and
:func:`service.report_scope` for the figures, ``can_see_institution`` for records.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.exceptions import UserNotFound
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.repository import visible_to
from app.attendance.models import AttendanceEvent, FaceTemplate
from app.courses.models import Course, DailyCredit, Enrollment, StudySession
from app.errors import Forbidden
from app.programmes.jurisdiction import visible_institutions
from app.reports import statistics
from app.reports.schemas import FraudReportOut, SummaryOut, SummaryRowOut


def _is_reader(principal: Principal) -> bool:
    """Regulators (their jurisdiction's institutions) and staff of an institution (their own)."""
    if principal.user is None:
        return False
    return principal.is_regulator or (
        principal.role is Role.staff and principal.institution_id is not None
    )


def require_reader(principal: Principal) -> None:
    if not _is_reader(principal):
        raise Forbidden("The dashboard is for regulators and institution staff.")


def institutions_for(session: Session, principal: Principal) -> list[Institution]:
    """The institutions the caller may filter by: a regulator's jurisdiction's, else their own."""
    require_reader(principal)
    return visible_institutions(session, principal)


# ---------------------------------------------------------------- the summary, folded


@dataclass
class Line:
    """One row of a folded table: a key (period, institution, …) and the summed counts."""

    key: str
    label: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(statistics.COUNTS, 0))


def fold(
    summary: SummaryOut,
    key: Callable[[SummaryRowOut], str],
    label: Callable[[SummaryRowOut], str] | None = None,
    order: Callable[[Line], Any] | None = None,
) -> list[Line]:
    """Sum the summary's rows by ``key``; ordered by ``order`` (default: the key)."""
    lines: dict[str, Line] = {}
    for row in summary.rows:
        k = key(row)
        line = lines.get(k)
        if line is None:
            line = lines[k] = Line(k, label(row) if label else k)
        for name in statistics.COUNTS:
            line.counts[name] += getattr(row, name)
    return sorted(lines.values(), key=order or (lambda ln: ln.key))


# ---------------------------------------------------------------- fraud evidence, resolved


@dataclass
class EvidenceRecords:
    """What the page needs to link evidence rows: the events (crop or not, when), the learners
    this caller may see, and which learner each enrolment, session or template belongs to."""

    events: dict[str, AttendanceEvent] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    #: enrolment, study session or face template id → (learner id, enrolment id or enrol event)
    owners: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    out = []
    for v in values:
        try:
            out.append(uuid.UUID(v))
        except ValueError:
            continue
    return out


def evidence_records(
    session: Session, principal: Principal, report: FraudReportOut
) -> EvidenceRecords:
    """Load, in a few queries, the records behind a fraud report's evidence rows. Only records
    of institutions the caller may see are returned (a shared frame may name an event of another
    institution: staff then see its id, never its crop or its learner)."""
    require_reader(principal)
    by_kind: dict[str, set[str]] = {}
    learners: set[str] = set()
    for ind in report.indicators:
        for f in ind.findings:
            learners.update(s for s in f.subjects if ":" not in s)
            for ev in f.evidence:
                by_kind.setdefault(ev.kind, set()).add(ev.id)
                if isinstance(ev.detail.get("learner"), str):
                    learners.add(ev.detail["learner"])
    out = EvidenceRecords()
    see = principal.can_see_institution

    templates = _uuids(by_kind.get("face_template", ()))
    enrol_events: dict[str, str] = {}
    if templates:
        for t in session.exec(select(FaceTemplate).where(col(FaceTemplate.id).in_(templates))):
            if t.enrol_event_id is not None:
                enrol_events[str(t.id)] = str(t.enrol_event_id)
    event_ids = _uuids([*by_kind.get("attendance_event", ()), *enrol_events.values()])
    if event_ids:
        for e in session.exec(
            select(AttendanceEvent).where(col(AttendanceEvent.id).in_(event_ids))
        ):
            if see(e.institution_id):
                out.events[str(e.id)] = e
    for tid, eid in enrol_events.items():
        event = out.events.get(eid)
        if event is not None:
            out.owners[tid] = (str(event.user_id), eid)

    enrol_ids = set(_uuids(by_kind.get("enrollment", ())))
    sessions = _uuids(by_kind.get("study_session", ()))
    session_enrol: dict[str, uuid.UUID] = {}
    if sessions:
        for s in session.exec(select(StudySession).where(col(StudySession.id).in_(sessions))):
            session_enrol[str(s.id)] = s.enrollment_id
            enrol_ids.add(s.enrollment_id)
    enrolments: dict[uuid.UUID, Enrollment] = {}
    if enrol_ids:
        for en in session.exec(select(Enrollment).where(col(Enrollment.id).in_(enrol_ids))):
            if see(en.institution_id):
                enrolments[en.id] = en
                out.owners[str(en.id)] = (str(en.user_id), str(en.id))
    for sid, enrol_id in session_enrol.items():
        found = enrolments.get(enrol_id)
        if found is not None:
            out.owners[sid] = (str(found.user_id), str(found.id))

    learners.update(owner for owner, _ in out.owners.values())
    ids = _uuids(learners)
    if ids:
        visible = _learners_visible(session, principal, ids)
        for u in session.exec(select(User).where(col(User.id).in_(ids))):
            if u.id in visible:
                out.users[str(u.id)] = u
    return out


def _learners_visible(
    session: Session, principal: Principal, ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Learners the caller may look up: all for national regulators; for staff (regional
    regulators), those of their institution (jurisdiction) or with an enrolment or attendance
    event there."""
    if principal.is_national:
        return set(ids)
    mine = set(
        session.exec(
            select(col(User.id)).where(
                col(User.id).in_(ids), visible_to(principal, User.institution_id)
            )
        )
    )
    mine.update(
        session.exec(
            select(col(Enrollment.user_id)).where(
                col(Enrollment.user_id).in_(ids), visible_to(principal, Enrollment.institution_id)
            )
        )
    )
    mine.update(
        session.exec(
            select(col(AttendanceEvent.user_id)).where(
                col(AttendanceEvent.user_id).in_(ids),
                visible_to(principal, AttendanceEvent.institution_id),
            )
        )
    )
    return mine


# ---------------------------------------------------------------- one learner's file


@dataclass
class LearnerFile:
    learner: User
    institution: Institution | None
    enrolments: list[tuple[Enrollment, Course, list[DailyCredit]]]
    events: list[AttendanceEvent]


def learner_file(
    session: Session, principal: Principal, user_id: uuid.UUID, *, event_limit: int = 200
) -> LearnerFile:
    """A learner's enrolments (with credited minutes by day) and recent attendance events, as
    far as the caller may see them; 404 ``user_not_found`` for a learner they may not see."""
    require_reader(principal)
    user = session.get(User, user_id)
    if user is None or user.role is not Role.learner:
        raise UserNotFound()
    if user_id not in _learners_visible(session, principal, [user_id]):
        raise UserNotFound()
    stmt = (
        select(Enrollment, Course)
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(col(Enrollment.user_id) == user_id)
        .order_by(col(Enrollment.created_at).desc(), col(Enrollment.id))
    )
    stmt = stmt.where(visible_to(principal, Enrollment.institution_id))
    pairs = list(session.exec(stmt))
    credits: dict[uuid.UUID, list[DailyCredit]] = {}
    if pairs:
        for dc in session.exec(
            select(DailyCredit)
            .where(col(DailyCredit.enrollment_id).in_([e.id for e, _ in pairs]))
            .order_by(col(DailyCredit.day))
        ):
            credits.setdefault(dc.enrollment_id, []).append(dc)
    ev_stmt = select(AttendanceEvent).where(col(AttendanceEvent.user_id) == user_id)
    ev_stmt = ev_stmt.where(visible_to(principal, AttendanceEvent.institution_id))
    events = list(
        session.exec(ev_stmt.order_by(col(AttendanceEvent.created_at).desc()).limit(event_limit))
    )
    institution = session.get(Institution, user.institution_id) if user.institution_id else None
    return LearnerFile(
        learner=user,
        institution=institution,
        enrolments=[(e, c, credits.get(e.id, [])) for e, c in pairs],
        events=events,
    )

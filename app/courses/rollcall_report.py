"""What became of a roll-call, in facts the pages and the API put into words: its attempts and
their reasons, the chances left, and the stretch of study it credited, held or forfeited.

Read-only; the rules that decide all this are in :mod:`app.courses.rollcall`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app import paging
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.accounts.repository import users_by_id, visible_to
from app.attendance import reasons
from app.courses.enrolment import can_see_enrollment
from app.courses.exceptions import RollCallNotFound
from app.courses.models import (
    Course,
    CreditSegment,
    Enrollment,
    RollCall,
    RollCallAttempt,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)
from app.courses.rollcall import MAX_ATTEMPTS
from app.errors import Forbidden
from app.paging import Page


@dataclass(frozen=True)
class RollCallReport:
    rollcall: RollCall
    attempts: list[RollCallAttempt]
    #: The stretch of study the roll-call closed (None while pending).
    segment: CreditSegment | None

    @property
    def attempts_left(self) -> int:
        if self.rollcall.status is not RollCallStatus.pending:
            return 0
        return max(0, MAX_ATTEMPTS - len(self.attempts))

    @property
    def forfeited_ms(self) -> int:
        """Milliseconds the roll-call cost the learner (0 once staff excused it)."""
        seg = self.segment
        return seg.ms if seg is not None and seg.status is SegmentStatus.forfeited else 0

    @property
    def held_ms(self) -> int:
        seg = self.segment
        return seg.ms if seg is not None and seg.status is SegmentStatus.held else 0

    @property
    def restored_ms(self) -> int:
        """Credit an exception gave back."""
        seg = self.segment
        if self.rollcall.excused_at is None or seg is None:
            return 0
        return seg.ms if seg.status is SegmentStatus.credited else 0

    @property
    def stretch_from(self) -> datetime | None:
        """Where the stretch the roll-call closed began (the last passed face check)."""
        return self.segment.started_at if self.segment is not None else None

    @property
    def last_failed(self) -> RollCallAttempt | None:
        failed = [a for a in self.attempts if a.outcome != "passed"]
        return failed[-1] if failed else None

    @property
    def reason_code(self) -> str | None:
        """The reason of the last failed attempt (None for a miss with no attempt)."""
        last = self.last_failed
        return last.reason_code if last is not None else None

    @property
    def reason_category(self) -> reasons.Category | None:
        return reasons.category(self.reason_code)


def _reports(session: Session, rollcalls: Sequence[RollCall]) -> list[RollCallReport]:
    """Reports of several roll-calls in two queries."""
    ids = [rc.id for rc in rollcalls]
    if not ids:
        return []
    attempts: dict[uuid.UUID, list[RollCallAttempt]] = {i: [] for i in ids}
    for a in session.exec(
        select(RollCallAttempt)
        .where(col(RollCallAttempt.rollcall_id).in_(ids))
        .order_by(col(RollCallAttempt.attempt))
    ):
        attempts[a.rollcall_id].append(a)
    closers = {f"rollcall:{i}": i for i in ids}
    segments: dict[uuid.UUID, CreditSegment] = {}
    for seg in session.exec(
        select(CreditSegment).where(col(CreditSegment.closed_by).in_(list(closers)))
    ):
        segments[closers[seg.closed_by]] = seg
    return [RollCallReport(rc, attempts[rc.id], segments.get(rc.id)) for rc in rollcalls]


def report_of(session: Session, rc: RollCall) -> RollCallReport:
    return _reports(session, [rc])[0]


def get_report(session: Session, principal: Principal, rollcall_id: uuid.UUID) -> RollCallReport:
    """A roll-call the caller may see (the learner, staff of the institution, regulators)."""
    rc = session.get(RollCall, rollcall_id)
    enrollment = session.get(Enrollment, rc.enrollment_id) if rc is not None else None
    if rc is None or enrollment is None or not can_see_enrollment(principal, enrollment):
        raise RollCallNotFound()
    return report_of(session, rc)


def decided_reports(session: Session, enrollment_ids: Sequence[uuid.UUID]) -> list[RollCallReport]:
    """Every decided roll-call of these enrolments, newest first."""
    if not enrollment_ids:
        return []
    rows = session.exec(
        select(RollCall)
        .where(
            col(RollCall.enrollment_id).in_(list(enrollment_ids)),
            col(RollCall.status) != RollCallStatus.pending,
        )
        .order_by(col(RollCall.offered_at).desc())
    ).all()
    return _reports(session, rows)


def interruption(session: Session, enrollment: Enrollment) -> RollCallReport | None:
    """The roll-call that paused (or holds in review) the enrolment's active study session, so
    the study page can say what happened when it is opened again."""
    study = session.exec(
        select(StudySession).where(
            col(StudySession.enrollment_id) == enrollment.id,
            col(StudySession.state).in_([SessionState.paused, SessionState.review]),
        )
    ).first()
    if study is None:
        return None
    rc = session.exec(
        select(RollCall)
        .where(
            col(RollCall.session_id) == study.id,
            col(RollCall.status).in_(
                [RollCallStatus.failed, RollCallStatus.missed, RollCallStatus.review]
            ),
        )
        .order_by(col(RollCall.offered_at).desc())
    ).first()
    return report_of(session, rc) if rc is not None else None


def rollcalls_by_event(
    session: Session, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """The roll-call each face check answered (checks that answered none are left out)."""
    if not event_ids:
        return {}
    rows = session.exec(
        select(RollCallAttempt.attendance_event_id, RollCallAttempt.rollcall_id).where(
            col(RollCallAttempt.attendance_event_id).in_(list(event_ids))
        )
    )
    return dict(rows.all())


# ---------------------------------------------------------------- exceptions granted


@dataclass(frozen=True)
class ExceptionRow:
    """A roll-call staff excused, with whom it concerned and what it gave back."""

    report: RollCallReport
    learner: User
    course: Course
    excused_by: User | None


def excused_page(
    session: Session,
    principal: Principal,
    *,
    q: str = "",
    learners: Any = None,
    excused_from: datetime | None = None,
    excused_before: datetime | None = None,
    page: int = 1,
    per_page: int = paging.PER_PAGE,
) -> Page[ExceptionRow]:
    """The exceptions granted on roll-calls of the enrolments the caller supervises (staff their
    institution's, regulators their jurisdiction's: ``visible_to``), latest first: the learner's
    name, username or phone containing ``q``, of the learners ``learners`` selects (a course's),
    excused in [``excused_from``, ``excused_before``). Offset paging with the total."""
    if principal.user is None or principal.role not in (Role.staff, Role.admin, Role.regulator):
        raise Forbidden("Only staff and regulators read the exceptions granted.")
    page, per_page = paging.bounds(page, per_page)
    where: list[Any] = [
        col(RollCall.excused_at).is_not(None),
        visible_to(principal, Enrollment.institution_id),
    ]
    if q.strip():
        pattern = paging.like(q.strip())
        where.append(
            or_(
                col(User.real_name).ilike(pattern, escape="\\"),
                col(User.username).ilike(pattern, escape="\\"),
                col(User.phone).ilike(pattern, escape="\\"),
            )
        )
    if learners is not None:
        where.append(col(RollCall.user_id).in_(learners))
    if excused_from is not None:
        where.append(col(RollCall.excused_at) >= excused_from)
    if excused_before is not None:
        where.append(col(RollCall.excused_at) < excused_before)
    joined = (
        select(RollCall, User, Course)
        .join(Enrollment, col(Enrollment.id) == col(RollCall.enrollment_id))
        .join(User, col(User.id) == col(RollCall.user_id))
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(*where)
    )
    total = int(
        session.exec(
            select(func.count())
            .select_from(RollCall)
            .join(Enrollment, col(Enrollment.id) == col(RollCall.enrollment_id))
            .join(User, col(User.id) == col(RollCall.user_id))
            .where(*where)
        ).one()
    )
    rows = session.exec(
        joined.order_by(col(RollCall.excused_at).desc(), col(RollCall.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    reports = {r.rollcall.id: r for r in _reports(session, [rc for rc, _u, _c in rows])}
    staff = users_by_id(session, {rc.excused_by for rc, _u, _c in rows if rc.excused_by})
    items = [
        ExceptionRow(reports[rc.id], u, c, staff.get(rc.excused_by) if rc.excused_by else None)
        for rc, u, c in rows
    ]
    return Page(items, total, page, per_page)

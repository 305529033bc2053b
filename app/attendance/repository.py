"""Attendance queries that take the caller: which events, crops and review rows a principal may
see is part of the query, written once here and used by the API and the pages alike.

Who may do what with attendance records (the policy) is also here, so the services and both
HTTP layers ask the same functions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app import paging
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.accounts.repository import users_by_id, visible_to
from app.attendance.exceptions import EventNotFound
from app.attendance.models import (
    AttendanceEvent,
    FaceTemplate,
    Purpose,
    ReviewStatus,
    TemplateStatus,
)
from app.errors import Forbidden
from app.paging import Page

# ---------------------------------------------------------------- policy


def may_review(principal: Principal) -> bool:
    """Staff (of the event's institution, by visibility) and admins decide events in review."""
    return principal.user is not None and principal.role in (Role.staff, Role.admin)


def may_read_review_queue(principal: Principal) -> bool:
    """Reviewers, and regulators (read only), see the review queue; API keys and learners not."""
    return principal.user is not None and principal.role in (Role.staff, Role.admin, Role.regulator)


# ---------------------------------------------------------------- events


def event_visible_to(principal: Principal) -> ColumnElement[bool]:
    """Events the principal may read: a learner their own; staff and keys their institution's;
    regulators all."""
    if principal.role is Role.learner:
        if principal.user is None:  # pragma: no cover - a learner principal is a user
            return false()
        return col(AttendanceEvent.user_id) == principal.user.id
    own = visible_to(principal, AttendanceEvent.institution_id)
    if principal.user is not None:
        own = own | (col(AttendanceEvent.user_id) == principal.user.id)
    return own


def crop_visible_to(principal: Principal) -> ColumnElement[bool]:
    """Events whose evidence crop the principal may see: never a learner, not even their own
    (a crop is evidence for reviewers); staff and keys their institution's, regulators all."""
    if principal.role is Role.learner:
        return false()
    return visible_to(principal, AttendanceEvent.institution_id)


def get_visible_event(
    session: Session, principal: Principal, event_id: uuid.UUID
) -> AttendanceEvent:
    """An event the caller may read; anything else is reported as not found."""
    event = session.exec(
        select(AttendanceEvent).where(
            col(AttendanceEvent.id) == event_id, event_visible_to(principal)
        )
    ).first()
    if event is None:
        raise EventNotFound()
    return event


def get_crop_event(session: Session, principal: Principal, event_id: uuid.UUID) -> AttendanceEvent:
    """An event whose evidence crop the caller may see; anything else is not found."""
    event = session.exec(
        select(AttendanceEvent).where(
            col(AttendanceEvent.id) == event_id, crop_visible_to(principal)
        )
    ).first()
    if event is None:
        raise EventNotFound()
    return event


def has_crop(event: AttendanceEvent) -> bool:
    return bool(event.evidence_path) and event.evidence_purged_at is None


# ---------------------------------------------------------------- the review queue


@dataclass(frozen=True)
class ReviewRow:
    """One event of the review queue with what a reviewer compares it against."""

    event: AttendanceEvent
    learner: User | None
    #: The event of the learner's active enrolment (its crop is the reference), if any.
    enrolment_event_id: uuid.UUID | None
    #: That enrolment's crop, when it exists, is not this event and the caller may see it.
    enrol_crop: uuid.UUID | None
    #: A 1:N duplicate: the other account (if the caller may see it) and its enrolment crop.
    matched: User | None
    matched_crop: uuid.UUID | None
    reviewer: User | None

    @property
    def has_crop(self) -> bool:
        return has_crop(self.event)


@dataclass(frozen=True)
class ReviewFilter:
    """Which events of the queue: the learner's name, username or phone containing ``q``, a
    purpose, created in [``created_from``, ``created_before``), of the learners a ``SELECT`` of
    user ids gives (``learners``: a course's, from the courses domain, which knows enrolments).
    """

    q: str = ""
    purpose: Purpose | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    learners: Any = None

    def where(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        q = self.q.strip()
        if q:
            pattern = paging.like(q)
            learners = select(User.id).where(
                or_(
                    col(User.real_name).ilike(pattern, escape="\\"),
                    col(User.username).ilike(pattern, escape="\\"),
                    col(User.phone).ilike(pattern, escape="\\"),
                )
            )
            out.append(col(AttendanceEvent.user_id).in_(learners))
        if self.learners is not None:
            out.append(col(AttendanceEvent.user_id).in_(self.learners))
        if self.purpose is not None:
            out.append(col(AttendanceEvent.purpose) == self.purpose)
        if self.created_from is not None:
            out.append(col(AttendanceEvent.created_at) >= self.created_from)
        if self.created_before is not None:
            out.append(col(AttendanceEvent.created_at) < self.created_before)
        return out


def _in_review(
    principal: Principal, statuses: tuple[ReviewStatus, ...], where: ReviewFilter
) -> list[ColumnElement[bool]]:
    return [
        col(AttendanceEvent.review_status).in_(statuses),
        visible_to(principal, AttendanceEvent.institution_id),
        *where.where(),
    ]


def _events_in_review(
    session: Session,
    principal: Principal,
    statuses: tuple[ReviewStatus, ...],
    limit: int,
    where: ReviewFilter = ReviewFilter(),
    offset: int = 0,
    latest_decision: bool = False,
) -> list[AttendanceEvent]:
    """Newest first; ``latest_decision``: the latest decisions first (the decided tab)."""
    order = [col(AttendanceEvent.created_at).desc(), col(AttendanceEvent.id)]
    if latest_decision:
        order.insert(0, col(AttendanceEvent.reviewed_at).desc())
    return list(
        session.exec(
            select(AttendanceEvent)
            .where(*_in_review(principal, statuses, where))
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
    )


def review_queue(
    session: Session,
    principal: Principal,
    statuses: tuple[ReviewStatus, ...] = (ReviewStatus.pending,),
    *,
    limit: int = 100,
) -> list[ReviewRow]:
    """Events in review (or decided) that the caller may see, newest first, each ready to show:
    four queries whatever the length (events, people, active templates, enrolment crops)."""
    if not may_read_review_queue(principal):
        raise Forbidden("Only staff and regulators read the review queue.")
    return _rows(session, principal, _events_in_review(session, principal, statuses, limit))


def review_page(
    session: Session,
    principal: Principal,
    statuses: tuple[ReviewStatus, ...],
    where: ReviewFilter = ReviewFilter(),
    *,
    page: int = 1,
    per_page: int = paging.PER_PAGE,
) -> Page[ReviewRow]:
    """One page of the review queue (pending, or decided: latest decision first), filtered,
    with the total: the staff and regulator pages' list."""
    if not may_read_review_queue(principal):
        raise Forbidden("Only staff and regulators read the review queue.")
    page, per_page = paging.bounds(page, per_page)
    total = int(
        session.exec(
            select(func.count())
            .select_from(AttendanceEvent)
            .where(*_in_review(principal, statuses, where))
        ).one()
    )
    events = _events_in_review(
        session,
        principal,
        statuses,
        per_page,
        where,
        offset=(page - 1) * per_page,
        latest_decision=ReviewStatus.pending not in statuses,
    )
    return Page(_rows(session, principal, events), total, page, per_page)


def _rows(session: Session, principal: Principal, events: list[AttendanceEvent]) -> list[ReviewRow]:
    """Each event ready to show: four queries whatever the length (people, active templates,
    enrolment crops)."""
    learners = {e.user_id for e in events}
    matched = {e.matched_user_id for e in events if e.matched_user_id is not None}
    reviewers = {e.reviewed_by for e in events if e.reviewed_by is not None}
    people = users_by_id(session, learners | matched | reviewers)
    templates: dict[uuid.UUID, FaceTemplate] = {}
    if learners | matched:
        for t in session.exec(
            select(FaceTemplate)
            .where(
                col(FaceTemplate.user_id).in_(learners | matched),
                col(FaceTemplate.status) == TemplateStatus.active,
            )
            .order_by(col(FaceTemplate.created_at))
        ):
            templates[t.user_id] = t  # the newest active one wins, as active_template() picks
    enrol_ids = {t.enrol_event_id for t in templates.values() if t.enrol_event_id is not None}
    crops: set[uuid.UUID] = set()
    if enrol_ids:
        crops = {
            e.id
            for e in session.exec(
                select(AttendanceEvent).where(
                    col(AttendanceEvent.id).in_(enrol_ids), crop_visible_to(principal)
                )
            )
            if has_crop(e)
        }
    see = principal.can_see_institution

    def crop_of(user_id: uuid.UUID | None, event: AttendanceEvent) -> uuid.UUID | None:
        template = templates.get(user_id) if user_id is not None else None
        crop = template.enrol_event_id if template is not None else None
        return crop if crop in crops and crop != event.id else None

    rows = []
    for e in events:
        other = people.get(e.matched_user_id) if e.matched_user_id is not None else None
        template = templates.get(e.user_id)
        rows.append(
            ReviewRow(
                event=e,
                learner=people.get(e.user_id),
                enrolment_event_id=template.enrol_event_id if template is not None else None,
                enrol_crop=crop_of(e.user_id, e),
                matched=other if other is not None and see(other.institution_id) else None,
                matched_crop=crop_of(e.matched_user_id, e),
                reviewer=people.get(e.reviewed_by) if e.reviewed_by is not None else None,
            )
        )
    return rows


def pending_count(session: Session, principal: Principal) -> int:
    """How many events wait for review among those the caller may see."""
    return int(
        session.exec(
            select(func.count()).where(
                col(AttendanceEvent.review_status) == ReviewStatus.pending,
                visible_to(principal, AttendanceEvent.institution_id),
            )
        ).one()
    )

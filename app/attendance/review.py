"""Reading attendance events, staff review of uncertain ones, evidence crops and their purge."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.repository import visible_to
from app.aftercommit import after_commit
from app.attendance import repository
from app.attendance.exceptions import (
    EventNotFound,
    EvidencePurged,
    NothingToReview,
)
from app.attendance.models import (
    AttendanceEvent,
    FaceTemplate,
    Purpose,
    ReviewStatus,
    TemplateStatus,
)
from app.attendance.templates import _activate
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings
from app.errors import Forbidden
from app.storage import ObjectMissing, evidence_store
from app.validation import check_text

#: Called with (session, event, approved, actor) after staff decide an event in review, so other
#: domains (the study ledger) can settle what waited on it without this package importing them
#: (subscribed in app/wiring.py).
review_decided_hooks: list[Callable[[Session, AttendanceEvent, bool, Actor], None]] = []


# ---------------------------------------------------------------- reading and review


def get_event(session: Session, principal: Principal, event_id: uuid.UUID) -> AttendanceEvent:
    return repository.get_visible_event(session, principal, event_id)


def list_events(
    session: Session,
    principal: Principal,
    *,
    user_id: uuid.UUID | None = None,
    review_status: ReviewStatus | None = None,
    institution_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[AttendanceEvent]:
    stmt = select(AttendanceEvent)
    if institution_id is not None:
        stmt = stmt.where(col(AttendanceEvent.institution_id) == institution_id)
    if principal.role is Role.learner:
        stmt = stmt.where(col(AttendanceEvent.user_id) == principal.user.id)  # type: ignore[union-attr]
    else:
        stmt = stmt.where(visible_to(principal, AttendanceEvent.institution_id))
    if user_id is not None:
        stmt = stmt.where(col(AttendanceEvent.user_id) == user_id)
    if review_status is not None:
        stmt = stmt.where(col(AttendanceEvent.review_status) == review_status)
    stmt = stmt.order_by(col(AttendanceEvent.created_at).desc()).limit(limit)
    return list(session.exec(stmt))


def review(
    session: Session, principal: Principal, event_id: uuid.UUID, *, approve: bool, reason: str
) -> AttendanceEvent:
    """Staff decide an event in review; approving a 1:N duplicate activates the held template."""
    reviewer = principal.user
    if reviewer is None or not repository.may_review(principal):
        raise Forbidden("Only staff of the learner's institution review attendance.")
    event = get_event(session, principal, event_id)
    if event.review_status is not ReviewStatus.pending:
        raise NothingToReview()
    now = clock.now()
    event.review_status = ReviewStatus.approved if approve else ReviewStatus.rejected
    event.reviewed_by = reviewer.id
    event.reviewed_at = now
    event.review_reason = check_text(reason, field="reason", multiline=True, required=False)[:500]
    session.add(event)
    audit.append(
        session,
        actor=principal.actor,
        action="face.review_approved" if approve else "face.review_rejected",
        subject=f"attendance_event:{event.id}",
        payload={"reason": event.review_reason, "purpose": event.purpose.value},
        institution_id=event.institution_id,
    )
    if event.purpose is Purpose.enrol:
        held = session.exec(
            select(FaceTemplate).where(
                col(FaceTemplate.enrol_event_id) == event.id,
                col(FaceTemplate.status) == TemplateStatus.pending,
            )
        ).first()
        learner = session.get(User, event.user_id)
        if held is not None and learner is not None:
            if approve:
                _activate(session, learner, held, principal.actor)
            else:
                held.status = TemplateStatus.retired
                held.retired_at = now
                session.add(held)
        elif not approve and learner is not None:
            _retire_rejected_enrolment(session, learner, event, principal.actor)
    session.flush()
    for hook in review_decided_hooks:
        hook(session, event, approve, principal.actor)
    return event


def _retire_rejected_enrolment(
    session: Session, learner: User, event: AttendanceEvent, actor: Actor
) -> None:
    """An enrolment referred to review after its template went live (the attack model doubted
    it), rejected by staff: that template is retired and the learner enrols again. Checks it
    already decided stay as they are; staff review those on their own."""
    live = session.exec(
        select(FaceTemplate).where(
            col(FaceTemplate.enrol_event_id) == event.id,
            col(FaceTemplate.status) == TemplateStatus.active,
        )
    ).first()
    if live is None:
        return
    live.status = TemplateStatus.retired
    live.retired_at = clock.now()
    session.add(live)
    learner.face_enrolled = False
    session.add(learner)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="face.template_retired",
        subject=f"face_template:{live.id}",
        payload={
            "user": str(learner.id),
            "why": "enrolment rejected in review",
            "attendance_event": str(event.id),
            "template_sha256": live.embeddings_sha256,
        },
        institution_id=learner.institution_id,
    )


def refer_to_review(session: Session, event: AttendanceEvent, *, why: str, actor: Actor) -> None:
    """Queue a recorded check that failed for staff review after all (a roll-call whose last
    chance failed on liveness while the face matched clearly): staff then approve or reject it
    as any check in review. The outcome stays what the check found; audited."""
    if event.review_status is not None:
        return
    event.review_status = ReviewStatus.pending
    session.add(event)
    audit.append(
        session,
        actor=actor,
        action="face.review_requested",
        subject=f"attendance_event:{event.id}",
        payload={
            "why": why,
            "purpose": event.purpose.value,
            "outcome": event.outcome.value,
            "reason_code": event.reason_code,
        },
        institution_id=event.institution_id,
    )
    session.flush()


def on_institution_chosen(
    session: Session, learner: User, institution: Institution, actor: Actor
) -> None:
    """A learner of no institution chose one: their checks still waiting for review in no
    institution's queue (a face enrolment flagged before the rule that every learner belongs
    to an institution) move to the chosen institution's queue, each move audited there."""
    waiting = session.exec(
        select(AttendanceEvent).where(
            col(AttendanceEvent.user_id) == learner.id,
            col(AttendanceEvent.institution_id).is_(None),
            col(AttendanceEvent.review_status) == ReviewStatus.pending,
        )
    ).all()
    for event in waiting:
        event.institution_id = institution.id
        session.add(event)
        audit.append(
            session,
            actor=actor,
            action="face.review_routed",
            subject=f"attendance_event:{event.id}",
            payload={"purpose": event.purpose.value, "reason_code": event.reason_code},
            institution_id=institution.id,
        )
    session.flush()


def evidence(session: Session, principal: Principal, event_id: uuid.UUID) -> bytes:
    """The evidence crop; staff of the event's institution and regulators only."""
    event = repository.get_crop_event(session, principal, event_id)
    if event.evidence_path is None:
        raise EventNotFound("This event has no evidence crop.")
    return stored_crop(event)


def stored_crop(event: AttendanceEvent) -> bytes:
    """The event's evidence crop as stored, checked against its recorded hash.

    Raises :class:`EvidencePurged` when it is past retention, missing or altered."""
    if event.evidence_path is None or event.evidence_purged_at is not None:
        raise EvidencePurged()
    try:
        data = evidence_store().read(event.evidence_path)
    except ObjectMissing:
        raise EvidencePurged("The stored crop is missing.") from None
    if hashlib.sha256(data).hexdigest() != event.evidence_sha256:
        raise EvidencePurged("The stored crop does not match its recorded hash.")
    return data


def purge_evidence(session: Session, *, now: datetime | None = None) -> int:
    """Delete evidence crops past the retention period; their hashes stay. Returns the count.

    Safe to run on many nodes at once (rows are claimed with ``FOR UPDATE SKIP LOCKED``)."""
    now = now or clock.now()
    cutoff = now - timedelta(days=get_settings().evidence_retention_days)
    events = session.exec(
        select(AttendanceEvent)
        .where(
            col(AttendanceEvent.created_at) < cutoff,
            col(AttendanceEvent.evidence_path).is_not(None),
            col(AttendanceEvent.evidence_purged_at).is_(None),
        )
        # Several purges at once (cron on every node): each event is purged and audited once;
        # rows another purge (or a review) holds are left to it (PostgreSQL; SQLite has one
        # writer).
        .with_for_update(skip_locked=True)
    ).all()
    store = evidence_store()
    for event in events:
        if event.evidence_path:
            # Deleted once the purge has committed: a purge that rolls back leaves the file.
            after_commit(session, partial(store.delete, event.evidence_path))
        event.evidence_purged_at = now
        session.add(event)
        audit.append(
            session,
            actor=Actor.system("purge-evidence"),
            action="face.evidence_purged",
            subject=f"attendance_event:{event.id}",
            payload={"evidence_sha256": event.evidence_sha256},
            institution_id=event.institution_id,
        )
    session.flush()
    return len(events)

"""The public notice (公示) of approved batches, objections raised against it and their
resolution."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app import clock
from app.accounts import throttle
from app.accounts.models import Institution
from app.accounts.principal import Principal
from app.accounts.privacy import mask_name
from app.audit import service as audit
from app.audit.service import Actor
from app.claims.common import _batch_for_regulator, _regulator, sha256_hex, subject
from app.claims.exceptions import (
    InvalidClaimInput,
    LineNotFound,
    NoticeNotFound,
    ObjectionClosed,
    ObjectionNotFound,
)
from app.claims.models import (
    BatchStatus,
    ClaimBatch,
    ClaimLine,
    LineDecision,
    NoticeObjection,
    ObjectionStatus,
)
from app.claims.payment import _close_if_nothing_to_pay
from app.claims.review import _decide, _reason, approved_lines
from app.courses.models import LEVEL_NAMES_ZH
from app.crypto import decrypt, encrypt
from app.errors import DomainError
from app.programmes.jurisdiction import jurisdiction_filter
from app.validation import check_text

__all__ = [
    "find_objection",
    "Notice",
    "NoticeLine",
    "current_notices",
    "list_objections",
    "objections_of",
    "raise_objection",
    "resolve_objection",
]


# ---------------------------------------------------------------- public notice (公示)


@dataclass(frozen=True)
class NoticeLine:
    line_id: uuid.UUID
    no: int
    name_masked: str
    id_number_masked: str
    course_title: str
    occupation: str
    level: str
    amount_fen: int


@dataclass(frozen=True)
class Notice:
    batch_id: uuid.UUID
    reference: str
    institution_name: str
    starts_at: datetime
    ends_at: datetime
    total_fen: int
    lines: list[NoticeLine]


def _notice_of(session: Session, batch: ClaimBatch, institution: Institution) -> Notice:
    lines = [
        NoticeLine(
            line_id=line.id,
            no=line.no,
            name_masked=mask_name(line.learner_name),
            id_number_masked=line.id_number_masked,
            course_title=line.course_title,
            occupation=f"{line.occupation_name}（{line.occupation_code}）",
            level=LEVEL_NAMES_ZH[line.level],
            amount_fen=line.amount_fen,
        )
        for line in approved_lines(session, batch)
    ]
    assert batch.notice_starts_at is not None and batch.notice_ends_at is not None  # noqa: S101
    return Notice(
        batch_id=batch.id,
        reference=batch.reference,
        institution_name=institution.name,
        starts_at=batch.notice_starts_at,
        ends_at=batch.notice_ends_at,
        total_fen=sum(x.amount_fen for x in lines),
        lines=lines,
    )


def current_notices(session: Session) -> list[Notice]:
    """Batches in public notice now (approved, notice not over), newest first: masked names
    and ID numbers, course, amount."""
    now = clock.now()
    rows = session.exec(
        select(ClaimBatch, Institution)
        .join(Institution, col(Institution.id) == col(ClaimBatch.institution_id))
        .where(
            col(ClaimBatch.status) == BatchStatus.approved,
            col(ClaimBatch.notice_ends_at) > now,
        )
        .order_by(col(ClaimBatch.notice_starts_at).desc())
    ).all()
    return [_notice_of(session, batch, inst) for batch, inst in rows]


#: The same objection (batch, line, words and contact) again this soon is the form sent twice.
RESENT_WITHIN = timedelta(minutes=10)


def _same_objection(
    session: Session,
    batch: ClaimBatch,
    line_id: uuid.UUID | None,
    text: str,
    contact: str,
    *,
    since: datetime,
) -> NoticeObjection | None:
    recent = session.exec(
        select(NoticeObjection).where(
            col(NoticeObjection.batch_id) == batch.id,
            col(NoticeObjection.line_id) == line_id
            if line_id is not None
            else col(NoticeObjection.line_id).is_(None),
            col(NoticeObjection.text) == text,
            col(NoticeObjection.received_at) > since,
        )
    ).all()
    for row in recent:
        kept = decrypt("objection_contact", row.contact_enc).decode() if row.contact_enc else ""
        if kept == contact:
            return row
    return None


def raise_objection(
    session: Session,
    batch_id: uuid.UUID,
    *,
    text: str,
    line_id: uuid.UUID | None = None,
    contact: str | None = None,
    client: str | None = None,
) -> NoticeObjection:
    """Anyone may object to a batch (or one of its lines) while it is in notice; the objection
    goes to the regulator, and payment waits until it is resolved. Objections received from one
    client address are limited per window (``objection_ip_max``, app/accounts/throttle.py):
    past it, 429 ``rate_limited`` with ``Retry-After``. The same objection again within
    :data:`RESENT_WITHIN` is the one received, not a second."""
    throttle.check(session, "objection", client)
    # Locked: an objection and the same one sent again at once are one row.
    batch = session.get(ClaimBatch, batch_id, with_for_update=True)
    now = clock.now()
    if (
        batch is None
        or batch.status is not BatchStatus.approved
        or batch.notice_ends_at is None
        or now >= batch.notice_ends_at
    ):
        raise NoticeNotFound()
    body = check_text(text, field="text", multiline=True)
    if len(body) > 2000:
        raise InvalidClaimInput("text: at most 2000 characters.", field="text")
    if line_id is not None and line_id not in {x.id for x in approved_lines(session, batch)}:
        raise LineNotFound()
    reach = check_text(contact or "", field="contact", required=False)
    if len(reach) > 200:
        raise InvalidClaimInput("contact: at most 200 characters.", field="contact")
    again = _same_objection(session, batch, line_id, body, reach, since=now - RESENT_WITHIN)
    if again is not None:
        return again  # the form sent twice (a double click, a reload): received once
    objection = NoticeObjection(
        batch_id=batch.id,
        line_id=line_id,
        institution_id=batch.institution_id,
        text=body,
        contact_enc=encrypt("objection_contact", reach.encode()) if reach else None,
        received_at=now,
    )
    session.add(objection)
    session.flush()
    throttle.record(session, "objection", client)
    audit.append(
        session,
        actor=Actor("public", "notice"),
        action="claim.objection_received",
        subject=subject(batch),
        institution_id=batch.institution_id,
        payload={
            "objection_id": str(objection.id),
            "line_id": str(line_id) if line_id else None,
            "text_sha256": sha256_hex(body.encode()),
            "has_contact": bool(reach),
        },
    )
    return objection


def objections_of(session: Session, batch: ClaimBatch) -> list[NoticeObjection]:
    return list(
        session.exec(
            select(NoticeObjection)
            .where(col(NoticeObjection.batch_id) == batch.id)
            .order_by(col(NoticeObjection.received_at))
        )
    )


def list_objections(
    session: Session, principal: Principal, *, status: ObjectionStatus | None = None
) -> list[NoticeObjection]:
    """Objections for the regulator to handle (jurisdiction), oldest first."""
    _regulator(principal)
    stmt = select(NoticeObjection).order_by(col(NoticeObjection.received_at))
    if status is not None:
        stmt = stmt.where(col(NoticeObjection.status) == status)
    return list(
        session.exec(stmt.where(jurisdiction_filter(principal, NoticeObjection.institution_id)))
    )


def find_objection(
    session: Session, principal: Principal, objection_id: uuid.UUID
) -> NoticeObjection | None:
    """The objection, if this regulator may act on it (its batch is in their jurisdiction)."""
    _regulator(principal)
    objection = session.get(NoticeObjection, objection_id)
    if objection is None:
        return None
    try:
        _batch_for_regulator(session, principal, objection.batch_id)
    except DomainError:
        return None
    return objection


def resolve_objection(
    session: Session,
    principal: Principal,
    objection_id: uuid.UUID,
    *,
    upheld: bool,
    resolution: str,
) -> NoticeObjection:
    """The regulator upholds an objection (its line is rejected: never paid) or dismisses it."""
    _regulator(principal)
    objection = session.get(NoticeObjection, objection_id, with_for_update=True)
    if objection is None:
        raise ObjectionNotFound()
    batch = _batch_for_regulator(session, principal, objection.batch_id)
    if objection.status is not ObjectionStatus.open:
        raise ObjectionClosed()
    text = _reason(resolution, field="resolution")
    objection.status = ObjectionStatus.upheld if upheld else ObjectionStatus.dismissed
    objection.resolved_at = clock.now()
    objection.resolved_by = str(principal.actor)
    objection.resolution = text
    session.add(objection)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="claim.objection_resolved",
        subject=subject(batch),
        institution_id=batch.institution_id,
        payload={
            "objection_id": str(objection.id),
            "status": objection.status.value,
            "resolution": text,
        },
    )
    if upheld and objection.line_id is not None and batch.status is BatchStatus.approved:
        line = session.get(ClaimLine, objection.line_id)
        assert line is not None  # noqa: S101 - the foreign key
        _decide(session, line, batch, LineDecision.rejected, text, principal.actor)
        _close_if_nothing_to_pay(session, batch)
    return objection

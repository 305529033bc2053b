"""Records for the regional real-name training system: what is written, what is sent, receipts.

Seed 003: training not entered in the regional real-name system is not paid (未录入系统实行实名制
管理的，不予拨付培训补贴资金). Every class opened (开班) or completed (结业), class filing
(开班备案 / 结业备案) made, approved or returned, certificate issued or revoked, completed
enrolment and claim batch filed, approved or paid becomes one :class:`ExchangeRecord`, written
by the listeners below in the transaction of the change (subscribed in app/wiring.py). The
sender posts each record once it is due; the regional system acknowledges or rejects each record
by id.

The body of a record (``schema/exchange-record-v1.schema.json``) carries real names and full ID
numbers: the regional system is a real-name register. They are not stored in the outbox; they
are read from the encrypted columns when the body is built for sending.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select
from standardwebhooks import Webhook, WebhookVerificationError

from app import clock
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.certificates.models import Certificate
from app.claims import service as claims
from app.claims.models import ClaimBatch
from app.config import get_settings
from app.courses.models import Course, CourseClass, Enrollment
from app.crypto import decrypt
from app.db import next_in_order
from app.errors import Forbidden
from app.exchange.exceptions import ExchangeNotConfigured, InvalidReceipt, InvalidSignature
from app.exchange.models import SEQ, ExchangeRecord, ReceiptStatus, SendStatus
from app.filing import service as class_filing
from app.filing.models import ClassFiling, FilingKind
from app.programmes.jurisdiction import jurisdiction_filter

SCHEMA_FILE = Path(__file__).parent / "schema" / "exchange-record-v1.schema.json"
SCHEMA_ID = "skilltrace.exchange-record.v1"

#: The record types and what each reports.
TYPES: dict[str, str] = {
    "class.opened": "a class started (开班): its course, dates and roster size",
    "class.completed": "a class ended (结业): its roster is frozen",
    "class_filing.filed": "an institution filed a class's opening (开班备案) or completion "
    "(结业备案, with the roster's results) with the regulator",
    "class_filing.approved": "the regulator approved a class filing",
    "class_filing.returned": "the regulator returned a class filing with the reason",
    "enrollment.completed": "a learner met a course's completion rule (training finished)",
    "certificate.issued": "a training-qualified certificate was issued",
    "certificate.revoked": "a certificate was revoked",
    "claim_batch.filed": "an institution filed a subsidy claim batch (its frozen lines)",
    "claim_batch.approved": "the regulator approved a batch (approved lines, notice period)",
    "claim_batch.paid": "the payment of a batch was recorded",
}


@cache
def record_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def emit(
    session: Session,
    *,
    type_: str,
    institution_id: uuid.UUID,
    subject: str,
    data: dict[str, Any],
) -> ExchangeRecord:
    """Write one record to the outbox (in the caller's transaction), due now."""
    now = clock.now()
    record = ExchangeRecord(
        seq=next_in_order(session, SEQ, col(ExchangeRecord.seq)),
        type=type_,
        institution_id=institution_id,
        subject=subject,
        data=data,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(record)
    session.flush()
    return record


# ---------------------------------------------------------------- the listeners


def _certificate_data(cert: Certificate) -> dict[str, Any]:
    return {
        "certificate_id": str(cert.id),
        "serial": cert.serial,
        "learner_id": str(cert.user_id),
        "course_id": str(cert.course_id),
        "course_title": cert.course_title,
        "occupation_code": cert.occupation_code,
        "occupation_name": cert.occupation_name,
        "level": cert.level.value,
        "credited_minutes": cert.credited_minutes,
        "issued_at": iso(cert.issued_at),
        "status": cert.status.value,
    }


def on_certificate_issued(session: Session, cert: Certificate, actor: Actor) -> None:
    emit(
        session,
        type_="certificate.issued",
        institution_id=cert.institution_id,
        subject=f"certificate:{cert.serial}",
        data=_certificate_data(cert),
    )


def on_certificate_revoked(session: Session, cert: Certificate, actor: Actor) -> None:
    data = _certificate_data(cert)
    data["revoked_at"] = iso(cert.revoked_at) if cert.revoked_at else None
    data["revoked_reason"] = cert.revoked_reason
    emit(
        session,
        type_="certificate.revoked",
        institution_id=cert.institution_id,
        subject=f"certificate:{cert.serial}",
        data=data,
    )


def on_completion(session: Session, enrollment: Enrollment, course: Course, actor: Actor) -> None:
    emit(
        session,
        type_="enrollment.completed",
        institution_id=enrollment.institution_id,
        subject=f"enrollment:{enrollment.id}",
        data={
            "enrollment_id": str(enrollment.id),
            "learner_id": str(enrollment.user_id),
            "course_id": str(course.id),
            "course_title": course.title,
            "occupation_code": course.occupation_code,
            "occupation_name": course.occupation_name,
            "level": course.level.value,
            "credited_minutes": enrollment.credited_ms // 60_000,
            "rollcalls_passed": enrollment.rollcalls_passed,
            "rollcalls_total": enrollment.rollcalls_total,
            "quiz_score": enrollment.best_quiz_score,
            "completed_at": iso(enrollment.completed_at or clock.now()),
        },
    )


def _batch_data(session: Session, batch: ClaimBatch) -> dict[str, Any]:
    return {
        "batch_id": str(batch.id),
        "reference": batch.reference,
        "period_kind": batch.period_kind,
        "year": batch.year,
        "quarter": batch.quarter,
        "status": batch.status.value,
        "payee": batch.payee.value,
        "total_fen": batch.total_fen,
        "lines_hash": batch.lines_hash,
    }


def _batch_record(session: Session, batch: ClaimBatch, type_: str, **extra: Any) -> None:
    emit(
        session,
        type_=type_,
        institution_id=batch.institution_id,
        subject=claims.subject(batch),
        data={**_batch_data(session, batch), **extra},
    )


def on_claim_filed(session: Session, batch: ClaimBatch, actor: Actor) -> None:
    _batch_record(session, batch, "claim_batch.filed")


def on_claim_approved(session: Session, batch: ClaimBatch, actor: Actor) -> None:
    _batch_record(
        session,
        batch,
        "claim_batch.approved",
        notice_ends_at=iso(batch.notice_ends_at) if batch.notice_ends_at else None,
    )


def on_claim_paid(session: Session, batch: ClaimBatch, actor: Actor) -> None:
    _batch_record(
        session,
        batch,
        "claim_batch.paid",
        paid_at=iso(batch.paid_at) if batch.paid_at else None,
        paid_fen=sum(p.amount_fen for p in claims.payments_of(session, batch)),
    )


def _class_record(session: Session, klass: CourseClass, type_: str) -> None:
    course = session.get(Course, klass.course_id)
    roster = session.exec(
        select(func.count()).select_from(Enrollment).where(col(Enrollment.class_id) == klass.id)
    ).one()
    emit(
        session,
        type_=type_,
        institution_id=klass.institution_id,
        subject=f"class:{klass.id}",
        data={
            "class_id": str(klass.id),
            "code": klass.code,
            "name": klass.name,
            "course_id": str(klass.course_id),
            "course_title": course.title if course else "",
            "occupation_code": course.occupation_code if course else "",
            "level": course.level.value if course else "",
            "starts_on": klass.starts_on.isoformat(),
            "ends_on": klass.ends_on.isoformat() if klass.ends_on else None,
            "opened_at": iso(klass.opened_at) if klass.opened_at else None,
            "closed_at": iso(klass.closed_at) if klass.closed_at else None,
            "enrolled": int(roster),
        },
    )


def on_class_opened(session: Session, klass: CourseClass, actor: Actor) -> None:
    _class_record(session, klass, "class.opened")


def on_class_closed(session: Session, klass: CourseClass, actor: Actor) -> None:
    _class_record(session, klass, "class.completed")


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _filing_data(f: ClassFiling) -> dict[str, Any]:
    """One version of a class filing as filed (and, once decided, the decision): a version
    never changes after the regulator's decision, so the record is what was decided on."""
    return {
        "filing_id": str(f.id),
        "class_id": str(f.class_id),
        "kind": f.kind.value,
        "version": f.version,
        "status": f.status.value,
        "class_code": f.class_code,
        "class_name": f.class_name,
        "course_id": str(f.course_id),
        "course_title": f.course_title,
        "occupation_code": f.occupation_code,
        "occupation_name": f.occupation_name,
        "level": f.level,
        "starts_on": f.starts_on.isoformat(),
        "ends_on": _day(f.ends_on),
        "ended_on": _day(f.ended_on),
        "capacity": f.capacity,
        "roster_size": f.roster_size,
        "head_teacher_name": f.head_teacher_name,
        "site": f.site,
        "note": f.note,
        "completed": f.completed,
        "certified": f.certified,
        "filed_at": iso(f.filed_at),
        "due_on": f.due_on.isoformat(),
        "days_late": f.days_late,
        "decided_at": iso(f.decided_at) if f.decided_at else None,
        "decision_note": f.decision_note,
    }


def _filing_record(session: Session, f: ClassFiling, type_: str) -> None:
    emit(
        session,
        type_=type_,
        institution_id=f.institution_id,
        subject=f"class_filing:{f.id}",
        data=_filing_data(f),
    )


def on_class_filing_filed(session: Session, filing: ClassFiling, actor: Actor) -> None:
    _filing_record(session, filing, "class_filing.filed")


def on_class_filing_decided(session: Session, filing: ClassFiling, actor: Actor) -> None:
    _filing_record(session, filing, f"class_filing.{filing.status.value}")


def _completion_lines(session: Session, filing_id: str) -> list[dict[str, Any]]:
    """A completion filing's roster with each learner's real name and full ID number."""
    filing = session.get(ClassFiling, uuid.UUID(filing_id))
    if filing is None or filing.kind is not FilingKind.completion:
        return []
    lines = class_filing.lines_of(session, filing)
    users = {
        u.id: u
        for u in session.exec(select(User).where(col(User.id).in_([x.user_id for x in lines])))
    }
    return [
        {
            "no": x.no,
            "enrollment_id": str(x.enrollment_id),
            "learner_id": str(x.user_id),
            "learner": _learner(users.get(x.user_id), x.learner_name),
            "credited_minutes": x.credited_minutes,
            "required_minutes": x.required_minutes,
            "completed_at": iso(x.completed_at) if x.completed_at else None,
            "certificate_serial": x.certificate_serial,
        }
        for x in lines
    ]


# ---------------------------------------------------------------- the body sent


def _learner(user: User | None, name: str | None = None, enc: str | None = None) -> dict[str, Any]:
    token = enc or (user.id_number_enc if user else None)
    return {
        "name": name or (user.real_name if user else None) or "",
        "id_number": decrypt("id_number", token).decode() if token else None,
    }


def body_of(session: Session, record: ExchangeRecord) -> bytes:
    """The request body: the record with the institution and, for learners, their real names and
    full ID numbers (read from the encrypted columns now, never stored in the outbox)."""
    inst = session.get(Institution, record.institution_id)
    data = dict(record.data)
    if "learner_id" in data:
        data["learner"] = _learner(session.get(User, uuid.UUID(data["learner_id"])))
    if record.type.startswith("claim_batch."):
        batch = session.get(ClaimBatch, uuid.UUID(data["batch_id"]))
        lines = claims.lines_of(session, batch) if batch else []
        history = claims.reviews_of(session, [line.id for line in lines])
        data["lines"] = [
            {
                "line_id": str(line.id),
                "no": line.no,
                "serial": line.serial,
                "learner": _learner(None, line.learner_name, line.id_number_enc),
                "amount_fen": line.amount_fen,
                "content_hash": line.content_hash,
                "decision": d.value if (d := claims.standing(history[line.id])) else None,
            }
            for line in lines
        ]
    if record.type.startswith("class_filing.") and data.get("kind") == FilingKind.completion:
        data["lines"] = _completion_lines(session, data["filing_id"])
    doc = {
        "schema": SCHEMA_ID,
        "record_id": str(record.id),
        "type": record.type,
        "timestamp": iso(record.created_at),
        "institution": {
            "id": str(record.institution_id),
            "code": inst.code if inst else "",
            "name": inst.name if inst else "",
        },
        "data": data,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# ---------------------------------------------------------------- receipts


@dataclass(frozen=True)
class Receipt:
    record_id: uuid.UUID
    status: ReceiptStatus
    reason: str | None = None
    regional_ref: str | None = None


def secret() -> str:
    value = get_settings().regional_exchange_secret
    if not value:
        raise ExchangeNotConfigured()
    return value


def verify_signature(body: bytes, headers: dict[str, str]) -> None:
    """The regional system signs its receipts like we sign our pushes (Standard Webhooks, the
    shared secret); anything else is refused."""
    try:
        Webhook(secret()).verify(body, headers)
    except WebhookVerificationError as exc:
        raise InvalidSignature(str(exc)) from None


def record_receipts(session: Session, receipts: Sequence[Receipt]) -> tuple[int, list[str]]:
    """Store each receipt on its record (the latest receipt wins, each one audited); returns how
    many were stored and the ids that name no record of ours."""
    if len({r.record_id for r in receipts}) != len(receipts):
        raise InvalidReceipt("Name each record once per request.")
    ids = [r.record_id for r in receipts]
    found = {
        rec.id: rec
        for rec in session.exec(
            select(ExchangeRecord).where(col(ExchangeRecord.id).in_(ids)).with_for_update()
        )
    }
    now = clock.now()
    stored, unknown = 0, []
    for r in receipts:
        rec = found.get(r.record_id)
        if rec is None:
            unknown.append(str(r.record_id))
            continue
        rec.receipt_status = r.status
        rec.receipt_reason = r.reason
        rec.regional_ref = r.regional_ref
        rec.receipt_at = now
        if rec.status is not SendStatus.delivered:
            # A receipt proves the record arrived: no need to send it again.
            rec.status, rec.delivered_at, rec.next_attempt_at = SendStatus.delivered, now, None
        session.add(rec)
        audit.append(
            session,
            actor=Actor.system("regional-exchange"),
            action="exchange.receipt",
            subject=rec.subject,
            institution_id=rec.institution_id,
            payload={
                "record_id": str(rec.id),
                "type": rec.type,
                "status": r.status.value,
                "reason": r.reason,
                "regional_ref": r.regional_ref,
            },
        )
        stored += 1
    session.flush()
    return stored, unknown


def records_for(
    session: Session,
    principal: Principal,
    *,
    subject: str | None = None,
    institution_id: uuid.UUID | None = None,
) -> list[ExchangeRecord]:
    """Records and their receipts: regulators within their jurisdiction, staff their own."""
    is_staff = principal.user is not None and principal.role is Role.staff
    if not (principal.is_regulator or is_staff):
        raise Forbidden("Exchange records are for regulators and the institution's staff.")
    stmt = select(ExchangeRecord).order_by(col(ExchangeRecord.seq))
    stmt = stmt.where(jurisdiction_filter(principal, ExchangeRecord.institution_id))
    if subject is not None:
        stmt = stmt.where(col(ExchangeRecord.subject) == subject)
    if institution_id is not None:
        stmt = stmt.where(col(ExchangeRecord.institution_id) == institution_id)
    return list(session.exec(stmt))

"""Institutions: creating them and looking them up (their registry record, status and
approved scope are the regulators': app/programmes/registry.py)."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app.accounts.exceptions import (
    InstitutionCodeTaken,
    InstitutionNotFound,
    InvalidInput,
)
from app.accounts.models import Institution, InstitutionKind, RegistryStatus
from app.audit import service as audit
from app.audit.service import Actor
from app.programmes import regions, registry
from app.validation import (
    INSTITUTION_CODE_RE,
    check_text,
    normalise_identifier,
)


def create_institution(
    session: Session,
    *,
    code: str,
    name: str,
    actor: Actor,
    region_code: str | None = None,
    credit_code: str | None = None,
    legal_name: str | None = None,
    kind: str | InstitutionKind | None = None,
) -> Institution:
    """A new institution, **pending** in the registry until the regulator of its region approves
    it (app/programmes/registry.py); ``region_code`` (GB/T 2260, loaded) places it in the
    regulators' jurisdictions (without one only national regulators see it). The record's
    ``credit_code`` (GB 32100, checked: 422 ``invalid_credit_code``), ``legal_name`` and
    ``kind`` may be given now or filled in by the institution's staff while it is pending."""
    code = normalise_identifier(code)
    if not INSTITUTION_CODE_RE.fullmatch(code):
        raise InvalidInput(
            "The institution code must be 1-32 letters, digits, _ or -.", field="code"
        )
    name = check_text(name, field="name")
    region = regions.place(session, region_code).code if region_code else None
    if session.exec(select(Institution).where(col(Institution.code) == code)).first():
        raise InstitutionCodeTaken()
    inst = Institution(
        code=code,
        name=name,
        region_code=region,
        credit_code=registry.normalise_credit_code(session, credit_code),
        legal_name=registry.normalise_legal_name(legal_name),
        kind=registry.normalise_kind(kind),
        registry_status=RegistryStatus.pending,
    )
    session.add(inst)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="institution.created",
        subject=f"institution:{inst.id}",
        payload={
            "code": inst.code,
            "name": inst.name,
            "region_code": region,
            "credit_code": inst.credit_code,
            "legal_name": inst.legal_name,
            "kind": inst.kind.value if inst.kind else None,
            "registry_status": inst.registry_status.value,
        },
        institution_id=inst.id,
    )
    return inst


def get_institution_by_code(session: Session, code: str) -> Institution:
    code = normalise_identifier(code)
    inst = session.exec(select(Institution).where(col(Institution.code) == code)).one_or_none()
    if inst is None:
        raise InstitutionNotFound(f"no institution with code {code!r}")
    return inst


def get_institution(session: Session, institution_id: uuid.UUID) -> Institution:
    inst = session.get(Institution, institution_id)
    if inst is None:
        raise InstitutionNotFound()
    return inst

"""The institution registry: the regulators' list and decisions, the staff's own record.
The rules (transitions, reasons, the record's checks, jurisdiction) live in
app/programmes/registry.py; the pages (app/web/regulator/registry.py) call the same functions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlmodel import Session

from app.accounts import exceptions as ax
from app.accounts.models import Institution, RegistryStatus
from app.api.deps import SessionDep, UserPrincipal
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.programmes import exceptions as px
from app.programmes import regions, registry
from app.programmes.jurisdiction import supervised_institution
from app.programmes.registry_schemas import (
    ApproveIn,
    RegistryDetailOut,
    RegistryEventOut,
    RegistryPage,
    RegistryReasonIn,
    RegistryRecordIn,
    RegistryRecordOut,
)
from app.validation import InvalidText

router = APIRouter(tags=["registry"])

InstitutionId = Annotated[uuid.UUID, Path(description="Institution id")]
_auth = (NotAuthenticated, ax.InvalidToken, Forbidden)
_decision = (
    *_auth,
    ax.InstitutionNotFound,
    px.RegistryReasonRequired,
    px.RegistryTransitionRefused,
    InvalidText,
)


def record_out(session: Session, inst: Institution) -> RegistryRecordOut:
    return RegistryRecordOut.model_validate(_record(session, inst))


def _record(session: Session, inst: Institution) -> dict[str, Any]:
    return {
        "id": inst.id,
        "code": inst.code,
        "name": inst.name,
        "legal_name": inst.legal_name,
        "credit_code": inst.credit_code,
        "kind": inst.kind,
        "region_code": inst.region_code,
        "region_name": regions.full_name(session, inst.region_code),
        "registry_status": inst.registry_status,
        "approved_scope": inst.approved_scope or [],
        "registry_changed_at": inst.registry_changed_at,
    }


def detail_out(session: Session, inst: Institution) -> RegistryDetailOut:
    history = [
        RegistryEventOut(time=h.time, actor=h.actor, action=h.action, payload=h.payload)
        for h in registry.history(session, inst.id)
    ]
    return RegistryDetailOut.model_validate({**_record(session, inst), "history": history})


@router.get(
    "/registry/institutions",
    response_model=RegistryPage,
    responses=problem_responses(*_auth, ax.InvalidInput),
)
def list_institutions(
    principal: UserPrincipal,
    session: SessionDep,
    status: Annotated[RegistryStatus | None, Query(description="only this status")] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the page before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RegistryPage:
    """The registry within the regulator's jurisdiction (national: every institution), by
    code, optionally one status (``pending`` to find what awaits approval), cursor-paginated."""
    rows, nxt = registry.listing(session, principal, status=status, cursor=cursor, limit=limit)
    return RegistryPage(items=[record_out(session, i) for i in rows], next_cursor=nxt)


@router.get(
    "/registry/institutions/{institution_id}",
    response_model=RegistryDetailOut,
    responses=problem_responses(*_auth, ax.InstitutionNotFound),
)
def get_institution(
    institution_id: InstitutionId, principal: UserPrincipal, session: SessionDep
) -> RegistryDetailOut:
    """One institution's record and its registry history (from its audit chain); outside the
    regulator's jurisdiction it is not found."""
    inst = supervised_institution(session, principal, institution_id)
    return detail_out(session, inst)


@router.post(
    "/registry/institutions/{institution_id}/approve",
    response_model=RegistryDetailOut,
    responses=problem_responses(
        *_decision, px.RegistryIncomplete, px.InvalidRegistryRecord, px.InvalidOccupationCode
    ),
)
def approve(
    institution_id: InstitutionId, body: ApproveIn, principal: UserPrincipal, session: SessionDep
) -> RegistryDetailOut:
    """核准 a pending or suspended institution for the occupations and levels listed (an
    approved one: a new scope). Regulators of the institution's jurisdiction only."""
    inst = registry.approve(
        session,
        principal,
        institution_id,
        scope=[(s.occupation_code, s.level) for s in body.approved_scope],
        reason=body.reason,
    )
    return detail_out(session, inst)


@router.post(
    "/registry/institutions/{institution_id}/suspend",
    response_model=RegistryDetailOut,
    responses=problem_responses(*_decision),
)
def suspend(
    institution_id: InstitutionId,
    body: RegistryReasonIn,
    principal: UserPrincipal,
    session: SessionDep,
) -> RegistryDetailOut:
    """暂停 an approved institution: its staff keep reading, but open no classes, issue no
    certificates and file no claims until it is approved again."""
    inst = registry.suspend(session, principal, institution_id, reason=body.reason)
    return detail_out(session, inst)


@router.post(
    "/registry/institutions/{institution_id}/revoke",
    response_model=RegistryDetailOut,
    responses=problem_responses(*_decision),
)
def revoke(
    institution_id: InstitutionId,
    body: RegistryReasonIn,
    principal: UserPrincipal,
    session: SessionDep,
) -> RegistryDetailOut:
    """撤销 (final): a revoked institution cannot be approved again."""
    inst = registry.revoke(session, principal, institution_id, reason=body.reason)
    return detail_out(session, inst)


@router.get(
    "/me/institution/registry",
    response_model=RegistryDetailOut,
    responses=problem_responses(*_auth, ax.InstitutionNotFound),
)
def my_institution(principal: UserPrincipal, session: SessionDep) -> RegistryDetailOut:
    """The signed-in staff member's institution: its registry record, status and history."""
    return detail_out(session, registry.own_record(session, principal))


@router.patch(
    "/me/institution/registry",
    response_model=RegistryDetailOut,
    responses=problem_responses(
        *_auth,
        ax.InstitutionNotFound,
        px.InvalidCreditCode,
        px.CreditCodeTaken,
        px.InvalidRegistryRecord,
        px.RegistryLocked,
        InvalidText,
    ),
)
def edit_my_institution(
    body: RegistryRecordIn, principal: UserPrincipal, session: SessionDep
) -> RegistryDetailOut:
    """Staff edit the record (credit code, legal name, kind) while it is pending; afterwards
    only an empty field may be filled in (409 ``registry_locked``)."""
    fields = body.model_dump(exclude_unset=True)
    inst = registry.update_record(session, principal, **fields)
    return detail_out(session, inst)

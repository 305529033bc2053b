"""Regions and the regulators' subsidy standards. Rules live in app/programmes."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app import clock
from app.accounts import exceptions as ax
from app.accounts import service as accounts
from app.api.deps import SessionDep, UserPrincipal
from app.courses.ledger import day_of
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.programmes import exceptions as px
from app.programmes import regions, standards
from app.programmes.models import ProgrammeKind, SubsidyStandard
from app.programmes.schemas import (
    ConfirmIn,
    InForceOut,
    RegionOut,
    StandardIn,
    StandardOut,
    WithdrawIn,
)
from app.validation import InvalidText

router = APIRouter(tags=["programmes"])

StandardId = Annotated[uuid.UUID, Path(description="Subsidy standard id")]
_auth = (NotAuthenticated, ax.InvalidToken, ax.InsufficientRole, Forbidden)
_input = (px.InvalidStandard, px.InvalidOccupationCode, px.InvalidRegionCode, InvalidText)


def _out(session: SessionDep, s: SubsidyStandard) -> StandardOut:
    return StandardOut.of(s, regions.full_name(session, s.region_code))


@router.get(
    "/regions",
    response_model=list[RegionOut],
    responses=problem_responses(*_auth, px.InvalidRegionCode, px.RegionNotFound),
)
def list_regions(
    principal: UserPrincipal,
    session: SessionDep,
    parent: Annotated[str, Query(max_length=12, description="children of this code")] = "000000",
) -> list[RegionOut]:
    """The regions directly under ``parent`` (default: the provinces), by code."""
    parent_code = regions.get_region(session, parent).code
    return [
        RegionOut(
            code=r.code,
            name=r.name,
            full_name=regions.full_name(session, r.code),
            level=r.level,
            parent_code=r.parent_code,
        )
        for r in regions.children(session, parent_code)
    ]


@router.get(
    "/subsidy-standards",
    response_model=list[StandardOut],
    responses=problem_responses(*_auth),
)
def list_standards(principal: UserPrincipal, session: SessionDep) -> list[StandardOut]:
    """The catalogue a regulator reads: their jurisdiction's standards and the caps above it,
    every version (proposals from the old course amounts included)."""
    return [_out(session, s) for s in standards.visible(session, principal)]


@router.post(
    "/subsidy-standards",
    status_code=status.HTTP_201_CREATED,
    response_model=StandardOut,
    responses=problem_responses(
        *_auth,
        *_input,
        px.RegionNotFound,
        px.OutsideJurisdiction,
        px.StandardAboveCap,
        px.StandardOverlaps,
    ),
)
def set_standard(body: StandardIn, principal: UserPrincipal, session: SessionDep) -> StandardOut:
    """A new version of a standard in a region of the caller's jurisdiction (regulators); the
    previous version ends the day before; refused above an upper region's cap."""
    rule_fields = ("target_groups", "min_age", "max_age", "retirement_rule", "residence_kinds")
    values = body.model_dump(exclude={*rule_fields, "max_per_year"})
    rules = standards.ProgrammeRules(
        target_groups=tuple(g.value for g in body.target_groups),
        min_age=body.min_age,
        max_age=body.max_age,
        retirement_rule=body.retirement_rule,
        residence_kinds=tuple(k.value for k in body.residence_kinds),
        max_per_year=body.max_per_year,
    )
    s = standards.set_standard(session, principal, **values, rules=rules)
    return _out(session, s)


@router.get(
    "/subsidy-standards/in-force",
    response_model=InForceOut,
    responses=problem_responses(*_auth, ax.InstitutionNotFound, px.InvalidOccupationCode),
)
def in_force(
    principal: UserPrincipal,
    session: SessionDep,
    institution_id: uuid.UUID,
    occupation_code: Annotated[str, Query(max_length=32, examples=["6-31-01-03"])],
    level: Annotated[str, Query(max_length=16, examples=["level4"])],
    on: Annotated[date | None, Query(description="default: today (Asia/Shanghai)")] = None,
    programme_kind: ProgrammeKind = ProgrammeKind.employment_skills,
) -> InForceOut:
    """What a certificate issued by the institution on a day would carry (the standard in force
    for its region, capped by the regions above); standards are public policy."""
    inst = accounts.get_institution(session, institution_id)
    day = on or day_of(clock.now())
    code = standards.normalise_occupation_code(occupation_code)
    found = standards.standard_in_force(session, inst, code, level, day, programme_kind)
    return InForceOut(
        subsidised=found is not None and found.amount_fen > 0,
        amount_fen=found.amount_fen if found else 0,
        on_date=day,
        standard=_out(session, found.standard) if found else None,
        capped_by=_out(session, found.capped_by) if found and found.capped_by else None,
    )


@router.get(
    "/subsidy-standards/{standard_id}",
    response_model=StandardOut,
    responses=problem_responses(*_auth, px.StandardNotFound),
)
def get_standard(
    standard_id: StandardId, principal: UserPrincipal, session: SessionDep
) -> StandardOut:
    """One version of a standard in the caller's catalogue."""
    return _out(session, standards.get_standard(session, principal, standard_id))


@router.post(
    "/subsidy-standards/{standard_id}/confirm",
    response_model=StandardOut,
    responses=problem_responses(
        *_auth,
        px.StandardNotFound,
        px.StandardNotProposed,
        px.StandardAboveCap,
        px.StandardOverlaps,
    ),
)
def confirm_standard(
    standard_id: StandardId, body: ConfirmIn, principal: UserPrincipal, session: SessionDep
) -> StandardOut:
    """Put a proposed standard (from a course's old amount) in force from a date."""
    s = standards.confirm(session, principal, standard_id, effective_from=body.effective_from)
    return _out(session, s)


@router.post(
    "/subsidy-standards/{standard_id}/withdraw",
    response_model=StandardOut,
    responses=problem_responses(*_auth, *_input, px.StandardNotFound),
)
def withdraw_standard(
    standard_id: StandardId, body: WithdrawIn, principal: UserPrincipal, session: SessionDep
) -> StandardOut:
    """Withdraw a proposal or a version; certificates already issued keep their amount."""
    return _out(session, standards.withdraw(session, principal, standard_id, reason=body.reason))

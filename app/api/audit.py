"""Audit checkpoints and the public keys to check them with."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from app.accounts.exceptions import InstitutionNotFound, InvalidToken, MissingScope
from app.api.deps import PrincipalDep, SessionDep, require_scope
from app.audit import service as audit
from app.errors import Forbidden, NotAuthenticated, problem_responses

router = APIRouter(tags=["audit"])


class CheckpointOut(BaseModel):
    type: str
    iss: str
    chain: str
    seq: int
    head_hash: str
    time: str
    jws: str


@router.get(
    "/audit/checkpoint",
    response_model=CheckpointOut,
    dependencies=[require_scope("audit:read")],
    responses=problem_responses(
        NotAuthenticated, InvalidToken, Forbidden, MissingScope, InstitutionNotFound
    ),
)
def get_checkpoint(
    principal: PrincipalDep, session: SessionDep, institution_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """The latest signed head of an institution's chain (no institution: the platform chain).

    Staff and API keys see their own institution; regulators any.
    """
    if principal.role is not None and not (principal.is_regulator or principal.role == "staff"):
        raise Forbidden()
    target = institution_id or (None if principal.is_regulator else principal.institution_id)
    if target is not None and not principal.can_see_institution(target):
        raise Forbidden("You can only read your own institution's audit trail.")
    if target is None and not principal.is_regulator:
        raise Forbidden()
    return audit.checkpoint(session, audit.chain_for(target))

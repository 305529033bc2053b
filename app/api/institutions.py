"""Partner-facing learner management and API key administration for an institution."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.accounts import exceptions as exc
from app.accounts import service as accounts
from app.accounts.principal import Principal
from app.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    LearnerCreateIn,
    LearnerOut,
    LearnerPage,
)
from app.api.deps import CurrentUser, SessionDep, UserPrincipal, require_scope
from app.errors import Forbidden, NotAuthenticated, problem_responses

router = APIRouter(tags=["institutions"])

LearnersRead = Annotated[Principal, require_scope("learners:read")]
LearnersWrite = Annotated[Principal, require_scope("learners:write")]

_auth_errors = (NotAuthenticated, exc.InvalidToken, Forbidden, exc.MissingScope)


@router.get(
    "/learners",
    response_model=LearnerPage,
    responses=problem_responses(*_auth_errors, exc.InvalidInput),
)
def list_learners(
    principal: LearnersRead,
    session: SessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> LearnerPage:
    """Learners of the caller's institution (regulators: all), oldest first, cursor-paginated."""
    rows, nxt = accounts.list_learners(session, principal, cursor=cursor, limit=limit)
    return LearnerPage(
        items=[LearnerOut.model_validate(u, from_attributes=True) for u in rows], next_cursor=nxt
    )


@router.post(
    "/learners",
    status_code=status.HTTP_201_CREATED,
    response_model=LearnerOut,
    responses=problem_responses(
        *_auth_errors,
        exc.InvalidIdNumberError,
        exc.UsernameTaken,
        exc.IdNumberRegistered,
        exc.WeakPassword,
        exc.InvalidInput,
    ),
)
def create_learner(
    body: LearnerCreateIn, principal: LearnersWrite, session: SessionDep
) -> LearnerOut:
    """A partner platform or staff creates a learner belonging to its institution."""
    institution_id = accounts.acting_institution(principal)
    user = accounts.register_learner(
        session,
        username=body.username,
        password=body.password,
        real_name=body.real_name,
        id_number=body.id_number,
        phone=body.phone,
        group=body.group,
        institution_id=institution_id,
        actor=principal.actor,
    )
    return LearnerOut.model_validate(user, from_attributes=True)


@router.get(
    "/learners/{learner_id}",
    response_model=LearnerOut,
    responses=problem_responses(*_auth_errors, exc.UserNotFound),
)
def get_learner(learner_id: uuid.UUID, principal: LearnersRead, session: SessionDep) -> LearnerOut:
    """One learner: learners see only themselves; anyone else is reported as not found."""
    user = accounts.get_visible_learner(session, principal, learner_id)
    return LearnerOut.model_validate(user, from_attributes=True)


@router.get("/api-keys", response_model=list[ApiKeyOut], responses=problem_responses(*_auth_errors))
def list_keys(user: CurrentUser, session: SessionDep) -> list[ApiKeyOut]:
    """The API keys of the signed-in staff member's institution (never the keys themselves)."""
    inst = accounts.acting_institution(Principal.of_user(user))
    return [
        ApiKeyOut.model_validate(k, from_attributes=True)
        for k in accounts.list_api_keys(session, inst)
    ]


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problem_responses(*_auth_errors, exc.InvalidInput),
)
def create_key(body: ApiKeyIn, user: CurrentUser, session: SessionDep) -> ApiKeyCreated:
    """Create a partner API key for the staff member's institution; the key is shown once."""
    principal = Principal.of_user(user)
    inst = accounts.acting_institution(principal)
    key, full = accounts.create_api_key(
        session, institution_id=inst, name=body.name, scopes=body.scopes, actor=principal.actor
    )
    return ApiKeyCreated(
        **ApiKeyOut.model_validate(key, from_attributes=True).model_dump(), key=full
    )


@router.post(
    "/api-keys/{key_id}/revoke",
    response_model=ApiKeyOut,
    responses=problem_responses(*_auth_errors, exc.ApiKeyNotFound),
)
def revoke_key(key_id: uuid.UUID, principal: UserPrincipal, session: SessionDep) -> ApiKeyOut:
    """Revoke a key of the caller's institution (staff; admins any); it stops working at once.
    API keys cannot revoke keys, their own or their siblings."""
    key = accounts.revoke_api_key(session, key_id=key_id, principal=principal)
    return ApiKeyOut.model_validate(key, from_attributes=True)

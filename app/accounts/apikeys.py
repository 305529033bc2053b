"""Partner API keys: created once (only a keyed hash is stored), checked, listed, revoked."""

from __future__ import annotations

import hmac
import uuid

from sqlmodel import Session, col, select

from app import clock
from app.accounts import tokens
from app.accounts.exceptions import (
    ApiKeyInstitutionSuspended,
    ApiKeyNotFound,
    InvalidInput,
    InvalidToken,
)
from app.accounts.institutions import get_institution
from app.accounts.models import (
    ApiKey,
    Institution,
    Role,
)
from app.accounts.principal import SCOPES, Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.errors import Forbidden
from app.validation import (
    check_text,
)


def create_api_key(
    session: Session,
    *,
    institution_id: uuid.UUID,
    name: str,
    scopes: list[str],
    actor: Actor,
) -> tuple[ApiKey, str]:
    """Create a key; the full key is returned once and only its keyed hash is stored."""
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        raise InvalidInput(f"unknown scopes {unknown}; known: {sorted(SCOPES)}")
    get_institution(session, institution_id)
    full, prefix, digest = tokens.new_api_key()
    key = ApiKey(
        institution_id=institution_id,
        name=check_text(name, field="name"),
        prefix=prefix,
        key_hash=digest,
        scopes=sorted(set(scopes)),
        created_by=str(actor),
    )
    session.add(key)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="api_key.created",
        subject=f"api_key:{key.id}",
        payload={"name": key.name, "prefix": prefix, "scopes": key.scopes},
        institution_id=institution_id,
    )
    return key, full


def api_key_from_secret(session: Session, presented: str) -> ApiKey:
    prefix = tokens.split_api_key(presented)
    key, suspended_at = None, None
    if prefix:
        row = session.exec(
            select(ApiKey, col(Institution.suspended_at))
            .join(Institution, col(Institution.id) == col(ApiKey.institution_id))
            .where(col(ApiKey.prefix) == prefix)
        ).one_or_none()
        if row is not None:
            key, suspended_at = row
    if (
        key is None
        or key.revoked_at is not None
        or not hmac.compare_digest(key.key_hash, tokens.hash_api_secret(presented))
    ):
        raise InvalidToken("The API key is invalid or revoked.")
    if suspended_at is not None:
        raise ApiKeyInstitutionSuspended()
    return key


def list_api_keys(session: Session, institution_id: uuid.UUID) -> list[ApiKey]:
    return list(
        session.exec(
            select(ApiKey)
            .where(col(ApiKey.institution_id) == institution_id)
            .order_by(col(ApiKey.created_at))
        )
    )


def revoke_api_key(session: Session, *, key_id: uuid.UUID, principal: Principal) -> ApiKey:
    """Staff revoke their institution's keys, admins any; API keys manage no keys (403)."""
    if principal.user is None or principal.role not in (Role.staff, Role.admin):
        raise Forbidden("API keys are managed by the institution's staff.")
    key = session.get(ApiKey, key_id)
    if key is None or not principal.can_see_institution(key.institution_id):
        raise ApiKeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        session.add(key)
        audit.append(
            session,
            actor=principal.actor,
            action="api_key.revoked",
            subject=f"api_key:{key.id}",
            payload={"prefix": key.prefix},
            institution_id=key.institution_id,
        )
    return key

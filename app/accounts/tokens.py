"""Bearer access tokens (JWT, HS256 with a key derived from the secret) and API key material."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta
from typing import Any

import jwt

from app import clock
from app.config import get_settings
from app.crypto import derive_key

API_KEY_PREFIX = "stk_"  # noqa: S105 - a marker, not a secret


def issue_access_token(user_id: uuid.UUID, role: str, token_version: int) -> tuple[str, int]:
    settings = get_settings()
    now = clock.now()
    ttl = settings.access_token_minutes * 60
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": secrets.token_hex(8),
        "typ": "access",
    }
    return jwt.encode(claims, derive_key("access-token"), algorithm="HS256"), ttl


def decode_access_token(token: str) -> dict[str, Any]:
    """Verify signature and expiry (against the app clock); raises jwt.InvalidTokenError."""
    claims: dict[str, Any] = jwt.decode(
        token,
        derive_key("access-token"),
        algorithms=["HS256"],
        options={"require": ["sub", "exp", "iat"], "verify_exp": False},
    )
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    if int(claims["exp"]) <= clock.now().timestamp():
        raise jwt.ExpiredSignatureError("token expired")
    return claims


def new_api_key() -> tuple[str, str, str]:
    """Returns (full key shown once, public prefix, keyed hash to store)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    full = f"{API_KEY_PREFIX}{prefix}_{secret}"
    return full, prefix, hash_api_secret(full)


def hash_api_secret(full_key: str) -> str:
    return hmac.new(derive_key("api-key"), full_key.encode(), hashlib.sha256).hexdigest()


def split_api_key(presented: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    if not presented.startswith(API_KEY_PREFIX):
        return None
    body = presented[len(API_KEY_PREFIX) :]
    prefix, sep, secret = body.partition("_")
    if not sep or len(prefix) != 12 or not secret:
        return None
    return prefix

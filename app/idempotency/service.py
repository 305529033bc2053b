"""Idempotency keys: claim one before the request runs, store its response, replay it.

Semantics follow draft-ietf-httpapi-idempotency-key-header and Stripe's long-standing
behaviour: a request carrying a key is executed once per (caller, key); a repeat with the same
method, path and body fingerprint gets the first response again; the same key on a different
request is refused (422); a repeat while the first is still running is refused (409).

The claim is an INSERT on the unique (caller, key) row, committed before the handler runs, so two
concurrent requests can never both run. The response is stored in the request's own transaction
(app/idempotency/outcome.py), so a claim still in progress after ``idempotency_stale_after_s``
belongs to a request that committed nothing: a retry takes it over and runs it. The caller of
these functions owns the transaction (see ``app.idempotency.middleware``).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock, crypto
from app.config import get_settings
from app.idempotency.exceptions import (
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    IdempotencyResponseTooLarge,
    InvalidIdempotencyKey,
)
from app.idempotency.models import IdempotencyKey

#: Methods whose requests honour the header (GET, PUT and DELETE are idempotent already).
METHODS = frozenset({"POST", "PATCH"})
#: Responses larger than this are not stored: the key stays claimed and a repeat gets 409
#: ``idempotency_response_too_large`` (no API response under /api/v1 comes near it today).
MAX_STORED_RESPONSE_BYTES = 1024 * 1024
#: Response headers that are part of the result and replayed; everything else is per response.
REPLAYED_HEADERS = frozenset({"content-type", "content-language", "location", "link", "etag"})
#: Seconds a client is asked to wait when the first request is still running.
RETRY_AFTER_S = 1
#: Responses never stored (the key is released so a retry runs again): the caller was not
#: established (401, CSRF), or the refusal is about this moment, not about the request (429).
_NOT_STORED_STATUSES = frozenset({401, 429})
_NOT_STORED_CODES = frozenset(
    {"csrf_failed", "too_many_attempts", IdempotencyRequestInProgress.code}
)

_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# The draft defines the field as a Structured Field string: "…" with \" and \\ escapes.
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_SF_ESCAPE = re.compile(r'\\(["\\])')
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^\s;]+))', re.IGNORECASE)

#: AES-GCM purpose (and associated data) of stored response bodies.
_BODY_PURPOSE = "idempotency:response"


@dataclass(frozen=True)
class KeyedRequest:
    """What identifies one use of a key: who, which key, and what was asked."""

    caller: str
    key: str
    method: str
    path: str
    fingerprint: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def parse_key(raw: str) -> str:
    """The key of an ``Idempotency-Key`` value: 1-255 visible ASCII characters.

    Both the draft's quoted form (``"abc"``) and Stripe's bare form (``abc``) are accepted and
    name the same key.
    """
    value = raw.strip(" \t")
    quoted = _SF_STRING.fullmatch(value)
    if quoted:
        value = _SF_ESCAPE.sub(r"\1", quoted.group(1))
    if not _KEY.fullmatch(value):
        raise InvalidIdempotencyKey()
    return value


def fingerprint(body: bytes, content_type: str | None = None) -> str:
    """SHA-256 of the request body.

    A multipart body's boundary is chosen at random by most clients on every send, so it is
    normalised first: re-sending the same parts with a new boundary is the same request.
    """
    match = _BOUNDARY.search(content_type or "")
    if match and (content_type or "").lower().startswith("multipart/"):
        boundary = (match.group(1) or match.group(2)).encode("latin-1")
        body = body.replace(b"--" + boundary, b"--idempotency-boundary")
    return hashlib.sha256(body).hexdigest()


def _find(session: Session, caller: str, key: str) -> IdempotencyKey | None:
    return session.exec(
        select(IdempotencyKey)
        .where(col(IdempotencyKey.caller) == caller, col(IdempotencyKey.key) == key)
        .execution_options(populate_existing=True)
    ).one_or_none()


def claim(session: Session, req: KeyedRequest) -> uuid.UUID | StoredResponse:
    """Claim ``req.key`` for ``req.caller``: the new claim's id (run the request) or the response
    to replay.

    Raises :class:`IdempotencyKeyReused` (the key was used for another request),
    :class:`IdempotencyRequestInProgress` (the first request is still running) or
    :class:`IdempotencyResponseTooLarge` (it ran, but its response was not stored).
    The caller must commit before running the request, so concurrent requests see the claim.
    """
    now = clock.now()
    row = _find(session, req.caller, req.key)
    if row is not None and row.expires_at <= now:
        session.delete(row)  # expired but not purged yet: as if it had never been used
        session.flush()
        row = None
    if row is not None and _stale(row, now) and _same_request(row, req):
        # In progress for longer than any request runs: its process died before its work
        # committed (work and outcome commit together, app/idempotency/outcome.py), so running
        # it again runs it once. Conditional: a concurrent completion or takeover wins.
        if _delete_in_progress(session, row.id):
            row = None
        else:
            row = _find(session, req.caller, req.key)
    if row is None:
        new = IdempotencyKey(
            caller=req.caller,
            key=req.key,
            method=req.method,
            path=req.path,
            fingerprint=req.fingerprint,
            created_at=now,
            expires_at=now + timedelta(seconds=get_settings().idempotency_ttl_s),
        )
        try:
            with session.begin_nested():
                session.add(new)
        except IntegrityError:
            # A concurrent request inserted the same (caller, key) first (PostgreSQL; SQLite
            # writers are serialised and never get here). Its row is committed by now.
            row = _find(session, req.caller, req.key)
            if row is None:
                raise IdempotencyRequestInProgress(retry_after=RETRY_AFTER_S) from None
        else:
            return new.id
    return _answer(row, req)


def _same_request(row: IdempotencyKey, req: KeyedRequest) -> bool:
    return (row.method, row.path, row.fingerprint) == (req.method, req.path, req.fingerprint)


def _stale(row: IdempotencyKey, now: datetime) -> bool:
    stale_after = timedelta(seconds=get_settings().idempotency_stale_after_s)
    return row.status_code is None and row.created_at <= now - stale_after


def _delete_in_progress(session: Session, claim_id: uuid.UUID) -> bool:
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(IdempotencyKey).where(
            col(IdempotencyKey.id) == claim_id, col(IdempotencyKey.status_code).is_(None)
        )
    )
    return bool(result.rowcount)


def _answer(row: IdempotencyKey | None, req: KeyedRequest) -> StoredResponse:
    if row is None:  # taken over and completed or purged in between: ask again shortly
        raise IdempotencyRequestInProgress(retry_after=RETRY_AFTER_S)
    if not _same_request(row, req):
        raise IdempotencyKeyReused()
    if row.status_code is None:
        raise IdempotencyRequestInProgress(retry_after=RETRY_AFTER_S)
    if row.too_large or row.response_body is None:
        raise IdempotencyResponseTooLarge()
    headers = [(str(k), str(v)) for k, v in row.response_headers or []]
    body = crypto.decrypt(_BODY_PURPOSE, row.response_body.decode("ascii"))
    return StoredResponse(status=row.status_code, headers=headers, body=body)


def should_store(status: int, body: bytes | None, content_type: str | None) -> bool:
    """Whether a response is the result of its key: 2xx-4xx, except those about the moment."""
    if status >= 500 or status in _NOT_STORED_STATUSES:
        return False
    if body is not None and "json" in (content_type or ""):
        try:
            code = json.loads(body).get("code")
        except (ValueError, AttributeError):
            code = None
        if code in _NOT_STORED_CODES:
            return False
    return True


def complete(
    session: Session,
    claim_id: uuid.UUID,
    *,
    status: int,
    headers: Iterable[tuple[str, str]],
    body: bytes | None,
) -> bool:
    """Store the response of a claimed request; ``body=None``: too large, not stored.

    False if the claim is no longer this request's (taken over by a retry after
    ``idempotency_stale_after_s``, or purged): the caller then rolls its work back.
    """
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(IdempotencyKey)
        .where(col(IdempotencyKey.id) == claim_id, col(IdempotencyKey.status_code).is_(None))
        .values(
            status_code=status,
            response_headers=[[k.lower(), v] for k, v in headers if k.lower() in REPLAYED_HEADERS],
            # Encrypted at rest: responses can carry what is shown only once (a new API key, a
            # webhook signing secret) or personal data, kept for the key's whole lifetime.
            response_body=(
                None if body is None else crypto.encrypt(_BODY_PURPOSE, body).encode("ascii")
            ),
            too_large=body is None,
            completed_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def release(session: Session, claim_id: uuid.UUID) -> None:
    """Forget a claim whose request did not produce a result to keep: a retry runs again."""
    session.execute(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.id) == claim_id, col(IdempotencyKey.status_code).is_(None)
        )
    )


def purge_expired(session: Session) -> int:
    """Delete keys past their lifetime (``idempotency_ttl_s``); returns how many."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= clock.now())
    )
    return int(result.rowcount or 0)

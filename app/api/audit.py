"""Audit checkpoints and streamed exports for regulators, staff and partner API keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app import rfc3339
from app.accounts.exceptions import InstitutionNotFound, InvalidToken, MissingScope
from app.api import examples
from app.api.deps import PrincipalDep, SessionDep, require_scope
from app.audit import export
from app.audit import service as audit
from app.db import get_engine, transaction
from app.errors import Forbidden, NotAuthenticated, ValidationFailed, problem_responses
from app.reports import audit_access

router = APIRouter(tags=["audit"])

_errors = (NotAuthenticated, InvalidToken, Forbidden, MissingScope, InstitutionNotFound)


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
    responses=problem_responses(*_errors),
)
def get_checkpoint(
    principal: PrincipalDep, session: SessionDep, institution_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """The latest signed head of an institution's chain (no institution: the platform chain).

    Staff and API keys see their own institution; regulators any.
    """
    return audit.checkpoint(session, audit_access.resolve_chain(session, principal, institution_id))


_EXPORT_DOC = {
    "description": (
        "The chain's entries in seq order, then its signed checkpoint. NDJSON: one canonical "
        "JSON object per line. CSV: header row `" + ",".join(export.CSV_COLUMNS) + "`; "
        "`payload` is canonical JSON text; the last row is the checkpoint (payload = its signed "
        "claims, hash = head hash, jws = signature)."
    ),
    "content": {
        "application/x-ndjson": {"schema": {"type": "string"}, "example": examples.AUDIT_NDJSON},
        "text/csv": {"schema": {"type": "string"}, "example": examples.AUDIT_CSV},
    },
}


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    dependencies=[require_scope("audit:read")],
    responses={
        200: _EXPORT_DOC,
        **problem_responses(*_errors, export.InvalidWindow, ValidationFailed),
    },
)
def export_audit(
    principal: PrincipalDep,
    session: SessionDep,
    institution_id: uuid.UUID | None = None,
    since: rfc3339.DateTime | None = None,
    until: rfc3339.DateTime | None = None,
    format: export.ExportFormat = "ndjson",  # noqa: A002 - the contract's parameter name
) -> StreamingResponse:
    """Stream one chain (window `since` ≤ time < `until`) as NDJSON or CSV, ending with a
    signed checkpoint. Verify offline with `skilltrace audit verify FILE --jwks jwks.json`
    (a window not starting at seq 1: add `--prev-hash` of the entry before it)."""
    since, until = export.as_utc(since), export.as_utc(until)
    export.check_window(since, until)
    chain = audit_access.resolve_chain(session, principal, institution_id)

    def body() -> Iterator[bytes]:
        # The request's session is closed once streaming starts: read in a transaction of our own.
        with transaction(get_engine(), reading=True) as s:
            yield from export.iter_export_bytes(s, chain, since=since, until=until, fmt=format)

    name = export.filename(chain, since, until, format)
    return StreamingResponse(
        body(),
        media_type=export.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )

"""The regional real-name training system's side of the data exchange: its receipts (signed
with the shared secret, no user), and the records' state for staff and regulators."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from app.accounts import exceptions as ax
from app.api.deps import PUBLIC, SessionDep, UserPrincipal
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.exchange import exceptions as ex
from app.exchange import service as exchange
from app.exchange.models import ReceiptStatus
from app.exchange.schemas import ExchangeRecordOut, ReceiptsIn, ReceiptsOut

router = APIRouter(tags=["regional exchange"])


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.post(
    "/exchange/receipts",
    response_model=ReceiptsOut,
    dependencies=[PUBLIC],
    responses=problem_responses(ex.InvalidSignature, ex.InvalidReceipt, ex.ExchangeNotConfigured),
)
def post_receipts(body: ReceiptsIn, raw: RawBody, request: Request, session: SessionDep) -> Any:
    """The regional system acknowledges or rejects records by id (Standard Webhooks signature
    with the shared secret in webhook-id / webhook-timestamp / webhook-signature)."""
    exchange.verify_signature(raw, dict(request.headers))
    stored, unknown = exchange.record_receipts(
        session,
        [
            exchange.Receipt(
                record_id=r.record_id,
                status=ReceiptStatus(r.status),
                reason=r.reason,
                regional_ref=r.regional_ref,
            )
            for r in body.receipts
        ],
    )
    return ReceiptsOut(stored=stored, unknown=unknown)


@router.get(
    "/exchange/records",
    response_model=list[ExchangeRecordOut],
    responses=problem_responses(NotAuthenticated, ax.InvalidToken, ax.InsufficientRole, Forbidden),
)
def list_records(
    principal: UserPrincipal,
    session: SessionDep,
    subject: str | None = None,
    institution_id: uuid.UUID | None = None,
) -> Any:
    """What was sent to the regional system and its receipt (staff: their institution's)."""
    rows = exchange.records_for(session, principal, subject=subject, institution_id=institution_id)
    return [ExchangeRecordOut.of(r) for r in rows]

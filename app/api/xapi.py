"""xAPI 1.0.3 read API (Statement resource, GET only) for regulators and institutions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, Field

from app.accounts.exceptions import InvalidToken, MissingScope
from app.api.deps import PrincipalDep, SessionDep, require_scope
from app.audit.export import as_utc
from app.errors import Forbidden, NotAuthenticated, ValidationFailed, problem_responses
from app.reports import xapi

router = APIRouter(tags=["xapi"])

_HEADERS_DOC = {
    "X-Experience-API-Version": {"schema": {"type": "string"}, "description": "`1.0.3`"},
    "X-Experience-API-Consistent-Through": {
        "schema": {"type": "string"},
        "description": "Every statement stored before this time is in the results.",
    },
}


class StatementResult(BaseModel):
    """An xAPI StatementResult: a page of statements and the IRL of the next (or "")."""

    statements: list[dict[str, Any]]
    more: str = Field(description="Relative URL of the next page; empty when there is none.")


@router.get(
    "/xapi/statements",
    response_model=StatementResult,
    response_model_exclude_none=True,
    dependencies=[require_scope("audit:read")],
    responses={
        200: {"headers": _HEADERS_DOC},
        **problem_responses(
            NotAuthenticated,
            InvalidToken,
            Forbidden,
            MissingScope,
            xapi.InvalidXapiQuery,
            ValidationFailed,
        ),
    },
)
def get_statements(
    principal: PrincipalDep,
    session: SessionDep,
    response: Response,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=0, le=xapi.MAX_LIMIT)] = xapi.DEFAULT_LIMIT,
    agent: Annotated[str | None, Query(description="A JSON Agent (account)")] = None,
    verb: Annotated[str | None, Query(description="Verb IRI")] = None,
    cursor: Annotated[str | None, Query(description="From `more`; other filters ignored")] = None,
    x_experience_api_version: Annotated[str | None, Header()] = None,
) -> StatementResult:
    """Statements stored after `since` and up to `until`, oldest first; page with `more`.

    Regulators see every institution; staff and API keys (scope `audit:read`) their own.
    """
    if x_experience_api_version is not None and not x_experience_api_version.startswith("1.0"):
        raise xapi.InvalidXapiQuery("X-Experience-API-Version must be 1.0.x.")
    if cursor is not None:
        q = xapi.decode_cursor(cursor)
    else:
        q = xapi.Query(
            since=as_utc(since),
            until=as_utc(until),
            limit=limit or xapi.MAX_LIMIT,  # 0: the server's maximum, as the spec says
            agent=xapi.parse_agent(agent),
            verb=xapi.parse_verb(verb),
        )
    page = xapi.statements(session, principal, q)
    response.headers["X-Experience-API-Version"] = xapi.XAPI_VERSION
    response.headers["X-Experience-API-Consistent-Through"] = page.consistent_through
    more = f"/xapi/statements?cursor={page.cursor}" if page.cursor else ""
    return StatementResult(statements=page.statements, more=more)

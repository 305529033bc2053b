"""xAPI 1.0.3 read API: the Statement resource (GET/HEAD) and the About resource.

Only HTTP lives here: which parameters a request may carry and how they read (xAPI
Communication 2.1.3, 3.2, 3.3), the version header, the response shapes (a StatementResult, one
Statement, or ``multipart/mixed`` when ``attachments=true``). What a statement is, which ones a
caller may read and in which order comes from :mod:`app.reports.xapi`.
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app import clock
from app.accounts.exceptions import InvalidToken, MissingScope
from app.api import examples
from app.api.deps import PUBLIC, PrincipalDep, SessionDep, require_scope
from app.audit import service as audit
from app.errors import Forbidden, NotAuthenticated, NotFound, problem_responses
from app.reports import xapi

_VERSION_RE = re.compile(r"^1\.0(\.[0-9]+)?$")
_STATEMENTS = "/xapi/statements"
#: The Statement resource's GET parameters (Communication 2.1.3); names are case-sensitive.
#: ``cursor`` is this server's own: the ``more`` IRL carries it.
_FILTERS = frozenset(
    {
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "ascending",
    }
)
_SINGLE = frozenset({"statementId", "voidedStatementId"})
_ANY = frozenset({"format", "attachments"})
PARAMETERS = _FILTERS | _SINGLE | _ANY | {"cursor"}


class XapiRoute(APIRoute):
    """Every response of an xAPI route, errors included, carries ``X-Experience-API-Version``
    (Communication 3.3) and, on the Statement resource, ``X-Experience-API-Consistent-Through``
    (Communication 2.1.3: "regardless of the code returned")."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                found = _handler_for(request, exc)
                if found is None:
                    raise
                response = await _handle(found, request, exc)
            response.headers["X-Experience-API-Version"] = xapi.XAPI_VERSION
            if request.url.path == _STATEMENTS:
                response.headers.setdefault(
                    "X-Experience-API-Consistent-Through", _consistent_through()
                )
            return response

        return route


def _handler_for(request: Request, exc: Exception) -> Any:
    """The app's own handler for this error (as its exception middleware would pick it)."""
    handlers: dict[Any, Any] = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None  # unexpected errors keep their usual path (logged, 500)
        if cls in handlers:
            return handlers[cls]
    return None


async def _handle(fn: Any, request: Request, exc: Exception) -> Response:
    if inspect.iscoroutinefunction(fn):
        result: Response = await fn(request, exc)
    else:
        result = await run_in_threadpool(fn, request, exc)
    return result


def _consistent_through() -> str:
    return audit.format_time(clock.now() - xapi.CONSISTENCY_LAG)


router = APIRouter(tags=["xapi"], route_class=XapiRoute)

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


class About(BaseModel):
    """The xAPI About resource (Communication 2.8)."""

    version: list[str] = Field(description="xAPI versions this LRS speaks.")


class StatementNotFound(NotFound):
    code = "statement_not_found"
    message_zh = "没有这条学习记录。"
    message_en = "There is no such statement (or it is voided, or not yours to read)."


def _bad(message: str) -> xapi.InvalidXapiQuery:
    return xapi.InvalidXapiQuery(message)


def _bool(params: dict[str, str], name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):  # "True": what Python clients (tincan) send
        raise _bad(f"`{name}` is `true` or `false`.")
    return raw.lower() == "true"


def _time(params: dict[str, str], name: str) -> datetime | None:
    """An ISO 8601 timestamp (Data 4.5; a space for the ``T`` as RFC 3339 allows, which is what
    tincan sends); one without an offset is taken as UTC."""
    raw = params.get(name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", raw
        ):
            raise ValueError(raw)
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"`{name}` must be an ISO 8601 timestamp.") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _params(request: Request) -> dict[str, str]:
    """The query's parameters, refused (400) when unknown, misspelt in case, repeated, or
    combined in a way Communication 2.1.3 forbids."""
    items = request.query_params.multi_items()
    names = [k for k, _ in items]
    unknown = sorted(set(names) - PARAMETERS)
    if unknown:
        raise _bad(f"Unknown parameter(s): {', '.join(unknown)} (names are case-sensitive).")
    if len(set(names)) != len(names):
        raise _bad("A parameter appears more than once.")
    params = dict(items)
    single = _SINGLE & params.keys()
    if len(single) > 1:
        raise _bad("`statementId` and `voidedStatementId` do not go together.")
    if single and (params.keys() - _ANY - single):
        raise _bad("With `statementId` or `voidedStatementId`, only `format` and `attachments`.")
    if "cursor" in params and (params.keys() - _ANY - {"cursor"}):
        raise _bad("`cursor` (from `more`) goes alone.")
    if params.get("format", "exact") not in xapi.FORMATS:
        raise _bad("`format` is `ids`, `exact` or `canonical`.")
    return params


def _query(params: dict[str, str]) -> xapi.Query:
    if "cursor" in params:
        return xapi.decode_cursor(params["cursor"])
    limit_raw = params.get("limit", str(xapi.DEFAULT_LIMIT))
    if not limit_raw.isdigit() or not limit_raw.isascii():
        raise _bad("`limit` is a non-negative whole number.")
    limit = int(limit_raw)
    registration = params.get("registration")
    if registration is not None:
        try:
            registration = str(uuid.UUID(registration))
        except ValueError:
            raise _bad("`registration` is a UUID.") from None
    since, until = _time(params, "since"), _time(params, "until")
    return xapi.Query(
        since=since,
        until=until,
        limit=min(limit, xapi.MAX_LIMIT) or xapi.MAX_LIMIT,  # 0: the server's maximum
        agent=xapi.parse_agent(params.get("agent")),
        verb=xapi.parse_verb(params.get("verb")),
        activity=params.get("activity"),
        registration=registration,
        related_agents=_bool(params, "related_agents"),
        related_activities=_bool(params, "related_activities"),
        ascending=_bool(params, "ascending"),
    )


def _check_version(value: str | None) -> None:
    if value is None:
        raise _bad("The `X-Experience-API-Version` header is required.")
    if not _VERSION_RE.match(value):
        raise _bad("`X-Experience-API-Version` must be 1.0.x.")


_MULTIPART_BOUNDARY = "skilltrace-xapi-boundary"


def _respond(request: Request, body: Any, *, attachments: bool) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    if attachments:
        # Communication 2.1.3: with attachments=true the response is multipart/mixed, the
        # statements first; our statements carry no attachments, so no more parts follow.
        b = _MULTIPART_BOUNDARY
        data = (
            f"--{b}\r\nContent-Type: application/json\r\n\r\n".encode()
            + data
            + f"\r\n--{b}--\r\n".encode()
        )
        media_type = f"multipart/mixed; boundary={b}"
    else:
        media_type = "application/json"
    if request.method == "HEAD":  # Communication 1.1: as GET, without the body
        return Response(status_code=200, media_type=media_type)
    return Response(content=data, media_type=media_type)


_STATEMENT_SCHEMA = {
    "type": "object",
    "required": ["id", "actor", "verb", "object", "stored", "timestamp", "authority", "version"],
    "additionalProperties": True,
    "description": "An xAPI Statement (Data 2.4).",
}
_STATEMENT_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": _HEADERS_DOC,
        "content": {
            "application/json": {
                "schema": {"oneOf": [StatementResult.model_json_schema(), _STATEMENT_SCHEMA]},
                "examples": {
                    "result": {"summary": "A StatementResult", "value": examples.XAPI_RESULT},
                    "statement": {
                        "summary": "One Statement (`statementId=…`)",
                        "value": examples.XAPI_STATEMENT,
                    },
                },
            },
            "multipart/mixed": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": (
            "A StatementResult; with `statementId` or `voidedStatementId`, that one Statement; "
            "with `attachments=true`, the same JSON as the first part of `multipart/mixed`."
        ),
    },
    **problem_responses(
        NotAuthenticated,
        InvalidToken,
        Forbidden,
        MissingScope,
        xapi.InvalidXapiQuery,
        StatementNotFound,
    ),
}


@router.get(
    _STATEMENTS,
    response_model=None,
    dependencies=[require_scope("audit:read")],
    responses=_STATEMENT_DOC,
)
@router.head(
    _STATEMENTS,
    response_model=None,
    dependencies=[require_scope("audit:read")],
    responses=_STATEMENT_DOC,
)
def get_statements(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    x_experience_api_version: Annotated[str | None, Header()] = None,
    statementId: Annotated[str | None, Query(description="One statement by id")] = None,  # noqa: N803
    voidedStatementId: Annotated[  # noqa: N803
        str | None, Query(description="One voided statement by id")
    ] = None,
    agent: Annotated[str | None, Query(description="A JSON Agent (account)")] = None,
    verb: Annotated[str | None, Query(description="Verb IRI")] = None,
    activity: Annotated[str | None, Query(description="Activity IRI (the object)")] = None,
    registration: Annotated[str | None, Query(description="Registration UUID")] = None,
    related_activities: Annotated[str | None, Query(description="`true`/`false`")] = None,
    related_agents: Annotated[str | None, Query(description="`true`/`false`")] = None,
    since: Annotated[str | None, Query(description="ISO 8601; stored after (exclusive)")] = None,
    until: Annotated[str | None, Query(description="ISO 8601; stored at or before")] = None,
    limit: Annotated[str | None, Query(description="0: the server's maximum (500)")] = None,
    format: Annotated[str | None, Query(description="`ids`, `exact` or `canonical`")] = None,  # noqa: A002
    attachments: Annotated[str | None, Query(description="`true`: multipart/mixed")] = None,
    ascending: Annotated[str | None, Query(description="`true`: oldest first")] = None,
    cursor: Annotated[str | None, Query(description="From `more`; goes alone")] = None,
) -> Response:
    """Statements the caller may read, newest stored first (`ascending=true`: oldest first),
    paged with `more`; or one statement by `statementId` / `voidedStatementId`. Voided
    statements are left out of lists. Unknown parameters (names are case-sensitive) are refused.

    Regulators see every institution; staff and API keys (scope `audit:read`) their own.
    """
    _check_version(x_experience_api_version)
    params = _params(request)
    fmt = params.get("format", "exact")
    lang = request.headers.get("accept-language")
    with_attachments = _bool(params, "attachments")
    single = params.get("statementId") or params.get("voidedStatementId")
    if "statementId" in params or "voidedStatementId" in params:
        found = xapi.statement(
            session, principal, single or "", voided="voidedStatementId" in params
        )
        if found is None:
            raise StatementNotFound()
        return _respond(request, xapi.formatted(found, fmt, lang), attachments=with_attachments)
    page = xapi.statements(session, principal, _query(params))
    more = f"{_STATEMENTS}?cursor={page.cursor}" if page.cursor else ""
    body = {"statements": [xapi.formatted(s, fmt, lang) for s in page.statements], "more": more}
    return _respond(request, body, attachments=with_attachments)


_ABOUT_DOC: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"X-Experience-API-Version": _HEADERS_DOC["X-Experience-API-Version"]}}
}


@router.get("/xapi/about", response_model=About, dependencies=[PUBLIC], responses=_ABOUT_DOC)
@router.head("/xapi/about", response_model=About, dependencies=[PUBLIC], responses=_ABOUT_DOC)
def get_about(request: Request) -> Response:
    """The xAPI versions this LRS speaks (no version header needed here)."""
    return _respond(request, {"version": [xapi.XAPI_VERSION]}, attachments=False)

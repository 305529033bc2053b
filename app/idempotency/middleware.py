"""ASGI middleware honouring ``Idempotency-Key`` on POST and PATCH under ``/api/v1``.

For a request carrying the header, from an authenticated caller (API key, bearer token, or the
browser session cookie with its CSRF header):

1. the header is checked (400 ``invalid_idempotency_key``) and the body read in full (the
   ``BodySizeLimitMiddleware`` around this one still refuses oversized bodies with 413);
2. the key is claimed in its own committed transaction, or the stored response is replayed with
   ``Idempotent-Replayed: true``, or the repeat is refused (422 / 409);
3. the request runs; its response is held back until it is stored (or, for a 5xx, a 401, a 429 or
   a CSRF failure, the claim released so a retry runs again), then sent. The request's own
   transaction (``get_session``, ``run_unit``) is handed over instead of committed
   (app/idempotency/outcome.py): the response is stored in it and it commits once, so the work
   and its outcome are kept together or not at all. A claim still in progress after
   ``idempotency_stale_after_s`` therefore committed nothing, and a retry takes it over.

The claim is a short transaction of its own in a worker thread, committed before the request
runs; the outcome is stored in the request's transaction (or, when the request ended without
one, in a short transaction after it), so on SQLite no step waits for the write lock it holds.

Requests without the header, other methods, other paths and requests no endpoint answers (404,
405 with its ``Allow``) pass through untouched. Callers that are not authenticated (sign-in,
hand-off codes) are not keyed: their requests simply run.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from sqlmodel import Session
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import routes
from app.accounts import service as accounts
from app.accounts.tokens import API_KEY_PREFIX
from app.db import get_engine, transaction
from app.errors import DomainError, problem_responses
from app.idempotency import outcome, service
from app.idempotency.exceptions import (
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    IdempotencyResponseTooLarge,
    InvalidIdempotencyKey,
)
from app.logging import request_id_var
from app.requestbody import read_body, replaying

log = logging.getLogger("skilltrace.idempotency")

HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
API_PREFIX = "/api/v1/"
#: The browser session cookie and CSRF header of app/api/deps.py (SESSION_COOKIE, CSRF_HEADER);
#: repeated here because a domain package does not import app.api (a test keeps them equal).
SESSION_COOKIE = "st_session"
CSRF_HEADER = "x-csrf-token"

T = TypeVar("T")


async def _in_thread(fn: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(fn)


def caller_of(headers: Headers) -> str | None:
    """Who is calling, as get_principal would find it: ``apikey:<id>``, ``user:<id>`` or None."""
    authorization = headers.get("authorization")
    if authorization is None:
        token = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        if not token or not headers.get(CSRF_HEADER) or token.startswith(API_KEY_PREFIX):
            return None
        secret = token
    else:
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            return None
    try:
        with transaction(get_engine(), reading=True) as session:
            if secret.startswith(API_KEY_PREFIX):
                return f"apikey:{accounts.api_key_from_secret(session, secret).id}"
            return f"user:{accounts.user_from_token(session, secret).id}"
    except DomainError:
        return None  # the request itself will be refused with 401


def _problem(exc: DomainError, headers: Headers) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    lang = headers.get("accept-language", "zh-CN").split(",")[0].strip() or "zh-CN"
    body = exc.to_problem(lang)
    body["request_id"] = request_id_var.get()
    data = json.dumps(body, ensure_ascii=False).encode()
    out = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(data)).encode()),
    ]
    if "retry_after" in exc.extra:
        out.append((b"retry-after", str(exc.extra["retry_after"]).encode()))
    return exc.status, out, data


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in service.METHODS
            or not scope["path"].startswith(API_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        values = headers.getlist(HEADER)
        if not values or not routes.routed(scope.get("app"), scope):
            # Without a key, or for no endpoint at all (404, or 405 with its Allow header):
            # nothing is executed, so nothing is keyed, and the key's checks do not hide why.
            await self.app(scope, receive, send)
            return
        try:
            if len(values) > 1:
                raise InvalidIdempotencyKey("Send one Idempotency-Key header, not several.")
            key = service.parse_key(values[0])
        except DomainError as exc:
            await _respond(send, *_problem(exc, headers))
            return

        # The whole body, through the size limit of the middleware around this one.
        body = await read_body(receive)
        if body is None:
            return
        replay_receive = replaying(body, receive)

        caller = await _in_thread(lambda: caller_of(headers))
        if caller is None:
            await self.app(scope, replay_receive, send)
            return

        query = scope.get("query_string", b"").decode("latin-1")
        req = service.KeyedRequest(
            caller=caller,
            key=key,
            method=scope["method"],
            path=scope["path"] + (f"?{query}" if query else ""),
            fingerprint=service.fingerprint(body, headers.get("content-type")),
        )

        def claim() -> uuid.UUID | service.StoredResponse:
            with transaction(get_engine()) as session:
                return service.claim(session, req)

        try:
            claimed = await _in_thread(claim)
        except DomainError as exc:
            await _respond(send, *_problem(exc, headers))
            return
        if isinstance(claimed, service.StoredResponse):
            replay = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in claimed.headers]
            replay += [
                (b"content-length", str(len(claimed.body)).encode()),
                (REPLAYED_HEADER.encode(), b"true"),
            ]
            await _respond(send, claimed.status, replay, claimed.body)
            return
        await _Run(self.app, claimed, headers).run(scope, replay_receive, send)


class _Run:
    """One claimed request: hold its response back until it is stored (with the request's own
    work, in its transaction: app/idempotency/outcome.py) or the claim released."""

    def __init__(self, app: ASGIApp, claim_id: uuid.UUID, headers: Headers) -> None:
        self.app = app
        self.claim_id = claim_id
        self.headers = headers
        self.slot = outcome.Deferred()
        self.start: Message | None = None
        self.held: list[bytes] = []
        self.size = 0
        self.streaming = False  # past the storage cap: forwarded as it comes, not stored
        self.settled = False
        self.replaced = False  # another response was sent instead: drop the app's

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def capture(message: Message) -> None:
            await self._capture(message, send)

        token = outcome.current.set(self.slot)
        try:
            await self.app(scope, receive, capture)
        except Exception:
            if not self.settled:
                await self._settle(None)
            raise
        finally:
            outcome.current.reset(token)
            if not self.settled:  # the app returned without a complete response
                await self._settle(None)

    async def _capture(self, message: Message, send: Send) -> None:
        if self.replaced:
            return
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await send(message)
            return
        chunk: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if not self.streaming:
            self.size += len(chunk)
            if self.size <= service.MAX_STORED_RESPONSE_BYTES:
                self.held.append(chunk)
                if not more:
                    body = b"".join(self.held)
                    instead = await self._settle(body)
                    if instead is not None:
                        await _respond(send, *instead)
                        return
                    await send(self.start)
                    await send({"type": "http.response.body", "body": body})
                return
            # Too large to store: committed as such before anything is sent, then streamed.
            self.streaming = True
            instead = await self._settle(None, too_large=True)
            if instead is not None:
                self.replaced = True
                await _respond(send, *instead)
                return
            await send(self.start)
            await send(
                {"type": "http.response.body", "body": b"".join(self.held), "more_body": True}
            )
            self.held = []
        await send(message)

    async def _settle(
        self, body: bytes | None, *, too_large: bool = False
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Store the response as the key's result, or release the claim; with the request's own
        transaction when it was handed over, committed once. Returns the response to send
        instead of the app's, if the app's must not be sent (its work did not commit)."""
        self.settled = True
        start = self.start
        claim_id = self.claim_id
        work, self.slot.session = self.slot.session, None
        responded = start is not None and (body is not None or too_large)
        if start is None or not responded:
            keep = False
            status, headers = 500, []
        else:
            status = int(start["status"])
            headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])
            ]
            content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
            keep = service.should_store(status, body, content_type)

        def record(session: Session) -> bool:
            if keep:
                return service.complete(
                    session, claim_id, status=status, headers=headers, body=body
                )
            service.release(session, claim_id)
            return True

        def store() -> None:
            with transaction(get_engine()) as session:
                record(session)

        def commit_with_work(session: Session) -> bool:
            """The request's work and its outcome in one commit; False: the claim was taken
            over (the work is rolled back)."""
            try:
                if not responded:
                    session.rollback()  # no response: nothing of it may stay
                    return True
                if not record(session):
                    session.rollback()
                    return False
                session.commit()
                return True
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

        if work is not None:
            try:
                committed = await _in_thread(lambda: commit_with_work(work))
            except Exception:
                log.exception("could not commit keyed request (claim %s)", claim_id)
                await self._release_quietly()
                return _problem(_NotCommitted(), self.headers)
            if not committed:
                log.warning("claim %s was taken over by a retry; this run is rolled back", claim_id)
                return _problem(
                    IdempotencyRequestInProgress(retry_after=service.RETRY_AFTER_S), self.headers
                )
            if responded:
                return None
        try:
            await _in_thread(store)
        except Exception:
            # The response is still sent (its work, if any, committed on its own); a retry
            # meets 409 until the claim is stale (idempotency_stale_after_s), then runs again.
            log.exception("could not record the outcome of idempotency key claim %s", claim_id)
        return None

    async def _release_quietly(self) -> None:
        def release() -> None:
            with transaction(get_engine()) as session:
                service.release(session, self.claim_id)

        try:
            await _in_thread(release)
        except Exception:
            log.exception("could not release idempotency key claim %s", self.claim_id)


class _NotCommitted(DomainError):
    """The request's transaction failed to commit: nothing it did was kept."""

    code = "internal_error"
    status = 500
    title = "Internal error"
    message_zh = "服务器内部错误，本次请求未生效，请重试。"
    message_en = "Something went wrong on our side; nothing of this request was kept. Retry it."


# ------------------------------------------------------------------------------------ OpenAPI

_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the request is executed once per caller and key; a repeat with the "
        "same method, path and body within 24 h gets the first response again, marked "
        "`Idempotent-Replayed: true`. 1-255 visible ASCII characters (a UUID is a good key)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
_ERRORS = (
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    IdempotencyResponseTooLarge,
)


def document_idempotency(schema: dict[str, Any]) -> None:
    """Add the optional header and its problem codes to every POST/PATCH under /api/v1."""
    extra = problem_responses(*_ERRORS)
    for path, path_item in schema.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, op in path_item.items():
            if method.upper() not in service.METHODS:
                continue
            op.setdefault("parameters", []).append(copy.deepcopy(_PARAMETER))
            responses = op.setdefault("responses", {})
            for status, doc in extra.items():
                _merge_problem(responses, str(status), doc)


def _merge_problem(responses: dict[str, Any], status: str, doc: dict[str, Any]) -> None:
    existing = responses.get(status)
    if existing is None:
        responses[status] = copy.deepcopy(doc)
        return
    content = existing.setdefault("content", {})
    problem = content.get("application/problem+json")
    if problem is None:
        content["application/problem+json"] = copy.deepcopy(
            doc["content"]["application/problem+json"]
        )
        existing["description"] = f"{existing.get('description', '')}; {doc['description']}"
        return
    codes: list[str] = doc["content"]["application/problem+json"]["schema"]["properties"]["code"][
        "enum"
    ]
    enum = problem.get("schema", {}).get("properties", {}).get("code", {}).get("enum")
    if enum is None:
        return  # any code already allowed
    added = [c for c in codes if c not in enum]
    if added:
        enum.extend(added)
        enum.sort()
        existing["description"] = f"{existing.get('description', '')}; {doc['description']}"

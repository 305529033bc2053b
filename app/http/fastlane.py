"""A hot endpoint's fast lane: the route a page calls many times a second (the study heartbeat)
answered without FastAPI's request handling, the declared route kept for everything else.

FastAPI solves a route's dependencies and parses its body anew for every request (sub-dependency
cache keys, query, header and cookie parameters of every level, the Content-Type parsed through
``email.message``): for a heartbeat that was a quarter of its CPU (benchmarks/heartbeat_profile.py
``--cpu``, PostgreSQL). A :class:`FastLane` is a plain route registered in front of the declared
one at the same path: it takes only the requests it can answer exactly as the declared route
would (the method, a path parameter in its canonical form, a JSON body, a bearer
``Authorization`` header) and runs the same handler with the same checks. Any other request is
left to the declared route, which stays the only one the OpenAPI document shows: a request
without the header, a form post, a malformed id are never matched here; a body that does not
parse or validate is handed back to the declared route with the bytes already read (so its 422
is FastAPI's own). Errors the handler raises (domain errors: 401, 403, 404, 409) reach the app's
error handlers as they do from the declared route.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from app.requestbody import read_body, replaying

#: Set in the scope when a fast lane handed a request back: the router then routes it past it.
DECLINED = "skilltrace.fastlane_declined"

#: ``handler(request, body)``: the response, or None to hand the request to the declared route.
Handler = Callable[[Request, bytes], Awaitable[Response | None]]


class FastLane(Route):
    """A route in front of a declared FastAPI route at the same ``path`` (see the module)."""

    def __init__(self, path: str, method: str, handler: Handler, *, uuid_params: tuple[str, ...]):
        super().__init__(path, endpoint=self._unused, methods=[method], include_in_schema=False)
        self.method = method
        self.handler = handler
        self.uuid_params = uuid_params

    @staticmethod
    async def _unused(request: Request) -> Response:  # pragma: no cover - handle() answers
        # Starlette's Route needs an endpoint; handle() below answers every matched request.
        raise RuntimeError("FastLane.handle answers the requests this route matches")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != self.method or DECLINED in scope:
            return Match.NONE, {}
        match, child = super().matches(scope)
        if match is not Match.FULL or not _canonical_uuids(child["path_params"], self.uuid_params):
            return Match.NONE, {}
        bearer = json = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                bearer = value[:7].lower() == b"bearer " and bool(value[7:].strip())
            elif name == b"content-type":
                json = value.split(b";", 1)[0].strip().lower() == b"application/json"
        if not (bearer and json):
            return Match.NONE, {}
        child["route"] = self  # as FastAPI's routes do (the metrics' route label reads it)
        return Match.FULL, child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        if body is None:  # the client left before sending it all: nobody to answer
            return
        request = Request(scope, receive, send)
        response = await self.handler(request, body)
        if response is None:
            await _decline(scope, body, receive, send)
            return
        await response(scope, receive, send)


#: A UUID as 8-4-4-4-12 hex digits: what both FastAPI's ``uuid.UUID`` parameter and this lane read.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _canonical_uuids(params: dict[str, Any], names: tuple[str, ...]) -> bool:
    """Whether each named path parameter is a UUID in its canonical form (nothing else here)."""
    return all(
        isinstance(value := params.get(name), str) and _UUID.fullmatch(value) for name in names
    )


async def _decline(scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
    """Route the request again, past the fast lanes, with the body already read."""
    scope[DECLINED] = True
    await scope["router"](scope, replaying(body, receive), send)

"""Which endpoints the app has for a request, asked of its router as routing itself asks it
(nested included routers too): for the Idempotency-Key middleware and the 405 ``Allow`` header."""

from __future__ import annotations

from typing import Any

from starlette.routing import Match
from starlette.types import Scope

#: Methods probed for ``Allow``.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def routed(app: Any, scope: Scope) -> bool:
    """Whether ``app`` has an endpoint for this method and path (True if it cannot tell)."""
    routes = getattr(getattr(app, "router", None), "routes", None)
    if routes is None:
        return True
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def allowed_methods(app: Any, scope: Scope) -> list[str]:
    """The methods ``app`` serves at this request's path."""
    return [m for m in METHODS if routed(app, {**scope, "method": m})]

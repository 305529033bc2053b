"""Who is calling and who may call a route: the caller (bearer token, API key or session cookie
with its CSRF header) and the access guards (``PUBLIC``, ``require_scope``, the role guards).

Shared by the REST API (app/api) and the pages that answer as the API does (the public
credential documents of app/web/certificates.py): neither HTTP layer imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.exceptions import InsufficientRole, InvalidToken, MissingScope
from app.accounts.models import Role, User
from app.accounts.principal import Principal, Scope
from app.accounts.tokens import API_KEY_PREFIX
from app.errors import Forbidden, NotAuthenticated
from app.http.cookies import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    CsrfFailed,
    csrf_token_for,
    same_secret,
)
from app.http.session import SessionDep

bearer_scheme = HTTPBearer(auto_error=False, description="Access token or partner API key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def presented(request: Request, creds: HTTPAuthorizationCredentials | None) -> tuple[bool, str]:
    """(is it an API key?, the secret) the caller presents: a bearer token or API key, or the
    browser's session cookie, which counts only with a valid CSRF header.

    A cross-site form or fetch carries the cookie but cannot read the CSRF cookie to repeat it in
    the header, and the header must equal both the CSRF cookie and the value bound to the session.
    Checks only what the request carries (no database).
    """
    if request.headers.get("authorization") is None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise NotAuthenticated()
        header = request.headers.get(CSRF_HEADER)
        if not header:
            raise NotAuthenticated("Send the X-CSRF-Token header with the session cookie.")
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not (same_secret(header, cookie) and same_secret(header, csrf_token_for(token))):
            raise CsrfFailed()
        if token.startswith(API_KEY_PREFIX):  # API keys never travel in cookies
            raise NotAuthenticated()
        return False, token
    if creds is None or creds.scheme.lower() != "bearer":
        raise NotAuthenticated()
    return creds.credentials.startswith(API_KEY_PREFIX), creds.credentials


def principal_of(session: Session, is_key: bool, secret: str) -> Principal:
    if is_key:
        return Principal.of_key(accounts.api_key_from_secret(session, secret))
    return Principal.of_user(accounts.user_from_token(session, secret))


def _principal(
    request: Request, session: Session, creds: HTTPAuthorizationCredentials | None
) -> Principal:
    return principal_of(session, *presented(request, creds))


def get_principal(request: Request, session: SessionDep, creds: BearerDep) -> Principal:
    return _principal(request, session, creds)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def user_of(principal: Principal) -> User:
    if principal.user is None:
        raise InsufficientRole("This endpoint is for signed-in users, not API keys.")
    return principal.user


def with_role(user: User, roles: tuple[Role, ...]) -> User:
    if user.role not in roles:
        raise InsufficientRole()
    return user


# ---------------------------------------------------------------- who may call a route
# Every /api/v1 route declares its access rule in ONE place: the guard dependency it uses.
# ``require_scope(scope)`` (API keys need the scope, users pass to the service's role and visibility
# rules), ``CurrentUser``/``CurrentLearner``/… and ``UserPrincipal`` (API keys never), or
# ``PUBLIC`` (no caller at all). The guards carry an :class:`Access` that the OpenAPI document
# publishes (``security`` and ``x-api-key-scope``) and tests/api/test_route_access.py checks
# on every route of the app.


@dataclass(frozen=True)
class Access:
    """Who may call a route: ``public``, ``users`` (never an API key) or ``scope`` (for keys)."""

    kind: Literal["public", "users", "scope"]
    scope: Scope | None = None

    def __str__(self) -> str:
        return f"scope {self.scope}" if self.scope else self.kind


_ACCESS_ATTR = "__skilltrace_access__"
F = TypeVar("F", bound=Callable[..., Any])


def declares(access: Access) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        setattr(fn, _ACCESS_ATTR, access)
        return fn

    return mark


def declared_access(call: object) -> Access | None:
    """The access rule a dependency declares, if it is one of the guards above."""
    access = getattr(call, _ACCESS_ATTR, None)
    return access if isinstance(access, Access) else None


def route_access(dependant: Dependant) -> set[Access]:
    """Every access rule declared anywhere in a route's dependency tree."""
    found: set[Access] = set()
    stack = [dependant]
    while stack:
        d = stack.pop()
        access = declared_access(d.call)
        if access is not None:
            found.add(access)
        stack.extend(d.dependencies)
    return found


@declares(Access("public"))
async def _public() -> None:
    """Declares a route open to anyone (no token, no key): the public certificate check, …"""


#: ``dependencies=[PUBLIC]`` on a route that takes no caller at all.
PUBLIC: DependsParam = Depends(_public)


# The guards below only look at what get_principal found: ``async def`` runs them on the event
# loop, where a plain ``def`` would cost a round trip through the thread pool each.


@declares(Access("users"))
async def get_current_user(principal: PrincipalDep) -> User:
    return user_of(principal)


CurrentUser = Annotated[User, Depends(get_current_user)]


@declares(Access("users"))
async def get_user_principal(principal: PrincipalDep) -> Principal:
    """The caller as a :class:`Principal`, refusing API keys (403 ``forbidden``)."""
    user_of(principal)
    return principal


#: A signed-in user of any role, as a Principal (for services that take one); never a key.
UserPrincipal = Annotated[Principal, Depends(get_user_principal)]


def require_roles(*roles: Role) -> DependsParam:
    async def guard(user: CurrentUser) -> User:
        return with_role(user, roles)

    dep: DependsParam = Depends(guard)
    return dep


CurrentLearner = Annotated[User, require_roles(Role.learner)]
CurrentStaff = Annotated[User, require_roles(Role.staff, Role.admin)]
CurrentRegulator = Annotated[User, require_roles(Role.regulator, Role.admin)]
CurrentAdmin = Annotated[User, require_roles(Role.admin)]


def require_scope(scope: Scope | str) -> DependsParam:
    """The route's access rule: API keys must carry ``scope``; users pass by role (the service
    checks role and visibility). Returns the caller as a :class:`Principal`."""
    needed = Scope(scope)  # a typo in a scope name fails at import, not at request time

    @declares(Access("scope", needed))
    async def guard(principal: PrincipalDep) -> Principal:
        if principal.api_key is not None and needed not in principal.scopes:
            raise MissingScope(f"The API key lacks the scope {needed.value!r}.")
        return principal

    guard.__name__ = f"require_{needed.name}"
    dep: DependsParam = Depends(guard)
    return dep


# ---------------------------------------------------------------- what routes share

#: The refusals a route for signed-in users declares (``CurrentUser``, ``UserPrincipal``, …): no
#: or a bad token, an API key or a role the route is not for, and the service's ``forbidden``.
USER_ERRORS = (NotAuthenticated, InvalidToken, InsufficientRole, Forbidden)
#: The refusals a ``require_scope`` route declares: an API key without the scope instead of a
#: role the route is not for.
SCOPE_ERRORS = (NotAuthenticated, InvalidToken, MissingScope, Forbidden)

#: Readers of courses, classes and study records: API keys with ``courses:read``, users by role.
CoursesRead = Annotated[Principal, require_scope("courses:read")]
#: Readers of certificates (the API's documents and the PDF page).
CertificatesRead = Annotated[Principal, require_scope("certificates:read")]

"""Typed dependencies of the API. Who is calling and the access guards (``PUBLIC``,
``require_scope``, ``CurrentUser``, …), the request's session, cookies and frame uploads are
shared with the pages in app/http and re-exported here for the API's modules; this module adds
the study heartbeat's caller (:data:`LearnerForWrite`)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import Depends, Request

from app.accounts import service as accounts
from app.accounts import tokencache
from app.accounts.exceptions import InsufficientRole
from app.accounts.models import Role
from app.accounts.tokencache import Caller
from app.db import get_engine, transaction
from app.http.access import (
    PUBLIC,
    SCOPE_ERRORS,
    USER_ERRORS,
    Access,
    BearerDep,
    CertificatesRead,
    CoursesRead,
    CurrentAdmin,
    CurrentLearner,
    CurrentRegulator,
    CurrentStaff,
    CurrentUser,
    PrincipalDep,
    UserPrincipal,
    bearer_scheme,
    declared_access,
    declares,
    get_current_user,
    get_principal,
    get_user_principal,
    presented,
    principal_of,
    require_roles,
    require_scope,
    route_access,
    user_of,
)
from app.http.cookies import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    CsrfFailed,
    client_info,
    csrf_token_for,
    same_secret,
)
from app.http.session import SessionDep, in_thread

#: Re-exported from app/http for the API's modules (this module defines the rest).
__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "PUBLIC",
    "SCOPE_ERRORS",
    "USER_ERRORS",
    "CertificatesRead",
    "CoursesRead",
    "SESSION_COOKIE",
    "Access",
    "CsrfFailed",
    "CurrentAdmin",
    "CurrentLearner",
    "CurrentRegulator",
    "CurrentStaff",
    "CurrentUser",
    "LearnerForWrite",
    "PrincipalDep",
    "SessionDep",
    "UserPrincipal",
    "client_info",
    "csrf_token_for",
    "declared_access",
    "get_current_user",
    "get_learner_for_write",
    "learner_for_write",
    "get_principal",
    "get_user_principal",
    "require_roles",
    "require_scope",
    "route_access",
    "same_secret",
]


# ---------------------------------------------------------------- hot write endpoints
# The study heartbeat has one dependency, :data:`LearnerForWrite`: its caller, a plain async
# function (no generator: FastAPI's exit stack for a yielding dependency cost more than the
# token check). The caller is known from the token cache on the event loop, or read in one trip
# to the thread pool in a read of its own; the handler opens, runs and ends its unit of work in
# one more, through the database's write lane (:func:`app.http.session.run_unit`).


def _learner(caller: Caller) -> Caller:
    """:func:`with_role` for the hot path's caller: learners only (403 otherwise)."""
    if caller.role is not Role.learner:
        raise InsufficientRole()
    return caller


def _learner_from_database(is_key: bool, secret: str) -> Caller:
    """The caller read from the database, in a unit of work of its own that only reads (no write
    lock on SQLite); a token checked here is remembered (app/accounts/tokencache.py)."""
    with transaction(get_engine(), reading=True) as session:
        if is_key:
            user = user_of(principal_of(session, is_key, secret))  # 403: not for API keys
        else:
            user, claims = accounts.token_user(session, secret)
            tokencache.remember(secret, claims, user)
        caller = Caller.of(user)
    return _learner(caller)


@declares(Access("users"))
async def get_learner_for_write(request: Request, creds: BearerDep) -> Caller:
    """``CurrentLearner`` for handlers that run their unit of work with
    :func:`~app.http.session.run_unit` (same checks, same errors), as the token cache's
    immutable :class:`Caller`.

    A token checked in the last few minutes (app/accounts/tokencache.py) is answered on the
    event loop with no database read; otherwise the caller is read in one trip to a worker
    thread.
    """
    is_key, secret = presented(request, creds)
    cached = None if is_key else tokencache.lookup(secret)
    if cached is not None:
        return _learner(cached)
    return await in_thread(partial(_learner_from_database, is_key, secret))


LearnerForWrite = Annotated[Caller, Depends(get_learner_for_write)]


async def learner_for_write(request: Request) -> Caller:
    """:data:`LearnerForWrite` without FastAPI's dependency solving (a route's fast lane:
    app/http/fastlane.py): the same bearer scheme and the same checks, called directly."""
    return await get_learner_for_write(request, await bearer_scheme(request))

"""Typed dependencies of the API. Who is calling and the access guards (``PUBLIC``,
``require_scope``, ``CurrentUser``, …), the request's session, cookies and frame uploads are
shared with the pages in app/http and re-exported here for the API's modules; this module adds
the study heartbeat's caller (:data:`LearnerForWrite`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts import tokencache
from app.accounts.exceptions import InsufficientRole
from app.accounts.models import Role
from app.accounts.tokencache import Caller
from app.db import finish, read_only
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
from app.http.session import SessionDep, in_thread, work_session

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
    "get_principal",
    "get_user_principal",
    "require_roles",
    "require_scope",
    "route_access",
    "same_secret",
]


# ---------------------------------------------------------------- hot write endpoints
# The study heartbeat has one dependency, :data:`LearnerForWrite`: its caller and its session
# (see "hot write endpoints" in app/http/session.py). The caller is known from the token cache
# on the event loop, or read here in one trip to the thread pool; the handler's work and the
# end of its unit of work happen in one more, through the database's write lane
# (:func:`app.http.session.run_finished`).


def _learner(caller: Caller) -> Caller:
    """:func:`with_role` for the hot path's caller: learners only (403 otherwise)."""
    if caller.role is not Role.learner:
        raise InsufficientRole()
    return caller


def _learner_from_database(session: Session, is_key: bool, secret: str) -> Caller:
    """The caller read from the database (a token checked here is remembered a few seconds).

    On SQLite the caller is read in a read transaction (no write lock) that ends here; the
    handler's first statement opens the write transaction. PostgreSQL keeps one transaction.
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        read_only(session)
    if is_key:
        user = user_of(principal_of(session, is_key, secret))  # 403: not for API keys
    else:
        user, claims = accounts.token_user(session, secret)
        tokencache.remember(secret, claims, user)
    caller = Caller.of(user)
    if sqlite:
        finish(session)  # ends the read
    return _learner(caller)


@dataclass(frozen=True, slots=True)
class LearnerWork:
    """A hot write handler's caller (a learner) and the session of its unit of work."""

    caller: Caller
    session: Session


@declares(Access("users"))
async def get_learner_for_write(request: Request, creds: BearerDep) -> AsyncIterator[LearnerWork]:
    """``CurrentLearner`` and the request's session in one dependency, for handlers that end
    their unit of work with :func:`~app.http.session.run_finished` (same checks, same errors).

    A token checked in the last few seconds (app/accounts/tokencache.py) is answered on the
    event loop with no database read; otherwise the caller is read in one trip to a worker
    thread, in the request's session.
    """
    is_key, secret = presented(request, creds)
    cached = None if is_key else tokencache.lookup(secret)
    async with work_session() as session:
        if cached is not None:
            caller = _learner(cached)
        else:
            caller = await in_thread(partial(_learner_from_database, session, is_key, secret))
        yield LearnerWork(caller, session)


LearnerForWrite = Annotated[LearnerWork, Depends(get_learner_for_write, scope="function")]

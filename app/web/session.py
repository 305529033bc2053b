"""Cookie sign-in for pages: the browser holds the API's access token in an HttpOnly cookie.

The page's JavaScript never sees the token. It calls the REST API with the cookie plus the
``X-CSRF-Token`` header (see ``app/http/cookies.py``); form posts of pages carry the same
CSRF value in a hidden ``csrf`` field. Before sign-in the CSRF cookie is random; at sign-in it
becomes the value bound to the session (``csrf_token_for``).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from app.accounts import service as accounts
from app.accounts.exceptions import InvalidToken
from app.accounts.models import User
from app.config import get_settings
from app.http.cookies import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfFailed,
    csrf_token_for,
    is_https,
    same_secret,
)
from app.http.session import SessionDep


def page_user(request: Request, session: SessionDep) -> User | None:
    """The signed-in user of a page request, or None (no cookie, expired or revoked token)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return accounts.user_from_token(session, token)
    except InvalidToken:
        return None


PageUser = Annotated[User | None, Depends(page_user)]


def csrf_value(request: Request) -> str:
    """The CSRF value this browser must send back: bound to its session, else its random cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return csrf_token_for(token)
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 64 and existing.isascii():
        return existing
    return secrets.token_urlsafe(32)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a page form post whose hidden CSRF field does not match this browser's value."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not submitted or not cookie or not same_secret(submitted, cookie):
        raise CsrfFailed()
    token = request.cookies.get(SESSION_COOKIE)
    if token and not same_secret(submitted, csrf_token_for(token)):
        raise CsrfFailed()


def _cookie(
    response: Response, request: Request, name: str, value: str, *, http_only: bool
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=get_settings().access_token_minutes * 60 if name == SESSION_COOKIE else None,
        path="/",
        httponly=http_only,
        secure=is_https(request),
        samesite="lax",
    )


def remember_csrf(response: Response, request: Request, value: str) -> None:
    if request.cookies.get(CSRF_COOKIE) != value:
        _cookie(response, request, CSRF_COOKIE, value, http_only=False)


def sign_in(response: Response, request: Request, user: User) -> None:
    """Set the session cookie (HttpOnly) and the CSRF cookie bound to it."""
    token, _ttl = accounts.issue_token(user)
    _cookie(response, request, SESSION_COOKIE, token, http_only=True)
    _cookie(response, request, CSRF_COOKIE, csrf_token_for(token), http_only=False)


def sign_out(response: Response, request: Request) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=is_https(request), samesite="lax")

"""Sign-in cookies and CSRF, shared by the API (cookie callers) and the pages.

A browser holds the API's access token in the HttpOnly ``st_session`` cookie. It counts for an
API call only with the ``X-CSRF-Token`` header, and for a page form post only with the hidden
``csrf`` field, each repeating the CSRF cookie, whose value is bound to the session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fastapi import Request

from app.config import get_settings
from app.crypto import derive_key
from app.errors import Forbidden

#: The browser's sign-in cookie (HttpOnly): the same access token the API issues.
SESSION_COOKIE = "st_session"
#: The double-submit CSRF cookie (readable by the page's JS) and the header that must repeat it.
CSRF_COOKIE = "st_csrf"
CSRF_HEADER = "X-CSRF-Token"


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message_zh = "页面已过期，请刷新页面后重试。"
    message_en = "The page has expired; reload it and try again."


def csrf_token_for(access_token: str) -> str:
    """The CSRF token bound to a signed-in browser session (HMAC of its access token).

    Bound rather than random, so a cookie planted by a sibling origin cannot be paired with a
    header of the attacker's choosing: the token is only valid next to its own session cookie.
    """
    mac = hmac.new(derive_key("csrf"), access_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two strings of any content (``compare_digest`` on bytes)."""
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or get_settings().base_url.startswith("https://")


def client_info(request: Request) -> tuple[str | None, str | None]:
    """The caller's address and user agent, as recorded with what they did."""
    ip = request.client.host if request.client else None
    return ip, request.headers.get("user-agent")

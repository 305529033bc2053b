"""Signing in: password checks with back-off per username and per client address, the
reasons a right password is still refused, and access tokens."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
from sqlmodel import Session, col, select

from app import clock
from app.accounts import passwords, throttle, tokens
from app.accounts.exceptions import (
    AccountLocked,
    InstitutionSuspended,
    InvalidCredentials,
    InvalidToken,
    PasswordChangeRequired,
    TooManyAttempts,
)
from app.accounts.models import (
    Institution,
    LoginThrottle,
    Role,
    User,
)
from app.accounts.users import USERNAME_RE, normalise_username
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings


def _backoff_seconds(failures: int) -> int:
    s = get_settings()
    over = failures - s.login_max_failures
    return int(min(s.login_backoff_base_s * 2**over, s.login_backoff_max_s))


def authenticate(
    session: Session, username: str, password: str, *, client: str | None = None
) -> User:
    """Check a password, with exponential back-off after repeated failures of one username
    and a limit on failures from one client address (``client``; password spraying).

    A failure is recorded (and kept: the error commits), so the count survives the request.
    """
    throttle.check(session, "login", client)
    username = normalise_username(username)
    if not USERNAME_RE.fullmatch(username):
        # No account can have this name: refuse without touching the username throttle table
        # (and with the same cost as a real check), so junk names cannot fill it.
        passwords.verify_password(passwords.dummy_hash(), password)
        throttle.record(session, "login", client)
        raise InvalidCredentials()
    now = clock.now()
    failed = session.get(LoginThrottle, username, with_for_update=True)
    if failed and failed.locked_until and failed.locked_until > now:
        retry = int((failed.locked_until - now).total_seconds()) + 1
        raise TooManyAttempts(
            f"Too many failed attempts; try again in {retry} s.", retry_after=retry
        )
    user = session.exec(select(User).where(col(User.username) == username)).one_or_none()
    ok = passwords.verify_password(user.password_hash if user else passwords.dummy_hash(), password)
    if user is None or not ok:
        failed = failed or LoginThrottle(username=username)
        failed.failures += 1
        failed.last_failure_at = now
        locked = failed.failures >= get_settings().login_max_failures
        if locked:
            failed.locked_until = now + timedelta(seconds=_backoff_seconds(failed.failures))
        session.add(failed)
        if user is not None:
            audit.append(
                session,
                actor=Actor("anonymous", "login"),
                action="auth.login_locked" if locked else "auth.login_failed",
                subject=f"user:{user.id}",
                payload={"failures": failed.failures},
                institution_id=user.institution_id,
            )
        session.flush()
        throttle.record(session, "login", client)
        raise InvalidCredentials()
    refused = _sign_in_refusal(session, user)
    if refused is not None:
        # The password was right: say why in words (it tells a guesser nothing new), and audit it.
        audit.append(
            session,
            actor=Actor.user(user.id),
            action="auth.login_refused",
            subject=f"user:{user.id}",
            payload={"code": refused.code},
            institution_id=user.institution_id,
        )
        raise refused
    if failed:
        session.delete(failed)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        session.add(user)
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="auth.login",
        subject=f"user:{user.id}",
        institution_id=user.institution_id,
    )
    return user


def _sign_in_refusal(
    session: Session, user: User
) -> AccountLocked | InstitutionSuspended | PasswordChangeRequired | None:
    """Why a user with the right password may not sign in: an admin locked the account, or
    suspended the institution they work for (its learners keep their access), or the password
    is a temporary one someone else chose (app/accounts/recovery.py: change it first)."""
    if not user.is_active:
        return AccountLocked()
    if user.role is Role.staff and user.institution_id is not None:
        inst = session.get(Institution, user.institution_id)
        if inst is not None and inst.is_suspended:
            return InstitutionSuspended()
    if user.must_change_password:
        return PasswordChangeRequired()
    return None


def issue_token(user: User) -> tuple[str, int]:
    return tokens.issue_access_token(user.id, user.role.value, user.token_version)


def user_from_token(session: Session, token: str) -> User:
    return token_user(session, token)[0]


def token_user(session: Session, token: str) -> tuple[User, dict[str, Any]]:
    """The user an access token names and the token's claims, if the token is still good."""
    try:
        claims = tokens.decode_access_token(token)
        user_id = uuid.UUID(str(claims["sub"]))
    except (jwt.InvalidTokenError, ValueError, KeyError):
        raise InvalidToken() from None
    user = session.get(User, user_id)
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        raise InvalidToken()
    return user, claims

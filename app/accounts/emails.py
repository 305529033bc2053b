"""An account's optional e-mail address, verified before it counts (issue 14 item 5).

A person adds an address (:func:`request_verification`): it is normalised to its one spelling
(``app.validation.normalise_email``: NFKC, ASCII only — look-alike letters are refused — lower
case) and refused when another account already uses it (409 ``email_taken``; the unique index
is the last word on a race). A six-digit code goes to the new address through the e-mail sender
(app/accounts/notify.py), after commit; the account's address does not change yet. Typing the
code back (:func:`confirm`) makes it the account's verified address. Codes live, die after
wrong tries and are limited per hour exactly like password-reset codes
(``app.accounts.recovery.issue_code``); wrong codes also count against the caller's address.

A verified address is then a second way to get a password-reset code
(``recovery.request_code(channel="email")``) and a way to name the account there. Every change
is audited on the account's chain (the address masked).
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts import notify, throttle
from app.accounts.exceptions import EmailTaken, InvalidEmail, ResetCodeInvalid, TooManyCodes
from app.accounts.models import PasswordResetCode, User
from app.accounts.recovery import CODE_DIGITS, _hash, issue_code
from app.aftercommit import after_commit
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings
from app.validation import digit_string, normalise_email

VERIFY = "verify"


def checked_address(raw: str) -> str:
    """The address in its one spelling, or 422 ``invalid_email``."""
    address = normalise_email(raw or "")
    if address is None:
        raise InvalidEmail(field="email")
    return address


def _taken(session: Session, user: User, address: str) -> bool:
    other = session.exec(
        select(User.id).where(col(User.email) == address, col(User.id) != user.id)
    ).first()
    return other is not None


def request_verification(session: Session, user: User, raw: str, *, client: str | None) -> str:
    """Send a code confirming ``raw`` as the account's e-mail address; returns the address as
    stored. Refused: not an address (422 ``invalid_email``), another account's (409
    ``email_taken``), too many codes this hour (429 ``too_many_codes``), too many attempts from
    the caller's address (429 ``rate_limited``)."""
    throttle.attempt(session, "reset", client)
    address = checked_address(raw)
    if _taken(session, user, address):
        raise EmailTaken(field="email")
    issued = issue_code(session, user, VERIFY, address=address)
    if issued is None:  # this account asked too often: no code, and no silent success either
        raise TooManyCodes(retry_after=3600)
    row, code = issued
    s = get_settings()
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="email.verification_sent",
        subject=f"user:{user.id}",
        payload={
            "code_id": str(row.id),
            "to": notify.mask_address("email", address),
            "valid_s": s.password_reset_code_ttl_s,
        },
        institution_id=user.institution_id,
    )
    minutes = s.password_reset_code_ttl_s // 60
    message = notify.Message(
        channel="email",
        to=address,
        text=(
            f"您好：\n\n您正在为技能培训学习平台账号 {user.username} 绑定此电子邮箱，"
            f"验证码为 {code}，{minutes} 分钟内有效。\n\n如非本人操作，请忽略本邮件。\n\n"
            "技能培训学习平台（本邮件由系统自动发送，请勿回复）"
        ),
    )
    after_commit(session, lambda: notify.deliver(message))
    return address


def confirm(session: Session, user: User, code: str, *, client: str | None) -> str:
    """The code sent to the new address, typed back: the address becomes the account's
    verified one (audited). Every refusal is the same 400 ``reset_code_invalid`` and is counted
    like a wrong reset code; the address taken meanwhile by another account is 409."""
    throttle.check(session, "reset", client)
    now = clock.now()
    live = list(
        session.exec(
            select(PasswordResetCode)
            .where(
                col(PasswordResetCode.user_id) == user.id,
                col(PasswordResetCode.channel) == VERIFY,
                col(PasswordResetCode.used_at).is_(None),
                col(PasswordResetCode.expires_at) > now,
            )
            .with_for_update()
        )
    )
    presented = digit_string(code or "", separators="-") or ""
    match = None
    if len(presented) == CODE_DIGITS:
        digest = _hash(user, presented, "email_verify")
        match = next((c for c in live if secrets.compare_digest(c.code_hash, digest)), None)
    limit = get_settings().password_reset_max_failures
    if match is None or match.failures >= limit or match.address is None:
        for c in live:
            c.failures += 1
            session.add(c)
        session.flush()
        throttle.record(session, "reset", client)
        raise ResetCodeInvalid(field="code")
    address = match.address
    if _taken(session, user, address):
        raise EmailTaken(field="email")
    previous = user.email
    match.used_at = now
    user.email, user.email_verified_at = address, now
    session.add_all([match, user])
    try:
        session.flush()
    except IntegrityError:  # another account confirmed the same address a moment ago
        raise EmailTaken(field="email") from None
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="email.verified",
        subject=f"user:{user.id}",
        payload={
            "code_id": str(match.id),
            "email": notify.mask_address("email", address),
            "replaced": notify.mask_address("email", previous) if previous else None,
        },
        institution_id=user.institution_id,
    )
    return address


def remove(session: Session, user: User) -> None:
    """The account's address removed (audited); resets then go by SMS or through staff."""
    if user.email is None:
        return
    previous = user.email
    user.email, user.email_verified_at = None, None
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="email.removed",
        subject=f"user:{user.id}",
        payload={"email": notify.mask_address("email", previous)},
        institution_id=user.institution_id,
    )

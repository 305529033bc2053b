"""Passwords people forget: a reset by the institution's staff, a self-service reset by code,
and changing one's own password.

**By staff** (:func:`reset_by_staff`): a staff member of the learner's institution (nobody
else: other institutions' learners are not found) gives the learner a generated temporary
password, shown once. The account's sessions end, and the account must set its own password
before it signs in again (``must_change_password``: sign-in answers 403
``password_change_required``, and :func:`change_password` with the temporary password sets the
new one). Audited on the institution's chain. Learners still waiting for activation get a new
activation code instead (409 ``activation_pending``).

**Self-service** (:func:`request_code`, :func:`reset_with_code`): the person names their
account (username, the mobile number on it when only one account has that number, or its
verified e-mail address) and chooses where a six-digit code goes — the mobile number on file
(``sms``) or the verified e-mail address (``email``, app/accounts/emails.py) — through the
configured sender (app/accounts/notify.py), after commit. Both channels share the same limits.
The answer is the same whether or not the account exists, has a phone or
a verified address, or has asked too often, so the reset tells nobody who has an account.

- Codes are stored only as a keyed hash bound to the account (``blind_index``), live
  ``password_reset_code_ttl_s`` (10 minutes), are single use, and a new code retires the
  earlier ones.
- A wrong code counts against every live code of the account; ``password_reset_max_failures``
  wrong tries kill them (every refusal is the same 400 ``reset_code_invalid``).
- At most ``password_reset_account_max_per_hour`` codes are sent per account in any hour
  (further requests are answered alike and send nothing), and every request and every wrong
  code counts against the caller's address (``password_reset_ip_max`` per window: 429
  ``rate_limited``).
- A successful reset ends the account's sessions and clears its login back-off; it is audited
  (``password.reset_by_code``), as are sent codes (``password.reset_code_sent``, with the
  masked number) on the account's chain.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts import notify, passwords, throttle, users
from app.accounts.activation import is_pending
from app.accounts.administration import generate_password
from app.accounts.exceptions import (
    ActivationPending,
    InvalidCredentials,
    PasswordChangeRequired,
    ResetCodeInvalid,
    SamePassword,
    WeakPassword,
)
from app.accounts.models import LoginThrottle, PasswordResetCode, Role, User
from app.accounts.principal import Principal
from app.accounts.service import authenticate, get_visible_learner, normalise_username
from app.aftercommit import after_commit
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings
from app.crypto import blind_index
from app.errors import DomainError, Forbidden
from app.validation import digit_string, normalise_email, normalise_phone

CODE_DIGITS = 6


def _check_new_password(user: User, new_password: str) -> None:
    reason = passwords.weakness(new_password, username=user.username)
    if reason:
        raise WeakPassword(f"The password is too weak: {reason}.")


def _set_password(session: Session, user: User, new_password: str, *, temporary: bool) -> None:
    """The new password; every earlier session ends and the login back-off is forgotten."""
    user.password_hash = passwords.hash_password(new_password)
    user.must_change_password = temporary
    user.token_version += 1
    session.add(user)
    backoff = session.get(LoginThrottle, user.username)
    if backoff is not None:
        session.delete(backoff)
    session.flush()


# ---------------------------------------------------------------- by the institution's staff


def reset_by_staff(
    session: Session, principal: Principal, learner_id: uuid.UUID
) -> tuple[User, str]:
    """A temporary password for a learner of the staff member's institution (returned once,
    never stored in clear); the learner must change it at their next sign-in."""
    if principal.user is None or principal.role is not Role.staff:
        raise Forbidden("Only staff of the learner's institution reset a learner's password.")
    learner = get_visible_learner(session, principal, learner_id)
    if is_pending(learner):
        raise ActivationPending()
    temporary = generate_password()
    _set_password(session, learner, temporary, temporary=True)
    audit.append(
        session,
        actor=principal.actor,
        action="password.reset_by_staff",
        subject=f"user:{learner.id}",
        payload={"temporary": True, "must_change": True},
        institution_id=learner.institution_id,
    )
    return learner, temporary


# ---------------------------------------------------------------- changing one's own


def change_password(
    session: Session,
    *,
    username: str,
    current_password: str,
    new_password: str,
    client: str | None = None,
) -> User:
    """Set one's own password with the current one (a temporary one included): checked like a
    sign-in (same back-off and per-address limit), then the new one replaces it. Sent again
    (a double click) once the new one is set, it is a sign-in with the new one: the same
    result, nothing changed or recorded again (the account's row is locked meanwhile)."""
    name = normalise_username(username)
    held = session.exec(
        select(User)
        .where(col(User.username) == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if (
        held is not None
        and not secrets.compare_digest(current_password, new_password)
        and not passwords.verify_password(held.password_hash, current_password)
        and passwords.verify_password(held.password_hash, new_password)
    ):
        return authenticate(session, username, new_password, client=client)
    try:
        user = authenticate(session, username, current_password, client=client)
    except PasswordChangeRequired:
        # The right (temporary) password: exactly what this is for.
        user = session.exec(
            select(User).where(col(User.username) == normalise_username(username))
        ).one()
    if secrets.compare_digest(current_password, new_password):
        raise SamePassword(field="new_password")
    _check_new_password(user, new_password)
    was_temporary = user.must_change_password
    _set_password(session, user, new_password, temporary=False)
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="password.changed",
        subject=f"user:{user.id}",
        payload={"was_temporary": was_temporary},
        institution_id=user.institution_id,
    )
    return user


# ---------------------------------------------------------------- self-service by code


def _account(session: Session, login: str) -> User | None:
    """The account a person names: a username, a mobile number only one account has, or the
    verified e-mail address of an account."""
    name = normalise_username(login or "")
    user = session.exec(select(User).where(col(User.username) == name)).one_or_none()
    if user is None and (phone := normalise_phone(login or "")):
        matches = session.exec(select(User).where(col(User.phone) == phone).limit(2)).all()
        user = matches[0] if len(matches) == 1 else None
    if user is None and "@" in (login or "") and (address := normalise_email(login)):
        user = session.exec(
            select(User).where(col(User.email) == address, col(User.email_verified_at).is_not(None))
        ).one_or_none()
    return user


def _hash(user: User, code: str, purpose: str = "password_reset") -> str:
    return blind_index(purpose, f"{user.id}:{code.strip()}")


#: Channels of password-reset codes (a ``verify`` code confirms an e-mail address instead).
RESET_CHANNELS = ("sms", "email")


def issue_code(
    session: Session, user: User, channel: str, *, address: str | None = None
) -> tuple[PasswordResetCode, str] | None:
    """A new six-digit code for the account (stored as a keyed hash), retiring the earlier live
    codes of the same kind (reset codes, or e-mail confirmations); None when the account had
    ``password_reset_account_max_per_hour`` codes of that kind in the last hour. The code is
    returned once, to be sent after commit."""
    s = get_settings()
    now = clock.now()
    kind = list(RESET_CHANNELS) if channel in RESET_CHANNELS else [channel]
    recent = session.exec(
        select(func.count())
        .select_from(PasswordResetCode)
        .where(
            col(PasswordResetCode.user_id) == user.id,
            col(PasswordResetCode.channel).in_(kind),
            col(PasswordResetCode.created_at) > now - timedelta(hours=1),
        )
    ).one()
    if recent >= s.password_reset_account_max_per_hour:
        return None
    for old in session.exec(
        select(PasswordResetCode).where(
            col(PasswordResetCode.user_id) == user.id,
            col(PasswordResetCode.channel).in_(kind),
            col(PasswordResetCode.used_at).is_(None),
            col(PasswordResetCode.expires_at) > now,
        )
    ):
        old.expires_at = now  # one live code at a time
        session.add(old)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    purpose = "password_reset" if channel in RESET_CHANNELS else "email_verify"
    row = PasswordResetCode(
        user_id=user.id,
        channel=channel,
        address=address,
        code_hash=_hash(user, code, purpose),
        created_at=now,
        expires_at=now + timedelta(seconds=s.password_reset_code_ttl_s),
    )
    session.add(row)
    session.flush()
    return row, code


def _just_sent(session: Session, user: User, channel: str, within_s: int) -> bool:
    """Whether a reset code still usable went by ``channel`` to the account in the last
    ``within_s`` seconds."""
    now = clock.now()
    return (
        session.exec(
            select(col(PasswordResetCode.id)).where(
                col(PasswordResetCode.user_id) == user.id,
                col(PasswordResetCode.channel) == channel,
                col(PasswordResetCode.used_at).is_(None),
                col(PasswordResetCode.expires_at) > now,
                col(PasswordResetCode.failures) < get_settings().password_reset_max_failures,
                col(PasswordResetCode.created_at) > now - timedelta(seconds=within_s),
            )
        ).first()
        is not None
    )


def request_code(
    session: Session, *, login: str, client: str | None, channel: notify.Channel = "sms"
) -> None:
    """Send a reset code to the account's phone (``sms``) or verified e-mail address
    (``email``), if there is such an account with one and it has not asked too often; answers
    the same in every case (nothing is returned)."""
    throttle.attempt(session, "reset", client)
    s = get_settings()
    user = _account(session, login)
    if user is None or not user.is_active or is_pending(user):
        return
    to = user.phone if channel == "sms" else user.email if user.email_verified_at else None
    if not to:
        return
    user = users.locked(session, user)  # two requests at once: one code
    if _just_sent(session, user, channel, s.password_reset_resend_after_s):
        return  # the form sent twice: the code on its way is the one to type
    issued = issue_code(session, user, channel)
    if issued is None:
        return
    row, code = issued
    audit.append(
        session,
        actor=Actor("anonymous", "password_reset"),
        action="password.reset_code_sent",
        subject=f"user:{user.id}",
        payload={
            "code_id": str(row.id),
            "channel": channel,
            "to": notify.mask_address(channel, to),
            "valid_s": s.password_reset_code_ttl_s,
        },
        institution_id=user.institution_id,
    )
    minutes = s.password_reset_code_ttl_s // 60
    if channel == "sms":
        text = (
            f"【技能培训学习平台】您的密码重置验证码为 {code}，{minutes} 分钟内有效。"
            "如非本人操作，请忽略本短信，不要把验证码告诉任何人。"
        )
    else:
        text = (
            f"您好：\n\n您正在重置技能培训学习平台账号 {user.username} 的密码，验证码为 {code}，"
            f"{minutes} 分钟内有效。\n\n如非本人操作，请忽略本邮件，不要把验证码告诉任何人。"
            "\n\n技能培训学习平台（本邮件由系统自动发送，请勿回复）"
        )
    message = notify.Message(channel=channel, to=to, text=text)
    after_commit(session, lambda: notify.deliver(message))


def _already_reset(session: Session, user: User, presented: str, new_password: str) -> bool:
    """Whether ``presented`` is a code that has just been used (within its lifetime) to set the
    account's password to ``new_password``: the same reset sent again."""
    if len(presented) != CODE_DIGITS:
        return False
    now = clock.now()
    used = session.exec(
        select(PasswordResetCode).where(
            col(PasswordResetCode.user_id) == user.id,
            col(PasswordResetCode.code_hash) == _hash(user, presented),
            col(PasswordResetCode.used_at).is_not(None),
            col(PasswordResetCode.used_at)
            > now - timedelta(seconds=get_settings().password_reset_code_ttl_s),
        )
    ).first()
    if used is None:
        return False
    session.refresh(user)  # as the first left it (it may have committed while this one waited)
    return passwords.verify_password(user.password_hash, new_password)


def reset_with_code(
    session: Session, *, login: str, code: str, new_password: str, client: str | None
) -> User:
    """Set a new password with a code from :func:`request_code`. Every refusal of the code is
    the same 400 ``reset_code_invalid`` and is counted (against the account's live codes and
    the caller's address); a weak password is refused without using the code up."""
    throttle.check(session, "reset", client)
    user = _account(session, login)
    now = clock.now()
    live = (
        list(
            session.exec(
                select(PasswordResetCode)
                .where(
                    col(PasswordResetCode.user_id) == user.id,
                    col(PasswordResetCode.channel).in_(RESET_CHANNELS),
                    col(PasswordResetCode.used_at).is_(None),
                    col(PasswordResetCode.expires_at) > now,
                )
                .with_for_update()
            )
        )
        if user is not None
        else []
    )
    presented = digit_string(code, separators="-") or ""  # "１２３ ４５６" is the code too
    match = None
    if user is not None and len(presented) == CODE_DIGITS:
        digest = _hash(user, presented)
        match = next((c for c in live if secrets.compare_digest(c.code_hash, digest)), None)
    limit = get_settings().password_reset_max_failures
    if (
        user is not None
        and match is None
        and _already_reset(session, user, presented, new_password)
    ):
        return user  # the form sent twice: the first set this password with this code
    if user is None or match is None or match.failures >= limit:
        for c in live:
            c.failures += 1
            session.add(c)
        session.flush()
        throttle.record(session, "reset", client)
        raise ResetCodeInvalid()
    try:
        if not user.is_active:
            raise InvalidCredentials()  # a locked account stays locked: an admin unlocks it
        _check_new_password(user, new_password)
    except DomainError as exc:
        raise exc.keeping_changes() from None
    match.used_at = now
    session.add(match)
    _set_password(session, user, new_password, temporary=False)
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="password.reset_by_code",
        subject=f"user:{user.id}",
        payload={"code_id": str(match.id), "channel": match.channel},
        institution_id=user.institution_id,
    )
    return user

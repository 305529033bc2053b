"""Passwords: self-service reset by a code sent to the phone, changing one's own (a temporary
one included), and a reset by the learner's institution (app/accounts/recovery.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from app.accounts import emails, recovery
from app.accounts import exceptions as exc
from app.accounts.schemas import (
    EmailCodeIn,
    EmailCodeSentOut,
    EmailIn,
    EmailOut,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetRequestedOut,
    PasswordResetRequestIn,
    PasswordSetOut,
    TemporaryPasswordOut,
)
from app.api.deps import PUBLIC, CurrentUser, SessionDep, UserPrincipal, client_info
from app.config import get_settings
from app.errors import Forbidden, NotAuthenticated, problem_responses

router = APIRouter(tags=["auth"])

REQUESTED_ZH = "如果该账号存在并登记了手机号，验证码已发送，{minutes} 分钟内有效。"
REQUESTED_EMAIL_ZH = "如果该账号存在并验证过电子邮箱，验证码已发送到该邮箱，{minutes} 分钟内有效。"


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PasswordResetRequestedOut,
    responses=problem_responses(exc.RateLimited),
    dependencies=[PUBLIC],
)
def request_reset(
    body: PasswordResetRequestIn, session: SessionDep, request: Request
) -> PasswordResetRequestedOut:
    """Ask for a password-reset code, sent by text message to the mobile number on the
    account (`channel: sms`) or by e-mail to its verified address (`channel: email`). The
    answer is the same whether or not the account exists (limited per address: 429
    `rate_limited`; per account a few codes an hour, both channels together)."""
    recovery.request_code(
        session, login=body.login, client=client_info(request)[0], channel=body.channel
    )
    ttl = get_settings().password_reset_code_ttl_s
    words = REQUESTED_EMAIL_ZH if body.channel == "email" else REQUESTED_ZH
    return PasswordResetRequestedOut(detail=words.format(minutes=ttl // 60), expires_in_s=ttl)


@router.post(
    "/auth/password-reset/confirm",
    response_model=PasswordSetOut,
    responses=problem_responses(
        exc.ResetCodeInvalid, exc.WeakPassword, exc.InvalidCredentials, exc.RateLimited
    ),
    dependencies=[PUBLIC],
)
def confirm_reset(
    body: PasswordResetConfirmIn, session: SessionDep, request: Request
) -> PasswordSetOut:
    """Set a new password with the code: a wrong, expired, used or too-often-tried code is
    400 `reset_code_invalid` (the same for an unknown account). Earlier sessions end."""
    user = recovery.reset_with_code(
        session,
        login=body.login,
        code=body.code,
        new_password=body.new_password,
        client=client_info(request)[0],
    )
    return PasswordSetOut(username=user.username)


@router.post(
    "/auth/password-change",
    response_model=PasswordSetOut,
    responses=problem_responses(
        exc.InvalidCredentials,
        exc.TooManyAttempts,
        exc.AccountLocked,
        exc.InstitutionSuspended,
        exc.WeakPassword,
        exc.SamePassword,
        exc.RateLimited,
    ),
    dependencies=[PUBLIC],
)
def change_password(
    body: PasswordChangeIn, session: SessionDep, request: Request
) -> PasswordSetOut:
    """Set one's own password with the current one — also the way out of a temporary password
    (sign-in with one answers 403 `password_change_required`). Checked like a sign-in (same
    back-off and limits); earlier sessions end."""
    user = recovery.change_password(
        session,
        username=body.username,
        current_password=body.current_password,
        new_password=body.new_password,
        client=client_info(request)[0],
    )
    return PasswordSetOut(username=user.username)


@router.post(
    "/learners/{learner_id}/password-reset",
    response_model=TemporaryPasswordOut,
    responses=problem_responses(
        NotAuthenticated, exc.InvalidToken, Forbidden, exc.UserNotFound, exc.ActivationPending
    ),
)
def reset_learner_password(
    learner_id: uuid.UUID, principal: UserPrincipal, session: SessionDep
) -> TemporaryPasswordOut:
    """A temporary password for a learner of the caller's institution (staff signed in only),
    shown once; the learner must set their own at the next sign-in. Audited."""
    learner, temporary = recovery.reset_by_staff(session, principal, learner_id)
    return TemporaryPasswordOut(
        learner_id=learner.id,
        username=learner.username,
        temporary_password=temporary,
        must_change_password=True,
    )


# ---------------------------------------------------------------- the account's e-mail address

_me_errors = (NotAuthenticated, exc.InvalidToken)


@router.get("/me/email", response_model=EmailOut, responses=problem_responses(*_me_errors))
def my_email(user: CurrentUser) -> EmailOut:
    """The signed-in account's verified e-mail address (null: none yet)."""
    return EmailOut(email=user.email, verified_at=user.email_verified_at)


@router.post(
    "/me/email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EmailCodeSentOut,
    responses=problem_responses(
        *_me_errors, exc.InvalidEmail, exc.EmailTaken, exc.TooManyCodes, exc.RateLimited
    ),
)
def add_email(
    body: EmailIn, user: CurrentUser, session: SessionDep, request: Request
) -> EmailCodeSentOut:
    """Add (or replace) the account's e-mail address: a six-digit code goes to it; the address
    counts once confirmed (`POST /me/email/confirm`). It is stored in one spelling (full-width
    letters folded, lower case); look-alike letters outside ASCII are refused (422
    `invalid_email`); another account's address is 409 `email_taken`."""
    address = emails.request_verification(session, user, body.email, client=client_info(request)[0])
    return EmailCodeSentOut(email=address, expires_in_s=get_settings().password_reset_code_ttl_s)


@router.post(
    "/me/email/confirm",
    response_model=EmailOut,
    responses=problem_responses(*_me_errors, exc.ResetCodeInvalid, exc.EmailTaken, exc.RateLimited),
)
def confirm_email(
    body: EmailCodeIn, user: CurrentUser, session: SessionDep, request: Request
) -> EmailOut:
    """The code sent to the new address: it becomes the account's verified address (a wrong,
    expired or used code is 400 `reset_code_invalid`, counted like a wrong reset code)."""
    emails.confirm(session, user, body.code, client=client_info(request)[0])
    return EmailOut(email=user.email, verified_at=user.email_verified_at)


@router.delete(
    "/me/email", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(*_me_errors)
)
def remove_email(user: CurrentUser, session: SessionDep) -> None:
    """Remove the account's e-mail address (password resets then go by SMS or through the
    institution's staff). Audited."""
    emails.remove(session, user)

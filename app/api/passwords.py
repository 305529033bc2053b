"""Passwords: self-service reset by a code sent to the phone, changing one's own (a temporary
one included), and a reset by the learner's institution (app/accounts/recovery.py)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from app.accounts import exceptions as exc
from app.accounts import recovery
from app.accounts.schemas import (
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetRequestedOut,
    PasswordResetRequestIn,
    PasswordSetOut,
    TemporaryPasswordOut,
)
from app.api.deps import PUBLIC, SessionDep, UserPrincipal, client_info
from app.config import get_settings
from app.errors import Forbidden, NotAuthenticated, problem_responses

router = APIRouter(tags=["auth"])

REQUESTED_ZH = "如果该账号存在并登记了手机号，验证码已发送，{minutes} 分钟内有效。"


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
    account. The answer is the same whether or not the account exists (limited per address:
    429 `rate_limited`; per account a few codes an hour)."""
    recovery.request_code(session, login=body.login, client=client_info(request)[0])
    ttl = get_settings().password_reset_code_ttl_s
    return PasswordResetRequestedOut(
        detail=REQUESTED_ZH.format(minutes=ttl // 60), expires_in_s=ttl
    )


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

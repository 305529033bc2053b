"""Registration, tokens, the caller's own account and consent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from app.accounts import activation, registration
from app.accounts import exceptions as exc
from app.accounts import service as accounts
from app.accounts.consent import consent_state
from app.accounts.schemas import (
    ConsentIn,
    ConsentOut,
    InstitutionChoiceIn,
    InstitutionChoiceOut,
    MeOut,
    RegisterIn,
    TokenOut,
    UserOut,
)
from app.api.deps import PUBLIC, CurrentUser, SessionDep, client_info
from app.config import get_settings
from app.courses import invites
from app.courses.class_schemas import ActivatedOut, ActivateIn
from app.courses.exceptions import AlreadyEnrolled, ClassClosed, ClassFull
from app.errors import NotAuthenticated, problem_responses

router = APIRouter(tags=["auth"])


def user_out(user: object) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=problem_responses(
        exc.InvalidIdNumberError,
        exc.UsernameTaken,
        exc.IdNumberRegistered,
        exc.WeakPassword,
        exc.InvalidInput,
        exc.InstitutionUnavailable,
        exc.RateLimited,
        ClassFull,
        ClassClosed,
    ),
    dependencies=[PUBLIC],
)
def register(body: RegisterIn, session: SessionDep, request: Request) -> UserOut:
    """Learner self-registration under their real name and resident ID number, into the
    institution `institution_code` names (one that takes learners: `GET /institutions/active`;
    else 422 `institution_unavailable`). A class invite code (班级邀请码, e.g. `BK7Q-M3XP`) there
    registers into the class's institution and enrols the learner in that class (409
    `class_full` / `class_closed` when it cannot take them). Limited per client address: 429
    `rate_limited` with Retry-After."""
    user, _enrollment = invites.register_with_code(
        session,
        code=body.institution_code,
        username=body.username,
        password=body.password,
        real_name=body.real_name,
        id_number=body.id_number,
        phone=body.phone,
        group=body.group,
        client=client_info(request)[0],
    )
    return user_out(user)


@router.get(
    "/institutions/active",
    response_model=list[InstitutionChoiceOut],
    dependencies=[PUBLIC],
)
def active_institutions(session: SessionDep) -> list[InstitutionChoiceOut]:
    """The institutions that take learners (not suspended), by region and name: what a
    registration form offers to pick from."""
    return [
        InstitutionChoiceOut(code=c.code, name=c.name, region=c.region)
        for c in registration.active_institutions(session)
    ]


@router.post(
    "/auth/activate",
    response_model=ActivatedOut,
    responses=problem_responses(
        exc.ActivationRefused,
        exc.UsernameTaken,
        exc.WeakPassword,
        exc.InvalidInput,
        exc.RateLimited,
    ),
    dependencies=[PUBLIC],
)
def activate(body: ActivateIn, session: SessionDep, request: Request) -> ActivatedOut:
    """A learner enrolled by their institution or employer sets their own username and password
    with their ID number and activation code (then signs in and gives consent themself)."""
    user = activation.activate(
        session,
        id_number=body.id_number,
        code=body.activation_code,
        username=body.username,
        password=body.password,
        client=client_info(request)[0],
    )
    return ActivatedOut(user_id=user.id, username=user.username)


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses=problem_responses(
        exc.InvalidCredentials,
        exc.TooManyAttempts,
        exc.AccountLocked,
        exc.InstitutionSuspended,
        exc.PasswordChangeRequired,
        exc.RateLimited,
    ),
    dependencies=[PUBLIC],
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, request: Request
) -> TokenOut:
    """OAuth2 password flow: exchange username and password for a bearer token. Repeated
    failures back off per username (`too_many_attempts`) and per client address
    (`rate_limited`), both 429 with Retry-After. A temporary password from the institution
    gets 403 `password_change_required`: set your own with `POST /auth/password-change`."""
    user = accounts.authenticate(
        session, form.username, form.password, client=client_info(request)[0]
    )
    access, ttl = accounts.issue_token(user)
    return TokenOut(access_token=access, expires_in=ttl)


# Signed-in users only: an API key gets 403 `forbidden`; a stale or bad token 401 `invalid_token`.
_user_errors = (NotAuthenticated, exc.InvalidToken, exc.InsufficientRole)


@router.get("/me", response_model=MeOut, responses=problem_responses(*_user_errors))
def me(user: CurrentUser) -> MeOut:
    """The signed-in user."""
    return MeOut.model_validate(user, from_attributes=True)


@router.put(
    "/me/institution",
    response_model=MeOut,
    responses=problem_responses(
        *_user_errors,
        exc.InstitutionUnavailable,
        exc.InstitutionAlreadyChosen,
        ClassFull,
        ClassClosed,
        AlreadyEnrolled,
    ),
)
def choose_institution(body: InstitutionChoiceIn, user: CurrentUser, session: SessionDep) -> MeOut:
    """A learner who belongs to no institution chooses the one they train with (once; 409
    `institution_already_chosen` after). Required before the face enrolment (409
    `institution_required`). A class invite code (班级邀请码) also enrols them in its class, as
    at registration (409 `class_full` / `class_closed` / `already_enrolled` when it cannot)."""
    invites.choose_with_code(session, user, body.institution_code)
    return MeOut.model_validate(user, from_attributes=True)


@router.get("/me/consent", response_model=ConsentOut, responses=problem_responses(*_user_errors))
def consent_status(user: CurrentUser) -> ConsentOut:
    """The current biometric consent state and the text it refers to."""
    return ConsentOut(
        biometric_consent=user.biometric_consent,
        version=user.consent_version or get_settings().consent_version,
        at=user.consent_at or user.created_at,
        text=accounts.CONSENT_TEXT_ZH,
        current_version=get_settings().consent_version,
        state=consent_state(user),
    )


@router.post("/me/consent", response_model=ConsentOut, responses=problem_responses(*_user_errors))
def consent(
    body: ConsentIn, user: CurrentUser, session: SessionDep, request: Request
) -> ConsentOut:
    """Grant or withdraw consent to biometric processing; withdrawing deletes face templates."""
    ip, ua = client_info(request)
    record = accounts.set_biometric_consent(
        session, user, granted=body.biometric, ip=ip, user_agent=ua
    )
    return ConsentOut(
        biometric_consent=record.granted,
        version=record.version,
        at=record.at,
        text=accounts.CONSENT_TEXT_ZH,
        current_version=record.version,
        state=consent_state(user),
    )

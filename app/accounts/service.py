"""Account rules: registration, login with back-off, tokens, API keys, consent.

Functions take the request's session, ``flush()`` and never commit; each write appends its
audit entry in the same transaction.
"""

from __future__ import annotations

import base64
import hmac
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts import idcard, passwords, throttle, tokens
from app.accounts.exceptions import (
    AccountLocked,
    ApiKeyInstitutionSuspended,
    ApiKeyNotFound,
    IdNumberRegistered,
    InstitutionCodeTaken,
    InstitutionNotFound,
    InstitutionSuspended,
    InvalidCredentials,
    InvalidIdNumberError,
    InvalidInput,
    InvalidToken,
    PasswordChangeRequired,
    TooManyAttempts,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from app.accounts.models import (
    ApiKey,
    ConsentRecord,
    Institution,
    LearnerGroup,
    LoginThrottle,
    Role,
    User,
)
from app.accounts.principal import SCOPES, Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings
from app.crypto import blind_index, encrypt
from app.errors import DomainError, Forbidden
from app.programmes import regions
from app.programmes.exceptions import JurisdictionRequired
from app.programmes.jurisdiction import jurisdiction_filter
from app.programmes.models import declared_group
from app.validation import (
    INSTITUTION_CODE_RE,
    check_text,
    normalise_identifier,
    normalise_phone,
)

CONSENT_TEXT_ZH = (
    "为核验参加补贴性职业技能培训的是您本人，平台将在签到、随机点名和考试时通过摄像头"
    "采集约 10–15 秒的人脸画面（期间按提示眨眼或转头，并检查是否为照片或翻拍）"
    "，提取人脸特征（加密保存）用于比对；画面仅在本次核验完成前暂存，核验后立即删除，"
    "仅保留小尺寸人脸截图作为考勤凭证，保存期满后删除。仅您所在培训机构的工作人员和人"
    "社监管部门可查看考勤凭证。您可以随时撤回同意，撤回后人脸特征将被删除；不同意的，"
    "可联系培训机构采用线下签到等替代方式。"
)

#: Called with (session, user) after biometric consent is withdrawn (face templates are deleted);
#: subscribed in app/wiring.py.
consent_withdrawn_hooks: list[Callable[[Session, User], None]] = []


#: What registration accepts (schemas.RegisterIn), lower-cased; ASCII only (after NFKC).
USERNAME_RE = re.compile(r"[a-z0-9_.@-]{3,64}", re.ASCII)


def normalise_username(username: str) -> str:
    """One spelling per name: NFKC (full-width letters fold), no spaces, lower case."""
    return normalise_identifier(username).lower()


def _valid_username(username: str) -> str:
    username = normalise_username(username)
    if not USERNAME_RE.fullmatch(username):
        raise InvalidInput(
            "The username must be 3-64 letters, digits or _ . @ -.", field="username"
        )
    return username


# ---------------------------------------------------------------- institutions


def create_institution(
    session: Session, *, code: str, name: str, actor: Actor, region_code: str | None = None
) -> Institution:
    """A new institution; ``region_code`` (GB/T 2260, loaded) places it in the regulators'
    jurisdictions (without one only national regulators see it)."""
    code = normalise_identifier(code)
    if not INSTITUTION_CODE_RE.fullmatch(code):
        raise InvalidInput(
            "The institution code must be 1-32 letters, digits, _ or -.", field="code"
        )
    name = check_text(name, field="name")
    region = regions.place(session, region_code).code if region_code else None
    if session.exec(select(Institution).where(col(Institution.code) == code)).first():
        raise InstitutionCodeTaken()
    inst = Institution(code=code, name=name, region_code=region)
    session.add(inst)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="institution.created",
        subject=f"institution:{inst.id}",
        payload={"code": inst.code, "name": inst.name, "region_code": region},
        institution_id=inst.id,
    )
    return inst


def get_institution_by_code(session: Session, code: str) -> Institution:
    code = normalise_identifier(code)
    inst = session.exec(select(Institution).where(col(Institution.code) == code)).one_or_none()
    if inst is None:
        raise InstitutionNotFound(f"no institution with code {code!r}")
    return inst


def get_institution(session: Session, institution_id: uuid.UUID) -> Institution:
    inst = session.get(Institution, institution_id)
    if inst is None:
        raise InstitutionNotFound()
    return inst


# ---------------------------------------------------------------- users


def _check_password(password: str, username: str) -> None:
    reason = passwords.weakness(password, username=username)
    if reason:
        raise WeakPassword(f"The password is too weak: {reason}.")


def _ensure_username_free(session: Session, username: str) -> None:
    if session.exec(select(col(User.id)).where(col(User.username) == username)).first():
        raise UsernameTaken()


def register_learner(
    session: Session,
    *,
    username: str,
    password: str,
    real_name: str,
    id_number: str,
    phone: str | None = None,
    group: LearnerGroup | None = None,
    institution_id: uuid.UUID | None = None,
    actor: Actor | None = None,
    client: str | None = None,
) -> User:
    """Real-name registration: the ID number is validated, encrypted and indexed.

    ``client`` (self-registration: the caller's address) is counted against the per-address
    registration limit, refusals included: registration answers whether an ID number is
    registered, so it must not be an unlimited oracle.
    """
    if client is not None:
        throttle.attempt(session, "register", client)
        try:
            return _register(
                session,
                username=username,
                password=password,
                real_name=real_name,
                id_number=id_number,
                phone=phone,
                group=group,
                institution_id=institution_id,
                actor=actor,
            )
        except DomainError as exc:
            raise exc.keeping_changes() from None  # the attempt counts (nothing else is kept)
    return _register(
        session,
        username=username,
        password=password,
        real_name=real_name,
        id_number=id_number,
        phone=phone,
        group=group,
        institution_id=institution_id,
        actor=actor,
    )


def _register(
    session: Session,
    *,
    username: str,
    password: str,
    real_name: str,
    id_number: str,
    phone: str | None,
    group: LearnerGroup | None,
    institution_id: uuid.UUID | None,
    actor: Actor | None,
) -> User:
    username = _valid_username(username)
    if not real_name.strip():
        raise InvalidInput("real_name is required", field="real_name")
    real_name = check_text(real_name, field="real_name")
    if phone is not None and phone.strip():
        phone = normalise_phone(phone)
        if phone is None:
            raise InvalidInput("The phone number is not valid.", field="phone")
    else:
        phone = None
    try:
        parsed = idcard.parse(id_number, today=clock.now().date())
    except idcard.InvalidIdNumber as exc:
        raise InvalidIdNumberError(
            f"The ID number is not valid ({exc.reason.replace('_', ' ')}).",
            reason=exc.reason,
            field="id_number",
        ) from None
    _check_password(password, username)
    _ensure_username_free(session, username)
    index = blind_index("id_number", parsed.value)
    if session.exec(select(col(User.id)).where(col(User.id_number_index) == index)).first():
        raise IdNumberRegistered()
    user = User(
        username=username,
        password_hash=passwords.hash_password(password),
        role=Role.learner,
        institution_id=institution_id,
        real_name=real_name,
        id_number_enc=encrypt("id_number", parsed.value.encode()),
        id_number_index=index,
        id_number_masked=parsed.masked,
        phone=phone,
        group=group,
    )
    session.add(user)
    session.flush()
    if group is not None:
        session.add(declared_group(user.id, group.value, str(actor or Actor.user(user.id))))
        session.flush()
    audit.append(
        session,
        actor=actor or Actor.user(user.id),
        action="learner.registered",
        subject=f"user:{user.id}",
        payload={
            "username": user.username,
            "id_number_masked": parsed.masked,
            "group": group.value if group else None,
        },
        institution_id=institution_id,
    )
    return user


def create_user(
    session: Session,
    *,
    role: Role,
    username: str,
    password: str,
    institution_id: uuid.UUID | None = None,
    real_name: str | None = None,
    jurisdiction_code: str | None = None,
    actor: Actor,
) -> User:
    """Staff, regulator or admin accounts (learners go through :func:`register_learner`); a
    regulator's ``jurisdiction_code`` (a loaded region, ``000000`` national) is required."""
    if role is Role.learner:
        raise InvalidInput("learners register with their real name and ID number")
    if role is Role.staff and institution_id is None:
        raise InvalidInput("staff belong to one institution")
    if role in (Role.regulator, Role.admin) and institution_id is not None:
        raise InvalidInput("regulators and admins are not tied to an institution")
    if role is Role.regulator:
        if not jurisdiction_code:
            raise JurisdictionRequired()
        regions.ensure_root(session)
        jurisdiction_code = regions.get_region(session, jurisdiction_code).code
    elif jurisdiction_code:
        raise InvalidInput("only regulators have a jurisdiction", field="jurisdiction_code")
    username = _valid_username(username)
    if real_name is not None:
        real_name = check_text(real_name, field="real_name")
    _check_password(password, username)
    _ensure_username_free(session, username)
    user = User(
        username=username,
        password_hash=passwords.hash_password(password),
        role=role,
        institution_id=institution_id,
        real_name=real_name,
        jurisdiction_code=jurisdiction_code if role is Role.regulator else None,
    )
    session.add(user)
    session.flush()
    payload: dict[str, Any] = {"username": user.username, "role": role.value}
    if user.jurisdiction_code:
        payload["jurisdiction_code"] = user.jurisdiction_code
    audit.append(
        session,
        actor=actor,
        action="user.created",
        subject=f"user:{user.id}",
        payload=payload,
        institution_id=institution_id,
    )
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def can_see_learner(principal: Principal, learner: User) -> bool:
    """Learners see only themselves; staff and API keys their institution's learners;
    regulators those of institutions in their jurisdiction (national and admins: all).
    Anything that is not a learner is not seen here."""
    if learner.role is not Role.learner:
        return False
    if principal.user is not None and principal.user.id == learner.id:
        return True
    return principal.can_see_institution(learner.institution_id)


def get_visible_learner(session: Session, principal: Principal, learner_id: uuid.UUID) -> User:
    """A learner the caller may see (:func:`can_see_learner`); anyone else is not found."""
    learner = session.get(User, learner_id)
    if learner is None or not can_see_learner(principal, learner):
        raise UserNotFound()
    return learner


def get_managed_learner(session: Session, principal: Principal, learner_id: uuid.UUID) -> User:
    """A learner the caller acts for (a partner's key, or staff and admins signed in, e.g. to
    verify frames a partner captured): other signed-in users are refused (403); a learner the
    caller may not see is not found."""
    if principal.user is not None and principal.role not in (Role.staff, Role.admin):
        raise Forbidden()
    return get_visible_learner(session, principal, learner_id)


def acting_institution(principal: Principal) -> uuid.UUID:
    """The institution a staff user or an API key acts for (creating learners, managing keys);
    other signed-in users are refused."""
    if principal.user is not None and principal.role is not Role.staff:
        raise Forbidden("Only staff of an institution or its API keys can do this.")
    if principal.institution_id is None:
        raise Forbidden()
    return principal.institution_id


def list_institution_staff(session: Session, institution_id: uuid.UUID) -> list[User]:
    """The active staff of an institution, by name (head teachers, instructors are chosen from
    them)."""
    return list(
        session.exec(
            select(User)
            .where(
                col(User.institution_id) == institution_id,
                col(User.role) == Role.staff,
                col(User.is_active).is_(True),
            )
            .order_by(col(User.real_name), col(User.username))
        )
    )


def list_learners(
    session: Session, principal: Principal, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[User], str | None]:
    """Learners of the caller's institution (regulators: their jurisdiction's), cursor-paginated;
    learners may not list anyone (403)."""
    if principal.role is Role.learner:
        raise Forbidden()
    stmt = select(User).where(col(User.role) == Role.learner)
    if not principal.is_regulator and principal.institution_id is None:
        raise Forbidden()
    stmt = stmt.where(jurisdiction_filter(principal, User.institution_id))
    if cursor:
        try:
            after_ts, after_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
            after = (datetime.fromisoformat(after_ts), uuid.UUID(after_id))
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput("invalid cursor") from None
        stmt = stmt.where(
            (col(User.created_at) > after[0])
            | ((col(User.created_at) == after[0]) & (col(User.id) > after[1]))
        )
    stmt = stmt.order_by(col(User.created_at), col(User.id)).limit(limit + 1)
    rows = list(session.exec(stmt))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = base64.urlsafe_b64encode(
            f"{last.created_at.isoformat()}|{last.id}".encode()
        ).decode()
    return rows, next_cursor


# ---------------------------------------------------------------- login


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
        passwords.verify_password(passwords.DUMMY_HASH, password)
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
    ok = passwords.verify_password(user.password_hash if user else passwords.DUMMY_HASH, password)
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


# ---------------------------------------------------------------- API keys


def create_api_key(
    session: Session,
    *,
    institution_id: uuid.UUID,
    name: str,
    scopes: list[str],
    actor: Actor,
) -> tuple[ApiKey, str]:
    """Create a key; the full key is returned once and only its keyed hash is stored."""
    unknown = sorted(set(scopes) - SCOPES.keys())
    if unknown:
        raise InvalidInput(f"unknown scopes {unknown}; known: {sorted(SCOPES)}")
    get_institution(session, institution_id)
    full, prefix, digest = tokens.new_api_key()
    key = ApiKey(
        institution_id=institution_id,
        name=check_text(name, field="name"),
        prefix=prefix,
        key_hash=digest,
        scopes=sorted(set(scopes)),
        created_by=str(actor),
    )
    session.add(key)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="api_key.created",
        subject=f"api_key:{key.id}",
        payload={"name": key.name, "prefix": prefix, "scopes": key.scopes},
        institution_id=institution_id,
    )
    return key, full


def api_key_from_secret(session: Session, presented: str) -> ApiKey:
    prefix = tokens.split_api_key(presented)
    key, suspended_at = None, None
    if prefix:
        row = session.exec(
            select(ApiKey, col(Institution.suspended_at))
            .join(Institution, col(Institution.id) == col(ApiKey.institution_id))
            .where(col(ApiKey.prefix) == prefix)
        ).one_or_none()
        if row is not None:
            key, suspended_at = row
    if (
        key is None
        or key.revoked_at is not None
        or not hmac.compare_digest(key.key_hash, tokens.hash_api_secret(presented))
    ):
        raise InvalidToken("The API key is invalid or revoked.")
    if suspended_at is not None:
        raise ApiKeyInstitutionSuspended()
    return key


def list_api_keys(session: Session, institution_id: uuid.UUID) -> list[ApiKey]:
    return list(
        session.exec(
            select(ApiKey)
            .where(col(ApiKey.institution_id) == institution_id)
            .order_by(col(ApiKey.created_at))
        )
    )


def revoke_api_key(session: Session, *, key_id: uuid.UUID, principal: Principal) -> ApiKey:
    """Staff revoke their institution's keys, admins any; API keys manage no keys (403)."""
    if principal.user is None or principal.role not in (Role.staff, Role.admin):
        raise Forbidden("API keys are managed by the institution's staff.")
    key = session.get(ApiKey, key_id)
    if key is None or not principal.can_see_institution(key.institution_id):
        raise ApiKeyNotFound()
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        session.add(key)
        audit.append(
            session,
            actor=principal.actor,
            action="api_key.revoked",
            subject=f"api_key:{key.id}",
            payload={"prefix": key.prefix},
            institution_id=key.institution_id,
        )
    return key


# ---------------------------------------------------------------- consent


def set_biometric_consent(
    session: Session,
    user: User,
    *,
    granted: bool,
    ip: str | None = None,
    user_agent: str | None = None,
) -> ConsentRecord:
    """Record a grant or withdrawal with the consent text version; withdrawal deletes templates."""
    now = clock.now()
    version = get_settings().consent_version
    record = ConsentRecord(
        user_id=user.id,
        granted=granted,
        version=version,
        at=now,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(record)
    user.biometric_consent = granted
    user.consent_version = version
    user.consent_at = now
    session.add(user)
    session.flush()
    if not granted:
        for hook in consent_withdrawn_hooks:
            hook(session, user)
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="consent.granted" if granted else "consent.withdrawn",
        subject=f"user:{user.id}",
        payload={"kind": "biometric", "version": version},
        institution_id=user.institution_id,
    )
    return record


def count_users(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(User)).one())

"""Platform administration: institutions (edit, suspend, reactivate) and accounts (search,
lock, unlock, reset a password).

The admin console (app/web/admin/) and the CLI (app/cli/accounts.py) call these. Like the rest of
the accounts service, functions take the request's session, flush and never commit; every change
appends its audit entry in the same transaction. Institution changes go to the institution's
chain (where ``institution.created`` is), account changes to the account's institution chain
(the platform chain for regulators and admins).

What suspension means: the institution's staff cannot sign in (``institution_suspended``), their
open sessions end at once (their token version moves on), and its API keys are refused
(``invalid_token``, with the reason in words). Its learners keep access to their own records.
Reactivation restores sign-in and the keys that were not revoked meanwhile.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, func, or_, update
from sqlmodel import Session, col, select

from app import clock, paging
from app.accounts import passwords
from app.accounts.exceptions import (
    CannotLockSelf,
    InstitutionNotFound,
    InsufficientRole,
    InvalidInput,
    ReasonRequired,
    UserNotFound,
    WeakPassword,
)
from app.accounts.models import ApiKey, Institution, LoginThrottle, Role, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.paging import Page
from app.programmes import regions
from app.validation import check_text, normalise_identifier

PER_PAGE = paging.PER_PAGE
MAX_PER_PAGE = paging.MAX_PER_PAGE
REASON_MAX = 500
NAME_MAX = 200
#: No 0/O, 1/l/I: a password read aloud over the phone or copied from a screen.
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105

InstitutionStatus = Literal["active", "suspended"]
UserStatus = Literal["active", "locked"]


def require_admin(principal: Principal) -> None:
    """Only a signed-in platform admin administers the platform (not API keys, not staff)."""
    if principal.user is None or principal.role is not Role.admin:
        raise InsufficientRole("This is for platform administrators.")


_page_bounds = paging.bounds
_like = paging.like


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise ReasonRequired()
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"The reason is longer than {REASON_MAX} characters.")
    return check_text(reason, field="reason")


# ---------------------------------------------------------------- institutions


@dataclass(frozen=True)
class InstitutionCounts:
    staff: int = 0
    learners: int = 0
    api_keys: int = 0  # not revoked


def list_institutions(
    session: Session,
    *,
    q: str = "",
    status: InstitutionStatus | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[Institution]:
    """Institutions by code, matching ``q`` in the code or the name."""
    page, per_page = _page_bounds(page, per_page)
    where = []
    q = q.strip()
    if q:
        pattern = _like(q)
        where.append(
            or_(
                col(Institution.code).ilike(pattern, escape="\\"),
                col(Institution.name).ilike(pattern, escape="\\"),
            )
        )
    if status == "active":
        where.append(col(Institution.suspended_at).is_(None))
    elif status == "suspended":
        where.append(col(Institution.suspended_at).is_not(None))
    total = int(session.exec(select(func.count()).select_from(Institution).where(*where)).one())
    rows = session.exec(
        select(Institution)
        .where(*where)
        .order_by(col(Institution.code))
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(rows), total, page, per_page)


def institution_counts(
    session: Session, institution_ids: list[uuid.UUID]
) -> dict[uuid.UUID, InstitutionCounts]:
    """Staff, learners and live API keys of each institution (two grouped queries)."""
    if not institution_ids:
        return {}
    users: dict[uuid.UUID, dict[Role, int]] = {}
    for inst_id, role, n in session.exec(
        select(col(User.institution_id), col(User.role), func.count())
        .where(col(User.institution_id).in_(institution_ids))
        .group_by(col(User.institution_id), col(User.role))
    ):
        if inst_id is not None:
            users.setdefault(inst_id, {})[role] = int(n)
    keys = {
        inst_id: int(n)
        for inst_id, n in session.exec(
            select(col(ApiKey.institution_id), func.count())
            .where(
                col(ApiKey.institution_id).in_(institution_ids), col(ApiKey.revoked_at).is_(None)
            )
            .group_by(col(ApiKey.institution_id))
        )
    }
    return {
        i: InstitutionCounts(
            staff=users.get(i, {}).get(Role.staff, 0),
            learners=users.get(i, {}).get(Role.learner, 0),
            api_keys=keys.get(i, 0),
        )
        for i in institution_ids
    }


def all_institutions(session: Session) -> list[Institution]:
    """Every institution by code (for pickers: create a staff account, filter users)."""
    return list(session.exec(select(Institution).order_by(col(Institution.code))))


def _institution(session: Session, institution_id: uuid.UUID) -> Institution:
    inst = session.get(Institution, institution_id, with_for_update=True)
    if inst is None:
        raise InstitutionNotFound()
    return inst


def update_institution(
    session: Session,
    institution_id: uuid.UUID,
    *,
    name: str,
    actor: Actor,
    region_code: str | None = None,
) -> Institution:
    """Rename an institution (its code is its stable identifier: partners and exports use it)
    and, with ``region_code``, place it in another region: that moves it to the regulators
    whose jurisdiction covers the new region (audited with both codes)."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("The name is required.")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"The name is longer than {NAME_MAX} characters.")
    name = check_text(name, field="name")
    region = regions.place(session, region_code).code if region_code else None
    inst = _institution(session, institution_id)
    changes: dict[str, Any] = {}
    if inst.name != name:
        changes["name"] = {"from": inst.name, "to": name}
        inst.name = name
    if region is not None and inst.region_code != region:
        changes["region_code"] = {"from": inst.region_code, "to": region}
        inst.region_code = region
    if not changes:
        return inst
    session.add(inst)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="institution.updated",
        subject=f"institution:{inst.id}",
        payload=changes,
        institution_id=inst.id,
    )
    return inst


def suspend_institution(
    session: Session, institution_id: uuid.UUID, *, reason: str, actor: Actor
) -> Institution:
    """Suspend: staff sign-in refused and open staff sessions ended, API keys refused.
    Suspending a suspended institution changes nothing."""
    reason = _reason(reason)
    inst = _institution(session, institution_id)
    if inst.is_suspended:
        return inst
    inst.suspended_at = clock.now()
    inst.suspended_reason = reason
    session.add(inst)
    # Every token a staff member holds names the old version: their sessions end now.
    ended = cast(
        CursorResult[Any],
        session.execute(
            update(User)
            .where(col(User.institution_id) == inst.id, col(User.role) == Role.staff)
            .values(token_version=col(User.token_version) + 1)
            .execution_options(synchronize_session="fetch")
        ),
    )
    keys = int(
        session.exec(
            select(func.count())
            .select_from(ApiKey)
            .where(col(ApiKey.institution_id) == inst.id, col(ApiKey.revoked_at).is_(None))
        ).one()
    )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="institution.suspended",
        subject=f"institution:{inst.id}",
        payload={"reason": reason, "staff_signed_out": int(ended.rowcount), "api_keys": keys},
        institution_id=inst.id,
    )
    return inst


def reactivate_institution(
    session: Session, institution_id: uuid.UUID, *, reason: str, actor: Actor
) -> Institution:
    """Lift a suspension: staff may sign in again, unrevoked API keys work again."""
    reason = _reason(reason)
    inst = _institution(session, institution_id)
    if not inst.is_suspended:
        return inst
    suspended_at = inst.suspended_at
    inst.suspended_at = None
    inst.suspended_reason = None
    session.add(inst)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="institution.reactivated",
        subject=f"institution:{inst.id}",
        payload={
            "reason": reason,
            "suspended_at": audit.format_time(suspended_at) if suspended_at else None,
        },
        institution_id=inst.id,
    )
    return inst


# ---------------------------------------------------------------- accounts


def list_users(
    session: Session,
    *,
    q: str = "",
    role: Role | None = None,
    institution_id: uuid.UUID | None = None,
    status: UserStatus | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[User]:
    """Accounts, newest first, matching ``q`` in the username, the real name or the phone."""
    page, per_page = _page_bounds(page, per_page)
    where = []
    q = q.strip()
    if q:
        pattern = _like(q)
        where.append(
            or_(
                col(User.username).ilike(pattern, escape="\\"),
                col(User.real_name).ilike(pattern, escape="\\"),
                col(User.phone).ilike(pattern, escape="\\"),
            )
        )
    if role is not None:
        where.append(col(User.role) == role)
    if institution_id is not None:
        where.append(col(User.institution_id) == institution_id)
    if status == "active":
        where.append(col(User.is_active).is_(True))
    elif status == "locked":
        where.append(col(User.is_active).is_(False))
    total = int(session.exec(select(func.count()).select_from(User).where(*where)).one())
    rows = session.exec(
        select(User)
        .where(*where)
        .order_by(col(User.created_at).desc(), col(User.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(rows), total, page, per_page)


def _user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise UserNotFound()
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


def get_user_by_username(session: Session, username: str) -> User:
    user = session.exec(
        select(User).where(col(User.username) == normalise_identifier(username).lower())
    ).one_or_none()
    if user is None:
        raise UserNotFound()
    return user


def lock_user(session: Session, user_id: uuid.UUID, *, reason: str, actor: Actor) -> User:
    """Lock an account: sign-in refused (``account_locked``), open sessions ended."""
    reason = _reason(reason)
    if actor.kind == "user" and actor.id == str(user_id):
        raise CannotLockSelf()
    user = _user(session, user_id)
    if not user.is_active:
        return user
    user.is_active = False
    user.locked_at = clock.now()
    user.locked_reason = reason
    user.token_version += 1
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.locked",
        subject=f"user:{user.id}",
        payload={"reason": reason},
        institution_id=user.institution_id,
    )
    return user


def unlock_user(session: Session, user_id: uuid.UUID, *, reason: str, actor: Actor) -> User:
    reason = _reason(reason)
    user = _user(session, user_id)
    if user.is_active:
        return user
    user.is_active = True
    user.locked_at = None
    user.locked_reason = None
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.unlocked",
        subject=f"user:{user.id}",
        payload={"reason": reason},
        institution_id=user.institution_id,
    )
    return user


def generate_password() -> str:
    """A random password to hand over once: 3 groups of 4 unambiguous characters (~70 bits)."""
    while True:
        groups = ["".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(3)]
        candidate = "-".join(groups)
        if passwords.weakness(candidate) is None:
            return candidate


def reset_password(
    session: Session,
    user_id: uuid.UUID,
    *,
    actor: Actor,
    new_password: str | None = None,
    temporary: bool = True,
) -> tuple[User, str | None]:
    """Set a new password: the one given, or a generated one (returned, to be shown once and
    never stored in clear). The account's sessions end and its failed-login back-off is cleared.
    ``temporary`` (the console always, the CLI unless told otherwise): someone else knows it, so
    the account must set its own at its next sign-in (403 ``password_change_required`` until
    then), like a staff member's reset. Returns the user and the generated password (None when
    one was given)."""
    user = _user(session, user_id)
    generated = None
    if new_password is None or not new_password:
        generated = new_password = generate_password()
    reason = passwords.weakness(new_password, username=user.username)
    if reason:
        raise WeakPassword(f"The password is too weak: {reason}.")
    user.password_hash = passwords.hash_password(new_password)
    user.must_change_password = temporary
    user.token_version += 1
    session.add(user)
    throttle = session.get(LoginThrottle, user.username)
    if throttle is not None:
        session.delete(throttle)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.password_reset",
        subject=f"user:{user.id}",
        payload={"generated": generated is not None, "must_change": temporary},
        institution_id=user.institution_id,
    )
    return user, generated

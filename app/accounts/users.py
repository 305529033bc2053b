"""Users: usernames, real-name registration of learners, staff/regulator/admin accounts, and
who may see which learner.

Functions take the request's session, ``flush()`` and never commit; each write appends its
audit entry in the same transaction."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts import idcard, passwords, throttle
from app.accounts.exceptions import (
    IdNumberRegistered,
    InvalidIdNumberError,
    InvalidInput,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from app.accounts.models import (
    LearnerGroup,
    Role,
    User,
)
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.crypto import blind_index, encrypt
from app.errors import DomainError, Forbidden
from app.programmes import regions
from app.programmes.exceptions import JurisdictionRequired
from app.programmes.jurisdiction import jurisdiction_filter
from app.programmes.models import declared_group
from app.validation import (
    check_text,
    normalise_identifier,
    normalise_phone,
)

#: What registration accepts (schemas.RegisterIn), lower-cased; ASCII only (after NFKC).
USERNAME_RE = re.compile(r"[a-z0-9_.@-]{3,64}", re.ASCII)


def normalise_username(username: str) -> str:
    """One spelling per name: NFKC (full-width letters fold), no spaces, lower case."""
    return normalise_identifier(username).lower()


def locked(session: Session, user: User) -> User:
    """The person's row locked for this transaction and read as it is now: of two requests of
    theirs at once (a form sent twice), the second waits and sees what the first did."""
    row = session.get(User, user.id, with_for_update=True, populate_existing=True)
    return row if row is not None else user


def _valid_username(username: str) -> str:
    username = normalise_username(username)
    if not USERNAME_RE.fullmatch(username):
        raise InvalidInput(
            "The username must be 3-64 letters, digits or _ . @ -.", field="username"
        )
    return username


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


def count_users(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(User)).one())

"""Activation codes: learners an institution or employer enrolled set their own password.

Staff (or a partner key) create the learner's account from a roster row — real name, ID number,
phone, group — but never a password and never biometric consent: the account is created
without a usable password and the learner receives a one-time activation code (through the
institution: printed, or by text message). With their ID number and the code they choose a
username and password (:func:`activate`); signed in, they read and give (or refuse) biometric
consent themselves, as every learner does.

A code is 12 characters from an alphabet without look-alikes (shown as ``XXXX-XXXX-XXXX``,
about 58 bits), valid :data:`VALID_DAYS` days, single use; only its keyed hash is stored. A
wrong code counts against the learner's pending codes (:data:`MAX_FAILURES` kill them) and
against the caller's address (the registration limit, since activation also tells whether an
ID number is pending).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, SQLModel, col, select

from app import clock
from app.accounts import idcard, passwords, throttle
from app.accounts.exceptions import ActivationRefused, IdNumberRegistered, InvalidInput
from app.accounts.models import ActivationCode, LearnerGroup, Role, User
from app.accounts.users import (
    _check_password,
    _ensure_username_free,
    _valid_username,
    normalise_username,
)
from app.audit import service as audit
from app.audit.service import Actor
from app.crypto import blind_index, encrypt
from app.errors import DomainError
from app.programmes.models import declared_group
from app.validation import normalise_identifier

VALID_DAYS = 30
MAX_FAILURES = 5
#: No 0/O, 1/I/L, 2/Z, 5/S, 8/B: read aloud or copied from paper without mistakes.
ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 12
#: The password hash of an account nobody can sign in to until it is activated.
UNUSABLE_PASSWORD = "!activation-pending"  # noqa: S105 - not a hash: no password verifies


def format_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _normalise_code(code: str) -> str:
    return normalise_identifier(code, upper=True).replace("-", "")


def _hash(code: str) -> str:
    return blind_index("activation_code", _normalise_code(code))


def is_pending(user: User) -> bool:
    return user.password_hash == UNUSABLE_PASSWORD


def create_pending_learner(
    session: Session,
    *,
    real_name: str,
    id_number: idcard.IdNumber,
    phone: str | None,
    group: LearnerGroup | None,
    institution_id: uuid.UUID,
    actor: Actor,
    via: str,
) -> User:
    """A learner account created for someone (validated values: the caller checked them): no
    usable password and no consent; a placeholder username until activation. Audited."""
    index = blind_index("id_number", id_number.value)
    if session.exec(select(col(User.id)).where(col(User.id_number_index) == index)).first():
        raise IdNumberRegistered()
    person = NewLearner(real_name, id_number, phone, group)
    user = _pending_user(person, index, institution_id)
    session.add(user)
    session.flush()
    if group is not None:
        session.add(declared_group(user.id, group.value, str(actor)))
        session.flush()
    r = _created_record(user, person, actor, via)
    audit.append(
        session,
        actor=r.actor,
        action=r.action,
        subject=r.subject,
        payload=r.payload,
        institution_id=institution_id,
    )
    return user


@dataclass(frozen=True)
class NewLearner:
    """One person to create a pending learner account for (values already checked)."""

    real_name: str
    id_number: idcard.IdNumber
    phone: str | None
    group: LearnerGroup | None


def _pending_user(person: NewLearner, index: str, institution_id: uuid.UUID) -> User:
    return User(
        username=f"pending-{uuid.uuid4().hex[:20]}",
        password_hash=UNUSABLE_PASSWORD,
        role=Role.learner,
        institution_id=institution_id,
        real_name=person.real_name,
        id_number_enc=encrypt("id_number", person.id_number.value.encode()),
        id_number_index=index,
        id_number_masked=person.id_number.masked,
        phone=person.phone,
        group=person.group,
        created_at=clock.now(),
    )


def _created_record(user: User, person: NewLearner, actor: Actor, via: str) -> audit.Record:
    return audit.Record(
        actor=actor,
        action="learner.created",
        subject=f"user:{user.id}",
        payload={
            "id_number_masked": person.id_number.masked,
            "group": person.group.value if person.group else None,
            "via": via,
            "activation_required": True,
            "activation_code_valid_days": VALID_DAYS,
        },
    )


#: ID numbers looked up per ``IN (...)`` query by :func:`create_pending_learners`.
LOOKUP_BATCH = 500


def create_pending_learners(
    session: Session,
    people: Sequence[NewLearner],
    *,
    institution_id: uuid.UUID,
    actor: Actor,
    via: str,
) -> list[tuple[User, str, audit.Record]]:
    """:func:`create_pending_learner` and the first :func:`issue_code` for many people at once
    (a roster): the same accounts, declared groups and codes, inserted in one flush
    (executemany) instead of several per person. Returns each account with its activation code
    and its ``learner.created`` record, in order; the caller appends the records with
    :func:`app.audit.service.append_many` in this transaction (they interleave with the
    enrolments' entries). 409 ``id_number_registered`` if any ID number already has an account."""
    indexes = [blind_index("id_number", p.id_number.value) for p in people]
    for start in range(0, len(indexes), LOOKUP_BATCH):
        if session.exec(
            select(col(User.id)).where(
                col(User.id_number_index).in_(indexes[start : start + LOOKUP_BATCH])
            )
        ).first():
            raise IdNumberRegistered()
    users = [_pending_user(p, i, institution_id) for p, i in zip(people, indexes, strict=True)]
    session.add_all(users)
    session.flush()
    extra: list[SQLModel] = []
    codes: list[str] = []
    for user, person in zip(users, people, strict=True):
        if person.group is not None:
            extra.append(declared_group(user.id, person.group.value, str(actor)))
        raw = _new_code()
        extra.append(_code_row(user, raw, actor, clock.now()))
        codes.append(format_code(raw))
    session.add_all(extra)
    session.flush()
    return [
        (user, code, _created_record(user, person, actor, via))
        for user, code, person in zip(users, codes, people, strict=True)
    ]


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _code_row(user: User, raw: str, actor: Actor, now: datetime) -> ActivationCode:
    return ActivationCode(
        user_id=user.id,
        code_hash=_hash(raw),
        created_at=now,
        created_by=str(actor)[:64],
        expires_at=now + timedelta(days=VALID_DAYS),
    )


def issue_code(session: Session, user: User, *, actor: Actor, audited: bool = True) -> str:
    """A new activation code for a pending learner (earlier unused codes stop working); the
    code is returned once, only its hash is kept. ``audited=False`` for the first code of an
    account just created, whose ``learner.created`` entry says a code was issued."""
    if not is_pending(user):
        raise InvalidInput("This learner has already activated their account.")
    now = clock.now()
    for old in session.exec(
        select(ActivationCode).where(
            col(ActivationCode.user_id) == user.id, col(ActivationCode.used_at).is_(None)
        )
    ):
        old.expires_at = min(old.expires_at, now)
        session.add(old)
    raw = _new_code()
    session.add(_code_row(user, raw, actor, now))
    session.flush()
    if not audited:
        return format_code(raw)
    audit.append(
        session,
        actor=actor,
        action="activation_code.issued",
        subject=f"user:{user.id}",
        payload={"valid_days": VALID_DAYS},
        institution_id=user.institution_id,
    )
    return format_code(raw)


def _activated_by(session: Session, user: User, code: str, username: str, password: str) -> bool:
    """Whether the account was activated with this code, username and password: the same
    activation sent again answers as the first did."""
    used = session.exec(
        select(col(ActivationCode.id)).where(
            col(ActivationCode.user_id) == user.id,
            col(ActivationCode.code_hash) == _hash(code),
            col(ActivationCode.used_at).is_not(None),
        )
    ).first()
    if used is None:
        return False
    session.refresh(user)  # as the first left it, had it committed while this one waited
    return (
        not is_pending(user)
        and user.username == normalise_username(username)
        and passwords.verify_password(user.password_hash, password)
    )


def activate(
    session: Session,
    *,
    id_number: str,
    code: str,
    username: str,
    password: str,
    client: str | None = None,
) -> User:
    """The learner sets their username and password with their ID number and code.

    Every refusal of the code itself is the same 400 ``activation_refused``; a wrong code is
    counted (and the count kept) against the learner's codes and the caller's address. The
    same activation sent again (its code used, the username and password the ones it set) is
    the activated account, nothing recorded again."""
    throttle.attempt(session, "register", client)
    try:
        parsed = idcard.parse(id_number, today=clock.now().date())
    except idcard.InvalidIdNumber:
        raise ActivationRefused().keeping_changes() from None
    user = session.exec(
        select(User).where(col(User.id_number_index) == blind_index("id_number", parsed.value))
    ).first()
    now = clock.now()
    if user is not None and _activated_by(session, user, code, username, password):
        return user  # the form sent twice: the first activated the account with these
    if user is None or not is_pending(user):
        raise ActivationRefused().keeping_changes()
    pending = list(
        session.exec(
            select(ActivationCode)
            .where(
                col(ActivationCode.user_id) == user.id,
                col(ActivationCode.used_at).is_(None),
                col(ActivationCode.expires_at) > now,
            )
            .with_for_update()
        )
    )
    match = next((c for c in pending if secrets.compare_digest(c.code_hash, _hash(code))), None)
    if match is None and _activated_by(session, user, code, username, password):
        return user  # sent twice at once: the other request activated it while this one waited
    if match is None or match.failures >= MAX_FAILURES:
        for c in pending:
            c.failures += 1
            session.add(c)
        session.flush()
        raise ActivationRefused().keeping_changes()
    try:
        name = _valid_username(username)
        _check_password(password, name)
        _ensure_username_free(session, name)
    except DomainError as exc:
        raise exc.keeping_changes() from None  # the address's attempt counts; nothing else
    match.used_at = now
    session.add(match)
    user.username = name
    user.password_hash = passwords.hash_password(password)
    user.token_version += 1
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="learner.activated",
        subject=f"user:{user.id}",
        payload={"username": name},
        institution_id=user.institution_id,
    )
    return user

"""Bring identifiers stored before normalisation to their one spelling.

Before identifiers were normalised (app/validation.py), an ID number typed with a full-width
digit was stored, masked and blind-indexed as typed, so the same person could register again
in ASCII; usernames kept full-width letters. :func:`renormalise` rewrites such rows to the
normalised form (ID number re-encrypted, re-indexed and re-masked), each change audited in the
same transaction. Where the normalised form already belongs to another account, nothing is
changed: the pair is reported for a person to decide (the CLI exits 1), never merged blindly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.accounts import idcard
from app.accounts.models import User
from app.audit import service as audit
from app.audit.service import Actor
from app.crypto import blind_index, decrypt, encrypt
from app.validation import normalise_identifier


@dataclass
class RenormaliseReport:
    checked: int = 0
    id_numbers_fixed: list[uuid.UUID] = field(default_factory=list)
    usernames_fixed: list[uuid.UUID] = field(default_factory=list)
    #: (account left as it is, the account that already has the normalised form, what)
    conflicts: list[tuple[uuid.UUID, uuid.UUID, str]] = field(default_factory=list)
    #: Accounts whose stored ID number is no valid number even normalised (other scripts' digits)
    invalid_id_numbers: list[uuid.UUID] = field(default_factory=list)


def renormalise(session: Session, *, actor: Actor, dry_run: bool = False) -> RenormaliseReport:
    report = RenormaliseReport()
    users = session.exec(select(User).order_by(col(User.created_at), col(User.id))).all()
    for user in users:
        report.checked += 1
        _username(session, user, report, actor, dry_run)
        _id_number(session, user, report, actor, dry_run)
    session.flush()
    return report


def _username(
    session: Session, user: User, report: RenormaliseReport, actor: Actor, dry_run: bool
) -> None:
    wanted = normalise_identifier(user.username).lower()
    if wanted == user.username:
        return
    other = session.exec(select(User).where(col(User.username) == wanted)).first()
    if other is not None:
        report.conflicts.append((user.id, other.id, "username"))
        return
    report.usernames_fixed.append(user.id)
    if dry_run:
        return
    old, user.username = user.username, wanted
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.username_normalised",
        subject=f"user:{user.id}",
        payload={"from": old, "to": wanted},
        institution_id=user.institution_id,
    )


def _id_number(
    session: Session, user: User, report: RenormaliseReport, actor: Actor, dry_run: bool
) -> None:
    if not user.id_number_enc:
        return
    stored = decrypt("id_number", user.id_number_enc).decode()
    wanted = idcard.normalise(stored)
    if wanted == stored:
        return
    try:
        idcard.parse(wanted)
    except idcard.InvalidIdNumber:
        report.invalid_id_numbers.append(user.id)
        return
    index = blind_index("id_number", wanted)
    other = session.exec(
        select(User).where(col(User.id_number_index) == index, col(User.id) != user.id)
    ).first()
    if other is not None:
        report.conflicts.append((user.id, other.id, "id_number"))
        return
    report.id_numbers_fixed.append(user.id)
    if dry_run:
        return
    old_masked = user.id_number_masked
    user.id_number_enc = encrypt("id_number", wanted.encode())
    user.id_number_index = index
    user.id_number_masked = idcard.mask(wanted)
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="learner.id_number_normalised",
        subject=f"user:{user.id}",
        payload={"from_masked": old_masked, "to_masked": user.id_number_masked},
        institution_id=user.institution_id,
    )

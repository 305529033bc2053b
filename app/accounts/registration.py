"""Every learner belongs to an institution from the start.

Some things only an institution can resolve: a face enrolment that matches another learner's
face (or a re-enrolment that does not match the old one) goes to the review queue of the
learner's institution, and a learner of no institution would wait in no queue while being told
their enrolment is "submitted for review". So:

- a self-registering learner names their institution — the institution's code (机构代码,
  given to them by the institution, e.g. printed on its enrolment notice) or a pick from
  :func:`active_institutions` — and only an institution that takes learners (not suspended)
  can be named (:func:`self_register`);
- learners created by an institution's staff or partner key keep that institution;
- a learner who has none (registered through the API without one, or before this rule) must
  choose one (:func:`choose_institution`: audited, once; a move to another institution is the
  institutions' business) before the face enrolment that could raise such a flag
  (:func:`require_institution`, called by app/attendance/templates.py); the pages send them to
  ``/institution`` first. Choosing runs :data:`institution_chosen_hooks`, through which the
  attendance domain routes any review left without a queue to the chosen institution.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts import idcard, passwords, service, throttle, users
from app.accounts.exceptions import (
    InstitutionAlreadyChosen,
    InstitutionRequired,
    InstitutionUnavailable,
    UsernameTaken,
)
from app.accounts.models import Institution, Role, User
from app.audit import service as audit
from app.audit.service import Actor
from app.crypto import blind_index
from app.errors import DomainError
from app.programmes import regions
from app.validation import normalise_identifier

#: Called with (session, learner, institution, actor) after a learner joined an institution
#: (their choice, or an operator's migration), in the same transaction; subscribed in
#: app/wiring.py.
institution_chosen_hooks: list[Callable[[Session, User, Institution, Actor], None]] = []


@dataclass(frozen=True)
class InstitutionChoice:
    """An institution a learner may name: its code, name and where it is."""

    id: uuid.UUID
    code: str
    name: str
    region: str


def active_institutions(session: Session) -> list[InstitutionChoice]:
    """Institutions that take learners (not suspended), by region then name, for pickers."""
    rows = session.exec(
        select(Institution)
        .where(col(Institution.suspended_at).is_(None))
        .order_by(col(Institution.region_code), col(Institution.name))
    ).all()
    names = dict(regions.labelled(session))
    return [
        InstitutionChoice(
            id=i.id, code=i.code, name=i.name, region=names.get(i.region_code or "", "")
        )
        for i in rows
    ]


def institution_for_code(session: Session, code: str) -> Institution:
    """The institution a learner names by its code, if it takes learners; unknown and suspended
    codes get the same 422 ``institution_unavailable``."""
    wanted = normalise_identifier(code or "")
    exact = select(Institution).where(col(Institution.code) == wanted)
    # Read off paper or typed on a phone: the case may differ from how the code was created.
    folded = select(Institution).where(func.upper(col(Institution.code)) == wanted.upper())
    inst = (session.exec(exact).one_or_none() or session.exec(folded).first()) if wanted else None
    if inst is None or inst.is_suspended:
        raise InstitutionUnavailable(field="institution_code")
    return inst


def self_register(
    session: Session, *, institution_code: str | None, client: str | None, **fields: Any
) -> User:
    """Self-registration (:func:`app.accounts.service.register_learner`) into the institution
    named by ``institution_code``; None registers without one (the API's older contract: such a
    learner chooses before their face enrolment). A code that names no institution counts
    against the address's registration limit like any refused registration."""
    institution_id = None
    if institution_code is not None:
        try:
            institution_id = institution_for_code(session, institution_code).id
        except InstitutionUnavailable as exc:
            throttle.attempt(session, "register", client)
            raise exc.keeping_changes() from None
    try:
        return service.register_learner(
            session, institution_id=institution_id, client=client, **fields
        )
    except UsernameTaken:
        again = _just_registered(session, institution_id, **fields)
        if again is None:
            raise
        return again  # the form sent twice: the account the first made, nothing made again


#: How long the same registration sent again is the account it made (not "username taken").
RESENT_WITHIN = timedelta(minutes=10)


def _just_registered(
    session: Session,
    institution_id: uuid.UUID | None,
    *,
    username: str,
    password: str,
    id_number: str,
    **_: Any,
) -> User | None:
    """The account registered in the last :data:`RESENT_WITHIN` under this username, ID number,
    institution and password, if there is one: the same registration sent again."""
    user = session.exec(
        select(User).where(col(User.username) == service.normalise_username(username))
    ).first()
    if (
        user is None
        or user.role is not Role.learner
        or user.institution_id != institution_id
        or user.created_at <= clock.now() - RESENT_WITHIN
    ):
        return None
    try:
        index = blind_index("id_number", idcard.parse(id_number, today=clock.now().date()).value)
    except idcard.InvalidIdNumber:
        return None
    if user.id_number_index != index or not passwords.verify_password(user.password_hash, password):
        return None
    return user


def needs_institution(user: User) -> bool:
    """A learner who belongs to no institution yet."""
    return user.role is Role.learner and user.institution_id is None


def require_institution(user: User) -> None:
    """Refuse (409 ``institution_required``) what a learner of no institution may not start."""
    if needs_institution(user):
        raise InstitutionRequired()


def _join(session: Session, user: User, inst: Institution, *, actor: Actor, via: str) -> None:
    user.institution_id = inst.id
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="learner.institution_chosen",
        subject=f"user:{user.id}",
        payload={"institution_code": inst.code, "via": via},
        institution_id=inst.id,
    )
    for hook in institution_chosen_hooks:
        hook(session, user, inst, actor)


def choose_institution(session: Session, user: User, institution_code: str) -> Institution:
    """A learner of no institution joins one (audited on the institution's chain); then the
    :data:`institution_chosen_hooks` run. Learners who already belong to another are refused;
    the same choice again (the form sent twice) is the institution they chose, nothing recorded
    again (the learner's row is locked, so two at once are one choice)."""
    user = users.locked(session, user)
    if not needs_institution(user):
        try:
            same = institution_for_code(session, institution_code)
        except DomainError:
            same = None
        if same is None or same.id != user.institution_id:
            raise InstitutionAlreadyChosen()
        return same
    inst = institution_for_code(session, institution_code)
    _join(session, user, inst, actor=Actor.user(user.id), via="learner")
    return inst


def assign_institutions(
    session: Session, sole: dict[uuid.UUID, uuid.UUID], *, actor: Actor, dry_run: bool = False
) -> tuple[int, int]:
    """Operators' migration of learners who belong to no institution: each learner of ``sole``
    (learner id → the one institution whose courses they study, as
    :func:`app.courses.enrolment.sole_institutions` finds) joins it, audited like a choice of
    their own (``via: enrolments``); the others are left to choose at their next sign-in.
    Returns (assigned, left to choose)."""
    waiting = session.exec(
        select(User).where(col(User.role) == Role.learner, col(User.institution_id).is_(None))
    ).all()
    assigned = 0
    for user in waiting:
        inst = session.get(Institution, sole[user.id]) if user.id in sole else None
        if inst is None or inst.is_suspended:
            continue
        assigned += 1
        if not dry_run:
            _join(session, user, inst, actor=actor, via="enrolments")
    return assigned, len(waiting) - assigned

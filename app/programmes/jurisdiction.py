"""Who supervises which institution: a regulator sees and acts only within their jurisdiction
(a region and everything under it); national regulators and platform admins see every
institution. The one rule, in Python (:meth:`Principal.can_see_institution`) and in SQL
(:func:`jurisdiction_filter`); reports, exports, dashboards and the API build on these two.

Stable interface for the other domains (claims, reports): :func:`jurisdiction_filter`,
:func:`visible_institutions`, :func:`supervised_institution`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.accounts.exceptions import InstitutionNotFound
from app.accounts.models import Institution, Role
from app.accounts.principal import Principal
from app.errors import Forbidden


def institutions_within(region_prefix: str) -> Any:
    """``SELECT id FROM institutions`` in the regions sharing ``region_prefix`` ("" = all)."""
    stmt = select(col(Institution.id))
    if region_prefix:
        stmt = stmt.where(col(Institution.region_code).startswith(region_prefix))
    return stmt


def region_condition(region_prefix: str | None, institution_column: Any) -> ColumnElement[bool]:
    """Rows whose institution lies under ``region_prefix`` ("" = all, None = none)."""
    if region_prefix is None:
        return false()
    if region_prefix == "":
        return true()
    return col(institution_column).in_(institutions_within(region_prefix))


def jurisdiction_filter(principal: Principal, institution_column: Any) -> ColumnElement[bool]:
    """Rows (by their institution column) a regulator or admin may see: their jurisdiction's;
    for anyone else, their own institution's (none for learners and principals without one)."""
    if principal.is_regulator:
        return region_condition(principal.region_prefix, institution_column)
    if principal.role is Role.learner or principal.institution_id is None:
        return false()
    return col(institution_column) == principal.institution_id


def visible_institutions(session: Session, principal: Principal) -> list[Institution]:
    """The institutions a caller may see, by code: a regulator's jurisdiction, staff their own."""
    stmt = select(Institution).where(jurisdiction_filter(principal, Institution.id))
    return list(session.exec(stmt.order_by(col(Institution.code))))


def supervised_institution(
    session: Session, principal: Principal, institution_id: uuid.UUID, *, lock: bool = False
) -> Institution:
    """An institution a regulator (or admin) acts on: 403 for anyone else, 404
    ``institution_not_found`` for one outside the jurisdiction (it is not theirs to know of)."""
    if principal.user is None or not principal.is_regulator:
        raise Forbidden("This is for regulators.")
    inst = session.get(Institution, institution_id, with_for_update=lock)
    if inst is None or not principal.can_see_institution(inst.id):
        raise InstitutionNotFound()
    return inst

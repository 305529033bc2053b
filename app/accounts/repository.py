"""Queries that take the caller: what a principal may see is part of the query, written once.

``visible_to`` is the one SQL form of :meth:`Principal.can_see_institution`; the other domains'
repositories build on it (``app/attendance/repository.py``). HTTP handlers call these (and
``accounts.get_visible_learner``) instead of loading a row and checking it themselves.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.principal import Principal
from app.programmes.jurisdiction import jurisdiction_filter


def visible_to(principal: Principal, institution_column: Any) -> ColumnElement[bool]:
    """Rows whose institution the principal may see: a regulator's jurisdiction (national
    regulators and admins: all), their own institution's for staff and API keys, none for
    learners (they see only what is theirs) or a principal without an institution."""
    return jurisdiction_filter(principal, institution_column)


def users_by_id(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    """Users by id in one query (for lists that name several people per row)."""
    if not ids:
        return {}
    return {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))}

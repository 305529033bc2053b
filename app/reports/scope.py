"""Which institutions a report covers, for statistics and fraud indicators alike: one
institution (its staff, its keys, or a regulator who picked it), or every institution in a
regulator's jurisdiction (national regulators and admins: all)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from app.accounts import service as accounts
from app.accounts.exceptions import InstitutionNotFound
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.errors import Forbidden
from app.programmes.jurisdiction import region_condition


@dataclass(frozen=True)
class Scope:
    """``institution_id``: that institution only; ``region_prefix``: the institutions under
    that GB/T 2260 prefix ("" = every institution)."""

    institution_id: uuid.UUID | None = None
    region_prefix: str = ""

    @property
    def limited(self) -> bool:
        return self.institution_id is not None or self.region_prefix != ""

    def where(self, institution_column: Any) -> list[ColumnElement[bool]]:
        """Conditions restricting rows (by their institution column) to the scope."""
        out: list[ColumnElement[bool]] = []
        if self.institution_id is not None:
            out.append(col(institution_column) == self.institution_id)
        if self.region_prefix:
            out.append(region_condition(self.region_prefix, institution_column))
        return out


def scope_for(
    session: Session, principal: Principal, institution_id: uuid.UUID | None, *, what: str
) -> Scope:
    """Regulators: their jurisdiction, or one institution in it (404 ``institution_not_found``
    outside it); staff and partner API keys (scope ``audit:read``, checked by the route): their
    own institution only. ``what`` names the report in refusals."""
    if principal.is_regulator:
        prefix = principal.region_prefix
        if prefix is None:
            raise Forbidden("This regulator account has no jurisdiction.")
        if institution_id is not None:
            accounts.get_institution(session, institution_id)  # 404 institution_not_found
            if not principal.can_see_institution(institution_id):
                raise InstitutionNotFound()
        return Scope(institution_id, prefix)
    is_staff = principal.user is not None and principal.role is Role.staff
    if not (is_staff or principal.api_key is not None) or not principal.institution_id:
        raise Forbidden(f"{what} are for regulators and institution staff.")
    if institution_id is not None and institution_id != principal.institution_id:
        raise Forbidden(f"Staff and API keys see their own institution's {what.lower()} only.")
    return Scope(principal.institution_id)

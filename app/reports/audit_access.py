"""Which audit chain a caller may read (the export, the checkpoint): a rule about principals and
institutions, so it lives above both accounts and audit (app/audit never imports accounts)."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.exceptions import InstitutionNotFound
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.errors import Forbidden


def resolve_chain(session: Session, principal: Principal, institution_id: uuid.UUID | None) -> str:
    """The chain a caller may read: regulators any in their jurisdiction (none: the platform
    chain, national regulators only); staff and API keys (scope ``audit:read``, checked by the
    route) only their own institution's."""
    if principal.role is not None and not (principal.is_regulator or principal.role is Role.staff):
        raise Forbidden()
    target = institution_id or (None if principal.is_regulator else principal.institution_id)
    if target is None:
        if not principal.is_national:
            raise Forbidden(
                "The platform's own chain is for national regulators; name an institution."
                if principal.is_regulator
                else None
            )
        return audit.PLATFORM_CHAIN
    if not principal.can_see_institution(target):
        if principal.is_regulator:  # outside the jurisdiction: not theirs to know of
            raise InstitutionNotFound()
        raise Forbidden("You can only read your own institution's audit trail.")
    accounts.get_institution(session, target)  # 404 institution_not_found
    return audit.chain_for(target)

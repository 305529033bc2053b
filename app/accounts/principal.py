"""Who is calling: a signed-in user or a partner's API key, with what it may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.accounts.models import ApiKey, Role, User
from app.audit.service import Actor

#: Scopes a partner API key can carry.
SCOPES = {
    "learners:read": "read the institution's learners",
    "learners:write": "create learners",
    "verify": "send face frames for verification",
    "attendance:read": "read attendance events",
    "courses:read": "read courses and enrolments",
    "certificates:read": "read certificates",
    "audit:read": "export the institution's audit trail",
    "webhooks:manage": "subscribe to webhooks, rotate their secrets, see their deliveries",
}


@dataclass(frozen=True)
class Principal:
    role: Role | None  # None for an API key
    institution_id: uuid.UUID | None
    user: User | None = None
    api_key: ApiKey | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of_user(cls, user: User) -> Principal:
        return cls(role=user.role, institution_id=user.institution_id, user=user)

    @classmethod
    def of_key(cls, key: ApiKey) -> Principal:
        return cls(
            role=None, institution_id=key.institution_id, api_key=key, scopes=frozenset(key.scopes)
        )

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return Actor.user(self.user.id)
        if self.api_key is None:
            raise RuntimeError("a principal is either a user or an API key")
        return Actor("api_key", str(self.api_key.id))

    @property
    def is_regulator(self) -> bool:
        return self.role in (Role.regulator, Role.admin)

    def can_see_institution(self, institution_id: uuid.UUID | None) -> bool:
        """Regulators and admins see all; staff and keys only their own institution."""
        if self.is_regulator:
            return True
        return institution_id is not None and institution_id == self.institution_id

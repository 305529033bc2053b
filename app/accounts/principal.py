"""Who is calling: a signed-in user or a partner's API key, with what it may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from app.accounts.models import ApiKey, Role, User
from app.audit.service import Actor


class Scope(StrEnum):
    """Scopes a partner API key can carry; every ``/api/v1`` route names the one it needs."""

    learners_read = "learners:read"
    learners_write = "learners:write"
    verify = "verify"
    attendance_read = "attendance:read"
    courses_read = "courses:read"
    certificates_read = "certificates:read"
    audit_read = "audit:read"
    webhooks_manage = "webhooks:manage"


#: What each scope allows (shown where keys are created, and in the OpenAPI document).
SCOPES: dict[str, str] = {
    scope.value: description
    for scope, description in {
        Scope.learners_read: "read the institution's learners",
        Scope.learners_write: "create learners",
        Scope.verify: "send face frames for verification",
        Scope.attendance_read: "read attendance events and their evidence face crops",
        Scope.courses_read: "read courses, enrolments, progress and quiz attempts",
        Scope.certificates_read: "read certificates and their subsidy decisions",
        Scope.audit_read: "export the institution's audit trail, xAPI statements and reports",
        Scope.webhooks_manage: "subscribe to webhooks, rotate their secrets, see their deliveries",
    }.items()
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
        """Regulators and admins see all; staff and keys only their own institution; learners
        none (a learner sees what is their own, never their institution's other learners)."""
        if self.is_regulator:
            return True
        if self.role is Role.learner:
            return False
        return institution_id is not None and institution_id == self.institution_id

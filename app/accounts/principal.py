"""Who is calling: a signed-in user or a partner's API key, with what it may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.orm import object_session

from app.accounts.models import ApiKey, Institution, Role, User
from app.audit.service import Actor
from app.programmes import regions


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
    enrolments_write = "enrolments:write"


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
        Scope.enrolments_write: "enrol learners into classes, one by one or by roster import",
    }.items()
}


@dataclass(frozen=True)
class Principal:
    role: Role | None  # None for an API key
    institution_id: uuid.UUID | None
    user: User | None = None
    api_key: ApiKey | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    #: Regulators: the region code of their jurisdiction (``000000`` national); admins national.
    jurisdiction: str | None = None
    #: Institution id → its region code, as looked up for :meth:`can_see_institution`.
    _regions: dict[uuid.UUID, str | None] = field(
        default_factory=dict, compare=False, repr=False, hash=False
    )

    @classmethod
    def of_user(cls, user: User) -> Principal:
        jurisdiction = {
            Role.admin: regions.NATIONAL,
            Role.regulator: user.jurisdiction_code,
        }.get(user.role)
        return cls(
            role=user.role, institution_id=user.institution_id, user=user, jurisdiction=jurisdiction
        )

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

    @property
    def region_prefix(self) -> str | None:
        """Regulators and admins: the code prefix of the regions they see ("" = all); None for
        everyone else, and for a regulator without a jurisdiction (who then sees nothing)."""
        if not self.is_regulator or self.jurisdiction is None:
            return None
        return regions.prefix(self.jurisdiction)

    @property
    def is_national(self) -> bool:
        """A national regulator or an admin: every institution, and the platform's own chain."""
        return self.region_prefix == ""

    def _region_of(self, institution_id: uuid.UUID) -> str | None:
        if institution_id not in self._regions:
            session = object_session(self.user) if self.user is not None else None
            inst = session.get(Institution, institution_id) if session is not None else None
            self._regions[institution_id] = inst.region_code if inst is not None else None
        return self._regions[institution_id]

    def can_see_institution(self, institution_id: uuid.UUID | None) -> bool:
        """Regulators the institutions in their jurisdiction (national and admins: all); staff
        and keys only their own institution; learners none (a learner sees what is their own,
        never their institution's other learners)."""
        if self.is_regulator:
            p = self.region_prefix
            if p == "":
                return True
            if p is None or institution_id is None:
                return False
            return (self._region_of(institution_id) or "").startswith(p)
        if self.role is Role.learner:
            return False
        return institution_id is not None and institution_id == self.institution_id

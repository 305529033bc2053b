"""Request and response bodies of the accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.consent import ConsentState
from app.accounts.models import LearnerGroup, Role
from app.validation import Text


class _LearnerFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=1, max_length=256)
    real_name: Text = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=32)
    phone: str | None = Field(default=None, max_length=20, pattern=r"^\+?[0-9 -]{5,20}$")
    group: LearnerGroup | None = None


class RegisterIn(_LearnerFields):
    """Self-registration. ``institution_code`` names the institution the learner trains with
    (its 机构代码, or the ``code`` of a pick from ``GET /institutions/active``); a learner
    registered without one must choose (``PUT /me/institution``) before their face enrolment."""

    institution_code: str | None = Field(default=None, min_length=1, max_length=32)


class LearnerCreateIn(_LearnerFields):
    """A partner creating a learner for its institution."""


class InstitutionChoiceOut(BaseModel):
    """An institution that takes learners: what a registration form offers."""

    code: str
    name: str
    region: str


class InstitutionChoiceIn(BaseModel):
    """The institution a learner of none chooses, by its code."""

    model_config = ConfigDict(extra="forbid")

    institution_code: str = Field(min_length=1, max_length=32)


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    real_name: str | None
    id_number_masked: str | None


class MeOut(BaseModel):
    id: uuid.UUID
    username: str
    role: Role
    real_name: str | None
    id_number_masked: str | None
    institution_id: uuid.UUID | None
    biometric_consent: bool
    face_enrolled: bool
    group: LearnerGroup | None = None
    consent_version: str | None = None


class LearnerOut(BaseModel):
    id: uuid.UUID
    username: str
    real_name: str | None
    id_number_masked: str | None
    institution_id: uuid.UUID | None
    group: LearnerGroup | None
    face_enrolled: bool
    created_at: datetime


class LearnerPage(BaseModel):
    items: list[LearnerOut]
    next_cursor: str | None


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    biometric: bool


class ConsentOut(BaseModel):
    biometric_consent: bool
    #: The version consented to (or, with none given, the current one).
    version: str
    at: datetime
    #: The current text and its version: consent to an earlier version no longer covers face
    #: checks (state ``outdated``: they answer 403 ``consent_renewal_required``).
    text: str
    current_version: str
    state: ConsentState


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(default_factory=list, max_length=20)


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown once; store it now.")


# ---------------------------------------------------------------- passwords


class PasswordResetRequestIn(BaseModel):
    """Ask for a reset code: the username, the mobile number on the account or its verified
    e-mail address; ``channel``: where the code goes (``sms``: the mobile number on file,
    ``email``: the verified e-mail address)."""

    model_config = ConfigDict(extra="forbid")

    login: str = Field(min_length=1, max_length=254)
    channel: Literal["sms", "email"] = "sms"


class PasswordResetRequestedOut(BaseModel):
    """The same answer whether or not such an account exists."""

    detail: str
    expires_in_s: int


class PasswordResetConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: str = Field(min_length=1, max_length=254)
    code: str = Field(min_length=1, max_length=16)
    new_password: str = Field(min_length=1, max_length=256)


class PasswordChangeIn(BaseModel):
    """Set one's own password with the current one (a temporary one from the institution
    included)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class PasswordSetOut(BaseModel):
    """The account whose password was set; sign in with it (earlier sessions have ended)."""

    username: str


class TemporaryPasswordOut(BaseModel):
    """A temporary password for a learner, shown once; the learner must change it when they
    next sign in."""

    learner_id: uuid.UUID
    username: str
    temporary_password: str
    must_change_password: bool


class EmailIn(BaseModel):
    """An e-mail address to add to (or replace on) the account: a code goes there first."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)


class EmailCodeIn(BaseModel):
    """The code sent to the new address, typed back."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=16)


class EmailCodeSentOut(BaseModel):
    """A code went to ``email`` (as it will be stored: normalised); confirm within
    ``expires_in_s``. The account's address changes only then."""

    email: str
    expires_in_s: int


class EmailOut(BaseModel):
    """The account's verified e-mail address (None: none yet)."""

    email: str | None
    verified_at: datetime | None

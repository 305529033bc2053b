"""Request and response models of the institution registry (with OpenAPI examples)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from app.accounts.models import InstitutionKind, RegistryStatus
from app.validation import Text

# ---------------------------------------------------------------- the institution registry

_SCOPE_EXAMPLE: list[JsonValue] = [
    {"occupation_code": "6-31-01-03", "level": "level4"},
    {"occupation_code": "4-10-01-05", "level": "level5"},
]
_RECORD_EXAMPLE: dict[str, JsonValue] = {
    "id": "5b1d7e0a-8f44-4b8e-9a57-2c1f0d3e6a21",
    "code": "SZNS001",
    "name": "南山区职业技能培训学校",
    "legal_name": "深圳市南山区职业技能培训学校",
    "credit_code": "52440305MJL0863178",
    "kind": "private",
    "region_code": "440305",
    "region_name": "广东省深圳市南山区",
    "registry_status": "approved",
    "approved_scope": _SCOPE_EXAMPLE,
    "registry_changed_at": "2026-12-03T02:15:00Z",
}
_HISTORY_EXAMPLE: dict[str, JsonValue] = {
    "time": "2026-12-03T02:15:00Z",
    "actor": "user:8a4c2f0e-3b1d-4e5f-9a6b-7c8d9e0f1a2b",
    "action": "institution.registry.approved",
    "payload": {
        "from": "pending",
        "to": "approved",
        "reason": "材料齐全，现场核查合格（深人社函〔2026〕12号）",
        "approved_scope": _SCOPE_EXAMPLE,
    },
}


class ScopeItemIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"occupation_code": "6-31-01-03", "level": "level4"}]}
    )

    occupation_code: str = Field(max_length=32, description="《国家职业分类大典》 X-XX-XX-XX")
    level: str = Field(max_length=16, description="level5 … level1, or special")


class ApproveIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "approved_scope": _SCOPE_EXAMPLE,
                    "reason": "材料齐全，现场核查合格（深人社函〔2026〕12号）",
                }
            ]
        }
    )

    approved_scope: list[ScopeItemIn] = Field(
        min_length=1, max_length=200, description="The occupations and levels it may train for"
    )
    reason: Text = Field(max_length=500, description="At least 4 characters; audited")


class RegistryReasonIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "专项检查发现代学代考，暂停补贴性培训资格"}]}
    )

    reason: Text = Field(max_length=500, description="At least 4 characters; audited")


class RegistryRecordIn(BaseModel):
    """Fields left out are not changed; an empty string clears a field (while pending)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "credit_code": "52440305MJL0863178",
                    "legal_name": "深圳市南山区职业技能培训学校",
                    "kind": "private",
                }
            ]
        }
    )

    credit_code: str | None = Field(default=None, max_length=40, description="GB 32100, 18 chars")
    legal_name: Text | None = Field(default=None, max_length=200)
    kind: InstitutionKind | Literal[""] | None = None


class ScopeItemOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"occupation_code": "6-31-01-03", "level": "level4"}]}
    )

    occupation_code: str
    level: str


class RegistryRecordOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RECORD_EXAMPLE]})

    id: uuid.UUID
    code: str
    name: str
    legal_name: str | None
    credit_code: str | None = Field(description="统一社会信用代码 (GB 32100)")
    kind: InstitutionKind | None
    region_code: str | None
    region_name: str
    registry_status: RegistryStatus
    approved_scope: list[ScopeItemOut]
    registry_changed_at: datetime | None


class RegistryEventOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_HISTORY_EXAMPLE]})

    time: datetime
    actor: str = Field(description="user:<id>, system:<name> (system:migration: migration 0032)")
    action: str
    payload: dict[str, Any] = Field(description="What the entry recorded (reason, from, to, scope)")


class RegistryPage(BaseModel):
    """A page of the registry, by code; ask again with ``cursor=next_cursor`` for the next
    one (null after the last), as the learner and course lists page."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [_RECORD_EXAMPLE], "next_cursor": "U1pOUzAwMQ=="}]
        }
    )

    items: list[RegistryRecordOut]
    next_cursor: str | None = Field(description="The next page's cursor; null after the last")


class RegistryDetailOut(RegistryRecordOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_RECORD_EXAMPLE, "history": [_HISTORY_EXAMPLE]}]}
    )

    history: list[RegistryEventOut] = Field(description="Oldest first, from the audit chain")

"""Claim exports a payment office can use: JSON Lines that validate against the schema in the
repository, XLSX, a detached JWS that an independent JOSE library (joserfc) verifies from the
JWKS alone; full ID numbers only in a regulator's export, which needs a reason; every export
audited with who and why."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from openpyxl import load_workbook

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.claims import export
from app.claims import service as claims
from app.claims.models import LineDecision
from app.db import transaction
from tests.factories import (
    audit_log,
    certified,
    id_number,
    login,
    make_institution,
    make_learner,
    make_user,
)

API = "/api/v1"


def _batch(engine: Any, clock: Any) -> tuple[Any, list[str], Any, Any]:
    inst = make_institution(engine)
    clock.set(datetime(2026, 8, 3, 2, tzinfo=UTC))
    numbers = [id_number("19880214", "440306", 31), id_number("19950630", "110105", 47)]
    for name, number in zip(("王小明", "李华"), numbers, strict=True):
        certified(engine, make_learner(engine, inst, real_name=name, id_number=number), inst)
    staff = make_user(engine, Role.staff, inst)
    reg = make_user(engine, Role.regulator)
    clock.set(datetime(2026, 10, 8, 2, tzinfo=UTC))
    with transaction(engine) as s:
        batch = claims.file_quarter(s, Principal.of_user(staff), year=2026, quarter=3)
        first = claims.lines_of(s, batch)[0]
        claims.review_line(s, Principal.of_user(reg), first.id, decision=LineDecision.approved)
    return batch, numbers, staff, reg


def _verify(content: bytes, token: str, jwks: dict[str, Any]) -> None:
    """What a receiving system does: the JWKS document, the file, the detached JWS."""
    keys = KeySet.import_key_set(jwks)
    jws.deserialize_compact(token, keys, algorithms=["RS256"], payload=content)


def test_regulator_jsonl_validates_and_verifies(client: Any, engine: Any, clock: Any) -> None:
    batch, numbers, staff, reg = _batch(engine, clock)
    hr = login(client, reg.username)
    url = f"{API}/claim-batches/{batch.id}/exports"
    no_reason = client.post(url, json={"format": "jsonl"}, headers=hr)
    assert no_reason.status_code == 422
    why = "报送社保基金支付科办理拨付"
    r = client.post(url, json={"format": "jsonl", "reason": why}, headers=hr)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/jsonl")
    body = r.content
    assert hashlib.sha256(body).hexdigest() == r.headers["x-content-sha256"]

    # every record validates against the schema in the repository
    schema = json.loads(export.SCHEMA_FILE.read_text(encoding="utf-8"))
    assert client.get("/schemas/claim-line-v1.schema.json").json() == schema
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    records = [json.loads(line) for line in body.decode().splitlines()]
    assert len(records) == 2
    for rec in records:
        assert list(validator.iter_errors(rec)) == []
    # full ID numbers, the frozen hashes, the decisions
    assert [rec["learner"]["id_number"] for rec in records] == numbers
    assert not any(rec["learner"]["id_number_masked"] for rec in records)
    assert [rec["decision"] for rec in records] == ["approved", None]
    with transaction(engine) as s:
        hashes = [line.content_hash for line in claims.lines_of(s, batch)]
    assert [rec["content_hash"] for rec in records] == hashes

    # the detached JWS verifies with joserfc from the JWKS only; a changed byte does not
    jwks = client.get("/.well-known/jwks.json").json()
    token = r.headers["x-jws-signature"]
    assert token.count(".") == 2 and token.split(".")[1] == ""
    _verify(body, token, jwks)
    with pytest.raises(BadSignatureError):
        _verify(body.replace(numbers[0].encode(), numbers[1].encode(), 1), token, jwks)

    # audited: who, why, the format, full IDs, the file's hash
    ((_, payload),) = audit_log(engine, action="claim.exported")
    assert payload == {
        "format": "jsonl",
        "full_id_numbers": True,
        "reason": why,
        "sha256": r.headers["x-content-sha256"],
        "lines": 2,
        "full_payee_accounts": 0,  # paid to the institution: no learner's account left
    }


def test_staff_exports_are_masked(client: Any, engine: Any, clock: Any) -> None:
    batch, numbers, staff, reg = _batch(engine, clock)
    hs = login(client, staff.username)
    url = f"{API}/claim-batches/{batch.id}/exports"
    r = client.post(url, json={"format": "jsonl"}, headers=hs)
    assert r.status_code == 200, r.text
    validator = jsonschema_rs.Draft202012Validator(export.line_schema(), validate_formats=True)
    for line in r.content.decode().splitlines():
        rec = json.loads(line)
        assert list(validator.iter_errors(rec)) == []
        assert rec["learner"]["id_number_masked"] is True
    for number in numbers:
        assert number.encode() not in r.content
    x = client.post(url, json={"format": "xlsx"}, headers=hs)
    assert x.status_code == 200
    cells = {
        c.value for row in load_workbook(io.BytesIO(x.content)).active.iter_rows() for c in row
    }
    assert not any(n in cells for n in numbers)
    stranger = make_user(engine, Role.staff, make_institution(engine))
    other = client.post(url, json={"format": "jsonl"}, headers=login(client, stranger.username))
    assert other.status_code == 404
    actions = audit_log(engine, action="claim.exported")
    assert [p["full_id_numbers"] for _, p in actions] == [False, False]


def test_regulator_xlsx_has_full_ids_and_verifies(client: Any, engine: Any, clock: Any) -> None:
    batch, numbers, staff, reg = _batch(engine, clock)
    hr = login(client, reg.username)
    r = client.post(
        f"{API}/claim-batches/{batch.id}/exports",
        json={"format": "xlsx", "reason": "财政拨付核对"},
        headers=hr,
    )
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    column = [row[2].value for row in ws.iter_rows(min_row=2)]
    assert column == numbers
    _verify(r.content, r.headers["x-jws-signature"], client.get("/.well-known/jwks.json").json())

"""`GET /api/v1/audit/export`: streamed NDJSON/CSV, byte-identical, verifiable offline, scoped."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from app.accounts import service as accounts
from app.accounts.models import Institution, Role
from app.audit import export
from app.audit import service as audit
from app.audit.chain import ChainVerifier
from app.audit.service import Actor
from app.cli import app as cli_app
from app.db import transaction
from tests.factories import login, make_institution, make_learner, make_user

URL = "/api/v1/audit/export"
N = 25
runner = CliRunner()


@dataclass
class World:
    a: Institution
    b: Institution
    staff: dict[str, str]
    regulator: dict[str, str]
    learner: dict[str, str]
    key: dict[str, str]
    key_no_scope: dict[str, str]


@pytest.fixture
def world(engine: Engine, client: TestClient, clock: Any) -> World:
    a = make_institution(engine)
    b = make_institution(engine)
    staff = make_user(engine, Role.staff, a)
    reg = make_user(engine, Role.regulator)
    learner = make_learner(engine, a)
    with transaction(engine) as s:
        _, key = accounts.create_api_key(
            s, institution_id=a.id, name="reg", scopes=["audit:read"], actor=Actor.system()
        )
        _, key2 = accounts.create_api_key(
            s, institution_id=a.id, name="x", scopes=["learners:read"], actor=Actor.system()
        )
    for i in range(N):
        clock.advance(60)
        with transaction(engine) as s:
            audit.append(
                s,
                actor=Actor.system(),
                action="lesson.completed",
                subject=f'enrolment:{i} "quoted",\nnew line',
                payload={"i": i, "课程": "电工基础", "note": 'a,"b"\r\n\\', "ok": i % 2 == 0},
                institution_id=a.id,
            )
    return World(
        a,
        b,
        login(client, staff.username),
        login(client, reg.username),
        login(client, learner.username),
        {"Authorization": f"Bearer {key}"},
        {"Authorization": f"Bearer {key2}"},
    )


def slow_export(engine: Engine, chain: str, **kw: Any) -> bytes:
    with transaction(engine, reading=True) as s:
        return b"".join(audit.export_lines(audit.iter_export(s, chain, **kw)))


def entries_of(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(x) for x in body.splitlines()]


def cli_verify(tmp_path: Path, client: TestClient, body: bytes, *args: str) -> dict[str, Any]:
    path = tmp_path / "export.ndjson"
    path.write_bytes(body)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(client.get("/.well-known/jwks.json").text)
    r = runner.invoke(cli_app, ["audit", "verify", str(path), "--jwks", str(jwks), *args])
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    out["exit_code"] = r.exit_code
    return out


def test_ndjson_export_is_the_chain_and_byte_identical(
    world: World, client: TestClient, engine: Engine, clock: Any
) -> None:
    params = {"institution_id": str(world.a.id)}
    r1 = client.get(URL, params=params, headers=world.regulator)
    assert r1.status_code == 200, r1.text
    assert r1.headers["content-type"] == "application/x-ndjson"
    chain = audit.chain_for(world.a.id)
    assert (
        r1.headers["content-disposition"]
        == f'attachment; filename="audit-{chain.replace(":", "-")}-all-all.ndjson"'
    )
    clock.advance(600)  # the checkpoint is dated by its last entry, not by the clock
    r2 = client.get(URL, params=params, headers=world.regulator)
    assert r1.content == r2.content
    # the column fast path writes exactly what the ORM path (and the CLI) writes
    assert r1.content == slow_export(engine, chain)
    objs = entries_of(r1.content)
    total = objs[-1]["seq"]  # N appended + the institution, its users and keys
    assert total > N
    assert [o["seq"] for o in objs[:-1]] == list(range(1, total + 1))
    assert objs[-1]["type"] == "checkpoint"
    assert objs[-1]["first_seq"] == 1


def test_exported_file_verifies_offline_with_the_cli(
    world: World, client: TestClient, tmp_path: Path
) -> None:
    r = client.get(URL, params={"institution_id": str(world.a.id)}, headers=world.regulator)
    out = cli_verify(tmp_path, client, r.content)
    assert (out["exit_code"], out["ok"], out["signature_verified"]) == (0, True, True)
    assert out["entries"] == entries_of(r.content)[-1]["seq"]


def test_since_window_verifies_against_the_previous_hash(
    world: World, client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    full = entries_of(
        client.get(URL, params={"institution_id": str(world.a.id)}, headers=world.regulator).content
    )
    k = 10  # the window starts at seq k, ends before seq m
    m = len(full) - 5
    since, until = full[k - 1]["time"], full[m - 1]["time"]
    r = client.get(
        URL,
        params={"institution_id": str(world.a.id), "since": since, "until": until},
        headers=world.regulator,
    )
    assert r.status_code == 200, r.text
    window = entries_of(r.content)
    assert [o["seq"] for o in window[:-1]] == list(range(k, m))
    assert window[-1]["first_seq"] == k
    assert r.content == slow_export(
        engine,
        audit.chain_for(world.a.id),
        since=export.as_utc(_dt(since)),
        until=export.as_utc(_dt(until)),
    )
    out = cli_verify(tmp_path, client, r.content, "--prev-hash", full[k - 2]["hash"])
    assert (out["exit_code"], out["ok"], out["first_seq"], out["signature_verified"]) == (
        0,
        True,
        k,
        True,
    )
    bad = cli_verify(tmp_path, client, r.content, "--prev-hash", full[k - 3]["hash"])
    assert (bad["exit_code"], bad["ok"], bad["line"], bad["seq"]) == (1, False, 1, k)
    # a window dropped from the front is found through the signed first_seq
    out = cli_verify(tmp_path, client, b"".join(r.content.splitlines(keepends=True)[1:]))
    assert (out["exit_code"], out["ok"]) == (1, False)


def _dt(s: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def test_csv_export_has_header_rows_and_checkpoint_and_verifies(
    world: World, client: TestClient
) -> None:
    params = {"institution_id": str(world.a.id), "format": "csv"}
    r = client.get(URL, params=params, headers=world.regulator)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].endswith('.csv"')
    assert r.content == client.get(URL, params=params, headers=world.regulator).content
    text = r.content.decode("utf-8")
    assert text.splitlines()[0] == ",".join(export.CSV_COLUMNS)
    objs = list(export.csv_to_objects(io.StringIO(text, newline="")))
    assert len(objs) == len(text.splitlines()) - 1 - N  # the header; N subjects span 2 lines
    assert objs[-1]["type"] == "checkpoint"
    assert "电工基础" in text
    v = ChainVerifier()
    for o in objs[:-1]:
        assert v.feed(o) is None
    result = v.finish(objs[-1])
    assert result.ok and result.entries == len(objs) - 1
    ndjson = entries_of(
        client.get(URL, params={"institution_id": str(world.a.id)}, headers=world.regulator).content
    )
    assert objs == ndjson


def test_access(world: World, client: TestClient) -> None:
    own = {"institution_id": str(world.a.id)}
    other = {"institution_id": str(world.b.id)}
    assert client.get(URL, params=own, headers=world.staff).status_code == 200
    assert client.get(URL, headers=world.staff).content == (
        client.get(URL, params=own, headers=world.staff).content
    )
    r = client.get(URL, params=other, headers=world.staff)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert client.get(URL, params=own, headers=world.key).status_code == 200
    r = client.get(URL, params=other, headers=world.key)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = client.get(URL, params=own, headers=world.key_no_scope)
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")
    r = client.get(URL, params=own, headers=world.learner)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert client.get(URL, params=own).status_code == 401
    assert client.get(URL, params=other, headers=world.regulator).status_code == 200
    r = client.get(URL, headers=world.regulator)  # the platform chain
    assert r.status_code == 200
    assert entries_of(r.content)[-1]["chain"] == audit.PLATFORM_CHAIN
    r = client.get(
        URL,
        params={"institution_id": "00000000-0000-4000-8000-000000000000"},
        headers=world.regulator,
    )
    assert (r.status_code, r.json()["code"]) == (404, "institution_not_found")
    r = client.get(
        URL,
        params={"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"},
        headers=world.regulator,
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_window")
    r = client.get(URL, params={"format": "xml"}, headers=world.regulator)
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")
    # the checkpoint endpoint keeps working with the same rules
    r = client.get("/api/v1/audit/checkpoint", params=own, headers=world.staff)
    assert r.status_code == 200 and r.json()["seq"] > N
    r = client.get("/api/v1/audit/checkpoint", params=other, headers=world.staff)
    assert r.status_code == 403


def test_empty_window_ends_with_a_checkpoint_for_nothing(
    world: World, client: TestClient, tmp_path: Path
) -> None:
    r = client.get(
        URL,
        params={"institution_id": str(world.a.id), "since": "2100-01-01T00:00:00Z"},
        headers=world.regulator,
    )
    [cp] = entries_of(r.content)
    assert (cp["type"], cp["seq"], cp["first_seq"]) == ("checkpoint", 0, None)
    out = cli_verify(tmp_path, client, r.content)
    assert (out["exit_code"], out["ok"], out["entries"]) == (0, True, 0)

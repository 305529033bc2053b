"""Every API route declares who may call it, in one place, and the declaration holds.

The declaration is the guard dependency a route uses (app/api/deps.py): ``require_scope(...)``
(API keys need that scope), a users-only guard (``CurrentUser``, ``CurrentLearner``, …,
``UserPrincipal``: API keys never) or ``PUBLIC``. A new route that takes the caller through
``PrincipalDep`` alone, and so lets any API key in, fails ``test_every_api_route_declares``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.accounts import service as accounts
from app.accounts.models import Institution, Role, User
from app.accounts.principal import SCOPES, Scope
from app.api.deps import Access, route_access
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.audit.service import Actor
from app.db import transaction
from tests.factories import login, make_institution, make_learner, make_user

API = "/api/v1"


def _api_routes(app: FastAPI) -> list[tuple[str, str, set[Access]]]:
    """(method, path, declared access rules) of every API route (``/api/v1`` and ``/xapi``)."""
    out = []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        if not (route.path.startswith(API + "/") or route.path.startswith("/xapi/")):
            continue
        for method in sorted(route.methods or ()):
            out.append((method, route.path, route_access(route.dependant)))
    return out


@pytest.fixture(scope="module")
def routes() -> list[tuple[str, str, Access]]:
    from app.main import create_app

    found = _api_routes(create_app())
    return [(m, p, next(iter(a))) for m, p, a in found if len(a) == 1]


def test_every_api_route_declares_exactly_one_access_rule() -> None:
    from app.main import create_app

    found = _api_routes(create_app())
    assert len(found) > 50
    undeclared = [f"{m} {p}" for m, p, a in found if not a]
    assert undeclared == [], "routes an API key reaches without a declared scope"
    ambiguous = [f"{m} {p}: {sorted(map(str, a))}" for m, p, a in found if len(a) > 1]
    assert ambiguous == [], "routes declaring more than one access rule"


def test_the_openapi_document_shows_each_routes_access(routes: list[Any]) -> None:
    from app.main import create_app

    doc = create_app().openapi()
    assert set(doc["components"]["securitySchemes"]) == {"AccessToken", "ApiKey"}
    for scope in SCOPES:
        assert f"`{scope}`" in doc["components"]["securitySchemes"]["ApiKey"]["description"]
    for method, path, access in routes:
        op = doc["paths"][path][method.lower()]
        assert op["x-access"] == access.kind, (method, path)
        if access.kind == "public":
            assert op["security"] == [], (method, path)
        elif access.kind == "users":
            assert op["security"] == [{"AccessToken": []}], (method, path)
            assert "x-api-key-scope" not in op
        else:
            assert access.scope is not None
            assert op["security"] == [{"AccessToken": []}, {"ApiKey": [access.scope.value]}]
            assert op["x-api-key-scope"] == access.scope.value
            codes = op["responses"]["403"]["content"]["application/problem+json"]["schema"]
            assert "insufficient_scope" in codes["properties"]["code"]["enum"], (method, path)


def _url(path: str) -> str:
    """A concrete URL for a route: any id will do, the guard answers before the handler."""
    return re.sub(r"\{[^}]+\}", lambda m: str(uuid.uuid4()), path)


def _keys(engine: Engine, inst: Institution, names: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    with transaction(engine) as session:
        for name, scopes in names.items():
            _, out[name] = accounts.create_api_key(
                session, institution_id=inst.id, name=name, scopes=scopes, actor=Actor.system()
            )
    return {name: f"Bearer {secret}" for name, secret in out.items()}


def _call(client: TestClient, method: str, url: str, auth: str) -> tuple[int, str | None]:
    """Status and (for a refusal) problem code of a request; a HEAD (no body) reads its code
    from the same request as GET, which it answers like."""
    r = client.request(method, url, headers={"Authorization": auth})
    if r.status_code not in (401, 403):
        return r.status_code, None
    if method != "HEAD":
        return r.status_code, _code(r)
    got = client.get(url, headers={"Authorization": auth})
    assert got.status_code == r.status_code, url
    return r.status_code, _code(got)


def _code(r: Any) -> str | None:
    body = r.json() if "json" in r.headers.get("content-type", "") else None
    return body.get("code") if isinstance(body, dict) else None


def test_api_keys_get_exactly_the_routes_their_scopes_name(
    client: TestClient, engine: Engine, routes: list[tuple[str, str, Access]]
) -> None:
    """For every route: a key holding every scope but the declared one is refused with 403
    ``insufficient_scope``; a key holding only that scope gets past the guard; a route for
    users only refuses even a key holding every scope."""
    inst = make_institution(engine)
    names: dict[str, list[str]] = {"all": sorted(SCOPES)}
    for scope in Scope:
        names[f"only:{scope}"] = [scope.value]
        names[f"not:{scope}"] = sorted(set(SCOPES) - {scope.value})
    keys = _keys(engine, inst, names)
    wrong: list[str] = []
    for method, path, access in routes:
        if access.kind == "public":
            continue
        url = _url(path)
        if access.kind == "users":
            got = _call(client, method, url, keys["all"])
            if got != (403, "forbidden"):
                wrong.append(f"{method} {path}: a key got {got}")
            continue
        got = _call(client, method, url, keys[f"not:{access.scope}"])
        if got != (403, "insufficient_scope"):
            wrong.append(f"{method} {path} without {access.scope}: {got}")
        got = _call(client, method, url, keys[f"only:{access.scope}"])
        if got[0] in (401, 403) and got[1] in ("insufficient_scope", "invalid_token"):
            wrong.append(f"{method} {path} with {access.scope}: {got}")
    assert wrong == []


# ---------------------------------------------------------------- the holes this closed


def _event_with_crop(engine: Engine, learner: User, data_dir: str) -> uuid.UUID:
    crop = b"\xff\xd8\xff\xe0crop\xff\xd9"
    from pathlib import Path

    (Path(data_dir) / "evidence").mkdir(parents=True, exist_ok=True)
    (Path(data_dir) / "evidence" / "e.jpg").write_bytes(crop)
    with transaction(engine) as session:
        event = AttendanceEvent(
            user_id=learner.id,
            institution_id=learner.institution_id,
            purpose=Purpose.checkin,
            outcome=Outcome.passed,
            accept_threshold="0.38",
            reject_threshold="0.50",
            model_name="test",
            model_version="1",
            match_metric="euclidean",
            face_engine="test",
            model_sha256="0" * 64,
            evidence_path="evidence/e.jpg",
            evidence_sha256=hashlib.sha256(crop).hexdigest(),
        )
        session.add(event)
        session.flush()
        return event.id


def test_attendance_events_and_crops_need_attendance_read(
    client: TestClient, engine: Engine
) -> None:
    """Keys with ``[]``, ``[verify]`` or ``[courses:read]`` read events and downloaded face
    crops: ``attendance:read`` was never checked."""
    from app.config import get_settings

    inst = make_institution(engine)
    event_id = _event_with_crop(engine, make_learner(engine, inst), str(get_settings().data_dir))
    keys = _keys(
        engine,
        inst,
        {"none": [], "verify": ["verify"], "courses": ["courses:read"], "ok": ["attendance:read"]},
    )
    for name in ("none", "verify", "courses"):
        for suffix in ("", "/evidence"):
            r = client.get(
                f"{API}/attendance-events/{event_id}{suffix}",
                headers={"Authorization": keys[name]},
            )
            assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope"), (name, suffix)
    ok = {"Authorization": keys["ok"]}
    assert client.get(f"{API}/attendance-events/{event_id}", headers=ok).status_code == 200
    crop = client.get(f"{API}/attendance-events/{event_id}/evidence", headers=ok)
    assert crop.status_code == 200
    assert crop.headers["content-type"] == "image/jpeg"


def test_api_keys_cannot_revoke_keys(client: TestClient, engine: Engine) -> None:
    """Any key of an institution could revoke its siblings (and itself): key management is for
    the institution's staff (and admins), never for a key, whatever its scopes."""
    inst = make_institution(engine)
    keys = _keys(engine, inst, {"attacker": sorted(SCOPES), "victim": ["learners:read"]})
    with transaction(engine) as session:
        victim_id = next(
            k.id for k in accounts.list_api_keys(session, inst.id) if k.name == "victim"
        )
    for target in (victim_id,):
        r = client.post(
            f"{API}/api-keys/{target}/revoke", headers={"Authorization": keys["attacker"]}
        )
        assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    # The victim still works; staff of the institution can revoke it.
    assert (
        client.get(f"{API}/learners", headers={"Authorization": keys["victim"]}).status_code == 200
    )
    staff = login(client, make_user(engine, Role.staff, inst).username)
    assert client.post(f"{API}/api-keys/{victim_id}/revoke", headers=staff).status_code == 200
    assert (
        client.get(f"{API}/learners", headers={"Authorization": keys["victim"]}).status_code == 401
    )


def test_a_learner_sees_only_themselves(client: TestClient, engine: Engine) -> None:
    """A learner's token read another learner of the same institution (real name, masked ID
    number, group): learners see only themselves; anyone else is 404 as if absent."""
    inst = make_institution(engine)
    me, classmate = make_learner(engine, inst), make_learner(engine, inst)
    h = login(client, me.username)
    r = client.get(f"{API}/learners/{classmate.id}", headers=h)
    assert (r.status_code, r.json()["code"]) == (404, "user_not_found")
    assert "real_name" not in r.text
    assert client.get(f"{API}/learners/{me.id}", headers=h).json()["id"] == str(me.id)
    assert client.get(f"{API}/learners", headers=h).status_code == 403

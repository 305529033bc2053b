"""Builders for test objects and helpers to act as each kind of user over the API."""

from __future__ import annotations

import itertools
import random
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.accounts import service as accounts
from app.accounts.idcard import check_char
from app.accounts.models import Institution, Role, User
from app.audit.service import Actor
from app.db import transaction

PASSWORD = "Correct-Horse-Battery-9"
_seq = itertools.count(1)


def id_number(birth: str = "19900307", region: str = "110105", seq: int | None = None) -> str:
    """A valid 18-character ID number (random sequence unless given)."""
    s = seq if seq is not None else random.randint(0, 999)
    first17 = f"{region}{birth}{s:03d}"
    return first17 + check_char(first17)


def make_institution(engine: Engine, code: str | None = None) -> Institution:
    with transaction(engine) as session:
        return accounts.create_institution(
            session, code=code or f"INST{next(_seq):03d}", name="测试培训学校", actor=Actor.system()
        )


def make_user(
    engine: Engine, role: Role, institution: Institution | None = None, **kw: Any
) -> User:
    with transaction(engine) as session:
        return accounts.create_user(
            session,
            role=role,
            username=kw.get("username", f"{role.value}{next(_seq)}"),
            password=kw.get("password", PASSWORD),
            institution_id=institution.id if institution else None,
            actor=Actor.system(),
        )


def make_learner(engine: Engine, institution: Institution | None = None, **kw: Any) -> User:
    n = next(_seq)
    with transaction(engine) as session:
        return accounts.register_learner(
            session,
            username=kw.get("username", f"learner{n}"),
            password=kw.get("password", PASSWORD),
            real_name=kw.get("real_name", "王小明"),
            id_number=kw.get("id_number", id_number(seq=n % 1000)),
            institution_id=institution.id if institution else None,
        )


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}

"""Schemathesis over the whole OpenAPI, signed in as each kind of caller.

Fails on any 5xx, an undocumented status code, a content type or body that is not the one
documented. Every endpoint added later is covered without touching this file.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import Engine

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.principal import SCOPES
from app.audit.service import Actor
from app.db import transaction
from tests.factories import make_institution, make_learner, make_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = ["staff", "learner", "regulator", "api_key"]


@pytest.fixture
def credentials(engine: Engine) -> dict[str, dict[str, str]]:
    """A seeded institution with one caller of each kind; their headers by role."""
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    regulator = make_user(engine, Role.regulator)
    learner = make_learner(engine, inst)
    with transaction(engine) as session:
        accounts.set_biometric_consent(session, learner, granted=True)
        _, key = accounts.create_api_key(
            session, institution_id=inst.id, name="all", scopes=sorted(SCOPES), actor=Actor.system()
        )
    secrets = {
        "staff": accounts.issue_token(staff)[0],
        "regulator": accounts.issue_token(regulator)[0],
        "learner": accounts.issue_token(learner)[0],
        "api_key": key,
    }
    return {role: {"Authorization": f"Bearer {s}"} for role, s in secrets.items()}


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document; building it needs no database, and nothing is started."""
    from app.main import create_app

    return create_app().openapi()


# Loaded eagerly: schemathesis' lazy ``from_fixture`` loader does not run under pytest 9.
schema = schemathesis.openapi.from_dict(_openapi())


@pytest.fixture
def asgi_app(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app on the test database; analysis in-thread, no face worker pool."""
    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("SKILLTRACE_FACE_WORKERS", "0")
    get_settings.cache_clear()
    return create_app()


@schema.parametrize()
@schema.given(role=st.sampled_from(ROLES))
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api(case: Any, role: str, asgi_app: Any, credentials: dict[str, dict[str, str]]) -> None:
    """Each example is sent as one of staff, learner, regulator or a partner API key."""
    headers = credentials[role]
    response = case.call(app=asgi_app, headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)

"""The operator CLI against a real database."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select
from typer.testing import CliRunner

from app.accounts.models import ApiKey, Institution, Role, User
from app.audit.models import AuditEntry
from app.cli import app
from app.db import get_engine

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_create_institution_user_and_key(app_env: str) -> None:
    code, out = run("create-institution", "--code", "SZ001", "--name", "深圳培训学校")
    assert code == 0, out
    inst_id = json.loads(out)["id"]
    code, out = run("create-institution", "--code", "SZ001", "--name", "again")
    assert code == 1
    code, out = run(
        "create-user",
        "--role",
        "staff",
        "--username",
        "t1",
        "--password",
        "Staff-Pass-2026",
        "--institution",
        "SZ001",
    )
    assert code == 1  # a name sign-in refuses (3-64 letters, digits or _ . @ -)
    code, out = run(
        "create-user",
        "--role",
        "staff",
        "--username",
        "t01",
        "--password",
        "Staff-Pass-2026",
        "--institution",
        "SZ001",
    )
    assert code == 0, out
    code, out = run(
        "create-user", "--role", "staff", "--username", "t02", "--password", "Staff-Pass-2026"
    )
    assert code == 1  # staff need an institution
    regulator = ("create-user", "--role", "regulator", "--username", "r01")
    code, out = run(*regulator, "--password", "Jian-Guan-2026!")
    assert code == 1  # a regulator needs a jurisdiction
    code, out = run(*regulator, "--password", "123456", "--jurisdiction", "000000")
    assert code == 1  # weak password
    code, out = run(
        "create-api-key",
        "--institution",
        "SZ001",
        "--name",
        "partner",
        "--scope",
        "learners:read",
        "--scope",
        "verify",
    )
    assert code == 0, out
    key = json.loads(out)["key"]
    with Session(get_engine()) as s:
        stored = s.exec(select(ApiKey)).one()
        assert key not in stored.key_hash and stored.prefix in key
        assert stored.scopes == ["learners:read", "verify"]
        staff = s.exec(select(User).where(User.username == "t01")).one()
        assert staff.role is Role.staff and str(staff.institution_id) == inst_id
        assert s.exec(select(Institution)).one().code == "SZ001"
        actors = {e.actor for e in s.exec(select(AuditEntry))}
    assert actors == {"system:cli"}
    code, out = run("create-api-key", "--institution", "NOPE", "--name", "x")
    assert code == 1


def test_configuration_error_is_one_line_without_traceback(
    app_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A too-short secret in production: one clear line on stderr and exit 1, not a traceback;
    ``--debug`` brings the traceback back."""
    from app.config import get_settings

    monkeypatch.setenv("SKILLTRACE_ENV", "production")
    monkeypatch.setenv("SKILLTRACE_SECRET_KEY", "short")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["migrate"])
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: invalid configuration: SKILLTRACE_SECRET_KEY must be")
        assert "Traceback" not in result.output
        debug = runner.invoke(app, ["--debug", "migrate"])
        assert debug.exit_code == 1 and isinstance(debug.exception, ValidationError)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_database_error_is_one_line(app_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import get_settings

    monkeypatch.setenv("SKILLTRACE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["migrate"])
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: database: "), result.stderr
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

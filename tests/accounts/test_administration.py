"""Platform administration through the same services as the console, from the CLI: suspend and
reactivate an institution, lock and unlock an account, reset a password; each audited with the
system as actor; bad input as one line and exit code 1. On both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.accounts import administration as admin
from app.accounts import service as accounts
from app.accounts.exceptions import (
    AccountLocked,
    InstitutionSuspended,
    InvalidCredentials,
    PasswordChangeRequired,
    ReasonRequired,
)
from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.cli import app
from app.db import transaction
from tests.factories import PASSWORD, make_institution, make_learner, make_user

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def actions(engine: Any) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return [
            (e.action, e.actor)
            for e in s.exec(select(AuditEntry).order_by(col(AuditEntry.id)))
            if e.action.startswith(("institution.", "user."))
            and not e.action.endswith(".created")
            # the regulator's registry decisions are not the admin's (builders approve)
            and not e.action.startswith("institution.registry.")
        ]


def login(engine: Any, username: str, password: str = PASSWORD) -> None:
    with transaction(engine) as s:
        accounts.authenticate(s, username, password)


def test_cli_suspend_lock_and_reset(engine: Any) -> None:
    inst = make_institution(engine, code="CLI01")
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst)

    code, out, _ = run("suspend-institution", "--code", "CLI01", "--reason", "年检")
    assert code == 0 and json.loads(out) == {"code": "CLI01", "suspended": True}
    with pytest.raises(InstitutionSuspended):
        login(engine, staff.username)
    login(engine, learner.username)  # learners keep their access
    code, _, err = run("suspend-institution", "--code", "NOPE", "--reason", "x")
    assert code == 1 and "institution_not_found" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("reactivate-institution", "--code", "CLI01", "--reason", " ")
    assert code == 1 and "reason_required" in err
    code, out, _ = run("reactivate-institution", "--code", "CLI01", "--reason", "通过")
    assert code == 0 and json.loads(out)["suspended"] is False
    login(engine, staff.username)

    code, out, _ = run("lock-user", "--username", staff.username, "--reason", "离职")
    assert code == 0 and json.loads(out)["locked"] is True
    with pytest.raises(AccountLocked):
        login(engine, staff.username)
    with pytest.raises(InvalidCredentials):  # a wrong password says nothing about the lock
        login(engine, staff.username, "Wrong-Password-1")
    code, out, _ = run("lock-user", "--username", staff.username, "--reason", "返聘", "--unlock")
    assert code == 0 and json.loads(out)["locked"] is False
    login(engine, staff.username)

    code, out, _ = run("reset-password", "--username", learner.username)
    assert code == 0 and json.loads(out)["must_change"] is True
    generated = json.loads(out)["password"]
    with pytest.raises(InvalidCredentials):
        login(engine, learner.username)
    with pytest.raises(PasswordChangeRequired):  # someone else knows it: choose one's own first
        login(engine, learner.username, generated)
    code, out, _ = run(
        "reset-password",
        "--username",
        learner.username,
        "--password",
        "Chosen-Pass-2026",
        "--permanent",
    )
    assert code == 0 and json.loads(out)["password"] is None
    assert json.loads(out)["must_change"] is False
    login(engine, learner.username, "Chosen-Pass-2026")
    code, _, err = run("reset-password", "--username", learner.username, "--password", "123")
    assert code == 1 and "weak_password" in err

    assert actions(engine) == [
        ("institution.suspended", "system:cli"),
        ("institution.reactivated", "system:cli"),
        ("user.locked", "system:cli"),
        ("user.unlocked", "system:cli"),
        ("user.password_reset", "system:cli"),
        ("user.password_reset", "system:cli"),
    ]


def test_services_refuse_without_a_reason_and_change_nothing(engine: Any) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    with transaction(engine) as s:
        for call in (
            lambda: admin.suspend_institution(s, inst.id, reason="", actor=Actor.system()),
            lambda: admin.lock_user(s, staff.id, reason="  \n ", actor=Actor.system()),
        ):
            with pytest.raises(ReasonRequired):
                call()
    login(engine, staff.username)
    assert actions(engine) == []


def test_locking_oneself_is_refused(engine: Any) -> None:
    boss = make_user(engine, Role.admin)
    with transaction(engine) as s, pytest.raises(Exception, match="own account"):
        admin.lock_user(s, boss.id, reason="x", actor=Actor.user(boss.id))
    login(engine, boss.username)


def test_generated_passwords_pass_the_policy_and_differ() -> None:
    from app.accounts import passwords

    seen = {admin.generate_password() for _ in range(50)}
    assert len(seen) == 50
    assert all(passwords.weakness(p) is None and len(p) == 14 for p in seen)

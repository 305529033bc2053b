"""``skilltrace registry approve|suspend|revoke``: the regulator's registry decisions from the
command line, through the same service as the page and the API — the named regulator's
jurisdiction, the scope and the reason are checked alike, the audit entry names the regulator,
and a refusal is one line on stderr with exit code 1."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.accounts.models import Institution, RegistryStatus, Role
from app.audit.models import AuditEntry
from app.audit.service import chain_for
from app.cli import app
from tests.factories import make_institution, make_user

runner = CliRunner()


def _run(*args: str) -> Any:
    return runner.invoke(app, ["registry", *args])


def _one_line(result: Any, code: str) -> None:
    assert result.exit_code == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {code}: "), result.stderr


def test_a_regulator_decides_from_the_command_line(engine: Any) -> None:
    inst = make_institution(engine, "NS001", region="440305", status=RegistryStatus.pending)
    shenzhen = make_user(engine, Role.regulator, jurisdiction="440300")
    guangzhou = make_user(engine, Role.regulator, jurisdiction="440100")
    staff = make_user(engine, Role.staff, inst)
    base = ["--institution", "NS001", "--reason", "材料齐全，现场核查合格"]
    scope = ["--scope", "6-31-01-03 四级", "--scope", "4-10-01-05 level5"]

    # another prefecture's regulator does not see it; a staff account is no regulator
    _one_line(
        _run("approve", *base, *scope, "--regulator", guangzhou.username), "institution_not_found"
    )
    _one_line(_run("approve", *base, *scope, "--regulator", staff.username), "forbidden")
    # the scope and the reason are checked as on the page
    _one_line(
        _run("approve", *base, "--scope", "6-31-01-03", "--regulator", shenzhen.username),
        "invalid_registry_record",
    )
    _one_line(
        _run("approve", *base, "--scope", "6-31-1-3 四级", "--regulator", shenzhen.username),
        "invalid_occupation_code",
    )
    _one_line(
        _run(
            "suspend",
            "--institution",
            "NS001",
            "--reason",
            "暂停",
            "--regulator",
            shenzhen.username,
        ),
        "registry_reason_required",
    )
    _one_line(_run("approve", *base, *scope, "--regulator", "nobody-here"), "user_not_found")
    with Session(engine) as s:
        row = s.get(Institution, inst.id)
        assert row is not None and row.registry_status is RegistryStatus.pending

    ok = _run("approve", *base, *scope, "--regulator", shenzhen.username)
    assert ok.exit_code == 0, ok.stderr
    assert json.loads(ok.stdout) == {
        "code": "NS001",
        "registry_status": "approved",
        "approved_scope": [
            {"occupation_code": "4-10-01-05", "level": "level5"},
            {"occupation_code": "6-31-01-03", "level": "level4"},
        ],
    }
    r = _run(
        "suspend",
        "--institution",
        "NS001",
        "--reason",
        "专项检查发现代学",
        "--regulator",
        shenzhen.username,
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["registry_status"] == "suspended"
    with Session(engine) as s:
        entries = s.exec(
            select(AuditEntry)
            .where(col(AuditEntry.chain) == chain_for(inst.id))
            .order_by(col(AuditEntry.seq))
        ).all()
    decided = [(e.action, e.actor) for e in entries if e.action.startswith("institution.registry.")]
    assert decided == [
        ("institution.registry.approved", f"user:{shenzhen.id}"),
        ("institution.registry.suspended", f"user:{shenzhen.id}"),
    ]
    assert json.loads(entries[-1].payload)["reason"] == "专项检查发现代学"

"""Cross-domain reactions are wired in one place (app/wiring.py), never by import side effects:
the list below is every subscription, in call order, and it is the same whatever was imported
first — whether a completion issues its certificate cannot depend on import order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import wiring

REPO = Path(__file__).resolve().parents[1]

EXPECTED = [
    (
        "app.accounts.consent.consent_withdrawn_hooks",
        "app.attendance.templates.on_consent_withdrawn",
    ),
    (
        "app.accounts.registration.institution_chosen_hooks",
        "app.attendance.review.on_institution_chosen",
    ),
    ("app.attendance.recording.event_recorded_hooks", "app.webhooks.events.on_attendance_recorded"),
    (
        "app.attendance.review.review_decided_hooks",
        "app.courses.rollcall.answers.on_review_decided",
    ),
    ("app.attendance.review.review_decided_hooks", "app.webhooks.events.on_review_decided"),
    ("app.courses.progress.completion_hooks", "app.certificates.service.auto_issue"),
    ("app.courses.progress.completion_hooks", "app.webhooks.events.on_completion"),
    ("app.courses.progress.completion_hooks", "app.exchange.service.on_completion"),
    ("app.courses.rollcall.rollcall_missed_hooks", "app.webhooks.events.on_rollcall_missed"),
    ("app.certificates.service.issued_hooks", "app.webhooks.events.on_certificate_issued"),
    ("app.certificates.service.issued_hooks", "app.exchange.service.on_certificate_issued"),
    ("app.certificates.service.revoked_hooks", "app.webhooks.events.on_certificate_revoked"),
    ("app.certificates.service.revoked_hooks", "app.claims.recovery.on_certificate_revoked"),
    ("app.certificates.service.revoked_hooks", "app.exchange.service.on_certificate_revoked"),
    ("app.courses.classes.class_opened_hooks", "app.exchange.service.on_class_opened"),
    ("app.courses.classes.class_closed_hooks", "app.exchange.service.on_class_closed"),
    ("app.courses.classes.class_move_checks", "app.filing.facts.refuse_move_of_filed_study"),
    ("app.filing.service.filed_hooks", "app.exchange.service.on_class_filing_filed"),
    ("app.filing.service.decided_hooks", "app.exchange.service.on_class_filing_decided"),
    ("app.claims.service.filed_hooks", "app.exchange.service.on_claim_filed"),
    ("app.claims.service.approved_hooks", "app.exchange.service.on_claim_approved"),
    ("app.claims.service.paid_hooks", "app.exchange.service.on_claim_paid"),
]


def test_the_subscriptions_are_these() -> None:
    wiring.wire()  # the test session is wired already (tests/conftest.py); wiring twice is a no-op
    assert wiring.subscriptions() == EXPECTED


_PROBE = """
import importlib, json, sys
import pytest

from app import wiring
for name in sys.argv[1:]:
    importlib.import_module(name)
before = wiring.subscriptions()
if "app.main" in sys.argv[1:]:
    sys.modules["app.main"].create_app()
else:
    wiring.wire()
print(json.dumps({"before": before, "after": wiring.subscriptions()}))
"""


def _probe(*modules: str) -> dict[str, list[list[str]]]:
    """Import ``modules`` in a fresh interpreter, in this order; what was subscribed, then what
    is after wire() (or, when app.main is among them, after create_app())."""
    out = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", _PROBE, *modules],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ).stdout
    result: dict[str, list[list[str]]] = json.loads(out)
    return result


def test_importing_subscribes_nothing_and_the_order_of_imports_changes_nothing() -> None:
    orders = [
        # What the API's webhook routes used to import first (it subscribed the webhooks).
        ("app.webhooks.events", "app.courses.study", "app.certificates.service"),
        # A command that only sweeps roll-calls: certificates never imported before wiring.
        ("app.courses.study",),
        # The app: create_app() wires.
        ("app.certificates.service", "app.main"),
    ]
    for modules in orders:
        seen = _probe(*modules)
        assert seen["before"] == [], modules
        assert [tuple(s) for s in seen["after"]] == EXPECTED, modules


def test_every_command_runs_wired(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import app as cli

    calls: list[str] = []
    monkeypatch.setattr(wiring, "wire", lambda: calls.append("wired"))
    # Any command (this one only reads a file, which is missing) runs the root callback first.
    result = CliRunner().invoke(cli, ["audit", "verify", str(tmp_path / "missing.ndjson")])
    assert calls == ["wired"], result.output

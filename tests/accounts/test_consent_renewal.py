"""Consent is given to one version of the text: when the text changes (v1 → v2 added 10–15 s
of streamed video and a presentation-attack model), earlier consent no longer covers face
checks until the person reads and accepts the new text. Their template and hours stay."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.accounts.consent import ConsentState, consent_state
from app.accounts.models import User
from app.attendance import challenges, checks
from app.attendance.exceptions import ConsentRenewalRequired
from app.config import get_settings
from app.db import transaction
from tests.factories import consent, csrf_of, login, make_institution, make_learner, sign_in

API = "/api/v1"
OLD = "2026-09"


def _consented_to(engine: Any, user: User, version: str) -> None:
    with transaction(engine) as s:
        row = s.get(User, user.id)
        assert row is not None
        row.biometric_consent, row.consent_version = True, version
        s.add(row)


def test_consent_to_an_earlier_text_no_longer_covers_face_checks(
    client: TestClient, engine: Any
) -> None:
    learner = make_learner(engine, make_institution(engine))
    h = login(client, learner.username)
    consent(client, h)  # the current text: checks open
    assert client.post(f"{API}/me/face/challenge", headers=h).status_code == 201
    status = client.get(f"{API}/me/consent", headers=h).json()
    assert status["state"] == "current" and status["version"] == status["current_version"]

    _consented_to(engine, learner, OLD)  # as everyone who agreed before v2
    with Session(engine) as s:
        row = s.get(User, learner.id)
        assert row is not None and consent_state(row) is ConsentState.outdated
    status = client.get(f"{API}/me/consent", headers=h).json()
    assert (status["state"], status["version"], status["current_version"]) == (
        "outdated",
        OLD,
        get_settings().consent_version,
    )
    # Face checks refuse with their own code and a message in words: over the API, and in
    # the service for the partners' burst challenges and the streamed checks alike.
    r = client.post(f"{API}/me/face/challenge", headers=h)
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["code"] == "consent_renewal_required", body
    assert "更新" in body["detail"] or "changed" in body["detail"], body
    with Session(engine) as s:
        row = s.get(User, learner.id)
        assert row is not None
        for open_one in (challenges.create_challenge, checks.open_check):
            with pytest.raises(ConsentRenewalRequired):
                open_one(s, row)

    # Accepting the new text again opens them.
    consent(client, h)
    assert client.get(f"{API}/me/consent", headers=h).json()["state"] == "current"
    assert client.post(f"{API}/me/face/challenge", headers=h).status_code == 201


def test_pages_ask_for_the_new_text_before_any_face_check(client: TestClient, engine: Any) -> None:
    learner = make_learner(engine, make_institution(engine))
    _consented_to(engine, learner, OLD)
    assert sign_in(client, learner.username).headers["location"] == "/consent"
    r = client.get("/face", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/consent")

    page = client.get("/consent")
    assert 'data-consent="outdated"' in page.text
    assert OLD in page.text and get_settings().consent_version in page.text
    assert 'id="consent-grant"' in page.text and "重新同意" in page.text
    assert 'id="consent-withdraw"' in page.text  # withdrawing stays possible

    r = client.post(
        "/consent", data={"csrf": csrf_of(page.text), "decision": "grant"}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get("/consent")
    assert 'data-consent="granted"' in page.text and 'id="consent-grant"' not in page.text
    assert client.get("/face", follow_redirects=False).status_code == 200


@pytest.mark.parametrize("version", [None, ""])
def test_consent_without_a_recorded_version_is_not_current(engine: Any, version: Any) -> None:
    learner = make_learner(engine, make_institution(engine))
    with transaction(engine) as s:
        row = s.get(User, learner.id)
        assert row is not None
        row.biometric_consent, row.consent_version = True, version
        s.add(row)
        assert consent_state(row) is ConsentState.outdated
        row.biometric_consent = False
        assert consent_state(row) is ConsentState.none

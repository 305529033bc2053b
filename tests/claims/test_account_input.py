"""The account number a learner types for a subsidy paid to them, as a Chinese input method
types it: full-width digits and hyphens, the ideographic space, are the same number; other
scripts' digits, control characters and formula-like text are refused with
``invalid_payee_account``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from app.accounts.principal import Principal
from app.claims import application
from app.claims.accounts import account_digits, mask_account
from app.claims.exceptions import CertificateClaimed, InvalidPayeeAccount
from app.claims.models import AccountKind, ClaimApplication
from app.db import transaction
from tests.claims.application_world import ACCOUNT, world
from tests.factories import login, wait_until_blocked

API = "/api/v1"


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    "typed",
    [
        ACCOUNT,
        f"{ACCOUNT[:4]} {ACCOUNT[4:8]}-{ACCOUNT[8:]}",
        _full_width(ACCOUNT),  # ６２１７…
        _full_width(f"{ACCOUNT[:4]}-{ACCOUNT[4:]}"),  # with a full-width hyphen
        f"{ACCOUNT[:4]}\u3000{ACCOUNT[4:]}",  # the ideographic space
    ],
)
def test_the_number_as_typed_is_the_same_number(typed: str) -> None:
    assert account_digits(typed) == ACCOUNT
    assert mask_account(account_digits(typed)) == ACCOUNT[:4] + "*" * 11 + ACCOUNT[-4:]


@pytest.mark.parametrize(
    "typed",
    [
        "".join(chr(0x0660 + int(c)) for c in ACCOUNT),  # Arabic-Indic digits
        ACCOUNT[:8] + "\u200b" + ACCOUNT[8:],  # a zero-width space inside
        ACCOUNT + "\x00",
        "=" + ACCOUNT,
        "+" + ACCOUNT,
        ACCOUNT[:-1] + "x",
        "1" * 10_000,
        "",
    ],
)
def test_anything_else_is_refused(typed: str) -> None:
    with pytest.raises(InvalidPayeeAccount):
        account_digits(typed)


def test_the_regulator_records_a_payment_to_an_account_in_ascii_digits_only(
    client: Any, engine: Any, clock: Any
) -> None:
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]
    hl = login(client, learner.username)
    r = client.post(
        f"{API}/me/certificates/{cert.serial}/subsidy-application",
        json={"account_kind": "social_security_card", "account": ACCOUNT, "declared_insured": True},
        headers=hl,
    )
    assert r.status_code == 201, r.text
    hr = login(client, w["reg"].username)
    (summary,) = client.get(f"{API}/claim-batches", headers=hr).json()
    (line,) = client.get(f"{API}/claim-batches/{summary['id']}", headers=hr).json()["lines"]
    review = {"decision": "approved"}
    assert client.post(f"{API}/claim-lines/{line['id']}/review", json=review, headers=hr).is_success
    assert client.post(f"{API}/claim-batches/{summary['id']}/approve", headers=hr).is_success
    clock.set(datetime(2026, 4, 12, 1, tzinfo=UTC))  # the 7-day notice is over
    hr = login(client, w["reg"].username)
    pay = {"amount_fen": 120_000, "paid_on": "2026-04-12", "line_id": line["id"]}
    url = f"{API}/claim-batches/{summary['id']}/payments"
    arabic = "".join(chr(0x0660 + int(c)) for c in "6217001234")  # isdigit() is true
    for n, account in enumerate((arabic, "²" * 12 + "\u200b", "=1+2" * 4)):
        r = client.post(url, json={**pay, "account": account, "reference": f"R{n}"}, headers=hr)
        assert r.status_code == 422, (account, r.text)
        assert r.json()["code"] in ("invalid_claim_input", "invalid_text"), r.text
    typed = _full_width("6217-0012-3456")  # a regulator's input method
    r = client.post(url, json={**pay, "account": typed, "reference": "SB-1"}, headers=hr)
    assert r.status_code == 201, r.text
    assert r.json()["account_masked"] == "6217" + "*" * 4 + "3456"


def test_two_applications_at_once_file_one_claim(engine: Any, clock: Any) -> None:
    """A double submit on two app nodes: the second looked before the first committed, then
    waited for the institution's lock; it is 409 ``certificate_already_claimed``, not a
    constraint's 500, and one claim exists."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite serialises whole transactions")
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]

    def apply(s: Session) -> None:
        application.apply_for_subsidy(
            s,
            Principal.of_user(learner),
            cert.serial,
            account_kind=AccountKind.social_security_card,
            account=ACCOUNT,
            declared_insured=True,
        )

    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with transaction(engine) as s:
                apply(s)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            outcome.append(exc)

    first = Session(engine, expire_on_commit=False)
    apply(first)  # filed, the institution's row locked, not yet committed
    thread = threading.Thread(target=second)
    thread.start()
    wait_until_blocked(engine, thread)  # until the second waits for the first
    first.commit()
    first.close()
    thread.join()
    assert len(outcome) == 1 and isinstance(outcome[0], CertificateClaimed), outcome
    with Session(engine) as s:
        assert len(s.exec(select(ClaimApplication)).all()) == 1

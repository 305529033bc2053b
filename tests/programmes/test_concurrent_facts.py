"""Two staff members confirm the same learner's group at the same moment (two app nodes): the
second looked before the first committed, so its insert meets the unique constraint; it then
replaces the first's confirmation, as if one came after the other — one row, both audited,
never a 500."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.db import transaction
from app.programmes import facts
from app.programmes.models import LearnerGroupFact
from tests.factories import (
    audit_actions,
    make_institution,
    make_learner,
    make_user,
    wait_until_blocked,
)


def test_two_confirmations_at_once_make_one_fact(engine: Any) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row and index locks: SQLite serialises whole transactions")
    inst = make_institution(engine, region="440305")
    learner = make_learner(engine, inst)
    staff = [Principal.of_user(make_user(engine, Role.staff, inst)) for _ in range(2)]

    def confirm(s: Session, who: Principal, number: str) -> None:
        facts.confirm_group(
            s,
            who,
            learner.id,
            group="ex_serviceman",
            evidence_kind="veteran_card",
            evidence_number=number,
        )

    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with transaction(engine) as s:
                confirm(s, staff[1], "粤退证 440300-0013")
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            outcome.append(exc)

    first = Session(engine, expire_on_commit=False)
    confirm(first, staff[0], "粤退证 440300-0012")  # inserted, not yet committed
    thread = threading.Thread(target=second)
    thread.start()
    wait_until_blocked(engine, thread)  # until the second waits for the first
    first.commit()
    first.close()
    thread.join()
    assert outcome == [None], outcome
    with Session(engine) as s:
        (fact,) = s.exec(select(LearnerGroupFact)).all()
        assert fact.evidence_number == "粤退证440300-0013"  # the later one, as in sequence
    assert audit_actions(engine, f"user:{learner.id}").count("learner.group_confirmed") == 2

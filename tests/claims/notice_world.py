"""A quarter's claim batch approved and in its public notice (公示): what the objection tests
(the per-address limit, the form sent twice) object to, and what the regional exchange sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.accounts.models import Institution, Role
from app.accounts.principal import Principal
from app.claims import service as claims
from app.claims.models import ClaimBatch, LineDecision
from app.clock import SHANGHAI
from app.db import transaction
from tests.factories import certified, make_institution, make_learner, make_user


def approved_quarter(engine: Any, clock: Any, inst: Institution) -> tuple[ClaimBatch, Principal]:
    """The institution's current quarter filed by its staff, every line and the batch approved
    by a (national) regulator, so in its public notice: the batch and the regulator."""
    staff = Principal.of_user(make_user(engine, Role.staff, inst))
    reg = Principal.of_user(make_user(engine, Role.regulator))
    today = clock.now().astimezone(SHANGHAI)
    with transaction(engine) as s:
        batch = claims.file_quarter(s, staff, year=today.year, quarter=(today.month - 1) // 3 + 1)
        for line in claims.lines_of(s, batch):
            claims.review_line(s, reg, line.id, decision=LineDecision.approved)
        claims.approve_batch(s, reg, batch.id)
        return batch, reg


def batch_in_notice(engine: Any, clock: Any) -> str:
    """The id of a batch of one certified learner's line, approved and in notice."""
    clock.set(datetime(2026, 5, 12, 2, tzinfo=UTC))
    inst = make_institution(engine)
    certified(engine, make_learner(engine, inst, real_name="王小明"), inst)
    return str(approved_quarter(engine, clock, inst)[0].id)

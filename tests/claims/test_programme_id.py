"""Each claim line names its programme — one id across the versions of the regulator's
standard (the first version of its series) — beside the version its amount came from; the
programme is frozen into the line's hash like everything else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.claims import service as claims
from app.db import transaction
from app.programmes import standards
from app.programmes.models import SubsidyStandard
from tests.factories import certified, login, make_institution, make_learner, make_user


def test_lines_name_the_programme_across_standard_versions(
    client: Any, engine: Any, clock: Any
) -> None:
    clock.set(datetime(2026, 2, 10, 2, tzinfo=UTC))
    inst = make_institution(engine)
    first = certified(engine, make_learner(engine, inst, real_name="王小明"), inst)
    regulator = make_user(engine, Role.regulator)
    with transaction(engine) as s:
        newer = standards.set_standard(
            s,
            Principal.of_user(s.merge(regulator)),
            occupation_code=first.occupation_code,
            occupation_name=first.occupation_name,
            level=first.level.value,
            amount_fen=160_000,
            effective_from=date(2026, 3, 1),
        )
        newer_id = newer.id
    clock.set(datetime(2026, 3, 10, 2, tzinfo=UTC))
    second = certified(engine, make_learner(engine, inst, real_name="李华"), inst)
    with Session(engine) as s:
        (v1,) = s.exec(
            select(SubsidyStandard).where(SubsidyStandard.id == first.subsidy_standard_id)
        ).all()
        assert v1.version == 1 and second.subsidy_standard_id == newer_id
    staff = make_user(engine, Role.staff, inst)
    clock.set(datetime(2026, 4, 2, 2, tzinfo=UTC))
    with transaction(engine) as s:
        batch = claims.file_quarter(s, Principal.of_user(s.merge(staff)), year=2026, quarter=1)
        batch_id = batch.id
    with Session(engine) as s:
        batch = s.get_one(type(batch), batch_id)
        lines = claims.lines_of(s, batch)
        assert [(x.standard_version_id, x.programme_id) for x in lines] == [
            (v1.id, v1.id),
            (newer_id, v1.id),
        ]
        assert claims.verify_frozen(s, batch) == []  # the programme is part of the frozen line
    api = client.get(
        f"/api/v1/claim-batches/{batch_id}", headers=login(client, staff.username)
    ).json()
    assert {x["programme_id"] for x in api["lines"]} == {str(v1.id)}

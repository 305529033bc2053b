"""A learner with a certificate whose occupation and level a programme paying individuals
(参保职工技能提升补贴) covers in the institution's region: the world the application tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from stdnum import luhn

from app.accounts.models import Role
from app.db import transaction
from app.programmes.models import (
    CertificateKind,
    ProgrammeKind,
    StandardStatus,
    SubsidyStandard,
)
from tests.factories import certified, make_institution, make_learner, make_user

BODY = "621700123456789012"
ACCOUNT = BODY + luhn.calc_check_digit(BODY)  # a 19-digit card number with its check digit


def individual_standard(
    engine: Any, cert: Any, *, amount_fen: int = 120_000, region: str = "440300"
) -> SubsidyStandard:
    """The region's 参保职工技能提升补贴 standard for the certificate's occupation and level."""
    with transaction(engine) as s:
        row = SubsidyStandard(
            region_code=region,
            occupation_code=cert.occupation_code,
            occupation_name=cert.occupation_name,
            level=cert.level.value,
            certificate_kind=CertificateKind.training_certificate,
            programme_kind=ProgrammeKind.insured_upgrading,
            amount_fen=amount_fen,
            effective_from=date(2000, 1, 1),
            version=1,
            status=StandardStatus.in_force,
            created_by="system:test",
        )
        s.add(row)
        s.flush()
        return row


def world(engine: Any, clock: Any, names: tuple[str, ...] = ("王小明",)) -> dict[str, Any]:
    inst = make_institution(engine, "SZA017", region="440305", name="南山职业技能培训学校")
    clock.set(datetime(2026, 2, 10, 2, tzinfo=UTC))
    learners = [make_learner(engine, inst, real_name=n) for n in names]
    certs = [certified(engine, x, inst, subsidy_fen=150_000) for x in learners]
    standard = individual_standard(engine, certs[0])
    clock.set(datetime(2026, 4, 2, 1, tzinfo=UTC))
    return {
        "inst": inst,
        "learners": learners,
        "certs": certs,
        "standard": standard,
        "staff": make_user(engine, Role.staff, inst),
        "reg": make_user(engine, Role.regulator, jurisdiction="440300"),
    }

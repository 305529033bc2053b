"""A learner's own subsidy application (全程网办) in the demo: a week before today the provincial
regulator puts in force the 参保职工技能提升补贴 standard (paid to the insured employee) for the
occupation and level of the latest valid certificate no quarter claimed; its learner applies
from the certificate page the next day with their social security card's account; the regulator
approves the line and the batch two days later, so today it is in its public notice (公示)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select
from stdnum import luhn

from app.accounts.models import User
from app.accounts.principal import Principal
from app.certificates.models import Certificate, CertificateStatus
from app.claims import application
from app.claims import service as claims
from app.claims.models import AccountKind, ClaimBatch, ClaimLine, LineDecision
from app.demo.timeline import Timeline
from app.errors import DomainError
from app.programmes import standards
from app.programmes.models import ProgrammeKind

#: A 19-digit social security card account number, its last digit the Luhn check digit.
ACCOUNT = "621700287001234567" + luhn.calc_check_digit("621700287001234567")
#: What the programme pays per certificate, in fen (Guangdong pays 1,000–2,000 yuan by level).
AMOUNT_FEN = 150_000


def plan_application(
    session: Session, timeline: Timeline, provincial: User, start: datetime
) -> None:
    """The standard at ``start``, the application a day later, the approval two days after."""
    serial: list[str] = []
    batch_id: list[uuid.UUID] = []

    def publish() -> None:
        cert = _candidate(session)
        if cert is None:  # a history too short to certify anyone: nothing to apply for
            return
        standards.set_standard(
            session,
            Principal.of_user(provincial),
            occupation_code=cert.occupation_code,
            occupation_name=cert.occupation_name,
            level=cert.level.value,
            amount_fen=AMOUNT_FEN,
            effective_from=date(2025, 1, 1),
            programme_kind=ProgrammeKind.insured_upgrading,
            note="演示：广东省参保职工技能提升补贴标准（失业保险基金列支，个人申领）",
        )
        serial.append(cert.serial)

    def apply() -> None:
        if not serial:
            return
        cert = session.exec(select(Certificate).where(col(Certificate.serial) == serial[0])).one()
        learner = session.get_one(User, cert.user_id)
        try:
            with session.begin_nested():
                batch = application.apply_for_subsidy(
                    session,
                    Principal.of_user(learner),
                    cert.serial,
                    account_kind=AccountKind.social_security_card,
                    account=ACCOUNT,
                    declared_insured=True,
                )
        except DomainError:  # not eligible under the programme's rules: no application
            return
        batch_id.append(batch.id)

    def approve() -> None:
        if not batch_id:
            return
        regulator = Principal.of_user(provincial)
        for line in claims.lines_of(session, session.get_one(ClaimBatch, batch_id[0])):
            claims.review_line(session, regulator, line.id, decision=LineDecision.approved)
        claims.approve_batch(session, regulator, batch_id[0])

    timeline.at(start, publish)
    timeline.at(start + timedelta(days=1, hours=3), apply)
    timeline.at(start + timedelta(days=3, hours=1), approve)


def _candidate(session: Session) -> Certificate | None:
    """The latest valid certificate no claim line holds."""
    claimed = select(ClaimLine.certificate_id).where(col(ClaimLine.certificate_id).is_not(None))
    return session.exec(
        select(Certificate)
        .where(
            col(Certificate.status) == CertificateStatus.valid,
            col(Certificate.id).not_in(claimed),
        )
        .order_by(col(Certificate.issued_at).desc())
        .limit(1)
    ).first()

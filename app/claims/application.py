"""A learner's own subsidy application (全程网办), where the programme pays the individual.

Where a programme pays the learner rather than the institution (app/programmes/kinds.py: the
skill-upgrading subsidy for insured employees, 参保职工技能提升补贴), nobody files a quarter for
it: the learner applies from the certificate page, giving the account it is to be paid to (their
social security card's financial account or their own debit card, checked by its Luhn digit,
kept encrypted, shown masked). The application files a batch of one frozen line paid to the
learner (``period_kind="application"``), decided by the same rules as any line with the
programme's own standard in force on the issue date; from there the regulator reviews, approves,
publishes and pays it like any batch, and the learner follows it (:func:`learner_claims`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.certificates import service as certificates
from app.certificates import subsidy
from app.certificates.models import Certificate, CertificateStatus
from app.claims.accounts import ACCOUNT_PURPOSE, account_digits, mask_account
from app.claims.common import _line_for
from app.claims.exceptions import (
    CertificateClaimed,
    DeclarationRequired,
    InvalidPayeeAccount,
    NoIndividualProgramme,
    NotEligible,
)
from app.claims.filing import _finish_filing, _new_batch
from app.claims.models import (
    AccountKind,
    ClaimApplication,
    ClaimBatch,
    ClaimLine,
    Payee,
)
from app.claims.reading import LearnerClaim, learner_claims
from app.clock import SHANGHAI
from app.crypto import encrypt
from app.errors import Forbidden
from app.filing import facts as filing_facts
from app.programmes import eligibility, standards
from app.programmes.kinds import PAYS_INDIVIDUAL, PROGRAMME_NAMES_ZH
from app.validation import check_text

__all__ = [
    "Offer",
    "apply_for_subsidy",
    "offer",
]

BANK_NAME_CHARS = 64


# ---------------------------------------------------------------- what the page offers


@dataclass(frozen=True)
class Offer:
    """What a programme paying individuals offers for a certificate, and whether its learner
    may apply now (``refusal``: why not, as an error the page and the API show alike)."""

    certificate: Certificate
    standard: standards.InForce
    programme_name: str
    decision: subsidy.Decision
    claim: LearnerClaim | None
    refusal: NotEligible | CertificateClaimed | None

    @property
    def can_apply(self) -> bool:
        return self.refusal is None


def _individual_standard(session: Session, cert: Certificate) -> standards.InForce | None:
    """The standard in force on the issue date of a programme that pays individuals, for the
    certificate's occupation and level in its institution's region."""
    institution = session.get(Institution, cert.institution_id)
    if institution is None:  # pragma: no cover - a foreign key guarantees it
        return None
    day = cert.issued_at.astimezone(SHANGHAI).date()
    for kind in sorted(PAYS_INDIVIDUAL):
        found = standards.standard_in_force(
            session, institution, cert.occupation_code, cert.level.value, day, kind
        )
        if found is not None:
            return found
    return None


def _decision(session: Session, cert: Certificate, found: standards.InForce) -> subsidy.Decision:
    """Every rule's outcome as if the certificate had been paid from the programme's own
    standard (the one it recorded is the institution's programme): the same rules engine, with
    the programme's rules as data (groups, ages, residence, yearly limit) and its amount."""
    s = found.standard
    as_programme = Certificate(
        **cert.model_dump(
            exclude={
                "subsidy_standard_id",
                "subsidy_standard_version",
                "subsidy_region_code",
                "subsidy_fen",
            }
        ),
        subsidy_standard_id=s.id,
        subsidy_standard_version=s.version,
        subsidy_region_code=s.region_code,
        subsidy_fen=found.amount_fen,
    )
    mine = session.exec(select(Certificate).where(col(Certificate.user_id) == cert.user_id)).all()
    group = [as_programme if c.id == cert.id else c for c in mine]
    facts = eligibility.load(session, [cert.user_id], [c.subsidy_standard_id for c in group])
    filings = filing_facts.facts_for(session, group)
    return subsidy.evaluate(group, facts=facts, filings=filings)[cert.id]


def _claimed(session: Session, cert: Certificate) -> bool:
    return (
        session.exec(
            select(ClaimLine.id).where(col(ClaimLine.certificate_id) == cert.id).limit(1)
        ).first()
        is not None
    )


def _own_certificate(session: Session, principal: Principal, serial: str) -> Certificate:
    if principal.user is None or principal.role is not Role.learner:
        raise Forbidden("Learners apply for their own subsidies.")
    cert = certificates.get_certificate(session, principal, serial)
    if cert.user_id != principal.user.id:
        raise Forbidden("Learners apply for their own subsidies.")
    return cert


def offer(session: Session, principal: Principal, serial: str) -> Offer:
    """What the certificate page (and ``GET /me/certificates/{serial}/subsidy-application``)
    shows the learner; :class:`NoIndividualProgramme` where no programme pays individuals."""
    cert = _own_certificate(session, principal, serial)
    found = _individual_standard(session, cert)
    if found is None:
        raise NoIndividualProgramme()
    decision = _decision(session, cert, found)
    claim = next((c for c in learner_claims(session, principal) if c.serial == cert.serial), None)
    refusal: NotEligible | CertificateClaimed | None = None
    if claim is not None or _claimed(session, cert):
        refusal = CertificateClaimed()
    elif cert.status is not CertificateStatus.valid or not decision.eligible:
        refusal = NotEligible(decision.summary(), refused_by=decision.refused_by)
    return Offer(
        certificate=cert,
        standard=found,
        programme_name=PROGRAMME_NAMES_ZH[found.standard.programme_kind],
        decision=decision,
        claim=claim,
        refusal=refusal,
    )


# ---------------------------------------------------------------- applying


def apply_for_subsidy(
    session: Session,
    principal: Principal,
    serial: str,
    *,
    account_kind: AccountKind,
    account: str,
    bank_name: str | None = None,
    declared_insured: bool = False,
) -> ClaimBatch:
    """File the learner's application: a batch of one frozen line paid to the learner, with
    the account kept encrypted beside it; audited (``claim.filed``) in the same transaction."""
    found = offer(session, principal, serial)
    if found.refusal is not None:
        raise found.refusal
    if not declared_insured:
        raise DeclarationRequired("Confirm the insurance condition.", field="declared_insured")
    digits = account_digits(account)
    bank = check_text(bank_name or "", field="bank_name", required=False) or None
    if bank is not None and len(bank) > BANK_NAME_CHARS:
        raise InvalidPayeeAccount(f"bank_name: at most {BANK_NAME_CHARS} characters.")
    cert = found.certificate
    institution = session.get(Institution, cert.institution_id, with_for_update=True)
    learner = session.get(User, cert.user_id)
    if institution is None or learner is None:  # pragma: no cover - foreign keys
        raise Forbidden()
    # Every claim of the institution's certificates (this one, a double submit, its quarter's
    # batch) files under this lock: looked at again under it, a second filing is a clean 409.
    if _claimed(session, cert):
        raise CertificateClaimed()
    actor = principal.actor
    batch = _new_batch(session, institution, actor, period_kind="application", payee=Payee.learner)
    standard = found.standard.standard
    line = _line_for(batch, 1, cert, learner, found.decision, standard_id=standard.id)
    masked = mask_account(digits)
    application = ClaimApplication(
        batch_id=batch.id,
        line_id=line.id,
        user_id=learner.id,
        certificate_id=cert.id,
        account_kind=account_kind,
        account_enc=encrypt(ACCOUNT_PURPOSE, digits.encode()),
        account_masked=masked,
        bank_name=bank,
        declared_insured=True,
    )
    _finish_filing(
        session,
        batch,
        [line],
        actor,
        application={
            "application_id": str(application.id),
            "programme_kind": standard.programme_kind.value,
            "standard_id": str(standard.id),
            "account_kind": account_kind.value,
            "account_masked": masked,
            "declared_insured": True,
        },
    )
    session.add(application)
    session.flush()
    return batch

"""The account a learner gives for a subsidy paid to them: checked, kept encrypted, shown
masked; and the learner's application a batch was filed from (app/claims/application.py)."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select
from stdnum import luhn

from app.claims.exceptions import InvalidPayeeAccount
from app.claims.models import ClaimApplication, ClaimBatch
from app.crypto import decrypt
from app.validation import digit_string

__all__ = [
    "ACCOUNT_PURPOSE",
    "account_digits",
    "application_of",
    "mask_account",
    "payee_account",
]

#: The encryption purpose of the learner's account number.
ACCOUNT_PURPOSE = "payee_account"
BANK_NAME_CHARS = 64


# ---------------------------------------------------------------- the account


def mask_account(digits: str) -> str:
    """An account number as views show it: the first and last four digits."""
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def account_digits(raw: str) -> str:
    """The account number as typed (spaces and hyphens between groups allowed, full-width
    digits as an input method types them), checked: 16 to
    19 digits with a valid Luhn check digit, as every social security card's financial account
    and debit card number (ISO/IEC 7812) has; else :class:`InvalidPayeeAccount`."""
    digits = digit_string(raw, separators="-") or ""
    if not 16 <= len(digits) <= 19:
        raise InvalidPayeeAccount("The account number has 16 to 19 digits.", field="account")
    if not luhn.is_valid(digits):
        raise InvalidPayeeAccount(
            "The account number's check digit is wrong: a digit is mistyped.", field="account"
        )
    return digits


def application_of(session: Session, batch: ClaimBatch) -> ClaimApplication | None:
    if batch.period_kind != "application":
        return None
    return session.exec(
        select(ClaimApplication).where(col(ClaimApplication.batch_id) == batch.id)
    ).one_or_none()


def payee_account(session: Session, batch: ClaimBatch, line_id: uuid.UUID) -> str | None:
    """The account the learner gave for this line of their application (for the payment)."""
    app = application_of(session, batch)
    if app is None or app.line_id != line_id:
        return None
    return decrypt(ACCOUNT_PURPOSE, app.account_enc).decode()

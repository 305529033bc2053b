"""The account number a learner types for a subsidy paid to them, as a Chinese input method
types it: full-width digits and hyphens, the ideographic space, are the same number; other
scripts' digits, control characters and formula-like text are refused with
``invalid_payee_account``."""

from __future__ import annotations

import pytest

from app.claims.accounts import account_digits, mask_account
from app.claims.exceptions import InvalidPayeeAccount
from tests.claims.application_world import ACCOUNT


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

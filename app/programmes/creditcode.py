"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from the
31-character set (digits and capitals without I, O, S, V, Z): registration authority (1),
organisation category (1), the registering region's GB/T 2260 code (6), the organisation code
(9, GB 11714) and a check character over the first 17 (weights 3^(i-1) mod 31)."""

from __future__ import annotations

from app.programmes.exceptions import InvalidCreditCode
from app.validation import normalise_identifier

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(raw: str) -> str:
    """The code in capitals (full-width folded), or 422 ``invalid_credit_code`` saying which
    part is wrong: length, a character outside the set, the region digits, the check."""
    code = normalise_identifier(raw, upper=True)
    if len(code) != 18:
        raise InvalidCreditCode(f"A credit code has 18 characters, not {len(code)}.")
    bad = sorted({c for c in code if c not in ALPHABET})
    if bad:
        raise InvalidCreditCode(
            f"{''.join(bad)!r} cannot appear in a credit code (digits and capitals without "
            "I, O, S, V, Z)."
        )
    if not code[2:8].isdigit():
        raise InvalidCreditCode("Characters 3-8 are the registering region's 6-digit code.")
    if check_character(code[:17]) != code[17]:
        raise InvalidCreditCode("The last character does not match the check character.")
    return code

"""Resident identity card numbers (GB 11643-1999).

18 characters: 6-digit address code, 8-digit birth date (YYYYMMDD), 3-digit sequence (odd for
men, even for women), and a check character computed with ISO 7064 MOD 11-2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from app.validation import normalise_identifier

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # index = weighted sum mod 11
# ASCII digits only: ``\d`` would also match full-width and other scripts' digits, and
# ``int()`` reads them, so one person's number could be spelled (and indexed) twice.
_FORMAT = re.compile(r"[1-9][0-9]{16}[0-9X]", re.ASCII)
# First digit of the address code: 1-6 are the six regions; 7, 8 Taiwan / HK / Macao residence
# permits, 9 foreigners' permanent residence card (外国人永久居留身份证, 2023 format).
_MIN_BIRTH = date(1900, 1, 1)


class InvalidIdNumber(ValueError):
    """The ID number is malformed; ``reason`` says which check failed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class IdNumber:
    value: str  # normalised, uppercase X
    birth_date: date
    sex: str  # "M" or "F"

    @property
    def masked(self) -> str:
        """First 6 and last 4 characters, the form that may leave the server."""
        return mask(self.value)


def check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def mask(value: str) -> str:
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def normalise(raw: str) -> str:
    """The canonical spelling of an ID number as typed (not yet validated)."""
    return normalise_identifier(raw, upper=True)


def parse(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate and normalise an 18-character ID number or raise :class:`InvalidIdNumber`.

    Normalised first (NFKC: full-width digits and X fold to ASCII; spaces dropped; x upper-cased),
    so every spelling of one number gives the same value, the one that is indexed and stored.
    """
    value = normalise(raw)
    if not _FORMAT.fullmatch(value):
        raise InvalidIdNumber("format")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("birth_date") from None
    today = today or date.today()  # noqa: DTZ011 - a calendar date, the learner's own
    if birth > today or birth < _MIN_BIRTH:
        raise InvalidIdNumber("birth_date")
    if check_char(value[:17]) != value[17]:
        raise InvalidIdNumber("check_digit")
    return IdNumber(value=value, birth_date=birth, sex="M" if int(value[16]) % 2 else "F")

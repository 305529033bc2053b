"""The unified social credit code validator (GB 32100-2015 check character)."""

from __future__ import annotations

import pytest

from app.programmes import creditcode
from app.programmes.exceptions import InvalidCreditCode


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("91350100M000100Y43", "91350100M000100Y43"),
        ("91110000600037341L", "91110000600037341L"),
        ("91440300708461136t", "91440300708461136T"),  # lower case folded
        ("９１４４０３００７０８４６１１３６Ｔ", "91440300708461136T"),  # full width folded
        (" 9135 0100 M000 100Y 43 ", "91350100M000100Y43"),  # spaces dropped
    ],
)
def test_valid_codes(raw: str, code: str) -> None:
    assert creditcode.normalise(raw) == code


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("91350100M000100Y4", "18 characters"),  # too short
        ("91350100M000100Y433", "18 characters"),  # too long
        ("91350100M000100I43", "cannot appear"),  # I is not in the set
        ("91350100O000100Y43", "cannot appear"),  # nor O
        ("9135010-M000100Y43", "cannot appear"),  # punctuation
        ("913501A0M000100Y43", "region"),  # the region part has a letter
        ("91350100M000100Y44", "check character"),  # wrong check character
        ("91350100M000100Y34", "check character"),  # two characters swapped
    ],
)
def test_invalid_codes_say_why(raw: str, why: str) -> None:
    with pytest.raises(InvalidCreditCode) as err:
        creditcode.normalise(raw)
    assert why in err.value.detail


def test_the_check_character_is_the_standards_weighting() -> None:
    assert creditcode.WEIGHTS[:5] == (1, 3, 9, 27, 19) and len(creditcode.ALPHABET) == 31
    assert creditcode.check_character("91350100M000100Y4") == "3"

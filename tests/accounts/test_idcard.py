from datetime import date

import pytest

from app.accounts import idcard


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the standard's own example, check character X
        "11010519491231002x",  # lowercase x is accepted and normalised
        "440524198001010013",
        "110105199003071239",
    ],
)
def test_valid_numbers(number: str) -> None:
    parsed = idcard.parse(number, today=date(2026, 11, 22))
    assert parsed.value == number.upper()
    assert parsed.masked == number.upper()[:6] + "********" + number.upper()[-4:]


def test_birth_date_and_sex_are_read() -> None:
    parsed = idcard.parse("11010519491231002X", today=date(2026, 1, 1))
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"  # 17th digit 2 is even


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "format"),
        ("1101051949123100", "format"),  # too short
        ("1101051949123100200", "format"),  # too long
        ("11010519491231002Y", "format"),  # not a digit or X
        ("01010519491231002X", "format"),  # address code cannot start with 0
        ("11010519490230002X", "birth_date"),  # 30 February
        ("110105194913310027", "birth_date"),  # month 13
        ("110105203001010010", "birth_date"),  # born in the future
        ("110105185001010010", "birth_date"),  # before 1900
        ("110105194912310021", "check_digit"),  # last character wrong
        ("110105199003071230", "check_digit"),
    ],
)
def test_invalid_numbers(number: str, reason: str) -> None:
    with pytest.raises(idcard.InvalidIdNumber) as info:
        idcard.parse(number, today=date(2026, 11, 22))
    assert info.value.reason == reason


def test_check_char_table() -> None:
    # S mod 11 = 0..10 maps to 1 0 X 9 8 7 6 5 4 3 2
    assert idcard.check_char("11010519491231002") == "X"
    assert idcard.check_char("44052419800101001") == "3"

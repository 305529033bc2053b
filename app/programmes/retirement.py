"""Statutory retirement ages as data: the schedules of the 2025 gradual reform (全国人大常委会
关于实施渐进式延迟法定退休年龄的决定) by birth month and sex, in
app/programmes/data/retirement_ages.json, and the named rules a programme may set
(``retirement_rule`` on a subsidy standard). Changing an age is a data change, not a code one.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

_DATA = Path(__file__).with_name("data") / "retirement_ages.json"


@cache
def retirement_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_DATA.read_text(encoding="utf-8"))
    return data


def retirement_rules() -> dict[str, str]:
    """Rule key → its Chinese name (for pickers and validation)."""
    return {k: v["name_zh"] for k, v in retirement_data()["rules"].items()}


def _add_months(d: date, months: int) -> date:
    total = d.year * 12 + d.month - 1 + months
    year, month = divmod(total, 12)
    day = min(d.day, _month_days(year, month + 1))
    return date(year, month + 1, day)


def _month_days(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - date(year, month, 1)).days


def retirement_age_months(birth: date, sex: str, rule: str) -> int:
    """The statutory retirement age in months for someone born on ``birth`` (sex ``M``/``F``)
    under a named rule: the base age, plus one month for every ``every_months`` months of birth
    from the first delayed birth month on, up to ``max_extra_months``."""
    schedule = retirement_data()["schedules"][retirement_data()["rules"][rule][sex]]
    year, month = (int(x) for x in schedule["first_delayed_birth_month"].split("-"))
    since = (birth.year - year) * 12 + (birth.month - month)
    extra = (
        0 if since < 0 else min(schedule["max_extra_months"], since // schedule["every_months"] + 1)
    )
    return int(schedule["base_years"]) * 12 + extra


def retirement_date(birth: date, sex: str, rule: str) -> date:
    return _add_months(birth, retirement_age_months(birth, sex, rule))


def age_on(birth: date, day: date) -> int:
    """Whole years of age on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def years_months(months: int) -> tuple[str, str]:
    y, m = divmod(months, 12)
    return (f"{y} years" + (f" {m} months" if m else ""), f"{y} 周岁" + (f"{m} 个月" if m else ""))

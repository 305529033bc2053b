"""Durations on forms: a number and a unit (秒, 分钟, 小时), never raw seconds.

The API keeps seconds (its contract); only the pages convert. A stored duration is shown in the
largest unit that divides it exactly (600 s → 10 分钟, 90 s → 90 秒), and what staff type is
read back as whole seconds: ``1.5`` 分钟 is 90 s, ``0.3`` 秒 is refused (not a whole second).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from app.validation import normalise_identifier

#: Unit → seconds, largest first (the order the pages offer them in).
UNITS = {"h": 3600, "min": 60, "s": 1}
#: The words of a unit on the pages (translated through the catalogue).
UNIT_NAMES = {"s": "秒", "min": "分钟", "h": "小时"}
#: "%d <unit>" for rule texts such as "5 秒至 24 小时".
UNIT_AMOUNTS = {"s": "%s 秒", "min": "%s 分钟", "h": "%s 小时"}

_NUMBER = re.compile(r"[0-9]{1,7}(\.[0-9]{1,3})?", re.ASCII)


def split(seconds: int) -> tuple[str, str]:
    """(number, unit) of a stored duration: the largest unit that divides it exactly."""
    for unit, size in UNITS.items():
        if seconds and seconds % size == 0:
            return str(seconds // size), unit
    return str(seconds), "s"


def parse(number: str, unit: str) -> int | None:
    """Whole seconds of a typed number and unit (full-width digits fold), or None when it is
    not a number, names no unit, or is not a whole number of seconds."""
    size = UNITS.get(unit.strip())
    text = normalise_identifier(number).replace("．", ".")
    if size is None or not _NUMBER.fullmatch(text):
        return None
    try:
        value = Decimal(text) * size
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None
    if value != value.to_integral_value():
        return None
    return int(value)


@dataclass(frozen=True)
class Duration:
    """A bound in a rule's text, said in words in the page's language (5 秒, 24 小时)."""

    seconds: int

    def words(self, t: Any) -> str:
        number, unit = split(self.seconds)
        return str(t(UNIT_AMOUNTS[unit])) % number

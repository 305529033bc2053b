"""RFC 3339 times and days in query parameters: the one place they are parsed.

``date-time`` is RFC 3339 §5.6 exactly — ``2026-01-05T08:30:00Z``, ``…T08:30:00.25+08:00`` —
with its offset required; ``full-date`` is ``YYYY-MM-DD``. Anything else (``0.5``, a Unix
timestamp, ``2026-01-05``, a time without offset, full-width digits) is refused: the framework's
own ``datetime``/``date`` types accept numbers and ISO 8601 variants that RFC 3339 does not.

Use :data:`DateTime` / :data:`Date` as the type of a query parameter (the API answers 422
``validation_error`` as for any invalid parameter; OpenAPI keeps ``format: date-time`` /
``date``), or :func:`parse_datetime` / :func:`parse_date` for text from a form.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator

_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_FULL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


def parse_datetime(value: str) -> datetime:
    """An RFC 3339 date-time, as an aware datetime in UTC; ValueError otherwise."""
    m = _DATE_TIME.fullmatch(value)
    if m is None:
        raise ValueError("not an RFC 3339 date-time such as 2026-01-05T08:30:00Z")
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    if z:
        tz = UTC
    else:
        if int(oh) > 23 or int(om) > 59:
            raise ValueError("the UTC offset is out of range")
        offset = timedelta(hours=int(oh), minutes=int(om))
        tz = timezone(-offset if sign == "-" else offset)
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        t = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=tz)
        return t.astimezone(UTC)
    except (ValueError, OverflowError):  # 30 February; 0001-01-01T00:00:00+01:00 in UTC
        raise ValueError("not a valid date and time") from None


def parse_date(value: str) -> date:
    """An RFC 3339 full-date (``YYYY-MM-DD``); ValueError otherwise."""
    m = _FULL_DATE.fullmatch(value)
    if m is None:
        raise ValueError("not an RFC 3339 full-date such as 2026-01-05")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError("not a valid date") from None


def _datetime(value: Any) -> Any:
    if isinstance(value, datetime):  # set in code, not read from a request
        return value
    if not isinstance(value, str):
        raise ValueError("an RFC 3339 date-time is text")  # noqa: TRY004 - pydantic wants it
    return parse_datetime(value)


def _date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("an RFC 3339 full-date is text")  # noqa: TRY004 - pydantic wants it
    return parse_date(value)


#: A query parameter holding an RFC 3339 date-time (offset required), in UTC.
DateTime = Annotated[datetime, BeforeValidator(_datetime)]
#: A query parameter holding an RFC 3339 full-date.
Date = Annotated[date, BeforeValidator(_date)]

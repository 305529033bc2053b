"""Offset paging and text search for the lists people read (staff, regulators, admins).

One shape for every list: :class:`Page` (the items of one page, the total they were cut from,
"page 3 of 7"), :func:`bounds` (a page number and size clamped to what a list serves) and
:func:`like` (a search term as a LIKE pattern that matches it literally). The pages validate
what was typed (app/web/listing.py); the domains' list queries take the checked values and
return a :class:`Page`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

PER_PAGE = 20
MAX_PER_PAGE = 100
#: Page numbers beyond this are refused by the pages (nobody reads page 10,001).
MAX_PAGE = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with the total it was cut from."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def bounds(page: int, per_page: int = PER_PAGE) -> tuple[int, int]:
    """(page, per_page) clamped: page at least 1, per_page within 1..MAX_PER_PAGE."""
    return max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)


def like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere (its ``%``, ``_`` and ``\\`` literally; use
    with ``escape="\\\\"``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

"""Search, filters and paging of the lists on the pages, read from the query string and checked.

Every list page declares what it filters by (:class:`ListSpec`: a search box, named selects
such as course and status, a date range) and reads the request with :func:`read`. What was
typed is checked here, once for all lists: a search of at most 100 characters, a select's value
among its options, dates as ``2026-12-03`` with the start not after the end, a page number
from 1 to 10,000. A bad value is dropped (the list shows as if it were not given) and named in
words beside the form, with status 400, never a 500. The list queries in the domains take the
checked values and return an :class:`app.paging.Page`; ``templates/_listing.html`` draws the
form and the pager for every list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from app.clock import SHANGHAI
from app.paging import MAX_PAGE

SEARCH_CHARS = 100
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_PAGE = re.compile(r"[0-9]{1,6}", re.ASCII)

#: What is wrong with a value, by kind (Chinese is the source; the catalogue translates).
ERRORS = {
    "q": "搜索内容不能超过 %d 个字。",
    "select": "“%s”的值不在列表中，已忽略。请从下拉列表中选择。",
    "date": "“%s”应为日期，例如 2026-12-03，已忽略。",
    "range": "开始日期不能晚于结束日期，日期条件已忽略。",
    "page": "页码应为 1–%d 之间的整数，已显示第 1 页。",
}


@dataclass(frozen=True)
class Select:
    """A named filter with a fixed list of values: value → the words shown (translated);
    ``blank``: the words of no choice (default 全部)."""

    label: str
    options: Mapping[str, str]
    blank: str = ""


@dataclass(frozen=True)
class ListSpec:
    """What a list filters by. ``search``: the search box's hint (empty: no search box);
    ``dates``: the date range's label (empty: no dates), e.g. 报名日期."""

    search: str = ""
    selects: Mapping[str, Select] = field(default_factory=dict)
    dates: str = ""


@dataclass(frozen=True)
class ListQuery:
    """The checked filters of one request and the page asked for."""

    q: str = ""
    selected: Mapping[str, str] = field(default_factory=dict)
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def get(self, name: str) -> str:
        return self.selected.get(name, "")

    @property
    def filtered(self) -> bool:
        return bool(self.q or any(self.selected.values()) or self.date_from or self.date_to)

    def params(self, **over: Any) -> dict[str, str]:
        """The query string's parameters (empty ones left out), with ``over`` replacing some."""
        values: dict[str, Any] = {
            "q": self.q,
            **self.selected,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "page": self.page,
            **over,
        }
        return {k: str(v) for k, v in values.items() if v not in ("", None, 1)}

    def link(self, base: str, **over: Any) -> str:
        params = self.params(**over)
        return base + ("?" + urlencode(params) if params else "")


def read(request: Request, spec: ListSpec, t: Any) -> tuple[ListQuery, dict[str, str]]:
    """The request's filters for ``spec``, checked, and the words for each value dropped."""
    args = request.query_params
    errors: dict[str, str] = {}
    q = " ".join(args.get("q", "").split()) if spec.search else ""
    if len(q) > SEARCH_CHARS:
        errors["q"] = str(t(ERRORS["q"])) % SEARCH_CHARS
        q = ""
    selected: dict[str, str] = {}
    for name, select in spec.selects.items():
        value = args.get(name, "").strip()
        if value and value not in select.options:
            errors[name] = str(t(ERRORS["select"])) % select.label
            value = ""
        selected[name] = value
    dates: dict[str, date | None] = {"from": None, "to": None}
    if spec.dates:
        for name in dates:
            raw = args.get(name, "").strip()
            if not raw:
                continue
            try:
                if not _DATE.fullmatch(raw):
                    raise ValueError(raw)
                dates[name] = date.fromisoformat(raw)
            except ValueError:
                label = t("开始日期") if name == "from" else t("结束日期")
                errors[name] = str(t(ERRORS["date"])) % label
        start, end = dates["from"], dates["to"]
        if start and end and start > end:
            errors["range"] = str(t(ERRORS["range"]))
            dates = {"from": None, "to": None}
    page = 1
    raw_page = args.get("page", "").strip()
    if raw_page:
        if _PAGE.fullmatch(raw_page) and 1 <= int(raw_page) <= MAX_PAGE:
            page = int(raw_page)
        else:
            errors["page"] = str(t(ERRORS["page"])) % MAX_PAGE
    query = ListQuery(q, selected, dates["from"], dates["to"], page)
    return query, errors


def extra_page(request: Request, name: str, t: Any, errors: dict[str, str]) -> int:
    """The page asked for of a second list on the same page (its own query parameter, e.g. the
    review queue's exceptions): checked like ``page``; a bad value is named in ``errors``."""
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return 1
    if _PAGE.fullmatch(raw) and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    errors[name] = str(t(ERRORS["page"])) % MAX_PAGE
    return 1


def first_page(query: ListQuery) -> ListQuery:
    return replace(query, page=1)


def day_start(day: date | None) -> datetime | None:
    """The first instant of an Asia/Shanghai calendar day (the pages' days are local)."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI) if day else None


def day_after(day: date | None) -> datetime | None:
    """The first instant after an Asia/Shanghai day: the end of an inclusive date range."""
    return day_start(day + timedelta(days=1)) if day else None

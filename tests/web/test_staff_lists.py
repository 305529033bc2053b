"""Lists with search, filters and paging (app/web/listing.py, one helper for every list): the
staff's learners list, and what bad query strings get (a clear message, status 400, never 500)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import clock
from app.courses.models import Enrollment
from app.db import transaction
from tests import factories
from tests.factories import make_learner, sign_in
from tests.web.staff_world import World


def rows(html: str) -> list[str]:
    return re.findall(r'<tr id="enr-([0-9a-f-]+)"', html)


def test_learners_list_searches_filters_and_pages(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.web.staff import learners as staff_pages

    w = World(engine)
    other = factories.course_row(engine, w.inst, title="中式烹调师")
    third = factories.enrollment_row(
        engine, make_learner(engine, w.inst, real_name="孙三"), other, complete=False
    )
    with transaction(engine) as s:  # enrolled ten days ago
        e = s.get(Enrollment, third.id)
        assert e is not None
        e.created_at = clock.now() - timedelta(days=10)
        s.add(e)
    sign_in(client, w.staff.username)

    everyone = client.get("/staff/learners")
    assert everyone.status_code == 200
    assert set(rows(everyone.text)) == {str(w.done.id), str(w.doing.id), str(third.id)}
    assert 'href="/staff/learners" aria-current="page"' in everyone.text  # in the navigation

    def ids(**params: str) -> set[str]:
        r = client.get("/staff/learners", params=params)
        assert r.status_code == 200, r.text
        return set(rows(r.text))

    assert ids(q="小红") == {str(w.done.id)}  # by real name
    assert ids(q=w.other_learner.username) == {str(w.doing.id)}  # by username
    assert ids(state="complete") == {str(w.done.id)}
    assert ids(state="in_progress") == {str(w.doing.id), str(third.id)}
    assert ids(course=str(other.id)) == {str(third.id)}
    today = clock.now().astimezone(clock.SHANGHAI).date()
    assert ids(**{"from": (today - timedelta(days=2)).isoformat()}) == {
        str(w.done.id),
        str(w.doing.id),
    }
    assert ids(to=(today - timedelta(days=5)).isoformat()) == {str(third.id)}
    assert ids(q="小红", state="in_progress") == set()
    # The filters stay in the form and in the pager's links.
    monkeypatch.setattr(staff_pages, "LEARNERS_PAGE", 1)
    first = client.get("/staff/learners", params={"state": "in_progress"}).text
    assert len(rows(first)) == 1 and "第 1 / 2 页，共 2 条" in first
    assert '<option value="in_progress" selected>' in first
    nxt = re.search(r'href="([^"]+)" id="next-page"', first)
    assert nxt and "state=in_progress" in nxt.group(1) and "page=2" in nxt.group(1)
    second = client.get(nxt.group(1).replace("&amp;", "&")).text
    assert len(rows(second)) == 1 and set(rows(first)) != set(rows(second))

    # A course's own list is the same list with the course chosen; choosing another course
    # there goes to the institution's list.
    monkeypatch.setattr(staff_pages, "LEARNERS_PAGE", 50)
    own = client.get(f"/staff/courses/{w.course.id}/learners")
    assert set(rows(own.text)) == {str(w.done.id), str(w.doing.id)}
    assert f'<option value="{w.course.id}" selected>' in own.text
    moved = client.get(
        f"/staff/courses/{w.course.id}/learners",
        params={"course": str(other.id)},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and moved.headers["location"] == (
        f"/staff/learners?course={other.id}"
    )


def test_bad_query_strings_get_words_not_errors(client: TestClient, engine: Any) -> None:
    w = World(engine)
    foreign = factories.course_row(engine, w.other_inst, title="他校课程")
    sign_in(client, w.staff.username)
    cases = {
        "page": ({"page": "abc"}, "页码应为 1–10000 之间的整数"),
        "page_big": ({"page": "99999999999"}, "页码应为 1–10000 之间的整数"),
        "course": ({"course": "not-a-course"}, "“课程”的值不在列表中"),
        # Another institution's course is not one of the options: nothing of it is shown.
        "foreign": ({"course": str(foreign.id)}, "“课程”的值不在列表中"),
        "state": ({"state": "deleted"}, "“状态”的值不在列表中"),
        "from": ({"from": "2026-13-01"}, "“开始日期”应为日期"),
        "to": ({"to": "yesterday"}, "“结束日期”应为日期"),
        "range": ({"from": "2026-12-03", "to": "2026-12-01"}, "开始日期不能晚于结束日期"),
        "q": ({"q": "长" * 101}, "搜索内容不能超过 100 个字"),
    }
    for name, (params, words) in cases.items():
        r = client.get("/staff/learners", params=params)
        assert r.status_code == 400, (name, r.status_code)
        errors = re.search(r'id="learner-filters-errors"(.*?)</div>', r.text, re.S)
        assert errors and words in errors.group(1), (name, r.text[:300])
        # The bad value is dropped: the whole list is shown.
        assert set(rows(r.text)) == {str(w.done.id), str(w.doing.id)}, name
    en = client.get("/staff/learners", params={"page": "0", "lang": "en"})
    assert en.status_code == 400 and "The page number must be a whole number" in en.text
    client.get("/staff/learners", params={"lang": "zh"})

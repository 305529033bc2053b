"""The regulator's learners list (/regulator/learners): only the learners of institutions in the
regulator's jurisdiction, with search, institution, course, state and date filters and paging,
through the shared list helpers (a bad value is named, status 400)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.accounts.models import Role
from app.courses.models import Course, Enrollment
from app.db import transaction
from tests.factories import make_user, sign_in
from tests.web.regulator_world import World


@pytest.fixture
def world(engine: Engine, clock: Any) -> World:
    return World(engine, clock)


def rows(page: str) -> list[str]:
    return re.findall(r'<tr id="enr-([0-9a-f-]+)"', page)


def enrolments(engine: Engine) -> dict[str, str]:
    """Enrolment id by learner real name."""
    with transaction(engine) as s:
        from app.accounts.models import User

        return {
            u.real_name or "": str(e.id)
            for e, u in s.exec(select(Enrollment, User).where(Enrollment.user_id == User.id))
        }


def test_a_regulator_lists_the_learners_of_their_jurisdiction(
    client: TestClient, engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.web.regulator import records as pages

    by_name = enrolments(engine)
    everyone = {by_name[n] for n in ("周建国", "吴秀兰", "郑春花", "孙晓东")}
    sign_in(client, world.regulator.username)  # national
    r = client.get("/regulator/learners")
    assert r.status_code == 200
    assert set(rows(r.text)) == everyone
    assert 'href="/regulator/learners" aria-current="page"' in r.text
    assert f'href="/regulator/learners/{world.a1.id}"' in r.text  # the learner's file

    def ids(**params: str) -> set[str]:
        page = client.get("/regulator/learners", params=params)
        assert page.status_code == 200, page.text
        return set(rows(page.text))

    assert ids(institution=str(world.a.id)) == {by_name["周建国"], by_name["吴秀兰"]}
    assert ids(q="郑春") == {by_name["郑春花"]}
    assert ids(state="in_progress") == {by_name["孙晓东"]}
    assert ids(**{"from": "2026-02-01", "to": "2026-02-28"}) == {
        by_name["吴秀兰"],
        by_name["孙晓东"],
    }
    with transaction(engine) as s:
        course_b = s.exec(select(Course).where(Course.institution_id == world.b.id)).one()
    assert ids(course=str(course_b.id)) == {by_name["郑春花"], by_name["孙晓东"]}
    # With an institution chosen, the course filter offers that institution's courses only:
    # another institution's course is named as a bad value and dropped.
    r = client.get(
        "/regulator/learners", params={"institution": str(world.a.id), "course": str(course_b.id)}
    )
    assert r.status_code == 400 and "“课程”的值不在列表中" in r.text
    assert set(rows(r.text)) == {by_name["周建国"], by_name["吴秀兰"]}

    # Paging keeps the filters.
    monkeypatch.setattr(pages, "LEARNERS_PAGE", 1)
    first = client.get("/regulator/learners", params={"institution": str(world.a.id)}).text
    assert len(rows(first)) == 1 and "第 1 / 2 页，共 2 条" in first
    nxt = re.search(r'href="([^"]+)" id="next-page"', first)
    assert nxt and f"institution={world.a.id}" in nxt.group(1) and "page=2" in nxt.group(1)
    second = client.get(nxt.group(1).replace("&amp;", "&")).text
    assert len(rows(second)) == 1 and set(rows(first)) != set(rows(second))


def test_a_regional_regulator_sees_only_their_institutions(
    client: TestClient, engine: Engine, world: World
) -> None:
    by_name = enrolments(engine)
    shenzhen = make_user(engine, Role.regulator, jurisdiction="440300")  # B is in 南山 440305
    sign_in(client, shenzhen.username)
    r = client.get("/regulator/learners")
    assert r.status_code == 200
    assert set(rows(r.text)) == {by_name["郑春花"], by_name["孙晓东"]}
    assert str(world.a.id) not in r.text  # A is not even offered as a filter
    # Naming A (outside the jurisdiction) is a bad filter value, not a way in.
    r = client.get("/regulator/learners", params={"institution": str(world.a.id)})
    assert r.status_code == 400 and "“培训机构”的值不在列表中" in r.text
    assert set(rows(r.text)) == {by_name["郑春花"], by_name["孙晓东"]}
    r = client.get("/regulator/learners", params={"q": "周建国"})  # A's learner by name
    assert r.status_code == 200 and rows(r.text) == []


def test_bad_values_are_named_and_others_are_refused(
    client: TestClient, engine: Engine, world: World
) -> None:
    sign_in(client, world.regulator.username)
    r = client.get("/regulator/learners", params={"from": "2026-13-01", "page": "0", "state": "x"})
    assert r.status_code == 400
    assert "应为日期" in r.text and "页码应为" in r.text and "“状态”的值不在列表中" in r.text
    assert len(rows(r.text)) == 4
    sign_in(client, world.staff_a.username)
    assert client.get("/regulator/learners").status_code == 403
    sign_in(client, world.a1.username)
    assert client.get("/regulator/learners").status_code == 403

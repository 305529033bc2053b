"""The review queue's "decided" tab lists the exceptions staff granted on failed or missed
roll-calls (issue 14: an exception is a decision too), with the queue's filters, paged on their
own; staff of another institution do not see them."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.attendance.models import Outcome
from app.courses.rollcall import MAX_ATTEMPTS, grant_exception
from app.db import transaction
from tests import factories
from tests.courses.rollcall_world import MISMATCH, answer, rollcall_world
from tests.factories import make_institution, make_user, sign_in


def exceptions(page: str) -> list[str]:
    return re.findall(r'<tr id="exc-([0-9a-f-]+)"', page)


def test_granted_exceptions_are_listed_in_the_decided_tab(
    client: TestClient,
    engine: Engine,
    clock: Any,
) -> None:
    w = rollcall_world(engine, clock)
    for _ in range(MAX_ATTEMPTS):
        rc = answer(engine, w, Outcome.failed, **MISMATCH)
    sign_in(client, w["staff"].username)
    empty = client.get("/staff/review", params={"tab": "decided"})
    assert empty.status_code == 200 and 'id="exceptions-empty"' in empty.text
    assert "/staff/review" in client.get("/staff/review").text
    assert 'id="exceptions"' not in client.get("/staff/review").text  # pending tab: not there

    clock.advance(minutes=30)
    with transaction(engine) as s:
        staff = s.get(type(w["staff"]), w["staff"].id)
        grant_exception(s, Principal.of_user(staff), rc.id, reason="学员电话说明摄像头故障，已核实")
    page = client.get("/staff/review", params={"tab": "decided"})
    assert page.status_code == 200
    assert exceptions(page.text) == [str(rc.id)]
    row = page.text.split(f'<tr id="exc-{rc.id}">')[1].split("</tr>")[0]
    assert "学员电话说明摄像头故障，已核实" in row
    assert f'href="/staff/rollcalls/{rc.id}"' in row
    assert "5 分钟" in row  # the minutes it gave back, in words
    assert w["staff"].username in row  # who granted it

    def ids(**params: str) -> list[str]:
        r = client.get("/staff/review", params={"tab": "decided", **params})
        assert r.status_code == 200, r.text[:300]
        return exceptions(r.text)

    assert ids(q="王小明") == [str(rc.id)]  # the learner's name
    assert ids(q="没有这个人") == []
    assert ids(course=str(w["course"].id)) == [str(rc.id)]
    other = factories.course_row(engine, w["inst"], title="中式烹调师")
    assert ids(course=str(other.id)) == []
    assert ids(to="2000-01-01") == []
    bad = client.get("/staff/review", params={"tab": "decided", "epage": "0"})
    assert bad.status_code == 400 and "页码应为" in bad.text
    assert exceptions(bad.text) == [str(rc.id)]

    # Staff of another institution see none of it.
    outsider = make_user(engine, Role.staff, make_institution(engine, code="OTHER02"))
    sign_in(client, outsider.username)
    assert exceptions(client.get("/staff/review", params={"tab": "decided"}).text) == []

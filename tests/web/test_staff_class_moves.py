"""转班 on the staff's pages (no browser): the roster's "转班" action, the form with the course's
classes that can take the learner and the reason, the answer in words, a form sent twice, the
learner's /my afterwards, and who may."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.courses.models import Enrollment
from tests.factories import audit_log, login, make_learner
from tests.web.staff_world import World, class_form, sign_in

REASON = "学员工作调班，申请转入六月班"


def _once(html: str) -> str:
    found = re.search(r'name="once" value="([0-9a-f]+)"', html)
    assert found, html[:500]
    return found.group(1)


def _moves(engine: Any, enrollment_id: str) -> list[dict[str, Any]]:
    return [
        p
        for a, p in audit_log(engine, subject=f"enrollment:{enrollment_id}")
        if a == "enrollment.class_changed"
    ]


def _two_classes(client: TestClient, w: World, csrf: str) -> tuple[str, str]:
    urls = []
    for code, name in (("2026-05", "2026年第5期低压电工班"), ("2026-06", "2026年第6期低压电工班")):
        r = client.post(
            f"/staff/courses/{w.course.id}/classes",
            data=class_form(w, csrf, code=code, name=name),
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        urls.append(r.headers["location"])
    return urls[0], urls[1]


def test_staff_move_a_learner_from_the_roster(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    may, june = _two_classes(client, w, csrf)
    newcomer = make_learner(engine, w.inst, real_name="孙立新")
    r = client.post(
        f"{may}/enrol", data={"csrf": csrf, "learner_id": str(newcomer.id)}, follow_redirects=False
    )
    assert r.status_code == 303
    with Session(engine) as s:
        e = s.exec(select(Enrollment).where(col(Enrollment.user_id) == newcomer.id)).one()
    eid = str(e.id)

    roster = client.get(may).text
    assert f'id="move-{eid}" href="/staff/enrollments/{eid}/class">转班</a>' in roster
    form_url = f"/staff/enrollments/{eid}/class"
    page = client.get(form_url)
    assert page.status_code == 200
    assert "孙立新" in page.text and "2026年第5期低压电工班" in page.text
    options = re.findall(r'<option value="([^"]+)"', page.text)
    june_id = june.rsplit("/", 1)[1]
    assert june_id in options and may.rsplit("/", 1)[1] not in options  # not her own class

    blank = client.post(form_url, data={"csrf": csrf, "class_id": june_id, "reason": "  "})
    assert blank.status_code == 422 and 'id="move-reason-err"' in blank.text
    assert "请填写转班原因" in blank.text
    nonsense = client.post(form_url, data={"csrf": csrf, "class_id": "第六期", "reason": REASON})
    assert nonsense.status_code == 422 and "请从列表中选择要转入的班级" in nonsense.text

    data = {"csrf": csrf, "once": _once(page.text), "class_id": june_id, "reason": REASON}
    done = client.post(form_url, data=data, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == june
    answer = client.get(june).text
    assert "已转班：学员已转入本班" in answer and f'id="roster-{eid}"' in answer
    assert f'id="roster-{eid}"' not in client.get(may).text
    again = client.post(form_url, data=data, follow_redirects=False)  # the same form, resent
    assert again.status_code == 303 and again.headers["location"] == june
    [entry] = _moves(engine, eid)
    assert entry["reason"] == REASON and entry["class"] == june_id

    stale = client.post(form_url, data={"csrf": csrf, "class_id": june_id, "reason": REASON})
    assert stale.status_code == 409 and 'id="move-error"' in stale.text
    assert "该学员已在这个班级中" in stale.text
    assert len(_moves(engine, eid)) == 1

    sign_in(client, newcomer.username)
    assert "2026年第6期低压电工班" in client.get("/my").text


def test_a_learner_who_cannot_move_is_told_why(client: TestClient, engine: Any) -> None:
    w = World(engine)
    sign_in(client, w.staff.username)
    page = client.get(f"/staff/enrollments/{w.done.id}/class")  # completed in the filed class
    assert page.status_code == 200 and 'id="move-form"' not in page.text
    assert "已完成本课程培训" in page.text


def test_only_the_institution_staff_move_its_learners(client: TestClient, engine: Any) -> None:
    w = World(engine)
    url = f"/staff/enrollments/{w.doing.id}/class"
    csrf = sign_in(client, w.stranger.username)
    assert client.get(url).status_code == 404
    body = {"csrf": csrf, "class_id": str(uuid.uuid4()), "reason": REASON}
    assert client.post(url, data=body).status_code == 404
    csrf = sign_in(client, w.other_learner.username)
    assert 'id="move-form"' not in client.get(url).text
    body["csrf"] = csrf
    assert client.post(url, data=body).status_code == 403
    assert _moves(engine, str(w.doing.id)) == []


def test_the_api_and_the_page_give_the_same_answer(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    may, june = _two_classes(client, w, csrf)
    june_id = june.rsplit("/", 1)[1]
    twins = [make_learner(engine, w.inst, real_name=n) for n in ("周一", "吴二")]
    ids = []
    for learner in twins:
        client.post(f"{may}/enrol", data={"csrf": csrf, "learner_id": str(learner.id)})
        with Session(engine) as s:
            e = s.exec(select(Enrollment).where(col(Enrollment.user_id) == learner.id)).one()
        ids.append(str(e.id))
    by_page = client.post(
        f"/staff/enrollments/{ids[0]}/class",
        data={"csrf": csrf, "class_id": june_id, "reason": REASON},
        follow_redirects=False,
    )
    assert by_page.status_code == 303
    h = login(client, w.staff.username)
    by_api = client.post(
        f"/api/v1/enrollments/{ids[1]}/class",
        json={"class_id": june_id, "reason": REASON},
        headers=h,
    )
    assert by_api.status_code == 200, by_api.text
    page_entry, api_entry = (_moves(engine, i)[0] for i in ids)
    for entry in (page_entry, api_entry):
        entry.pop("user")
    assert page_entry == api_entry

    api_refusal = client.post(
        f"/api/v1/enrollments/{w.done.id}/class",
        json={"class_id": june_id, "reason": REASON},
        headers=h,
    ).json()
    csrf = sign_in(client, w.staff.username)
    page_refusal = client.post(
        f"/staff/enrollments/{w.done.id}/class",
        data={"csrf": csrf, "class_id": june_id, "reason": REASON},
    )
    assert page_refusal.status_code == api_refusal["status"] == 409
    assert api_refusal["code"] == "class_move_completed"
    assert api_refusal["message_zh"] in page_refusal.text

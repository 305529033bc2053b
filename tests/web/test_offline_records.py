"""Blended training on the pages and in the reports, over HTTP (issue 15 item 4's leftovers):
staff cancel a session nobody checked in to (with a reason, audited, refused once someone has);
the staff's enrolment page and the regulator's learner file show the offline minutes and each
session attended with its assessment; the statistics XLSX carries the offline columns; the
instructor's assessment is an xAPI statement. The face part of a check-in has its own tests
(tests/courses/test_offline.py): the attendance rows here are written as a passed check-out
writes them."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.models import AuditEntry
from app.courses import offline, offline_records
from app.courses.models import Enrollment, OfflineAttendance, OfflineSession
from app.db import transaction
from tests.factories import (
    csrf_of,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
    sign_in,
)


def _world(engine: Any, clock: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst, real_name="李建国")
    course = make_course(engine, inst, staff=staff, offline_required_minutes=120)
    learner = make_learner(engine, inst)
    enrollment = make_enrollment(engine, learner, course)
    start = clock.now() + timedelta(hours=1)
    with transaction(engine) as s:
        sessions = [
            offline.schedule_session(
                s,
                Principal.of_user(staff),
                enrollment.class_id,
                title=title,
                site_address="深圳市南山区留仙大道 1088 号 实训楼 302 室",
                starts_at=start + timedelta(days=n),
                ends_at=start + timedelta(days=n, hours=3),
                capacity=20,
                instructor_id=staff.id,
            )
            for n, title in enumerate(("照明线路安装实操", "配电箱接线实操"))
        ]
    return {
        "inst": inst,
        "staff": staff,
        "course": course,
        "learner": learner,
        "enrollment": enrollment,
        "first": sessions[0],
        "second": sessions[1],
    }


def _attended(engine: Any, w: dict[str, Any], s: OfflineSession, minutes: int) -> None:
    """What a verified check-in and check-out leave: the attendance row and the total."""
    with transaction(engine) as session:
        start = s.starts_at + timedelta(minutes=5)
        session.add(
            OfflineAttendance(
                session_id=s.id,
                enrollment_id=w["enrollment"].id,
                user_id=w["learner"].id,
                checkin_event_id=uuid.uuid4(),
                checkin_at=start,
                checkin_by=w["staff"].id,
                checkout_event_id=uuid.uuid4(),
                checkout_at=start + timedelta(minutes=minutes),
                checkout_by=w["staff"].id,
                credited_ms=minutes * 60_000,
            )
        )
        e = session.get(Enrollment, w["enrollment"].id)
        assert e is not None
        e.offline_ms += minutes * 60_000
        session.add(e)


def test_staff_cancel_a_session_nobody_checked_in_to(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = _world(engine, clock)
    first, second = w["first"], w["second"]
    sign_in(client, w["staff"].username)
    page = client.get(f"/staff/offline/{first.id}")
    assert page.status_code == 200 and 'id="cancel-offline-form"' in page.text
    csrf = csrf_of(page.text)

    # A reason is required: refused in words, nothing changed.
    r = client.post(f"/staff/offline/{first.id}/cancel", data={"csrf": csrf, "reason": "  "})
    assert r.status_code == 422 and "请填写取消原因" in r.text
    # Without the form's CSRF value: refused before anything.
    r = client.post(f"/staff/offline/{first.id}/cancel", data={"reason": "场地检修"})
    assert r.status_code in (400, 403)
    with Session(engine) as s:
        assert s.get(OfflineSession, first.id).cancelled_at is None  # type: ignore[union-attr]

    r = client.post(
        f"/staff/offline/{first.id}/cancel",
        data={"csrf": csrf, "reason": "场地检修，改期另行通知"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "本场线下实训已取消" in page and "本场已取消：场地检修，改期另行通知" in page
    assert 'id="cancel-offline-form"' not in page and 'id="open-station"' not in page
    with Session(engine) as s:
        got = s.get(OfflineSession, first.id)
        assert got is not None and got.cancel_reason == "场地检修，改期另行通知"
        [entry] = s.exec(
            select(AuditEntry)
            .where(col(AuditEntry.subject) == f"offline_session:{first.id}")
            .where(col(AuditEntry.action) == "offline.session_cancelled")
        ).all()
    # The learner sees the reason on their schedule (the API's view of it).
    mine = client.get(
        "/api/v1/me/offline-sessions", headers=login(client, w["learner"].username)
    ).json()
    cancelled = next(m for m in mine if m["session_id"] == str(first.id))
    assert cancelled["cancelled_at"] is not None

    # A session someone checked in to offers no cancel button, and the request is refused.
    _attended(engine, w, second, 90)
    sign_in(client, w["staff"].username)
    page = client.get(f"/staff/offline/{second.id}").text
    assert 'id="cancel-offline-form"' not in page
    r = client.post(
        f"/staff/offline/{second.id}/cancel", data={"csrf": csrf_of(page), "reason": "改期"}
    )
    assert r.status_code == 409 and "已有学员签到，本场不能取消" in r.text
    # Another institution's staff: not found.
    other = make_user(engine, Role.staff, make_institution(engine))
    sign_in(client, other.username)
    page = client.get("/staff/courses").text
    r = client.post(
        f"/staff/offline/{second.id}/cancel", data={"csrf": csrf_of(page), "reason": "改期"}
    )
    assert r.status_code == 404


def test_offline_minutes_on_the_staff_and_regulator_learner_pages_xlsx_and_xapi(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = _world(engine, clock)
    eid = w["enrollment"].id
    sign_in(client, w["staff"].username)
    page = client.get(f"/staff/enrollments/{eid}").text
    assert 'id="offline-records"' in page and "0 / 120 分钟" in page and "尚未参加线下实训" in page

    _attended(engine, w, w["first"], 95)
    with transaction(engine) as s:
        offline_records.assess(
            s, Principal.of_user(w["staff"]), w["first"].id, eid, passed=False, note="接线不规范"
        )
        offline_records.assess(
            s, Principal.of_user(w["staff"]), w["first"].id, eid, passed=True, note="复测合格"
        )
    page = client.get(f"/staff/enrollments/{eid}").text
    section = page.split('id="offline-records"')[1].split("</section>")[0]
    assert "95 / 120 分钟" in section and "照明线路安装实操" in section
    assert "95 分钟" in section and "合格" in section and "复测合格" in section

    regulator = make_user(engine, Role.regulator)
    sign_in(client, regulator.username)
    page = client.get(f"/regulator/learners/{w['learner'].id}")
    assert page.status_code == 200, page.text
    block = page.text.split(f'id="offline-{eid}"')[1].split("</article>")[0]
    assert "95 / 120 分钟" in block and "照明线路安装实操" in block and "复测合格" in block

    # The statistics workbook: the offline columns, per period and in the total.
    clock.advance(days=1)
    hr = login(client, regulator.username)
    r = client.get(
        "/api/v1/reports/summary/download",
        params={"period": "year", "institution_id": str(w["inst"].id)},
        headers=hr,
    )
    assert r.status_code == 200, r.text
    book = load_workbook(io.BytesIO(r.content))
    totals = book.worksheets[0]
    header = [c.value for c in totals[2]]
    assert header[-2:] == ["线下实训人次 Offline trained", "线下实训学时（分钟）Offline minutes"]
    last = [c.value for c in totals[totals.max_row]]
    assert last[0] == "合计 Total" and last[-2:] == [1, 95]
    detail = book.worksheets[1]
    assert [c.value for c in detail[1]][-2:] == header[-2:]
    assert sum(row[-1] for row in detail.iter_rows(min_row=2, values_only=True)) == 95

    # xAPI: each marking is a statement (failed, then passed), the note as the response.
    clock.advance(minutes=1)
    hs = {**login(client, w["staff"].username), "X-Experience-API-Version": "1.0.3"}
    r = client.get("/xapi/statements", headers=hs)
    assert r.status_code == 200, r.text

    def fact(st: dict[str, Any]) -> str:
        ext = st["context"]["extensions"]
        return str(next(v for k, v in ext.items() if k.endswith("/xapi/extensions/fact")))

    marks = [st for st in r.json()["statements"] if fact(st).startswith("practical_assessment:")]
    by_verb = sorted((st["verb"]["id"].rsplit("/", 1)[1], st["result"]["response"]) for st in marks)
    assert by_verb == [("failed", "接线不规范"), ("passed", "复测合格")]
    assert len({st["id"] for st in marks}) == 2
    assert all(st["context"]["registration"] == str(eid) for st in marks)
    passed = client.get(
        "/xapi/statements", params={"verb": "http://adlnet.gov/expapi/verbs/passed"}, headers=hs
    ).json()["statements"]
    assert [st["result"]["response"] for st in passed if st["id"] in {m["id"] for m in marks}] == [
        "复测合格"
    ]
    with Session(engine) as s:
        assert s.exec(select(OfflineAttendance)).first() is not None


def test_a_failed_practical_assessment_holds_completion_until_a_pass(
    client: TestClient, engine: Any, clock: Any
) -> None:
    """A blended course requires the instructor's latest assessment to be a pass: hours, quiz
    and offline minutes met are not enough while the learner is unassessed or marked failed;
    the pass completes the enrolment at once (audited), and a certificate can then be issued."""
    from tests.factories import complete

    w = _world(engine, clock)
    eid = w["enrollment"].id
    complete(engine, eid)  # the online part, the quiz and the roll-calls
    _attended(engine, w, w["first"], 125)
    h = login(client, w["learner"].username)
    got = client.get(f"/api/v1/enrollments/{eid}", headers=h).json()
    assert got["complete"] is False and got["missing_zh"] == ["需通过实操考核（尚未考核）"]
    r = client.post(f"/api/v1/enrollments/{eid}/certificate", headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "not_complete")

    staff = Principal.of_user(w["staff"])
    with transaction(engine) as s:
        offline_records.assess(s, staff, w["first"].id, eid, passed=False, note="接线不规范")
    with Session(engine) as s:
        e = s.get(Enrollment, eid)
        assert e is not None and e.completed_at is None
    got = client.get(f"/api/v1/enrollments/{eid}", headers=h).json()
    assert got["missing_zh"] == ["需通过实操考核（最近一次考核不合格）"]
    sign_in(client, w["staff"].username)
    page = client.get(f"/staff/enrollments/{eid}").text
    assert "需通过实操考核（最近一次考核不合格）" in page

    with transaction(engine) as s:  # the make-up: the instructor marks a pass
        offline_records.assess(s, staff, w["first"].id, eid, passed=True, note="复训后合格")
    with Session(engine) as s:
        e = s.get(Enrollment, eid)
        assert e is not None and e.completed_at is not None
        done = s.exec(
            select(AuditEntry).where(
                col(AuditEntry.action) == "enrollment.completed",
                col(AuditEntry.subject) == f"enrollment:{eid}",
            )
        ).all()
        assert len(done) == 1
    h = login(client, w["learner"].username)
    assert client.post(f"/api/v1/enrollments/{eid}/certificate", headers=h).status_code == 201
    # Completion is never taken back: a later failing mark changes nothing.
    with transaction(engine) as s:
        offline_records.assess(s, staff, w["first"].id, eid, passed=False, note="补记")
    with Session(engine) as s:
        e = s.get(Enrollment, eid)
        assert e is not None and e.completed_at is not None

"""The staff review queue: evidence crops side by side, approve or reject with a reason.

Events in review are built directly in the database with real face crops from LFW (no face
engine); the evidence files live under the test's data dir as the service stores them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from app.accounts.models import Institution, Role, User
from tests import factories
from tests.face_data import FACES
from tests.factories import PASSWORD, csrf_of, make_institution, make_learner, make_user
from tests.web.conftest import Shots
from tests.web.fakecam import lfw_photo, still_of

LFW = FACES / "lfw"


def crop_of(person: str, n: int) -> bytes:
    """The face of an LFW photo (the dataset centres faces): a crop like the service stores."""
    img = cv2.imread(str(sorted((LFW / person).iterdir())[n]))
    assert img is not None
    face = cv2.resize(img[60:190, 60:190], (160, 160), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return bytes(buf.tobytes())


def _event(session: Any, learner: User, crop: bytes, **kw: Any) -> Any:
    from app.attendance import service as attendance
    from app.attendance.models import AttendanceEvent, Outcome, Purpose

    event = AttendanceEvent(
        user_id=learner.id,
        institution_id=learner.institution_id,
        purpose=kw.pop("purpose", Purpose.checkin),
        accept_threshold="0.3500",
        reject_threshold="0.5000",
        model_name="test",
        model_version="1",
        match_metric="euclidean",
        face_engine="test",
        model_sha256="0" * 64,
        outcome=kw.pop("outcome", Outcome.passed),
        **kw,
    )
    attendance._store_evidence(session, event, crop)
    return event


def enrolled(engine: Any, learner: User, person: str) -> uuid.UUID:
    """An active face template whose enrolment event carries a crop of ``person``."""
    from app.attendance.models import FaceTemplate, Purpose, TemplateStatus
    from app.db import transaction

    with transaction(engine) as session:
        event = _event(session, learner, crop_of(person, 0), purpose=Purpose.enrol)
        session.add(event)
        session.flush()
        session.add(
            FaceTemplate(
                user_id=learner.id,
                status=TemplateStatus.active,
                embeddings_sha256="0" * 64,
                n_embeddings=1,
                model_name="test",
                model_version="1",
                face_engine="test",
                model_sha256="0" * 64,
                enrol_event_id=event.id,
            )
        )
        return uuid.UUID(str(event.id))


def in_review(engine: Any, learner: User, person: str, **kw: Any) -> uuid.UUID:
    from app.attendance.models import Outcome, ReviewStatus
    from app.db import transaction

    with transaction(engine) as session:
        event = _event(
            session,
            learner,
            crop_of(person, 1),
            outcome=Outcome.review,
            review_status=ReviewStatus.pending,
            reason_code=kw.pop("reason_code", "uncertain_match"),
            best_distance=kw.pop("best_distance", "0.4123"),
            median_distance=kw.pop("median_distance", "0.4456"),
            **kw,
        )
        session.add(event)
        session.flush()
        return uuid.UUID(str(event.id))


class World:
    def __init__(self, engine: Any) -> None:
        self.inst: Institution = make_institution(engine)
        self.staff = make_user(engine, Role.staff, self.inst)
        self.learner = make_learner(engine, self.inst, real_name="赵小红")
        self.enrol_id = enrolled(engine, self.learner, "Adrien_Brody")
        self.event_id = in_review(engine, self.learner, "Adrien_Brody")


def sign_in(client: TestClient, username: str) -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": username, "password": PASSWORD},
        follow_redirects=False,
    )


def test_staff_land_on_the_queue_with_both_crops(client: TestClient, engine: Any) -> None:
    w = World(engine)
    r = sign_in(client, w.staff.username)
    assert r.status_code == 303 and r.headers["location"] == "/staff/review"
    page = client.get("/staff/review")
    assert page.status_code == 200
    assert "赵小红" in page.text and 'href="/staff/review"' in page.text  # nav link
    assert f'src="/staff/evidence/{w.event_id}.jpg"' in page.text
    assert f'src="/staff/evidence/{w.enrol_id}.jpg"' in page.text
    for words in ("0.4123", "0.4456", "0.3500", "0.5000", "介于通过阈值"):
        assert words in page.text
    assert f'action="/staff/review/{w.event_id}"' in page.text
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert " style=" not in page.text and "<style" not in page.text
    en = client.get("/staff/review?lang=en")
    assert "Attendance review" in en.text and "between the accept threshold 0.3500" in en.text


def test_evidence_route_serves_the_jpeg_to_the_institutions_staff(
    client: TestClient, engine: Any
) -> None:
    w = World(engine)
    sign_in(client, w.staff.username)
    r = client.get(f"/staff/evidence/{w.event_id}.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content == crop_of("Adrien_Brody", 1)
    assert "no-store" in r.headers["cache-control"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/staff/evidence/{uuid.uuid4()}.jpg").status_code == 404
    # The REST endpoint still wants the CSRF header next to the cookie.
    assert client.get(f"/api/v1/attendance-events/{w.event_id}/evidence").status_code == 401


def test_learners_and_other_staff_see_neither_page_nor_evidence(
    client: TestClient, engine: Any
) -> None:
    from app.attendance.models import AttendanceEvent, ReviewStatus
    from app.db import transaction

    w = World(engine)
    # Not signed in: the page sends to the login, the image is refused.
    r = client.get("/staff/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.get(f"/staff/evidence/{w.event_id}.jpg").status_code == 401
    # The learner themself.
    sign_in(client, w.learner.username)
    r = client.get("/staff/review")
    assert r.status_code == 403 and "工作人员" in r.text and "0.4123" not in r.text
    assert client.get(f"/staff/evidence/{w.event_id}.jpg").status_code == 404
    r = client.post(
        f"/staff/review/{w.event_id}",
        data={"csrf": csrf_of(r.text), "decision": "approve", "reason": "是我"},
    )
    assert r.status_code == 403
    # Staff of another institution: an empty queue, no image, no decision.
    client.cookies.clear()
    other = make_user(engine, Role.staff, make_institution(engine))
    sign_in(client, other.username)
    page = client.get("/staff/review")
    assert page.status_code == 200 and "赵小红" not in page.text and "review-empty" in page.text
    assert client.get(f"/staff/evidence/{w.event_id}.jpg").status_code == 404
    assert client.get(f"/staff/evidence/{w.enrol_id}.jpg").status_code == 404
    r = client.post(
        f"/staff/review/{w.event_id}",
        data={"csrf": csrf_of(page.text), "decision": "approve", "reason": "looks fine"},
    )
    assert r.status_code == 404
    with transaction(engine) as session:
        event = session.get(AttendanceEvent, w.event_id)
        assert event is not None and event.review_status is ReviewStatus.pending


def test_approving_on_the_page_decides_and_audits(client: TestClient, engine: Any) -> None:
    from app.attendance.models import AttendanceEvent, ReviewStatus
    from app.audit.models import AuditEntry
    from app.db import transaction

    w = World(engine)
    sign_in(client, w.staff.username)
    page = client.get("/staff/review")
    csrf = csrf_of(page.text)
    # No CSRF field, then no reason: refused, nothing decided.
    r = client.post(f"/staff/review/{w.event_id}", data={"decision": "approve", "reason": "ok"})
    assert r.status_code == 403
    r = client.post(
        f"/staff/review/{w.event_id}", data={"csrf": csrf, "decision": "approve", "reason": " "}
    )
    assert r.status_code == 422 and "请填写审核理由" in r.text
    r = client.post(
        f"/staff/review/{w.event_id}",
        data={"csrf": csrf, "decision": "approve", "reason": "已电话核对身份证件，确为本人"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/staff/review"
    after = client.get("/staff/review")
    assert "审核结果已保存：已批准" in after.text
    assert f'id="ev-{w.event_id}"' not in after.text
    decided = client.get("/staff/review?tab=decided")
    assert f'id="ev-{w.event_id}"' in decided.text
    assert "已电话核对身份证件，确为本人" in decided.text and "审核通过" in decided.text
    with transaction(engine) as session:
        event = session.get(AttendanceEvent, w.event_id)
        assert event is not None and event.review_status is ReviewStatus.approved
        assert event.reviewed_by == w.staff.id
        entry = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.action) == "face.review_approved",
                col(AuditEntry.subject) == f"attendance_event:{w.event_id}",
            )
        ).one()
        assert json.loads(entry.payload)["reason"] == "已电话核对身份证件，确为本人"
    # Deciding twice is refused in words.
    r = client.post(
        f"/staff/review/{w.event_id}",
        data={"csrf": csrf, "decision": "reject", "reason": "again"},
    )
    assert r.status_code == 409


def test_a_duplicate_shows_the_other_learners_enrolment(client: TestClient, engine: Any) -> None:
    from app.attendance.models import Purpose

    w = World(engine)
    twin = make_learner(engine, w.inst, real_name="钱小白")
    dup = in_review(
        engine,
        twin,
        "Adrien_Brody",
        purpose=Purpose.enrol,
        reason_code="face_matches_other_learner",
        matched_user_id=w.learner.id,
        best_distance="0.2100",
        median_distance=None,
    )
    sign_in(client, w.staff.username)
    page = client.get("/staff/review").text
    item = page[page.index(f'id="ev-{dup}"') :]
    item = item[: item.index("</li>")]
    assert f'src="/staff/evidence/{w.enrol_id}.jpg"' in item  # the other account's enrolment
    assert "本次即为该学员的人脸采集" in item and "赵小红" in item
    assert "0.2100" in item and "低于通过阈值 0.3500" in item
    assert client.get(f"/staff/evidence/{dup}.jpg").status_code == 200


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_staff_review_queue_approves_a_flagged_event(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Any,
    tmp_path: Path,
) -> None:
    w = World(engine)
    browser = launch_browser(still_of(tmp_path / "cam.mjpeg", lfw_photo("Adrien_Brody"), 1))
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", w.staff.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/review")
    item = page.locator(f"#ev-{w.event_id}")
    item.wait_for()
    for img in (item.locator("img.crop-event"), item.locator("img.crop-enrol")):
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=img.element_handle())
        assert img.evaluate("img => img.naturalWidth") > 0
    shots = Shots(page, "staff")
    shots("review")
    item.locator("textarea[name=reason]").fill("已核对身份证件，确为本人")
    item.locator("button.approve").click()
    page.wait_for_url("**/staff/review")
    page.locator(".flash").wait_for()
    assert page.locator(f"#ev-{w.event_id}").count() == 0
    assert page.locator("#review-empty").is_visible()
    page.click("#tab-decided")
    page.wait_for_url("**tab=decided")
    decided = page.locator(f"#ev-{w.event_id}")
    assert "已核对身份证件，确为本人" in decided.inner_text()
    assert decided.get_attribute("data-status") == "approved"
    shots("review-decided", phone=False)
    assert not errors, errors


def test_the_queue_is_searched_filtered_and_paged(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review queue uses the lists' helper (app/web/listing.py): learner search, purpose,
    dates, paging with the filters kept; a bad value is named in words (400), never a 500."""
    import re

    from app.attendance.models import Purpose
    from app.web import review as review_pages

    w = World(engine)
    other = make_learner(engine, w.inst, real_name="钱小白")
    quiz_event = in_review(engine, other, "Adrien_Brody", purpose=Purpose.quiz)
    sign_in(client, w.staff.username)

    def ids(**params: str) -> set[str]:
        r = client.get("/staff/review", params=params)
        assert r.status_code == 200, r.text[:300]
        return set(re.findall(r'<li class="card review-item" id="ev-([0-9a-f-]+)"', r.text))

    assert ids() == {str(w.event_id), str(quiz_event)}
    assert ids(q="小白") == {str(quiz_event)}
    assert ids(purpose="quiz") == {str(quiz_event)}
    assert ids(to="2000-01-01") == set()
    # The course filter: the checks of the learners enrolled in that course.
    cooking = factories.course_row(engine, w.inst, title="中式烹调师")
    factories.enrollment_row(engine, other, cooking, complete=False, filed=False)
    factories.course_row(engine, w.inst, title="保育师")  # nobody enrolled
    page = client.get("/staff/review").text
    assert f'<option value="{cooking.id}">中式烹调师</option>' in page
    assert ids(course=str(cooking.id)) == {str(quiz_event)}
    assert ids(course=str(cooking.id), purpose="checkin") == set()
    theirs = factories.course_row(engine, make_institution(engine), title="电工")
    bad = client.get("/staff/review", params={"course": str(theirs.id)})
    assert bad.status_code == 400 and "“课程”的值不在列表中" in bad.text  # not theirs to name
    assert len(re.findall(r'class="card review-item"', bad.text)) == 2
    monkeypatch.setattr(review_pages, "REVIEW_PAGE", 1)
    first = client.get("/staff/review").text
    assert "第 1 / 2 页，共 2 条" in first
    nxt = re.search(r'href="([^"]+)" id="next-page"', first)
    assert nxt and "page=2" in nxt.group(1)
    decided = client.get("/staff/review", params={"tab": "decided", "purpose": "quiz"}).text
    assert 'name="tab" value="decided"' in decided  # the form keeps the tab
    bad = client.get("/staff/review", params={"purpose": "teleport", "page": "x"})
    assert bad.status_code == 400
    assert "“验证用途”的值不在列表中" in bad.text and "页码应为" in bad.text

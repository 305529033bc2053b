"""The same write through the REST API and through the staff pages: the same decision and the same
audit entry (the rules live in the services; app/api and app/web only translate HTTP).

For each write the two share — editing a course (published: refused; draft: changed), deciding an
attendance event in review, issuing and revoking a certificate — one request goes through each
layer, for twin records, and the outcomes and audit entries are compared.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.attendance.models import AttendanceEvent, Outcome, Purpose, ReviewStatus
from app.audit.models import AuditEntry
from app.certificates.models import Certificate, CertificateStatus
from app.courses import service as courses
from app.courses.models import Course, Lesson
from app.db import transaction
from app.http.cookies import CSRF_COOKIE
from app.web.staff.forms import course_values
from tests.factories import (
    PASSWORD,
    course_row,
    enrollment_row,
    login,
    make_institution,
    make_learner,
    make_user,
)

API = "/api/v1"


def _csrf_field(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def _page_sign_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"csrf": _csrf_field(page.text), "username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(client.cookies.get(CSRF_COOKIE))


def _entries(engine: Any, action: str, subject: str | None = None) -> list[AuditEntry]:
    with Session(engine) as s:
        stmt = select(AuditEntry).where(col(AuditEntry.action) == action)
        if subject is not None:
            stmt = stmt.where(col(AuditEntry.subject) == subject)
        return list(s.exec(stmt.order_by(col(AuditEntry.id))))


def _shape(entry: AuditEntry, *own_ids: object) -> dict[str, Any]:
    """An audit entry without what names its own record (ids, serials), for comparing twins."""
    ids = {str(i) for i in own_ids}
    payload = {k: v for k, v in json.loads(entry.payload).items() if str(v) not in ids}
    subject_kind = entry.subject.split(":", 1)[0]
    return {
        "action": entry.action,
        "actor": entry.actor,
        "subject": subject_kind,
        "chain": entry.chain,
        "payload": payload,
    }


def _problem(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["code"]


def _page_refusal(r: Any) -> tuple[int, str]:
    """A page's refusal: its status and the error code it names (``data-code``) if any."""
    m = re.search(r'data-code="([a-z_]+)"', r.text)
    return r.status_code, m.group(1) if m else ""


def _draft(engine: Any, staff: User) -> Course:
    with transaction(engine) as s:
        p = Principal.of_user(staff)
        course = courses.create_course(
            s,
            p,
            title="中式烹调师（初级）",
            occupation_code="4-03-02-01",
            occupation_name="中式烹调师",
            level="level5",
            required_minutes=120,
            pass_score=60,
            subsidy_fen=120_000,
            policy=courses.CoursePolicy(quiz_question_count=1),
        )
        courses.add_lesson(
            s, p, course.id, title="第 1 课", kind="text", body_or_url="正文", minutes=120
        )
        courses.add_question(
            s, p, course.id, kind="judge", stem="先断电再检修。", options=None, answer=[0]
        )
        return course


def _published(engine: Any, staff: User) -> Course:
    course = _draft(engine, staff)
    with transaction(engine) as s:
        return courses.publish_course(s, Principal.of_user(staff), course.id)


def _lesson_count(engine: Any, course_id: uuid.UUID) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Lesson).where(col(Lesson.course_id) == course_id)).all())


# ---------------------------------------------------------------- course edits


def test_published_course_is_refused_alike_and_nothing_is_audited(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = _published(engine, staff)
    before = [len(_entries(engine, a)) for a in ("course.updated", "lesson.added")]

    h = login(client, staff.username)
    csrf = _page_sign_in(client, staff.username)
    form = {**course_values(course), "title": "新标题", "csrf": csrf}
    lesson = {"title": "新课时", "kind": "text", "body_or_url": "内容", "minutes": 5}

    # Settings: the same 409 course_published from both layers.
    api = client.patch(f"{API}/courses/{course.id}", json={"title": "新标题"}, headers=h)
    page = client.post(f"/staff/courses/{course.id}", data=form)
    assert _problem(api) == (409, "course_published")
    assert page.status_code == 409 and "课程已发布" in page.text
    # Adding a lesson: refused by both too (the API used to accept it).
    api = client.post(f"{API}/courses/{course.id}/lessons", json=lesson, headers=h)
    page = client.post(f"/staff/courses/{course.id}/lessons", data={**lesson, "csrf": csrf})
    assert _problem(api) == (409, "course_published")
    assert page.status_code == 409 and "课程已发布" in page.text

    assert _lesson_count(engine, course.id) == 1
    after = [len(_entries(engine, a)) for a in ("course.updated", "lesson.added")]
    assert after == before


def test_draft_course_edit_changes_and_audits_alike(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    by_api, by_page = _draft(engine, staff), _draft(engine, staff)

    h = login(client, staff.username)
    csrf = _page_sign_in(client, staff.username)
    api = client.patch(
        f"{API}/courses/{by_api.id}", json={"title": "新标题", "pass_score": 70}, headers=h
    )
    assert api.status_code == 200, api.text
    form = {**course_values(by_page), "title": "新标题", "pass_score": "70", "csrf": csrf}
    page = client.post(f"/staff/courses/{by_page.id}", data=form, follow_redirects=False)
    assert page.status_code == 303, page.text

    with Session(engine) as s:
        a, p = s.get(Course, by_api.id), s.get(Course, by_page.id)
        assert a is not None and p is not None
        assert (a.title, a.pass_score) == (p.title, p.pass_score) == ("新标题", 70)
    [api_entry] = _entries(engine, "course.updated", f"course:{by_api.id}")
    [page_entry] = _entries(engine, "course.updated", f"course:{by_page.id}")
    assert _shape(api_entry, by_api.id) == _shape(page_entry, by_page.id)


def test_only_course_authors_write_through_either_layer(client: TestClient, engine: Any) -> None:
    """Admins pass the API's sign-in but not the service's authoring rule; the staff page asks
    the same rule (``courses.may_author``)."""
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = _draft(engine, staff)
    admin = make_user(engine, Role.admin)
    h = login(client, admin.username)
    csrf = _page_sign_in(client, admin.username)
    api = client.patch(f"{API}/courses/{course.id}", json={"title": "x"}, headers=h)
    page = client.post(
        f"/staff/courses/{course.id}", data={**course_values(course), "title": "x", "csrf": csrf}
    )
    assert _problem(api) == (403, "forbidden") and page.status_code == 403
    assert not _entries(engine, "course.updated", f"course:{course.id}")


# ---------------------------------------------------------------- review decisions


def _in_review(engine: Any, learner: User) -> uuid.UUID:
    with transaction(engine) as s:
        event = AttendanceEvent(
            user_id=learner.id,
            institution_id=learner.institution_id,
            purpose=Purpose.checkin,
            outcome=Outcome.review,
            review_status=ReviewStatus.pending,
            reason_code="uncertain_match",
            accept_threshold="0.3500",
            reject_threshold="0.5000",
            model_name="test",
            model_version="1",
            match_metric="euclidean",
            face_engine="test",
            model_sha256="0" * 64,
        )
        s.add(event)
        s.flush()
        return event.id


def _review_status(engine: Any, event_id: uuid.UUID) -> ReviewStatus | None:
    with Session(engine) as s:
        event = s.get(AttendanceEvent, event_id)
        assert event is not None
        return event.review_status


def test_review_decision_is_the_same_through_api_and_page(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    by_api = _in_review(engine, make_learner(engine, inst))
    by_page = _in_review(engine, make_learner(engine, inst))
    reason = "已核对身份证件，确为本人"

    h = login(client, staff.username)
    csrf = _page_sign_in(client, staff.username)
    api = client.post(
        f"{API}/attendance-events/{by_api}/review",
        json={"decision": "reject", "reason": reason},
        headers=h,
    )
    assert api.status_code == 200, api.text
    page = client.post(
        f"/staff/review/{by_page}",
        data={"csrf": csrf, "decision": "reject", "reason": reason},
        follow_redirects=False,
    )
    assert page.status_code == 303, page.text
    assert (
        _review_status(engine, by_api) is _review_status(engine, by_page) is ReviewStatus.rejected
    )
    [api_entry] = _entries(engine, "face.review_rejected", f"attendance_event:{by_api}")
    [page_entry] = _entries(engine, "face.review_rejected", f"attendance_event:{by_page}")
    assert _shape(api_entry, by_api) == _shape(page_entry, by_page)

    # Deciding again: the same refusal from both (the API's code; the page's status).
    again = {"decision": "approve", "reason": "再次"}
    api = client.post(f"{API}/attendance-events/{by_api}/review", json=again, headers=h)
    page = client.post(f"/staff/review/{by_page}", data={"csrf": csrf, **again})
    assert _problem(api) == (409, "not_reviewable") and page.status_code == 409


def test_regulators_read_but_never_decide_through_either_layer(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    event_id = _in_review(engine, make_learner(engine, inst, real_name="赵小红"))
    regulator = make_user(engine, Role.regulator)
    h = login(client, regulator.username)
    csrf = _page_sign_in(client, regulator.username)

    queue = client.get(f"{API}/review/attendance-events", headers=h)
    assert queue.status_code == 200 and [i["id"] for i in queue.json()] == [str(event_id)]
    page = client.get("/staff/review")
    assert page.status_code == 200 and f'id="ev-{event_id}"' in page.text

    decision = {"decision": "approve", "reason": "看起来没问题"}
    api = client.post(f"{API}/attendance-events/{event_id}/review", json=decision, headers=h)
    page = client.post(f"/staff/review/{event_id}", data={"csrf": csrf, **decision})
    assert _problem(api) == (403, "forbidden") and page.status_code == 403
    assert _review_status(engine, event_id) is ReviewStatus.pending
    assert not _entries(engine, "face.review_approved")


# ---------------------------------------------------------------- certificates


def test_certificate_issue_and_revoke_are_the_same_through_api_and_page(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = course_row(engine, inst, title="低压电工作业")
    by_api = enrollment_row(engine, make_learner(engine, inst), course)
    by_page = enrollment_row(engine, make_learner(engine, inst), course)
    unfinished = enrollment_row(engine, make_learner(engine, inst), course, complete=False)

    h = login(client, staff.username)
    csrf = _page_sign_in(client, staff.username)
    # Not complete: 409 not_complete from both, nothing issued or audited.
    api = client.post(f"{API}/enrollments/{unfinished.id}/certificate", headers=h)
    page = client.post(f"/staff/enrollments/{unfinished.id}/certificate", data={"csrf": csrf})
    assert _problem(api) == (409, "not_complete") == _page_refusal(page)

    # Issue.
    api = client.post(f"{API}/enrollments/{by_api.id}/certificate", headers=h)
    assert api.status_code == 201, api.text
    page = client.post(
        f"/staff/enrollments/{by_page.id}/certificate",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    assert page.status_code == 303, page.text
    with Session(engine) as s:
        certs = {
            c.enrollment_id: c
            for c in s.exec(
                select(Certificate).where(
                    col(Certificate.enrollment_id).in_([by_api.id, by_page.id])
                )
            )
        }
    a, p = certs[by_api.id], certs[by_page.id]
    issued = _entries(engine, "certificate.issued")
    assert len(issued) == 2
    [api_entry] = [e for e in issued if e.subject == f"certificate:{a.serial}"]
    [page_entry] = [e for e in issued if e.subject == f"certificate:{p.serial}"]
    own_a = (a.id, a.serial, by_api.id, by_api.user_id)
    own_p = (p.id, p.serial, by_page.id, by_page.user_id)
    assert _shape(api_entry, *own_a) == _shape(page_entry, *own_p)

    # Issuing again: 409 already_issued from both.
    api = client.post(f"{API}/enrollments/{by_api.id}/certificate", headers=h)
    page = client.post(f"/staff/enrollments/{by_page.id}/certificate", data={"csrf": csrf})
    assert _problem(api) == (409, "already_issued") and page.status_code == 409
    assert len(_entries(engine, "certificate.issued")) == 2

    # Revoke, with the same reason.
    reason = "考试作弊，经核查属实"
    api = client.post(f"{API}/certificates/{a.serial}/revoke", json={"reason": reason}, headers=h)
    assert api.status_code == 200, api.text
    page = client.post(
        f"/staff/enrollments/{by_page.id}/revoke",
        data={"csrf": csrf, "reason": reason, "confirm": "yes"},
        follow_redirects=False,
    )
    assert page.status_code == 303, page.text
    with Session(engine) as s:
        for cert in (a, p):
            row = s.get(Certificate, cert.id)
            assert row is not None
            assert (row.status, row.revoked_reason) == (CertificateStatus.revoked, reason)
    [api_entry] = _entries(engine, "certificate.revoked", f"certificate:{a.serial}")
    [page_entry] = _entries(engine, "certificate.revoked", f"certificate:{p.serial}")
    assert _shape(api_entry, a.id) == _shape(page_entry, p.id)

    # Revoking again: 409 already_revoked from both, no second entry.
    again = {"reason": "再次"}
    api = client.post(f"{API}/certificates/{a.serial}/revoke", json=again, headers=h)
    page = client.post(
        f"/staff/enrollments/{by_page.id}/revoke", data={"csrf": csrf, **again, "confirm": "yes"}
    )
    assert _problem(api) == (409, "already_revoked") and page.status_code == 409
    assert len(_entries(engine, "certificate.revoked")) == 2

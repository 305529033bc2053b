"""A regulator of prefecture A (广州市) can neither see nor act on an institution in prefecture B
(深圳市), on any route of the app: the list is generated from the route table, so a route added
later is covered without touching this file (a new path parameter needs a line in ``_ids``).

For every route and method, the path names institution B's objects and the query names B
(``institution_id``). Public routes (anonymous callers get a 2xx: the certificate check, the
issuer profile, …) are not regulator routes and are left out. On every other route, regulator A's
answer must not contain anything of B (its name, code, learner, course, certificate serial or the
ids the request did not itself send), and B's audit chain — where every change to B's data is
recorded — must not grow. A national regulator, on the same GET requests, is the control: B's
data does show up for them on the list, report and dashboard routes.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.attendance.models import AttendanceEvent, Outcome, Purpose, ReviewStatus
from app.audit.models import AuditEntry
from app.audit.service import Actor, chain_for
from app.claims import service as claims
from app.claims.models import NoticeObjection, RecoveryItem, RecoverySource
from app.clock import SHANGHAI
from app.courses import classes, offline
from app.courses.models import (
    CourseStatus,
    Lesson,
    LessonKind,
    Question,
    QuestionKind,
    QuizAttempt,
    RollCall,
    RollCallStatus,
)
from app.db import transaction
from app.filing import service as filing
from app.filing.models import FilingKind
from app.http.cookies import CSRF_COOKIE
from app.programmes import standards
from tests.factories import (
    course_row,
    enrollment_row,
    issue,
    learner_facts,
    login,
    make_institution,
    make_learner,
    make_user,
    sign_in,
    start_session,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"
SKIP_METHODS = {"HEAD", "OPTIONS"}


@dataclass
class World:
    ids: dict[str, str]
    markers: dict[str, str]  # what of B must never reach regulator A: label → text
    inst_b: uuid.UUID
    reg_a: str
    reg_nat: str
    outsider: str  # a learner of A: what every signed-in user sees is not supervision


def _build(client: TestClient, engine: Engine, data_dir: Any) -> World:
    inst_a = make_institution(engine, "GZA001", region="440106", name="天河区测试培训学校")
    inst_b = make_institution(engine, "SZB001", region="440305", name="南山保密职业培训学校")
    reg_a = make_user(engine, Role.regulator, jurisdiction="440100")  # 广州市
    reg_nat = make_user(engine, Role.regulator)  # national
    outsider = make_learner(engine, inst_a, real_name="广州学员")
    learner = make_learner(engine, inst_b, real_name="林保密")
    staff_b = make_user(engine, Role.staff, inst_b)
    course = course_row(engine, inst_b, title="南山专属低压电工课程")
    draft = course_row(engine, inst_b, title="南山草稿课程", status=CourseStatus.draft)
    done = enrollment_row(engine, learner, course)
    cert = issue(engine, learner, done)
    studying = enrollment_row(engine, learner, course_row(engine, inst_b), complete=False)
    session_id = start_session(engine, learner, studying, course)
    now = clock.now()
    (data_dir / "evidence").mkdir(parents=True, exist_ok=True)
    (data_dir / "evidence" / "b.jpg").write_bytes(JPEG)
    with transaction(engine) as s:
        lesson = Lesson(
            course_id=draft.id,
            position=1,
            title="第一课",
            kind=LessonKind.text,
            body_or_url="正文",
            minutes=30,
        )
        question = Question(
            course_id=draft.id,
            kind=QuestionKind.single,
            stem="安全电压？",
            options=["36V", "220V"],
            answer=[0],
        )
        event = AttendanceEvent(
            user_id=learner.id,
            institution_id=inst_b.id,
            purpose=Purpose.checkin,
            outcome=Outcome.review,
            review_status=ReviewStatus.pending,
            accept_threshold="0.50",
            reject_threshold="0.40",
            model_name="test",
            model_version="1",
            match_metric="cosine",
            face_engine="test",
            model_sha256="0" * 64,
            evidence_path="evidence/b.jpg",
            evidence_sha256=hashlib.sha256(JPEG).hexdigest(),
        )
        s.add_all([lesson, question, event])
        s.flush()
        rollcall = RollCall(
            session_id=session_id,
            enrollment_id=studying.id,
            user_id=learner.id,
            due_at=now,
            offered_at=now,
            deadline=now + timedelta(hours=1),
            status=RollCallStatus.pending,
        )
        attempt = QuizAttempt(
            enrollment_id=studying.id,
            user_id=learner.id,
            attendance_event_id=event.id,
            started_at=now,
            deadline=now + timedelta(hours=1),
            paper=[],
        )
        s.add_all([rollcall, attempt])
        klass = classes.default_class(s, course)
        key, _ = accounts.create_api_key(
            s, institution_id=inst_b.id, name="partner", scopes=[], actor=Actor.system()
        )
        s.flush()
        ids = {
            "learner_id": str(learner.id),
            "user_id": str(learner.id),
            "event_id": str(event.id),
            "course_id": str(draft.id),
            "enrollment_id": str(done.id),
            "session_id": str(session_id),
            "rollcall_id": str(rollcall.id),
            "attempt_id": str(attempt.id),
            "institution_id": str(inst_b.id),
            "serial": cert.serial,
            "key_id": str(key.id),
            "lesson_id": str(lesson.id),
            "question_id": str(question.id),
            "class_id": str(klass.id),
        }
    # B's claims: a filed batch with its line, an objection to it, a recovery item
    with transaction(engine) as s:
        today = clock.now().astimezone(SHANGHAI)
        batch = claims.file_quarter(
            s,
            Principal.of_user(s.get(User, staff_b.id)),  # type: ignore[arg-type]
            year=today.year,
            quarter=(today.month + 2) // 3,
        )
        line = claims.lines_of(s, batch)[0]
        objection = NoticeObjection(
            batch_id=batch.id, line_id=line.id, institution_id=inst_b.id, text="培训时长不实"
        )
        recovery = RecoveryItem(
            institution_id=inst_b.id,
            batch_id=batch.id,
            line_id=line.id,
            certificate_id=cert.id,
            source=RecoverySource.finding,
            amount_fen=1000,
            reason="核查发现代学",
            due_at=now + timedelta(days=30),
            created_by="system",
        )
        s.add_all([objection, recovery])
        s.flush()
        ids |= {
            "batch_id": str(batch.id),
            "line_id": str(line.id),
            "objection_id": str(objection.id),
            "recovery_id": str(recovery.id),
        }
    # B's class filed with the regulator (开班备案), awaiting a decision
    with transaction(engine) as s:
        as_staff_b = Principal.of_user(s.get(User, staff_b.id))  # type: ignore[arg-type]
        start = clock.now().astimezone(SHANGHAI).date() + timedelta(days=7)
        scheduled = classes.create_class(
            s,
            as_staff_b,
            course.id,
            code="SZ-2026-09",
            name="南山保密电工班",
            starts_on=start,
            ends_on=start + timedelta(days=30),
            capacity=30,
            head_teacher_id=staff_b.id,
        )
        f = filing.file_class(s, as_staff_b, scheduled.id, kind=FilingKind.opening)
        ids["filing_id"] = str(f.id)
    # B's region's subsidy standard, set by 深圳's regulator
    reg_b = make_user(engine, Role.regulator, jurisdiction="440300")
    with transaction(engine) as s:
        standard = standards.set_standard(
            s,
            Principal.of_user(s.get(User, reg_b.id)),  # type: ignore[arg-type]
            occupation_code="6-31-01-03",
            occupation_name="电工",
            level="level3",
            amount_fen=170_000,
            effective_from=date(2026, 1, 1),
        )
        ids["standard_id"] = str(standard.id)
    # B's learner's facts: a confirmed group, a residence, an external certificate
    ids |= learner_facts(
        engine,
        staff_b,
        learner,
        group=("unemployed", "unemployment_registration", "4403052026000123"),
        residence=("resident", "440305", "other_document", "居住证 4403050001"),
        external=("special_operations", "T440305199001010011", "深圳市应急管理局"),
    )
    # B's offline practical session (a class of B's course, B's staff as instructor)
    with transaction(engine) as s:
        as_b = Principal.of_user(s.get(User, staff_b.id))  # type: ignore[arg-type]
        start = clock.now() + timedelta(days=1)
        practical = offline.schedule_session(
            s,
            as_b,
            uuid.UUID(ids["class_id"]),
            title="南山保密实训",
            site_address="深圳市南山区保密路 1 号",
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            capacity=20,
            instructor_id=staff_b.id,
        )
        ids["offline_session_id"] = str(practical.id)
    as_staff = login(client, staff_b.username)
    r = client.post(
        "/api/v1/webhooks",
        json={"url": "https://partner.example.com/hook", "events": ["certificate.issued"]},
        headers=as_staff,
    )
    assert r.status_code == 201, r.text
    ids["webhook_id"] = r.json()["id"]
    as_learner = login(client, learner.username)
    client.post("/api/v1/me/consent", json={"biometric": True}, headers=as_learner)
    r = client.post("/api/v1/me/face/handoffs", json={"purpose": "enrol"}, headers=as_learner)
    assert r.status_code == 201, r.text
    ids["handoff_id"], ids["code"] = r.json()["handoff_id"], r.json()["code"]
    markers = {
        **{k: v for k, v in ids.items() if k != "code"},
        "institution_code": "SZB001",
        "institution_name": "南山保密职业培训学校",
        "learner_name": "林保密",
        "learner_username": learner.username,
        "course_title": "南山专属低压电工课程",
        "draft_title": "南山草稿课程",
        "other_enrollment": str(studying.id),
    }
    return World(ids, markers, inst_b.id, reg_a.username, reg_nat.username, outsider.username)


#: Path parameters that are not an object of B's: a value that makes the route meaningful.
_OTHER = {
    "action": "suspend",
    "status_list": "1",
    "thumbprint": "x",
    "what": "video",
    "check_id": str(uuid.uuid4()),  # a face check is the learner's own, never a regulator's
    "import_id": str(uuid.uuid4()),  # a roster import is the staff's own preview
}


def _routes(client: TestClient) -> list[tuple[str, str]]:
    out = []
    for rc in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        for method in sorted(rc.methods or ()):
            if method not in SKIP_METHODS:
                out.append((method, rc.path))
    return sorted(set(out))


def _url(path: str, w: World) -> tuple[str, set[str]]:
    sent: set[str] = set()

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _OTHER:
            return _OTHER[name]
        assert name in w.ids, f"no object of B for the path parameter {name!r}: add it"
        sent.add(w.ids[name])
        return w.ids[name]

    return re.sub(r"{(\w+)(?::\w+)?}", fill, path), sent


def _b_chain_length(engine: Engine, inst: uuid.UUID) -> int:
    with Session(engine) as s:
        q = select(func.count()).select_from(AuditEntry)
        return int(s.exec(q.where(col(AuditEntry.chain) == chain_for(inst))).one())


def test_a_regulator_of_prefecture_a_cannot_see_or_act_on_prefecture_b(
    client: TestClient, engine: Engine, app_env: str, tmp_path: Any
) -> None:
    w = _build(client, engine, tmp_path / "data")
    routes = _routes(client)
    tokens = {name: login(client, name) for name in (w.reg_a, w.reg_nat)}
    public: set[tuple[str, str]] = set()
    leaks: list[str] = []
    acted: list[str] = []
    seen_by_national: set[str] = set()
    open_to_users: set[str] = set()

    for who in (w.reg_a, w.reg_nat):
        client.cookies.clear()
        sign_in(client, who)  # pages read the session cookie, the API the bearer token
        for method, path in routes:
            url, sent = _url(path, w)
            markers = {k: v for k, v in w.markers.items() if v not in sent}
            if who == w.reg_a:
                anon = TestClient(client.app).request(  # type: ignore[arg-type]
                    method,
                    url,
                    params={"institution_id": w.ids["institution_id"]},
                    follow_redirects=False,
                )
                if 200 <= anon.status_code < 300:
                    public.add((method, path))
                    continue
            elif method != "GET" or (method, path) in public:
                continue
            headers = tokens[who] if path.startswith("/api/") else {}
            before = _b_chain_length(engine, w.inst_b)
            r = client.request(
                method,
                url,
                params={"institution_id": w.ids["institution_id"]},
                headers=headers,
                follow_redirects=False,
                **(
                    {}
                    if method == "GET"
                    else {"json": {}}
                    if path.startswith("/api/")
                    else {
                        "data": {
                            "csrf": client.cookies.get(CSRF_COOKIE) or "",
                            "reason": "越权测试",
                            "name": "越权",
                        }
                    }
                ),
            )
            assert r.status_code < 500, f"{method} {path}: {r.status_code} {r.text[:300]}"
            body = r.content.decode("utf-8", "replace")
            found = sorted(k for k, v in markers.items() if v in body)
            if who == w.reg_nat:
                if found:
                    seen_by_national.add(path)
                continue
            if found and method == "GET":
                # Open to every signed-in user (the published catalogue)? Then it is not a
                # regulator's view: a learner of A sees the very same.
                with TestClient(client.app) as other:  # type: ignore[arg-type]
                    sign_in(other, w.outsider)
                    o = other.get(
                        url,
                        params={"institution_id": w.ids["institution_id"]},
                        headers=login(other, w.outsider) if path.startswith("/api/") else {},
                    )
                    if 200 <= o.status_code < 300 and all(w.markers[k] in o.text for k in found):
                        open_to_users.add(f"{method} {path}")
                        found = []
            if found:
                leaks.append(f"{method} {path} → {r.status_code}: {', '.join(found)}")
            if _b_chain_length(engine, w.inst_b) != before:
                acted.append(f"{method} {path} → {r.status_code}")
            if sent and 200 <= r.status_code < 300 and method != "GET":
                acted.append(f"{method} {path} → {r.status_code} on B's object")

    assert len(routes) > 100, "the route table was not read"
    assert open_to_users <= {"GET /api/v1/courses", "GET /courses"}, open_to_users
    assert leaks == [], "regulator A saw B's data"
    assert acted == [], "regulator A changed B's data"
    # The control: the same requests do show B to a national regulator, so the markers work.
    assert {
        "/api/v1/learners",
        "/api/v1/reports/summary",
        "/api/v1/audit/export",
        "/api/v1/learners/{learner_id}",
        "/api/v1/certificates/{serial}",
        "/regulator",
        "/regulator/learners/{user_id}",
    } <= seen_by_national, sorted(seen_by_national)

"""The authorization matrix: every API route with an id in its path × every kind of caller.

``MATRIX`` below is the ONE table of who may do what to whose objects. Each row names a route
and the outcome for each caller, in the order of ``CALLERS``:

    anon     nobody signed in                       staff    staff of the owner's institution
    learner  the learner who owns the object        ostaff   staff of another institution
    other    another learner of the same school     reg      a regulator (read-only, all)
    admin    an administrator                       key-     a key of the owner's school
    key+     a key of the owner's school with        without the route's scope (for a route
             exactly the route's scope (all scopes   keys never use: a key with no scope)
             for a route keys never use)             okey     another institution's key with
                                                             every scope

Outcomes: ``A`` 401 (sign in), ``D`` 403 (refused: role or scope), ``H`` 404 (hidden: the
caller may not know the object exists), ``Y`` allowed — a 2xx, or a refusal by a domain rule
that comes after authorization (e.g. 409 ``course_published``, 422 ``challenge_invalid``),
never 401, 404 or an authorization 403.

Every object belongs to the learner ``learner`` of institution A. The fixtures are built once
per module and database (SQLite and PostgreSQL). A route of the app with a path parameter and
no row fails ``test_every_route_with_an_id_has_a_row``; so does a row for a route that is gone.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.principal import SCOPES, Principal, Scope
from app.api.deps import Access, route_access
from app.attendance.checks import station_issuer
from app.attendance.models import AttendanceEvent, FaceChallenge, Outcome, Purpose, ReviewStatus
from app.attendance.streaming import Schedule, StreamParams
from app.audit.service import Actor
from app.certificates.models import Certificate
from app.claims.models import (
    BatchStatus,
    ClaimBatch,
    ClaimLine,
    NoticeObjection,
    RecoveryItem,
    RecoverySource,
)
from app.courses.classes import default_class
from app.courses.models import (
    Course,
    CourseClass,
    CourseStatus,
    Enrollment,
    Lesson,
    LessonKind,
    OfflineSession,
    Question,
    QuestionKind,
    QuizAttempt,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.db import transaction
from tests.factories import (
    PASSWORD,
    id_number,
    learner_facts,
    make_institution,
    make_learner,
    make_user,
    subsidy_standard,
)
from tests.pdfs import SCAN_PDF

API = "/api/v1"
CALLERS = ("anon", "learner", "other", "staff", "ostaff", "reg", "admin", "key-", "key+", "okey")
#: Problem codes that mean "refused by authorization" (everything else past the guard is "Y").
AUTHZ_403 = {"forbidden", "insufficient_scope", "csrf_failed"}

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"  # an evidence crop's bytes (not decoded)


# ---------------------------------------------------------------- the world, once per module


@dataclass
class World:
    client: TestClient
    engine: Engine
    data_dir: Path
    inst_a: uuid.UUID
    learner: User
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # "a:<scopes>" / "b:all" → secret
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, caller: str, access: Access) -> dict[str, str]:
        if caller == "anon":
            return {}
        if caller in self.tokens:
            return {"Authorization": f"Bearer {self.tokens[caller]}"}
        scope = access.scope.value if access.scope else None
        name = {
            "key-": f"a:not:{scope}" if scope else "a:none",
            "key+": f"a:only:{scope}" if scope else "a:all",
            "okey": "b:all",
        }[caller]
        return {"Authorization": f"Bearer {self.keys[name]}"}

    # Fresh objects, for the routes whose success changes what the next caller would see.
    def draft_course(self) -> str:
        with transaction(self.engine) as s:
            course = Course(
                institution_id=self.inst_a,
                status=CourseStatus.draft,
                **_COURSE,
                quiz_question_count=1,
            )
            s.add(course)
            s.flush()
            s.add(_lesson(course.id, 1))
            s.add(_question(course.id))
            return str(course.id)

    def draft_lesson(self) -> str:
        with transaction(self.engine) as s:
            lesson = _lesson(uuid.UUID(self.ids["draft"]), 2)
            s.add(lesson)
            s.flush()
            return str(lesson.id)

    def draft_question(self) -> str:
        with transaction(self.engine) as s:
            question = _question(uuid.UUID(self.ids["draft"]))
            s.add(question)
            s.flush()
            return str(question.id)

    def streamed_check(self) -> str:
        """A fresh streamed check of the learner (its frames may be refused, not hidden)."""
        with transaction(self.engine) as s:
            check = FaceChallenge(
                user_id=self.learner.id,
                nonce="matrix",
                actions=[],
                expires_at=clock.now() + timedelta(hours=1),
                mode="streamed",
                schedule=Schedule.draw(StreamParams()).to_json(),
            )
            s.add(check)
            s.flush()
            return str(check.id)

    def offline_session(self) -> str:
        """A fresh offline session of the learner's class, running now (instructor: staff)."""
        with transaction(self.engine) as s:
            enrollment = s.get(Enrollment, uuid.UUID(self.ids["enrollment_id"]))
            assert enrollment is not None
            now = clock.now()
            row = OfflineSession(
                course_id=enrollment.course_id,
                class_id=enrollment.class_id,
                institution_id=self.inst_a,
                title="低压电工实操",
                site_address="深圳市南山区 实训楼 302 室",
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=2),
                capacity=10,
                instructor_id=uuid.UUID(self.ids["staff_id"]),
                created_by=uuid.UUID(self.ids["staff_id"]),
            )
            s.add(row)
            s.flush()
            return str(row.id)

    def station_check(self) -> str:
        """A fresh streamed check the offline session's station opened for the learner."""
        with transaction(self.engine) as s:
            check = FaceChallenge(
                user_id=self.learner.id,
                nonce="matrix",
                actions=[],
                expires_at=clock.now() + timedelta(hours=1),
                mode="streamed",
                schedule=Schedule.draw(StreamParams()).to_json(),
                issued_to=station_issuer(uuid.UUID(self.ids["offline_session_id"]), "checkin"),
            )
            s.add(check)
            s.flush()
            return str(check.id)

    def api_key(self) -> str:
        with transaction(self.engine) as s:
            key, _ = accounts.create_api_key(
                s, institution_id=self.inst_a, name="target", scopes=[], actor=Actor.system()
            )
            return str(key.id)


_COURSE: dict[str, Any] = {
    "title": "低压电工作业",
    "occupation_code": "6-31-01-03",
    "occupation_name": "电工",
    "level": "level4",
    "required_minutes": 60,
    "pass_score": 60,
    "subsidy_fen": 150_000,
}


def _lesson(course_id: uuid.UUID, position: int) -> Lesson:
    return Lesson(
        course_id=course_id,
        position=position,
        title=f"第 {position} 课",
        kind=LessonKind.text,
        body_or_url="安全用电基本知识。",
        minutes=60,
    )


def _question(course_id: uuid.UUID) -> Question:
    return Question(
        course_id=course_id,
        kind=QuestionKind.single,
        stem="安全电压是多少？",
        options=["36V", "220V"],
        answer=[0],
    )


def _event(learner: User, **kw: Any) -> AttendanceEvent:
    return AttendanceEvent(
        user_id=learner.id,
        institution_id=learner.institution_id,
        accept_threshold="0.38",
        reject_threshold="0.50",
        model_name="test",
        model_version="1",
        match_metric="euclidean",
        face_engine="test",
        model_sha256="0" * 64,
        **kw,
    )


def build_world(client: TestClient, engine: Engine, data_dir: Path) -> World:
    inst_a, inst_b = make_institution(engine), make_institution(engine)
    learner, other = make_learner(engine, inst_a), make_learner(engine, inst_a)
    users = {
        "learner": learner,
        "other": other,
        "staff": make_user(engine, Role.staff, inst_a),
        "ostaff": make_user(engine, Role.staff, inst_b),
        "reg": make_user(engine, Role.regulator),
        "admin": make_user(engine, Role.admin),
    }
    w = World(client=client, engine=engine, data_dir=data_dir, inst_a=inst_a.id, learner=learner)
    w.tokens = {name: accounts.issue_token(u)[0] for name, u in users.items()}
    now = clock.now()
    with transaction(engine) as s:
        for u in (learner, other):
            accounts.set_biometric_consent(s, u, granted=True)

        def key(name: str, inst: uuid.UUID, scopes: list[str]) -> None:
            _, w.keys[name] = accounts.create_api_key(
                s, institution_id=inst, name=name, scopes=scopes, actor=Actor.system()
            )

        key("a:none", inst_a.id, [])
        key("a:all", inst_a.id, sorted(SCOPES))
        key("b:all", inst_b.id, sorted(SCOPES))
        for scope in Scope:
            key(f"a:only:{scope.value}", inst_a.id, [scope.value])
            key(f"a:not:{scope.value}", inst_a.id, sorted(set(SCOPES) - {scope.value}))

        course = Course(institution_id=inst_a.id, status=CourseStatus.published, **_COURSE)
        done = Course(institution_id=inst_a.id, status=CourseStatus.published, **_COURSE)
        s.add_all([course, done])
        s.flush()
        video = _lesson(course.id, 2)
        video.kind, video.body_or_url, video.video_type = LessonKind.video, "", "video/webm"
        video.video_key, video.poster_key = "lessons/authz/v.webm", "lessons/authz/p.jpg"
        (data_dir / "media" / "lessons" / "authz").mkdir(parents=True, exist_ok=True)
        (data_dir / "media" / "lessons" / "authz" / "v.webm").write_bytes(b"\x1aE\xdf\xa3" * 64)
        (data_dir / "media" / "lessons" / "authz" / "p.jpg").write_bytes(JPEG)
        s.add_all([_lesson(course.id, 1), video, _question(course.id)])
        enrollment = Enrollment(
            course_id=course.id,
            user_id=learner.id,
            institution_id=inst_a.id,
            class_id=default_class(s, course).id,
        )
        complete = Enrollment(
            course_id=done.id,
            user_id=learner.id,
            institution_id=inst_a.id,
            class_id=default_class(s, done).id,
            credited_ms=3_600_000,
            quiz_passed=True,
            best_quiz_score=90,
            rollcalls_total=4,
            rollcalls_passed=4,
            completed_at=now,
        )
        s.add_all([enrollment, complete])
        (data_dir / "evidence").mkdir(parents=True, exist_ok=True)
        (data_dir / "evidence" / "authz.jpg").write_bytes(JPEG)
        event = _event(
            learner,
            purpose=Purpose.checkin,
            outcome=Outcome.review,
            review_status=ReviewStatus.pending,
            evidence_path="evidence/authz.jpg",
            evidence_sha256=hashlib.sha256(JPEG).hexdigest(),
        )
        s.add(event)
        s.flush()
        study = StudySession(
            enrollment_id=enrollment.id,
            user_id=learner.id,
            state=SessionState.studying,
            checkin_event_id=event.id,
            started_at=now,
            last_heartbeat_at=now,
            segment_started_at=now,
        )
        s.add(study)
        s.flush()
        rollcall = RollCall(
            session_id=study.id,
            enrollment_id=enrollment.id,
            user_id=learner.id,
            due_at=now,
            offered_at=now,
            deadline=now + timedelta(hours=1),
            status=RollCallStatus.pending,
        )
        attempt = QuizAttempt(
            enrollment_id=enrollment.id,
            user_id=learner.id,
            attendance_event_id=event.id,
            started_at=now,
            deadline=now + timedelta(hours=1),
            paper=[],
        )
        klass = CourseClass(
            course_id=course.id,
            institution_id=inst_a.id,
            code="2026-03",
            name="2026年第3期低压电工班",
            starts_on=now.date(),
            ends_on=now.date() + timedelta(days=30),
            capacity=50,
            head_teacher_id=users["staff"].id,
        )
        s.add_all([rollcall, attempt, klass])
        s.flush()
        w.ids = {
            "class_id": str(klass.id),
            "staff_id": str(users["staff"].id),
            "learner_id": str(learner.id),
            "event_id": str(event.id),
            "course_id": str(course.id),
            "enrollment_id": str(enrollment.id),
            "complete": str(complete.id),
            "session_id": str(study.id),
            "rollcall_id": str(rollcall.id),
            "attempt_id": str(attempt.id),
            "institution_id": str(inst_a.id),
            "video_lesson": str(video.id),
        }
    w.ids["staff_user"] = str(users["staff"].id)
    standard = subsidy_standard(engine, "6-31-01-03", "level4", amount_fen=150_000)
    assert standard is not None
    w.ids["standard_id"] = str(standard.id)
    w.ids["draft"] = w.draft_course()
    w.ids["lesson_id"] = w.draft_lesson()
    w.ids["offline_session_id"] = w.offline_session()
    w.ids["question_id"] = w.draft_question()

    # Through the API, as their owners would: a certificate, a webhook, a phone hand-off.
    as_learner = {"Authorization": f"Bearer {w.tokens['learner']}"}
    r = client.post(f"{API}/enrollments/{w.ids['complete']}/certificate", headers=as_learner)
    assert r.status_code == 201, r.text
    w.ids["serial"] = r.json()["serial"]
    r = client.post(
        f"{API}/webhooks",
        json={"url": "https://partner.example.com/hook", "events": ["certificate.issued"]},
        headers={"Authorization": f"Bearer {w.tokens['staff']}"},
    )
    assert r.status_code == 201, r.text
    w.ids["webhook_id"] = r.json()["id"]
    r = client.post(f"{API}/me/face/handoffs", json={"purpose": "enrol"}, headers=as_learner)
    assert r.status_code == 201, r.text
    w.ids["handoff_id"], w.ids["code"] = r.json()["handoff_id"], r.json()["code"]
    w.ids.update(_claims(engine, inst_a.id, w.ids["serial"]))
    w.ids.update(_facts(engine, users["staff"], learner))
    return w


def _facts(engine: Engine, staff: User, learner: User) -> dict[str, str]:
    """The learner's eligibility facts, confirmed by staff of A: a group, a residence (in a
    loaded region: the demo province), an external certificate with its scan."""
    return learner_facts(engine, staff, learner)


def _external_upload(w: World) -> dict[str, Any]:
    return {
        "data": {
            "kind": "special_operations",
            "number": f"T{uuid.uuid4().hex[:16]}",
            "issuer": "深圳市应急管理局",
            "issued_on": clock.now().date().isoformat(),
            "occupation_code": "6-31-01-03",
            "occupation_name": "电工",
        },
        "files": [("scan", ("scan.pdf", SCAN_PDF, "application/pdf"))],
    }


def _claims(engine: Engine, inst: uuid.UUID, serial: str) -> dict[str, str]:
    """A filed claim batch of institution A with the certificate's line, a recovery item and an
    objection; a second batch in public notice (anyone may object to it)."""
    now = clock.now()
    with transaction(engine) as s:
        cert = s.exec(select(Certificate).where(col(Certificate.serial) == serial)).one()
        batches = [
            ClaimBatch(
                institution_id=inst,
                seq=n,
                reference=f"AUTHZ-B{n}",
                lines_hash="0" * 64,
                filed_by="test",
                **extra,
            )
            for n, extra in (
                (1, {}),
                (
                    2,
                    {
                        "status": BatchStatus.approved,
                        "notice_starts_at": now,
                        "notice_ends_at": now + timedelta(days=7),
                    },
                ),
            )
        ]
        s.add_all(batches)
        s.flush()
        line = ClaimLine(
            batch_id=batches[0].id,
            institution_id=inst,
            no=1,
            certificate_id=cert.id,
            serial=cert.serial,
            user_id=cert.user_id,
            learner_name=cert.learner_name,
            id_number_masked=cert.id_number_masked,
            course_id=cert.course_id,
            course_title=cert.course_title,
            occupation_code=cert.occupation_code,
            occupation_name=cert.occupation_name,
            level=cert.level,
            credited_minutes=cert.credited_minutes,
            issued_at=cert.issued_at,
            amount_fen=cert.subsidy_fen,
            content_hash="0" * 64,
        )
        s.add(line)
        s.flush()
        recovery = RecoveryItem(
            institution_id=inst,
            batch_id=batches[0].id,
            line_id=line.id,
            certificate_id=cert.id,
            source=RecoverySource.finding,
            amount_fen=cert.subsidy_fen,
            reason="抽查发现代学",
            due_at=now + timedelta(days=30),
            created_by="test",
        )
        objection = NoticeObjection(batch_id=batches[0].id, institution_id=inst, text="异议")
        s.add_all([recovery, objection])
        s.flush()
        return {
            "batch_id": str(batches[0].id),
            "noticed_batch": str(batches[1].id),
            "line_id": str(line.id),
            "recovery_id": str(recovery.id),
            "objection_id": str(objection.id),
        }


def _truncate(url: str) -> None:
    from app.models import metadata

    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    from app.config import get_settings
    from app.db import dispose_engines, get_engine
    from app.main import create_app

    tmp = tmp_path_factory.mktemp("authz")
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp / "test.db")
        url = f"sqlite:///{tmp / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_worker_url")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SKILLTRACE_DATABASE_URL", url)
        mp.setenv("SKILLTRACE_DATA_DIR", str(tmp / "data"))
        get_settings.cache_clear()
        try:
            with TestClient(create_app(), raise_server_exceptions=False) as client:
                yield build_world(client, get_engine(), tmp / "data")
        finally:
            dispose_engines()
            get_settings.cache_clear()
            if request.param == "postgres":
                _truncate(url)


# ---------------------------------------------------------------- what each request sends


def _frames(w: World) -> dict[str, Any]:
    """A burst naming a challenge that does not exist (the check refuses it after the guard)."""
    return {
        "data": {"challenge_id": str(uuid.uuid4())},
        "files": [("frames", ("f.jpg", JPEG, "image/jpeg"))],
    }


def _phone(w: World) -> dict[str, Any]:
    """The phone's burst, naming a fresh challenge of the hand-off while it takes one (the first
    burst is refused as not an image and uses the hand-off up: later ones get 409)."""
    r = w.client.post(f"{API}/handoffs/{w.ids['code']}/challenge")
    send = _frames(w)
    if r.status_code == 201:
        send["data"] = {"challenge_id": r.json()["challenge_id"]}
    return send


def _frame(w: World) -> dict[str, Any]:
    """One streamed frame (not a decodable picture: refused after the guard)."""
    return {"data": {"seq": "0"}, "files": [("frame", ("f.jpg", JPEG, "image/jpeg"))]}


def _station_check(w: World) -> dict[str, str]:
    return {"offline_session_id": w.ids["offline_session_id"], "check_id": w.station_check()}


def _new_offline_session(w: World) -> dict[str, str]:
    return {"offline_session_id": w.offline_session()}


def _new_offline(w: World) -> dict[str, Any]:
    start = clock.now() + timedelta(days=1)
    return {
        "json": {
            "title": "低压电工实操：照明线路安装",
            "site_address": "深圳市南山区留仙大道 1088 号 实训楼 302 室",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=3)).isoformat(),
            "capacity": 20,
            "instructor_id": w.ids["staff_id"],
        }
    }


def _check(w: World) -> dict[str, str]:
    return {"check_id": w.streamed_check()}


def _phone_check(w: World) -> dict[str, str]:
    """The hand-off's current check (a fresh one while the hand-off is usable)."""
    r = w.client.post(f"{API}/handoffs/{w.ids['code']}/challenge")
    check = r.json()["challenge_id"] if r.status_code == 201 else str(uuid.uuid4())
    return {"code": w.ids["code"], "check_id": check}


def _json(body: dict[str, Any]) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"json": body}


_LESSON = _json({"title": "第二课", "kind": "text", "body_or_url": "正文", "minutes": 30})
_QUESTION = _json(
    {"kind": "single", "stem": "安全电压？", "options": ["36V", "220V"], "answer": [0]}
)
_TITLE = _json({"title": "新标题"})
_STEM = _json({"stem": "新题干"})
_REVIEW = _json({"decision": "approve", "reason": "本人"})
_REASON = _json({"reason": "测试撤销"})
_GROUP = _json(
    {"group": "unemployed", "evidence_kind": "unemployment_registration", "evidence_number": "1"}
)
_RESIDENCE = _json({"kind": "resident", "region_code": "440305", "evidence_kind": "other_document"})
_VERIFY = _json({"decision": "verify"})


_BEAT = _json({"visible": True})
_ANSWERS = _json({"answers": {}})
_SETTINGS = _json({"auto_issue": False})
_LINE_REVIEW = _json({"decision": "approved"})
_EVIDENCE = _json({"note": "实操签到表编号 SX-1"})
_PAYMENT = _json({"amount_fen": 150_000, "paid_on": "2026-01-05", "reference": "深财拨1号"})
_FINDING = _json({"reason": "抽查发现代学"})
_SETTLE = _json({"outcome": "recovered", "reference": "缴款书 1"})
_RESOLVE = _json({"upheld": False, "resolution": "经核查学员本人参训"})
_OBJECTION = _json({"text": "公示名单中的人员未参加培训。"})
_EXPORT = _json({"format": "jsonl", "reason": "报送支付核对"})
_OUTCOME = _json({"status": "unknown", "on": "2026-01-05"})


def _noticed(w: World) -> dict[str, str]:
    return {"batch_id": w.ids["noticed_batch"]}


def _seal_upload(w: World) -> dict[str, Any]:
    """Not an image: refused (422) by the seal rule, after the guard."""
    return {"files": [("file", ("seal.png", b"not a picture", "image/png"))]}


def _with_seal(w: World) -> dict[str, Any]:
    """Institution A has a seal on file (a DELETE row may have cleared it)."""
    from app.accounts.principal import Principal
    from app.certificates import seal
    from tests.factories import seal_scan

    with transaction(w.engine) as s:
        staff = s.get(User, uuid.UUID(w.ids["staff_user"]))
        assert staff is not None
        seal.set_seal(s, Principal.of_user(staff), w.inst_a, seal_scan(size=200, ring=12))
    return {}


def _new_class(w: World) -> dict[str, Any]:
    return {
        "json": {
            "code": f"K{uuid.uuid4().hex[:8]}",
            "name": "2026年第4期低压电工班",
            "starts_on": "2026-04-01",
            "ends_on": "2026-04-30",
            "capacity": 40,
            "head_teacher_id": w.ids["staff_id"],
        }
    }


def _new_filing(w: World) -> dict[str, str]:
    """A fresh class of institution A filed for opening (开班备案), awaiting a decision."""
    from app.filing import service as filing
    from app.filing.models import FilingKind

    with transaction(w.engine) as s:
        staff = s.get(User, uuid.UUID(w.ids["staff_id"]))
        assert staff is not None
        today = clock.now().date()
        klass = CourseClass(
            course_id=uuid.UUID(w.ids["course_id"]),
            institution_id=w.inst_a,
            code=f"F{uuid.uuid4().hex[:8]}",
            name="2026年第5期低压电工班",
            starts_on=today + timedelta(days=10),
            ends_on=today + timedelta(days=40),
            capacity=40,
            head_teacher_id=staff.id,
        )
        s.add(klass)
        s.flush()
        f = filing.file_class(s, Principal.of_user(staff), klass.id, kind=FilingKind.opening)
        return {"filing_id": str(f.id)}


def _roster_file(w: World) -> dict[str, Any]:
    text = "姓名,身份证号\r\n李建国,110105199003071234\r\n"
    return {"files": [("file", ("名册.csv", text.encode(), "text/csv"))]}


def _person(w: World) -> dict[str, Any]:
    return {"json": {"real_name": "=1+1", "id_number": "110105199003071235"}}


def _roster_import(w: World) -> dict[str, str]:
    """A checked roster of institution A (a row with errors: a commit is refused after the
    guard, 409 roster_not_ready)."""
    from app.courses import roster as roster_service

    with transaction(w.engine) as s:
        staff = s.get(User, uuid.UUID(w.ids["staff_id"]))
        assert staff is not None
        imp, _ = roster_service.preview(
            s,
            Principal.of_user(staff),
            uuid.UUID(w.ids["class_id"]),
            "姓名,身份证号\r\n=1,110105199003071235\r\n".encode(),
            "名册.csv",
        )
        return {"import_id": str(imp.id)}


_fresh_learners = iter(range(600, 1000))


def _fresh_learner(w: World) -> dict[str, str]:
    """Another learner of institution A (a password reset ends the owner's sessions)."""
    n = next(_fresh_learners)
    with transaction(w.engine) as s:
        learner = accounts.register_learner(
            s,
            username=f"reset{n}",
            password=PASSWORD,
            real_name="吴静",
            id_number=id_number(seq=n),
            institution_id=w.inst_a,
        )
        return {"learner_id": str(learner.id)}


def _enrol_learner(w: World) -> dict[str, Any]:
    return {"json": {"learner_id": w.ids["learner_id"]}}


def _move_class(w: World) -> dict[str, Any]:
    return {"json": {"class_id": w.ids["class_id"], "reason": "工作调班"}}


_CAPACITY = _json({"capacity": 45})


def _draft(w: World) -> dict[str, str]:
    return {"course_id": w.ids["draft"]}


def _new_draft(w: World) -> dict[str, str]:
    return {"course_id": w.draft_course()}


def _new_lesson(w: World) -> dict[str, str]:
    return {**_draft(w), "lesson_id": w.draft_lesson()}


def _new_question(w: World) -> dict[str, str]:
    return {**_draft(w), "question_id": w.draft_question()}


def _video(w: World) -> dict[str, str]:
    """The published course's hosted video lesson (the learner is enrolled in the course)."""
    return {"lesson_id": w.ids["video_lesson"]}


def _upload(w: World) -> dict[str, Any]:
    """Not a video: refused by the check (422) after authorization."""
    return {
        "data": {"title": "视频课", "minutes": "1"},
        "files": [("file", ("v.webm", b"not a video", "video/webm"))],
    }


def _new_key(w: World) -> dict[str, str]:
    return {"key_id": w.api_key()}


@dataclass(frozen=True)
class Row:
    route: str  # "METHOD /path" under /api/v1
    expect: str  # one outcome per caller, in the order of CALLERS
    #: Path parameters that differ from the world's defaults; called per request (fresh objects).
    ids: Callable[[World], dict[str, str]] | None = None
    send: Callable[[World], dict[str, Any]] | None = None
    case: str = ""  # a second row for the same route: another state of the object

    @property
    def method(self) -> str:
        return self.route.split()[0]

    @property
    def path(self) -> str:
        return self.route.split()[1]

    def __str__(self) -> str:
        return f"{self.route} [{self.case}]" if self.case else self.route


# fmt: off
MATRIX = [
    #                                                      anon, learner, other, staff, ostaff,
    #                                                      reg, admin, key-, key+, okey
    # learners and API keys
    Row("GET /learners/{learner_id}",                    "A Y H Y H Y Y D Y H"),
    Row("GET /learners/{learner_id}/record",             "A Y H Y H Y Y D D D"),
    Row("POST /learners/{learner_id}/password-reset",   "A D D Y H D D D D D", _fresh_learner),
    Row("POST /api-keys/{key_id}/revoke",                "A D D Y H D Y D D D", _new_key),
    # face and attendance (evidence crops: staff and regulators, not the learner)
    Row("POST /learners/{learner_id}/face/challenge",    "A D D Y H D Y D Y H"),
    Row("POST /learners/{learner_id}/verify",            "A D D Y H D Y D Y H", None, _frames),
    Row("POST /learners/{learner_id}/face/checks",       "A D D Y H D Y D Y H"),
    Row("POST /learners/{learner_id}/face/checks/{check_id}/frames", "A D D Y H D Y D Y H", _check, _frame),  # noqa: E501
    Row("POST /me/face/checks/{check_id}/frames",        "A Y H D D D D D D D", _check, _frame),
    Row("GET /attendance-events/{event_id}",             "A Y H Y H Y Y D Y H"),
    Row("GET /attendance-events/{event_id}/evidence",    "A H H Y H Y Y D Y H"),
    Row("POST /attendance-events/{event_id}/review",     "A D D Y H D Y D D D", None, _REVIEW),
    Row("GET /me/face/handoffs/{handoff_id}",            "A Y H D D D D D D D"),
    # the phone: the hand-off code is the credential, whoever holds it
    Row("POST /handoffs/{code}/open",                    "Y Y Y Y Y Y Y Y Y Y"),
    Row("POST /handoffs/{code}/challenge",               "Y Y Y Y Y Y Y Y Y Y"),
    Row("POST /handoffs/{code}/frames",                  "Y Y Y Y Y Y Y Y Y Y", None, _phone),
    Row("POST /handoffs/{code}/checks/{check_id}/frames", "Y Y Y Y Y Y Y Y Y Y", _phone_check, _frame),  # noqa: E501
    # courses: published ones are read by anyone signed in, drafts by their school
    Row("GET /courses/{course_id}",                      "A Y Y Y Y Y Y D Y Y"),
    Row("GET /courses/{course_id}",                      "A H H Y H Y Y D Y H", _draft, case="draft"),  # noqa: E501
    Row("GET /courses/{course_id}/lessons",              "A Y Y Y Y Y Y D Y Y"),
    Row("GET /courses/{course_id}/lessons",              "A H H Y H Y Y D Y H", _draft, case="draft"),  # noqa: E501
    Row("GET /courses/{course_id}/questions",            "A D D Y H D D D D D", _draft),
    Row("PATCH /courses/{course_id}",                    "A D D Y H D D D D D", _draft, _TITLE),
    Row("POST /courses/{course_id}/publish",             "A D D Y H D D D D D", _new_draft),
    Row("POST /courses/{course_id}/lessons",             "A D D Y H D D D D D", _draft, _LESSON),
    Row("POST /courses/{course_id}/lessons/video",       "A D D Y H D D D D D", _draft, _upload),
    # hosted lesson videos: learners enrolled in the course and its staff
    Row("GET /lessons/{lesson_id}/video",                "A Y H Y H H H D D D", _video),
    Row("GET /lessons/{lesson_id}/poster",               "A Y H Y H H H D D D", _video),
    Row("POST /courses/{course_id}/questions",           "A D D Y H D D D D D", _draft, _QUESTION),
    Row("PATCH /courses/{course_id}/lessons/{lesson_id}", "A D D Y H D D D D D", _draft, _TITLE),
    Row("DELETE /courses/{course_id}/lessons/{lesson_id}", "A D D Y H D D D D D", _new_lesson),
    Row("PATCH /courses/{course_id}/questions/{question_id}", "A D D Y H D D D D D", _draft, _STEM),
    Row("DELETE /courses/{course_id}/questions/{question_id}", "A D D Y H D D D D D", _new_question),  # noqa: E501
    Row("POST /courses/{course_id}/enrol",               "A Y Y D D D D D D D"),
    # classes (班级): scheduled by the owner's staff, read by its staff, keys and regulators
    Row("POST /courses/{course_id}/classes",             "A D D Y H D D D D D", None, _new_class),
    Row("GET /courses/{course_id}/classes",              "A H H Y H Y Y D Y H"),
    Row("GET /classes/{class_id}",                       "A H H Y H Y Y D Y H"),
    Row("GET /classes/{class_id}/roster",                "A H H Y H Y Y D Y H"),
    Row("PATCH /classes/{class_id}",                     "A D D Y H D D D D D", None, _CAPACITY),
    Row("POST /classes/{class_id}/open",                 "A D D Y H D D D D D"),
    Row("POST /classes/{class_id}/close",                "A D D Y H D D D D D"),
    Row("POST /classes/{class_id}/enrollments",          "A D D Y H D D D Y H", None, _enrol_learner),  # noqa: E501
    Row("GET /enrollments/{enrollment_id}/class",        "A Y H Y H Y Y D Y H"),
    Row("POST /enrollments/{enrollment_id}/class",       "A D D Y H D D D Y H", None, _move_class),  # noqa: E501
    # offline sessions (线下实训): staff of the class's institution run them; the station is
    # signed-in staff; the instructor marks assessments; a learner takes a QR for their own
    Row("POST /classes/{class_id}/offline-sessions",     "A D D Y H D D D D D", None, _new_offline),  # noqa: E501
    Row("GET /courses/{course_id}/offline-sessions",     "A H H Y H Y Y D Y H"),
    Row("GET /offline-sessions/{offline_session_id}",    "A H H Y H Y Y D Y H"),
    Row("POST /offline-sessions/{offline_session_id}/cancel", "A D D Y H D D D D D", _new_offline_session, _REASON),  # noqa: E501
    Row("POST /offline-sessions/{offline_session_id}/station/checks", "A D D Y H D D D D D", None, _json({"token": "st1.x.y"})),  # noqa: E501
    Row("POST /offline-sessions/{offline_session_id}/station/qr-pictures", "A D D Y H D D D D D", None, _frame),  # noqa: E501
    Row("POST /offline-sessions/{offline_session_id}/station/checks/{check_id}/frames", "A D D Y H D D D D D", _station_check, _frame),  # noqa: E501
    Row("POST /offline-sessions/{offline_session_id}/station/checks/{check_id}/decide", "A D D Y H D D D D D", _station_check),  # noqa: E501
    Row("PUT /offline-sessions/{offline_session_id}/assessments/{enrollment_id}", "A D D Y H D D D D D", None, _json({"passed": True, "note": "合格"})),  # noqa: E501
    Row("POST /me/offline-sessions/{offline_session_id}/qr-token", "A Y H D D D D D D D"),
    # class filing (开班/结业备案): staff file, regulators decide (users only), both read
    Row("POST /classes/{class_id}/filings",              "A D D Y H D D D D D", None, _json({"kind": "opening"})),  # noqa: E501
    Row("GET /classes/{class_id}/filings",               "A H H Y H Y Y D Y H"),
    Row("GET /class-filings/{filing_id}",                "A H H Y H Y Y D Y H", _new_filing),
    Row("POST /class-filings/{filing_id}/approve",       "A D D D D Y D D D D", _new_filing, _json({})),  # noqa: E501
    Row("POST /class-filings/{filing_id}/return",        "A D D D D Y D D D D", _new_filing, _REASON),  # noqa: E501
    # rosters: staff and keys with enrolments:write of the class's institution
    Row("POST /classes/{class_id}/roster-imports",       "A D D Y H D D D Y H", None, _roster_file),  # noqa: E501
    Row("POST /classes/{class_id}/learners",             "A D D Y H D D D Y H", None, _person),
    Row("GET /roster-imports/{import_id}",               "A H H Y H H H D Y H", _roster_import),
    Row("POST /roster-imports/{import_id}/commit",       "A H H Y H H H D Y H", _roster_import),
    # enrolments, study and quiz
    Row("GET /enrollments/{enrollment_id}",              "A Y H Y H Y Y D Y H"),
    Row("GET /enrollments/{enrollment_id}/attendance",   "A Y H Y H Y Y D Y H"),
    Row("GET /enrollments/{enrollment_id}/ledger",       "A Y H Y H Y Y D Y H"),
    Row("GET /enrollments/{enrollment_id}/quiz-attempts", "A Y H Y H Y Y D Y H"),
    Row("POST /enrollments/{enrollment_id}/quiz-attempts", "A Y H D D D D D D D", None, _frames),
    Row("POST /enrollments/{enrollment_id}/sessions",    "A Y H D D D D D D D", None, _frames),
    Row("PUT /enrollments/{enrollment_id}/outcome",      "A D D Y H D D D D D", None, _OUTCOME),
    Row("POST /enrollments/{enrollment_id}/certificate", "A Y H Y H D Y D D D"),
    Row("GET /quiz-attempts/{attempt_id}",               "A Y H Y H Y Y D Y H"),
    Row("POST /quiz-attempts/{attempt_id}/submit",       "A Y H D D D D D D D", None, _ANSWERS),
    Row("POST /sessions/{session_id}/heartbeat",         "A Y H D D D D D D D", None, _BEAT),
    Row("POST /rollcalls/{rollcall_id}/response",        "A Y H D D D D D D D", None, _frames),
    Row("GET /rollcalls/{rollcall_id}",                  "A Y H Y H Y Y D Y H"),
    Row("POST /rollcalls/{rollcall_id}/exception",       "A D D Y H D Y D D D", None, _REASON),
    Row("POST /sessions/{session_id}/end",               "A Y H D D D D D D D"),
    # certificates (serials are public: the verify page prints them)
    Row("GET /certificates/{serial}",                    "A Y H Y H Y Y D Y H"),
    Row("GET /certificates/{serial}/verify",             "Y Y Y Y Y Y Y Y Y Y"),
    Row("GET /certificates/{serial}/subsidy",            "A Y H Y H Y Y D Y H"),
    # the learner's own subsidy application (no programme pays individuals here: 409)
    Row("GET /me/certificates/{serial}/subsidy-application",  "A Y H D D D D D D D"),
    Row("POST /me/certificates/{serial}/subsidy-application", "A Y H D D D D D D D", None, _json({"account_kind": "bank_card", "account": "6217001234567890120", "declared_insured": True})),  # noqa: E501
    Row("POST /certificates/{serial}/revoke",            "A D D Y D D Y D D D", None, _REASON),
    Row("GET /institutions/{institution_id}/certificate-settings", "A D D Y D Y Y D D D"),
    Row("PUT /institutions/{institution_id}/certificate-settings", "A D D Y D D Y D D D", None, _SETTINGS),  # noqa: E501
    # subsidy claims: filed by staff, reviewed, approved and paid by regulators (users only)
    Row("GET /claim-batches/{batch_id}",                 "A H H Y H Y Y D D D"),
    Row("POST /claim-lines/{line_id}/review",            "A D D D D Y Y D D D", None, _LINE_REVIEW),  # noqa: E501
    Row("GET /claim-lines/{line_id}/evidence",           "A H H Y H Y Y D D D"),
    Row("POST /claim-lines/{line_id}/evidence",          "A D D Y H D D D D D", None, _EVIDENCE),
    Row("POST /claim-batches/{batch_id}/approve",        "A D D D D Y Y D D D"),
    Row("POST /claim-batches/{batch_id}/payments",       "A D D D D Y Y D D D", None, _PAYMENT),
    Row("POST /claim-batches/{batch_id}/exports",        "A D D Y H Y Y D D D", None, _EXPORT),
    Row("POST /claim-lines/{line_id}/findings",          "A D D D D Y Y D D D", None, _FINDING),
    Row("POST /claim-recoveries/{recovery_id}/settle",   "A D D D D Y Y D D D", None, _SETTLE),
    Row("POST /claim-objections/{objection_id}/resolve", "A D D D D Y Y D D D", None, _RESOLVE),
    # the public notice: anyone may object while a batch is in notice
    Row("POST /notices/{batch_id}/objections",           "Y Y Y Y Y Y Y Y Y Y", _noticed, _OBJECTION),  # noqa: E501
    Row("PUT /institutions/{institution_id}/certificate-settings/seal", "A D D Y D D Y D D D", None, _seal_upload),  # noqa: E501
    Row("GET /institutions/{institution_id}/certificate-settings/seal", "A D D Y D Y Y D D D", None, _with_seal),  # noqa: E501
    Row("DELETE /institutions/{institution_id}/certificate-settings/seal", "A D D Y D D Y D D D"),
    # webhooks: the institution's staff or its keys with webhooks:manage
    Row("GET /webhooks/{webhook_id}",                    "A D D Y H D D D Y H"),
    Row("POST /webhooks/{webhook_id}/disable",           "A D D Y H D D D Y H"),
    Row("POST /webhooks/{webhook_id}/enable",            "A D D Y H D D D Y H"),
    Row("POST /webhooks/{webhook_id}/rotate-secret",     "A D D Y H D D D Y H"),
    Row("POST /webhooks/{webhook_id}/test",              "A D D Y H D D D Y H"),
    # subsidy standards: regulators (national here) and admins; keys never
    Row("GET /subsidy-standards/{standard_id}",          "A D D D D Y Y D D D"),
    Row("POST /subsidy-standards/{standard_id}/confirm", "A D D D D Y Y D D D", None, _json({"effective_from": "2026-12-04"})),  # noqa: E501
    Row("POST /subsidy-standards/{standard_id}/withdraw", "A D D D D Y Y D D D", None, _REASON),
    # the institution registry: regulators read; only a regulator (not an admin) decides, and
    # the too-short reason keeps institution A approved for the rows that follow (422 = Y)
    Row("GET /registry/institutions/{institution_id}",   "A D D D D Y Y D D D"),
    Row("POST /registry/institutions/{institution_id}/approve", "A D D D D Y D D D D", None, _json({"approved_scope": [{"occupation_code": "6-31-01-03", "level": "level4"}], "reason": "短"})),  # noqa: E501
    Row("POST /registry/institutions/{institution_id}/suspend", "A D D D D Y D D D D", None, _json({"reason": "短"})),  # noqa: E501
    Row("POST /registry/institutions/{institution_id}/revoke", "A D D D D Y D D D D", None, _json({"reason": "短"})),  # noqa: E501
    # eligibility facts: staff of the learner's institution record, regulators verify (users only)
    Row("GET /learners/{learner_id}/eligibility",        "A Y H Y H Y Y D D D"),
    Row("POST /learners/{learner_id}/groups",            "A D D Y H D D D D D", None, _GROUP),
    Row("POST /learners/{learner_id}/residences",        "A D D Y H D D D D D", None, _RESIDENCE),
    Row("POST /learners/{learner_id}/external-certificates", "A D D Y H D D D D D", None, _external_upload),  # noqa: E501
    Row("POST /learner-groups/{fact_id}/decision",       "A D D D D Y Y D D D", None, _VERIFY),
    Row("POST /residences/{residence_id}/decision",      "A D D D D Y Y D D D", None, _VERIFY),
    Row("GET /external-certificates/{external_id}/scan", "A Y H Y H Y Y D D D"),
    Row("POST /external-certificates/{external_id}/decision", "A D D D D Y Y D D D", None, _json({"decision": "confirm"})),  # noqa: E501
]
# fmt: on


# ---------------------------------------------------------------- the tests


def _app_routes(app: FastAPI) -> dict[tuple[str, str], Access]:
    """(method, path under /api/v1) → declared access, for every API route with a path id."""
    out: dict[tuple[str, str], Access] = {}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.path.startswith(API):
            continue
        if "{" not in route.path:
            continue
        (access,) = route_access(route.dependant)  # test_route_access checks there is one
        for method in route.methods or ():
            out[(method, route.path.removeprefix(API))] = access
    return out


@pytest.fixture(scope="module")
def app_routes() -> dict[tuple[str, str], Access]:
    from app.main import create_app

    return _app_routes(create_app())


def test_every_route_with_an_id_has_a_row(app_routes: dict[tuple[str, str], Access]) -> None:
    rows = [(r.method, r.path) for r in MATRIX]
    labelled = [(r.route, r.case) for r in MATRIX]
    assert len(labelled) == len(set(labelled)), "two rows for the same route and case"
    assert sorted(set(app_routes) - set(rows)) == [], "routes without a row in MATRIX"
    assert sorted(set(rows) - set(app_routes)) == [], "rows for routes the app does not have"
    for row in MATRIX:
        assert len(row.expect.split()) == len(CALLERS), row


def _outcome(status: int, body: bytes, headers: Any) -> str:
    if status == 401:
        return "A"
    if status == 404:
        return "H"
    if status == 403:
        code = _code(body, headers)
        return "D" if code in AUTHZ_403 else "Y"
    if status >= 500:
        return "!"
    return "Y"


def _code(body: bytes, headers: Any) -> str | None:
    import json

    if "json" not in headers.get("content-type", ""):
        return None
    try:
        problem = json.loads(body)
    except ValueError:
        return None
    code = problem.get("code") if isinstance(problem, dict) else None
    return code if isinstance(code, str) else None


@pytest.mark.parametrize("row", MATRIX, ids=str)
def test_matrix(row: Row, world: World, app_routes: dict[tuple[str, str], Access]) -> None:
    access = app_routes[(row.method, row.path)]
    got: list[str] = []
    details: list[str] = []
    for caller in CALLERS:
        ids = {**world.ids, **(row.ids(world) if row.ids else {})}
        url = API + row.path.format(**{k: v for k, v in ids.items() if "{" + k + "}" in row.path})
        send = row.send(world) if row.send else {}
        r = world.client.request(row.method, url, headers=world.headers(caller, access), **send)
        outcome = _outcome(r.status_code, r.content, r.headers)
        got.append(outcome)
        details.append(f"{caller}={r.status_code}:{_code(r.content, r.headers)}")
    assert " ".join(got) == row.expect, f"got {' '.join(got)}: " + " ".join(details)

"""Builders for test objects, in one place, and helpers to act as each kind of user.

- accounts: :func:`make_institution`, :func:`make_user`, :func:`make_learner`, :func:`login`;
- courses through the service (audited like the real thing): :func:`make_course` (any
  ``CoursePolicy`` or course field; by default one lesson and a bank of exactly
  ``quiz_question_count`` questions, published), :func:`make_enrollment`;
- rows made directly in the database, for what comes after studying: :func:`course_row`,
  :func:`enrollment_row` (complete by default, in a class filed with the regulator and approved:
  :func:`filed_class`, so its certificate is subsidised), :func:`complete`, :func:`issue`,
  :func:`certified`; a study session without the face check: :func:`start_session`,
  :func:`attendance_verdict`;
- faces over the API: :func:`consent`, :func:`challenge` (a real challenge whose actions the test
  fixes), :func:`send` (frames as multipart), :func:`face_learner` (enrolled from the blink
  burst "a"), :func:`video_frame` (single real frames of the same person, never part of a blink
  burst: each can be sent once per database), :func:`start_quiz`;
- reading back: :func:`audit_log`, :func:`audit_actions`, :func:`bank`, :func:`right_answers`.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import itertools
import json
import random
import re
import threading
import uuid
from datetime import date, timedelta
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import clock
from app.accounts import service as accounts
from app.accounts.idcard import check_char
from app.accounts.models import Institution, RegistryStatus, Role, User
from app.accounts.principal import Principal
from app.attendance.models import AttendanceEvent, FaceChallenge, Outcome, Purpose, ReviewStatus
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.certificates import service as certificates
from app.certificates.models import Certificate
from app.courses import classes
from app.courses import service as courses
from app.courses.classes import default_class
from app.courses.credit import ACTIVE_STATES
from app.courses.models import (
    Course,
    CourseClass,
    CourseStatus,
    Enrollment,
    Level,
    Question,
    QuizOpens,
    SessionState,
    StudySession,
)
from app.courses.rollcall import next_rollcall_time
from app.courses.sessions import _end
from app.db import transaction
from app.filing import service as filing
from app.filing.models import FilingKind
from app.programmes import creditcode, regions, registry
from app.programmes.models import (
    CertificateKind,
    ProgrammeKind,
    Region,
    StandardStatus,
    SubsidyStandard,
)
from tests.face_data import BLINK_BURSTS, blink_burst, jpeg, video_frames

PASSWORD = "Correct-Horse-Battery-9"
_seq = itertools.count(1)


def id_number(birth: str = "19900307", region: str = "110105", seq: int | None = None) -> str:
    """A valid 18-character ID number (random sequence unless given)."""
    s = seq if seq is not None else random.randint(0, 999)
    first17 = f"{region}{birth}{s:03d}"
    return first17 + check_char(first17)


def credit_code(n: int | None = None, region: str = "440300") -> str:
    """A valid, unique 统一社会信用代码 (GB 32100 check character): a private non-enterprise
    unit (52) registered in ``region``."""
    first17 = f"52{region}{(n if n is not None else next(_seq)):09d}"
    return first17 + creditcode.check_character(first17)


#: The occupations the tests' courses train for (电工, 中式烹调师, 美容师, 保育师, 育婴员,
#: 养老护理员, 焊工) …
TRAINED_OCCUPATIONS = (
    "6-31-01-03",
    "4-03-02-01",
    "4-07-05-03",
    "4-10-01-01",
    "4-10-01-02",
    "4-10-01-05",
    "6-29-01-01",
)
#: … at every level: what builders approve institutions for (an institution opens classes and
#: issues certificates only within its approved scope; tests of that rule train for others).
DEFAULT_SCOPE = [(code, level.value) for code in TRAINED_OCCUPATIONS for level in Level]


def make_institution(
    engine: Engine,
    code: str | None = None,
    *,
    region: str | None = None,
    name: str = "测试培训学校",
    status: RegistryStatus = RegistryStatus.approved,
) -> Institution:
    """An institution with a complete registry record, **approved** through the registry
    service (``status=RegistryStatus.pending`` leaves it as an admin creates it); ``region``
    (a GB/T 2260 code) loads the demo province first if needed."""
    n = next(_seq)
    with transaction(engine) as session:
        if region is not None and session.get(Region, region) is None:
            regions.seed_demo_province(session, actor=Actor.system())
        inst = accounts.create_institution(
            session,
            code=code or f"INST{n:03d}",
            name=name,
            region_code=region,
            credit_code=credit_code(n),
            legal_name=name,
            kind="private",
            actor=Actor.system(),
        )
        if status is RegistryStatus.approved:
            registry.approve_as_system(
                session,
                inst.id,
                scope=DEFAULT_SCOPE,
                reason="approved by the test builders",
                actor=Actor.system("test"),
            )
        else:
            assert status is RegistryStatus.pending, "approve, then suspend or revoke"
        return inst


def approved_for(
    engine: Engine, institution: Institution, occupation_code: str, level: Level | str
) -> None:
    """An approved institution's scope widened, through the registry service, to cover an
    occupation and level (the course builders call it: an institution opens classes and issues
    certificates only within its approved scope); anything not approved is left as it is."""
    item = (occupation_code, Level(level).value)
    with transaction(engine) as session:
        inst = session.get(Institution, institution.id)
        assert inst is not None
        scope = [(x.occupation_code, x.level) for x in registry.scope_of(inst)]
        if inst.registry_status is not RegistryStatus.approved or item in scope:
            return
        registry.approve_as_system(
            session,
            inst.id,
            scope=[*scope, item],
            reason="approved by the test builders",
            actor=Actor.system("test"),
        )


def make_user(
    engine: Engine, role: Role, institution: Institution | None = None, **kw: Any
) -> User:
    with transaction(engine) as session:
        return accounts.create_user(
            session,
            role=role,
            username=kw.get("username", f"{role.value}{next(_seq)}"),
            password=kw.get("password", PASSWORD),
            institution_id=institution.id if institution else None,
            jurisdiction_code=kw.get("jurisdiction", regions.NATIONAL)
            if role is Role.regulator
            else None,
            actor=Actor.system(),
        )


def make_learner(engine: Engine, institution: Institution | None = None, **kw: Any) -> User:
    n = next(_seq)
    with transaction(engine) as session:
        return accounts.register_learner(
            session,
            username=kw.get("username", f"learner{n}"),
            password=kw.get("password", PASSWORD),
            real_name=kw.get("real_name", "王小明"),
            id_number=kw.get("id_number", id_number(seq=n % 1000)),
            phone=kw.get("phone"),
            institution_id=institution.id if institution else None,
            group=kw.get("group"),
        )


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the login page (the session cookie stays on ``client``); the response."""
    client.cookies.clear()
    page = client.get("/login")
    m = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert m, "no CSRF field on the login page"
    return client.post(
        "/login",
        data={"csrf": m.group(1), "username": username, "password": password},
        follow_redirects=False,
    )


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# ---------------------------------------------------------------- courses and enrolments

_COURSE_FIELDS = {
    "title",
    "occupation_code",
    "occupation_name",
    "level",
    "required_minutes",
    "pass_score",
    "subsidy_fen",
    "description",
}
_POLICY_FIELDS = {f.name for f in dataclasses.fields(courses.CoursePolicy)}


def question_specs(n: int) -> list[dict[str, Any]]:
    """``n`` questions cycling single / multiple / judge, each with its right answer."""
    specs = []
    for i in range(n):
        kind = ("single", "multiple", "judge")[i % 3]
        if kind == "judge":
            specs.append(
                {"kind": kind, "stem": f"判断题 {i}：电工作业必须持证上岗。", "answer": [0]}
            )
        else:
            specs.append(
                {
                    "kind": kind,
                    "stem": f"第 {i} 题：以下哪些做法正确？",
                    "options": [f"选项{i}-{c}" for c in "ABCD"],
                    "answer": [1] if kind == "single" else [0, 2],
                }
            )
    return specs


def make_course(
    engine: Engine,
    institution: Institution,
    *,
    staff: User | None = None,
    lessons: int = 1,
    questions: int | None = None,
    publish: bool = True,
    lesson_minutes: int | None = None,
    **fields: Any,
) -> Course:
    """A course of ``lessons`` text lessons and a question bank, made and published through
    the services. The lessons share the course's required minutes (rounded up) unless
    ``lesson_minutes`` says otherwise: publishing needs them to add up to at least that."""
    unknown = set(fields) - _COURSE_FIELDS - _POLICY_FIELDS
    assert not unknown, f"unknown course fields {unknown}"
    staff = staff or make_user(engine, Role.staff, institution)
    principal = Principal.of_user(staff)
    n = next(_seq)
    course_kw: dict[str, Any] = {
        "title": f"低压电工作业 {n}",
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": Level.level4,
        "required_minutes": 60,
        "pass_score": 60,
        "subsidy_fen": 150_000,
    }
    course_kw.update({k: v for k, v in fields.items() if k in _COURSE_FIELDS})
    # The quiz opens at any time here: tests of the quiz itself do not study first (the
    # after-hours rule has its own tests in tests/courses/test_quiz_opens.py).
    policy = courses.CoursePolicy(
        **{
            "quiz_question_count": 3,
            "quiz_opens": QuizOpens.any_time,
            **{k: v for k, v in fields.items() if k in _POLICY_FIELDS},
        }
    )
    subsidy_standard(engine, course_kw["occupation_code"], course_kw["level"], course_kw)
    approved_for(engine, institution, course_kw["occupation_code"], course_kw["level"])
    each = lesson_minutes or max(1, -(-int(course_kw["required_minutes"]) // max(lessons, 1)))
    with transaction(engine) as session:
        course = courses.create_course(session, principal, policy=policy, **course_kw)
        for i in range(lessons):
            courses.add_lesson(
                session,
                principal,
                course.id,
                title=f"第 {i + 1} 课",
                kind="text",
                body_or_url="安全用电基本知识。",
                minutes=each,
            )
        for spec in question_specs(policy.quiz_question_count if questions is None else questions):
            courses.add_question(
                session,
                principal,
                course.id,
                kind=spec["kind"],
                stem=spec["stem"],
                options=spec.get("options"),
                answer=spec["answer"],
            )
        if publish:
            courses.publish_course(session, principal, course.id)
    return course


def subsidy_standard(
    engine: Engine,
    occupation_code: str,
    level: Level | str,
    course: dict[str, Any] | None = None,
    *,
    amount_fen: int | None = None,
    region: str = regions.NATIONAL,
) -> SubsidyStandard | None:
    """A regulator's standard in force since 2000 for an occupation and level, unless one is
    already in force for them in ``region``. The course builders call it with the course's
    ``subsidy_fen`` (0: none), so the amount a test's course names is what the standard in force
    pays — certificates take it from the standard, never from the course."""
    amount = amount_fen if amount_fen is not None else int((course or {}).get("subsidy_fen", 0))
    if amount <= 0:
        return None
    lvl = Level(level).value
    with transaction(engine) as s:
        if region != regions.NATIONAL and s.get(Region, region) is None:
            regions.seed_demo_province(s, actor=Actor.system())
        existing = s.exec(
            select(SubsidyStandard).where(
                SubsidyStandard.region_code == region,
                SubsidyStandard.occupation_code == occupation_code,
                SubsidyStandard.level == lvl,
                SubsidyStandard.status == StandardStatus.in_force,
            )
        ).first()
        if existing is not None:
            return existing
        row = SubsidyStandard(
            region_code=region,
            occupation_code=occupation_code,
            occupation_name=str((course or {}).get("occupation_name", "电工")),
            level=lvl,
            certificate_kind=CertificateKind.training_certificate,
            programme_kind=ProgrammeKind.employment_skills,
            amount_fen=amount,
            effective_from=date(2000, 1, 1),
            version=1,
            status=StandardStatus.in_force,
            created_by="system:test",
        )
        s.add(row)
        s.flush()
        return row


def make_enrollment(engine: Engine, learner: User, course: Course) -> Enrollment:
    with transaction(engine) as session:
        return courses.enrol(session, Principal.of_user(learner), course.id)


def set_enrollment(engine: Engine, enrollment_id: Any, **values: Any) -> None:
    """Change an enrolment directly (credit belongs to the study part, not to these tests)."""
    with transaction(engine) as session:
        e = session.get(Enrollment, uuid.UUID(str(enrollment_id)))
        assert e is not None
        for k, v in values.items():
            setattr(e, k, v)
        session.add(e)


def bank(engine: Engine, course_id: Any) -> dict[str, Question]:
    with Session(engine) as s:
        rows = s.exec(select(Question).where(col(Question.course_id) == uuid.UUID(str(course_id))))
        return {str(q.id): q for q in rows}


def right_answers(engine: Engine, course_id: Any, shown: list[dict[str, Any]]) -> dict[str, Any]:
    """The right answers as shown indexes, worked out from the bank by option text."""
    questions = bank(engine, course_id)
    out = {}
    for item in shown:
        q = questions[item["id"]]
        right = {q.options[i] for i in q.answer}
        out[item["id"]] = [i for i, text in enumerate(item["options"]) if text in right]
    return out


def audit_log(
    engine: Engine, subject: str | None = None, action: str | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(action, payload) of the audit entries about ``subject`` / with ``action``, in order."""
    with Session(engine) as s:
        stmt = select(AuditEntry).order_by(col(AuditEntry.id))
        if subject is not None:
            stmt = stmt.where(col(AuditEntry.subject) == subject)
        if action is not None:
            stmt = stmt.where(col(AuditEntry.action) == action)
        return [(e.action, json.loads(e.payload)) for e in s.exec(stmt)]


def audit_actions(engine: Engine, subject: str) -> list[str]:
    return [a for a, _ in audit_log(engine, subject)]


# ---------------------------------------------------------------- faces


def consent(client: TestClient, h: dict[str, str]) -> None:
    assert client.post("/api/v1/me/consent", json={"biometric": True}, headers=h).status_code == 200


def challenge(client: TestClient, h: dict[str, str], engine: Any, actions: list[str]) -> str:
    """A real challenge turned into a *burst* challenge whose actions the test fixes (blink: the
    clip has no head turns on cue). Learners get streamed checks; the burst path (the partners')
    shares every rule after liveness, and the streamed protocol has its own tests
    (tests/api/test_face_stream_api.py)."""
    r = client.post("/api/v1/me/face/challenge", headers=h)
    assert r.status_code == 201, r.text
    cid = r.json()["challenge_id"]
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None
        c.actions = actions
        c.mode, c.schedule = "burst", None
        s.add(c)
        s.commit()
    return str(cid)


def send(client: TestClient, url: str, h: dict[str, str], cid: str, frames: list[bytes]) -> Any:
    files = [("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    return client.post(url, data={"challenge_id": cid}, files=files, headers=h)


def face_learner(
    client: TestClient, engine: Any, institution: Institution | None = None, burst: str = "a"
) -> tuple[User, dict[str, str]]:
    """A learner with consent and a face enrolled from a real blink burst."""
    learner = make_learner(engine, institution)
    h = login(client, learner.username)
    consent(client, h)
    cid = challenge(client, h, engine, ["blink"])
    r = send(client, "/api/v1/me/face/enrol", h, cid, blink_burst(burst))
    assert r.status_code == 201, r.text
    return learner, h


_frame_numbers = itertools.count()
#: Frames of the clip whose distance to the template enrolled from burst "a" is 0.32 or less
#: (measured with the real engine; accept is at 0.38). Elsewhere the speaker turns or talks and
#: some frames fall into the review band, which would make a quiz gate fail by chance.
CLEAR_FRAMES = [
    *range(1, 18),
    *range(44, 56),
    *range(63, 71),
    *range(97, 104),
    *range(128, 131),
    *range(138, 142),
    144,
    194,
    *range(196, 200),
]


@functools.cache
def _free_frames() -> list[int]:
    in_bursts = {i for frames in BLINK_BURSTS.values() for i in frames}
    return [i for i in CLEAR_FRAMES if i not in in_bursts]


def video_frame() -> bytes:
    """A fresh real frame of the enrolled person, never one of a blink burst's frames."""
    n, free = next(_frame_numbers), _free_frames()
    # After a full round the JPEG quality changes, so the bytes (and their hash) are new.
    return jpeg(video_frames()[free[n % len(free)]], quality=90 - n // len(free))


def start_quiz(
    client: TestClient,
    engine: Any,
    h: dict[str, str],
    enrollment_id: Any,
    frames: list[bytes] | None = None,
    actions: list[str] | None = None,
) -> Any:
    """Start a quiz attempt through the face gate (one fresh real frame, no action by default)."""
    cid = challenge(client, h, engine, actions or [])
    return send(
        client,
        f"/api/v1/enrollments/{enrollment_id}/quiz-attempts",
        h,
        cid,
        frames or [video_frame()],
    )


# ------------------------------------------------------- rows for what comes after studying


def course_row(engine: Engine, institution: Institution, **fields: Any) -> Course:
    """A published course made directly in the database (no lessons or questions): for tests of
    what comes after studying (certificates, reports, study credit)."""
    n = next(_seq)
    values: dict[str, Any] = {
        "title": f"低压电工作业 {n}",
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": Level.level4,
        "required_minutes": 60,
        "pass_score": 60,
        "subsidy_fen": 150_000,
        "rollcall_min_pass_rate": 80,
        "status": CourseStatus.published,
        **fields,
    }
    subsidy_standard(engine, values["occupation_code"], values["level"], values)
    approved_for(engine, institution, values["occupation_code"], values["level"])
    with transaction(engine) as s:
        course = Course(institution_id=institution.id, **values)
        s.add(course)
        s.flush()
        return course


FILED_CLASS_CODE = "F-APPROVED"
FILING_REGULATOR = "filing-regulator"


def filing_regulator(engine: Engine) -> User:
    """A national regulator who decides the builders' class filings (made once per database)."""
    with Session(engine) as s:
        found = s.exec(select(User).where(User.username == FILING_REGULATOR)).first()
    return found or make_user(engine, Role.regulator, username=FILING_REGULATOR)


def filed_class(engine: Engine, course: Course, *, starts_on: date | None = None) -> CourseClass:
    """The course's class filed with the regulator (开班备案) and approved, made through the
    services the first time (a staff member of the course's institution schedules and files
    it, a national regulator approves): training there counts for subsidy."""
    with Session(engine) as s:
        found = s.exec(
            select(CourseClass).where(
                CourseClass.course_id == course.id, CourseClass.code == FILED_CLASS_CODE
            )
        ).first()
    if found is not None:
        return found
    with Session(engine) as s:
        inst = s.get(Institution, course.institution_id)
    assert inst is not None
    staff = make_user(engine, Role.staff, inst)
    regulator = filing_regulator(engine)
    first = starts_on or clock.now().astimezone(clock.SHANGHAI).date()
    with transaction(engine) as s:
        as_staff = Principal.of_user(s.get(User, staff.id))  # type: ignore[arg-type]
        klass = classes.create_class(
            s,
            as_staff,
            course.id,
            code=FILED_CLASS_CODE,
            name="备案测试班",
            starts_on=first,
            ends_on=first + timedelta(days=365),
            capacity=10_000,
            head_teacher_id=staff.id,
        )
        f = filing.file_class(s, as_staff, klass.id, kind=FilingKind.opening)
        filing.approve(s, Principal.of_user(s.get(User, regulator.id)), f.id)  # type: ignore[arg-type]
        return klass


def enrollment_row(
    engine: Engine,
    learner: User,
    course: Course,
    *,
    complete: bool = True,
    minutes: int | None = None,
    rollcalls: tuple[int, int] = (5, 5),
    quiz: int | None = 90,
    filed: bool = True,
) -> Enrollment:
    """An enrolment, complete by default (verified minutes, quiz and roll-calls all met), in
    the course's approved filed class (:func:`filed_class`); ``filed=False``: in its default
    class (self-enrolment, not subsidised)."""
    klass_id = filed_class(engine, course).id if filed else None
    with transaction(engine) as s:
        e = Enrollment(
            course_id=course.id,
            user_id=learner.id,
            institution_id=course.institution_id,
            class_id=klass_id or default_class(s, course).id,
            created_at=clock.now(),
        )
        if complete:
            e.credited_ms = 60_000 * (course.required_minutes if minutes is None else minutes)
            e.quiz_passed = quiz is not None and quiz >= course.pass_score
            e.best_quiz_score = quiz
            e.rollcalls_passed, e.rollcalls_total = rollcalls
            e.completed_at = clock.now()
        s.add(e)
        s.flush()
        return e


def complete(engine: Engine, enrollment_id: uuid.UUID) -> None:
    """What the study service's last verified minute does: meet every condition."""
    with transaction(engine) as s:
        e = s.get(Enrollment, enrollment_id)
        assert e is not None
        course = s.get(Course, e.course_id)
        assert course is not None
        e.credited_ms = course.required_minutes * 60_000
        e.quiz_passed, e.best_quiz_score = True, 95
        e.rollcalls_passed, e.rollcalls_total = 4, 4
        s.add(e)


def issue(engine: Engine, learner: User, enrollment: Enrollment) -> Certificate:
    with transaction(engine) as s:
        return certificates.issue(s, Principal.of_user(learner), enrollment.id)


def certified(
    engine: Engine, learner: User, institution: Institution, **fields: Any
) -> Certificate:
    """A course, a completed enrolment and its certificate, issued now."""
    opts = {k: fields.pop(k) for k in ("rollcalls", "minutes", "quiz") if k in fields}
    course = course_row(engine, institution, **fields)
    return issue(engine, learner, enrollment_row(engine, learner, course, **opts))


def reload(engine: Engine, serial: str) -> Certificate:
    with Session(engine) as s:
        return certificates.by_serial(s, serial)


# ---------------------------------------------------------------- study without the face part


def in_default_class(s: Session, learner: Any, course: Course) -> Enrollment:
    """The learner's enrolment in the course's default class (where self-enrolments go), written
    directly in the open session: no audit entry, nothing studied yet."""
    enrollment = Enrollment(
        course_id=course.id,
        user_id=learner.id,
        institution_id=course.institution_id,
        class_id=default_class(s, course).id,
    )
    s.add(enrollment)
    s.flush()
    return enrollment


def self_enrolled(engine: Engine, learner: User, course: Course) -> Enrollment:
    """:func:`in_default_class` in a transaction of its own; study with :func:`start_session`."""
    with transaction(engine) as s:
        return in_default_class(s, learner, course)


def start_session(engine: Any, learner: Any, enrollment: Enrollment, course: Course) -> uuid.UUID:
    """What a passed check-in does, without the face part."""
    with transaction(engine) as s:
        user = s.get(type(learner), learner.id)
        for old in s.exec(
            select(StudySession).where(
                StudySession.user_id == learner.id,
                StudySession.state.in_(ACTIVE_STATES),  # type: ignore[union-attr,attr-defined]
            )
        ):
            _end(s, old, reason="checkin_elsewhere", actor=Actor.user(user.id), now=clock.now())
        now = clock.now()
        sess = checked_in(
            enrollment, learner.id, now, next_rollcall_at=next_rollcall_time(course, now)
        )
        s.add(sess)
        s.flush()
        return sess.id


def checked_in(
    enrollment: Enrollment,
    user_id: uuid.UUID,
    now: Any,
    *,
    next_rollcall_at: Any = None,
) -> StudySession:
    """The study session a passed check-in opens at ``now`` (not yet added to a session)."""
    return StudySession(
        enrollment_id=enrollment.id,
        user_id=user_id,
        state=SessionState.studying,
        checkin_event_id=uuid.uuid4(),
        started_at=now,
        segment_started_at=now,
        next_rollcall_at=next_rollcall_at,
    )


def attendance_verdict(
    s: Session,
    learner: Any,
    outcome: Outcome,
    inst: Any,
    *,
    reason_code: str | None = None,
    median_distance: str | None = None,
) -> AttendanceEvent:
    """A decided attendance event (a roll-call answer) without the face part. Thresholds are
    dlib's (distance: accept ≤ 0.38, reject > 0.50); a ``median_distance`` of 0.30 is a clear
    match, 0.60 a clear mismatch."""
    ev = AttendanceEvent(
        reason_code=reason_code,
        median_distance=median_distance,
        best_distance=median_distance,
        user_id=learner.id,
        institution_id=inst.id,
        purpose=Purpose.rollcall,
        outcome=outcome,
        accept_threshold="0.3800",
        reject_threshold="0.5000",
        model_name="test",
        model_version="0",
        match_metric="euclidean",
        face_engine="test",
        model_sha256="0" * 64,
        review_status=ReviewStatus.pending if outcome is Outcome.review else None,
        created_at=clock.now(),
    )
    s.add(ev)
    s.flush()
    return ev


SEAL_RED = (200, 30, 40)


def seal_scan(
    *, fmt: str = "PNG", size: int = 900, ring: int = 28, colour: Any = SEAL_RED
) -> bytes:
    """A seal as a clerk scans it: a red ring and star on off-white paper, with some noise."""
    rng = np.random.default_rng(7)
    paper = np.full((size + 200, size + 300, 3), 246, np.uint8)
    paper += rng.integers(0, 8, paper.shape, dtype=np.uint8)
    im = Image.fromarray(paper)
    draw = ImageDraw.Draw(im)
    box = (150, 100, 150 + size, 100 + size)
    draw.ellipse(box, outline=colour, width=ring)
    cx, cy = 150 + size / 2, 100 + size / 2
    star = [
        (cx + r * np.cos(a), cy - r * np.sin(a))
        for k in range(10)
        for r, a in [((size / 5) if k % 2 == 0 else (size / 12), np.pi / 2 + k * np.pi / 5)]
    ]
    draw.polygon(star, fill=colour)
    out = io.BytesIO()
    im.save(out, format=fmt, quality=92)
    return out.getvalue()


def csrf_of(html: str) -> str:
    """The CSRF value of a page's form (every form carries it as ``name="csrf"``)."""
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def learner_facts(
    engine: Engine,
    staff: User,
    learner: User,
    *,
    group: tuple[str, str, str] = ("ex_serviceman", "veteran_card", "粤退证 440300-0012"),
    residence: tuple[str, str, str, str] = ("employed", "440305", "labour_contract", "LC-2026-001"),
    external: tuple[str, str, str] = (
        "special_ability",
        "Z440305202600001",
        "深圳市职业技能鉴定指导中心",
    ),
) -> dict[str, str]:
    """A learner's eligibility facts confirmed by ``staff`` of their institution: a group
    (group, evidence kind, number), a residence (kind, region, evidence kind, number) and an
    external certificate (kind, number, issuer) with a real PDF scan; their ids by the names
    the routes take (``fact_id``, ``residence_id``, ``external_id``)."""
    from app.programmes import external as ext_service
    from app.programmes import facts
    from tests.pdfs import SCAN_PDF

    with transaction(engine) as s:
        if s.get(Region, residence[1]) is None:
            regions.seed_demo_province(s, actor=Actor.system())
        as_staff = Principal.of_user(s.get_one(User, staff.id))
        fact = facts.confirm_group(
            s,
            as_staff,
            learner.id,
            group=group[0],
            evidence_kind=group[1],
            evidence_number=group[2],
        )
        lives = facts.confirm_residence(
            s,
            as_staff,
            learner.id,
            kind=residence[0],
            region_code=residence[1],
            evidence_kind=residence[2],
            evidence_number=residence[3],
        )
        cert = ext_service.record_external(
            s,
            as_staff,
            learner.id,
            ext_service.ExternalInput(
                kind=external[0],
                number=external[1],
                issuer=external[2],
                issued_on=clock.now().date(),
                occupation_code="6-31-01-03",
                occupation_name="电工",
            ),
            SCAN_PDF,
        )
        return {"fact_id": str(fact.id), "residence_id": str(lives.id), "external_id": str(cert.id)}


def migrate_again_from(engine: Engine, db_url: str, revision: str) -> None:
    """Take the test database down to ``revision`` and up to head again, so that the later
    migrations meet the rows it already holds."""
    from alembic import command

    from app.migrate import alembic_config

    engine.dispose()
    cfg = alembic_config(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    command.downgrade(cfg, revision)
    command.upgrade(cfg, "head")


def wait_until_blocked(engine: Engine, thread: threading.Thread) -> None:
    """Return once ``thread`` has finished or a transaction of this test's PostgreSQL database
    waits for a lock (another holds it, uncommitted): a race set up on the database's state,
    never on time."""
    with Session(engine) as watch:
        while (
            thread.is_alive()
            and not watch.exec(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                )
            ).one()[0]
        ):
            watch.rollback()


def key_headers(
    engine: Engine, institution_id: uuid.UUID, scopes: list[str], *, name: str = "对接"
) -> dict[str, str]:
    """The ``Authorization`` header of a new partner API key of the institution with ``scopes``."""
    with transaction(engine) as s:
        _, key = accounts.create_api_key(
            s, institution_id=institution_id, name=name, scopes=scopes, actor=Actor.system()
        )
    return {"Authorization": f"Bearer {key}"}

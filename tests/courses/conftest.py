"""Builders for courses, enrolments and face-gated quizzes, and the face helpers they need.

``make_course(engine, institution, **fields)`` builds through the service (audited like the
real thing): any ``CoursePolicy`` field (``quiz_question_count``, ``rollcall_min_interval_s``…)
or course field (``required_minutes``, ``pass_score``…) can be given; by default the course gets
one lesson and a bank of exactly ``quiz_question_count`` questions (single, multiple, judge in
turn) and is published.

The face helpers are the small ones of tests/api/test_face_api.py: a real challenge whose
actions the test fixes, frames sent as multipart, a learner enrolled with the blink burst "a".
``video_frame()`` gives single real frames of the same person (clearly matching ones, never
part of a blink burst), for quiz gates whose challenge has no action: each can be sent once per
database.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.attendance.models import FaceChallenge
from app.audit.models import AuditEntry
from app.courses import service as courses
from app.courses.models import Course, Enrollment, Level, Question
from app.db import transaction
from tests.face_data import BLINK_BURSTS, blink_burst, jpeg, video_frames
from tests.factories import login, make_learner, make_user

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
_seq = itertools.count(1)


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
    **fields: Any,
) -> Course:
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
    policy = courses.CoursePolicy(
        **{"quiz_question_count": 3, **{k: v for k, v in fields.items() if k in _POLICY_FIELDS}}
    )
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
                minutes=30,
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
    """A real challenge whose actions the test fixes (blink: the clip has no head turns)."""
    r = client.post("/api/v1/me/face/challenge", headers=h)
    assert r.status_code == 201, r.text
    cid = r.json()["challenge_id"]
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None
        c.actions = actions
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

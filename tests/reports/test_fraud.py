"""`GET /api/v1/reports/fraud`: each indicator fires on a crafted case and stays silent on a
clean one. Face templates are real embeddings of LFW photos (the real SFace engine)."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app import clock as clock_mod
from app.accounts import service as accounts
from app.accounts.models import Institution, Role, User
from app.attendance import service as attendance
from app.attendance.models import (
    AttendanceEvent,
    FaceTemplate,
    FrameHash,
    Outcome,
    Purpose,
    TemplateStatus,
)
from app.attendance.sface import SFACE_IDENTITY, SFaceEngine
from app.audit.service import Actor
from app.courses.models import (
    Course,
    DailyCredit,
    Enrollment,
    Level,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.db import transaction
from app.reports.fraud import shared_face_pairs
from tests.face_data import lfw_person
from tests.factories import in_default_class, login, make_institution, make_learner, make_user

URL = "/api/v1/reports/fraud"


@functools.cache
def embeddings(person: str) -> np.ndarray:
    engine = SFaceEngine()  # the default engine: shared_faces compares its model's templates
    out = []
    for data in lfw_person(person):
        try:
            out.append(engine.analyse_bytes(data).embedding)
        except Exception:  # noqa: S112 - a blurry LFW photo: the others suffice
            continue
    return np.asarray(out, np.float32)


def add_template(s: Session, user: User, embs: np.ndarray) -> FaceTemplate:
    blob, digest = attendance._encode_embeddings(embs)
    t = FaceTemplate(
        user_id=user.id,
        status=TemplateStatus.active,
        embeddings_enc=blob,
        embeddings_sha256=digest,
        n_embeddings=len(embs),
        face_engine=SFACE_IDENTITY.engine,
        model_name=SFACE_IDENTITY.name,
        model_version=SFACE_IDENTITY.version,
        model_sha256=SFACE_IDENTITY.sha256,
    )
    s.add(t)
    s.flush()
    return t


def add_event(
    s: Session, user: User, inst: Institution, purpose: Purpose = Purpose.checkin, **kw: Any
) -> AttendanceEvent:
    ev = AttendanceEvent(
        user_id=user.id,
        institution_id=inst.id,
        purpose=purpose,
        outcome=Outcome.passed,
        accept_threshold="0.3800",
        reject_threshold="0.5000",
        model_name="test",
        model_version="0",
        match_metric="euclidean",
        face_engine="test",
        model_sha256="0" * 64,
        created_at=kw.pop("created_at", clock_mod.now()),
        **kw,
    )
    s.add(ev)
    s.flush()
    return ev


def add_enrollment(s: Session, user: User, inst: Institution, **course_kw: Any) -> Enrollment:
    course = Course(
        institution_id=inst.id,
        title="电工",
        occupation_code="6-31-01-03",
        occupation_name="电工",
        level=Level.level5,
        required_minutes=600,
        pass_score=60,
        subsidy_fen=100_000,
        **course_kw,
    )
    s.add(course)
    s.flush()
    return in_default_class(s, user, course)


def add_session(s: Session, en: Enrollment, start_min: int, end_min: int) -> StudySession:
    t0 = clock_mod.now()
    st = StudySession(
        enrollment_id=en.id,
        user_id=en.user_id,
        state=SessionState.ended,
        checkin_event_id=uuid.uuid4(),
        started_at=t0 + timedelta(minutes=start_min),
        segment_started_at=t0 + timedelta(minutes=start_min),
        ended_at=t0 + timedelta(minutes=end_min),
    )
    s.add(st)
    s.flush()
    return st


@pytest.fixture
def inst(engine: Engine, clock: Any) -> Institution:
    return make_institution(engine)


@pytest.fixture
def regulator(engine: Engine, client: TestClient) -> dict[str, str]:
    return login(client, make_user(engine, Role.regulator).username)


def report(client: TestClient, headers: dict[str, str], code: str, **params: Any) -> Any:
    r = client.get(URL, params={"indicator": code, **params}, headers=headers)
    assert r.status_code == 200, r.text
    [ind] = r.json()["indicators"]
    assert ind["code"] == code
    return ind


def learners(engine: Engine, inst: Institution, n: int) -> list[User]:
    return [make_learner(engine, inst) for _ in range(n)]


# ---------------------------------------------------------------- (a)


def test_shared_face_fires_on_one_person_behind_two_accounts(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    a, b, c, d = learners(engine, inst, 4)
    hu = embeddings("Hu_Jintao")
    with transaction(engine) as s:
        ta = add_template(s, a, hu[:5])
        tb = add_template(s, b, hu[5:])  # other photos of the same man
        add_template(s, c, embeddings("Jackie_Chan"))
        add_template(s, d, embeddings("Igor_Ivanov"))
    ind = report(client, regulator, "shared_face")
    assert ind["fired"]
    [finding] = ind["findings"]
    assert set(finding["subjects"]) == {str(a.id), str(b.id)}
    assert {e["id"] for e in finding["evidence"]} == {str(ta.id), str(tb.id)}
    # SFace (the default engine): a cosine similarity at or above its accept threshold (0.50).
    assert finding["metrics"]["metric"] == "cosine"
    assert float(finding["metrics"]["distance"]) >= 0.5


def test_shared_face_silent_on_different_people(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    users = learners(engine, inst, 3)
    with transaction(engine) as s:
        for u, person in zip(users, ("Hu_Jintao", "Jackie_Chan", "Igor_Ivanov"), strict=True):
            add_template(s, u, embeddings(person))
    assert report(client, regulator, "shared_face") == {
        "code": "shared_face",
        "title": "One face behind several accounts",
        "title_zh": "同一人脸对应多个账号",
        "fired": False,
        "findings": [],
    }


def test_shared_face_pairs_match_the_pairwise_loop() -> None:
    """The vectorised scan finds exactly what fused_distance over every pair finds."""
    from app.attendance.face import fused_distance

    rng = np.random.default_rng(7)
    base = rng.normal(size=(40, 128))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    templates = [
        base[i] + rng.normal(scale=0.02, size=(int(rng.integers(1, 6)), 128)) for i in range(40)
    ]
    templates += [base[3] + rng.normal(scale=0.02, size=(4, 128)), (base[17] + 0.01)[None, :]]
    want = {
        (i, j)
        for i in range(len(templates))
        for j in range(i + 1, len(templates))
        if fused_distance(templates[i], templates[j]) <= 0.38
    }
    for rows, cols in ((1, 1), (7, 3), (4096, 5), (3, 4096), (4096, 8192)):
        got = shared_face_pairs(templates, 0.38, block_rows=rows, block_cols=cols)
        assert {(i, j) for i, j, _ in got} == want, (rows, cols)
        assert len(got) == len(want)  # each pair once, however the tiles fall
    assert want == {(3, 40), (17, 41)}


# ---------------------------------------------------------------- (b)


def test_shared_frame_fires_across_learners_and_stays_silent_otherwise(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    a, b, c = learners(engine, inst, 3)
    h = [hashlib.sha256(bytes([i])).hexdigest() for i in range(6)]
    with transaction(engine) as s:
        add_event(s, a, inst, frame_sha256=[h[0], h[1]])
        add_event(s, a, inst, frame_sha256=[h[2]])  # the same learner again: not fraud
        add_event(s, a, inst, frame_sha256=[h[2]])
        add_event(s, c, inst, frame_sha256=[h[3]])
    assert not report(client, regulator, "shared_frame")["fired"]
    with transaction(engine) as s:
        e1 = add_event(s, b, inst, frame_sha256=[h[1], h[4]])  # a's frame from b
        s.add(FrameHash(sha256=h[5], user_id=a.id, event_id=uuid.uuid4()))  # first seen from a
        e2 = add_event(s, c, inst, frame_sha256=[h[5]])
    ind = report(client, regulator, "shared_frame")
    assert ind["fired"]
    by_hash = {f["metrics"]["frame_sha256"]: f for f in ind["findings"]}
    assert set(by_hash) == {h[1], h[5]}
    assert set(by_hash[h[1]]["subjects"]) == {str(a.id), str(b.id)}
    assert str(e1.id) in {e["id"] for e in by_hash[h[1]]["evidence"]}
    assert set(by_hash[h[5]]["subjects"]) == {str(a.id), str(c.id)}
    assert by_hash[h[5]]["evidence"][-1]["url"].endswith(str(e2.id)) or any(
        e["id"] == str(e2.id) for e in by_hash[h[5]]["evidence"]
    )


# ---------------------------------------------------------------- (c)


def test_crowded_ip_fires_on_many_learners_in_minutes(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    users = learners(engine, inst, 6)
    t0 = clock_mod.now()
    with transaction(engine) as s:
        for i, u in enumerate(users):  # a computer room that checks everyone in: 6 in 5 minutes
            add_event(s, u, inst, client_ip="10.0.0.9", created_at=t0 + timedelta(minutes=i))
        for i, u in enumerate(users):  # each at home, or the same IP hours apart
            add_event(s, u, inst, client_ip=f"192.0.2.{i}", created_at=t0 + timedelta(minutes=i))
            add_event(s, u, inst, client_ip="198.51.100.1", created_at=t0 + timedelta(hours=i))
    ind = report(client, regulator, "crowded_ip")
    assert ind["fired"]
    [f] = ind["findings"]
    assert (f["metrics"]["ip"], f["metrics"]["learners"]) == ("10.0.0.9", 6)
    assert len(f["evidence"]) == 6
    assert not report(client, regulator, "crowded_ip", ip_min_learners=7)["fired"]
    assert not report(client, regulator, "crowded_ip", ip_window_minutes=3)["fired"]


def test_crowded_ip_silent_on_a_clean_day(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    users = learners(engine, inst, 6)
    with transaction(engine) as s:
        for i, u in enumerate(users):
            add_event(s, u, inst, client_ip=f"192.0.2.{i}")
    assert not report(client, regulator, "crowded_ip")["fired"]


# ---------------------------------------------------------------- (d)


def test_over_daily_cap_and_overlapping_sessions(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    a, b = learners(engine, inst, 2)
    with transaction(engine) as s:
        en_a = add_enrollment(s, a, inst, daily_cap_minutes=60)
        en_b = add_enrollment(s, b, inst, daily_cap_minutes=60)
        s.add(DailyCredit(enrollment_id=en_a.id, day=date(2026, 1, 5), ms=3_600_000))  # at cap
        s.add(DailyCredit(enrollment_id=en_b.id, day=date(2026, 1, 5), ms=1_800_000))
        add_session(s, en_a, 0, 30)
        add_session(s, en_a, 30, 60)  # back to back: fine
        add_session(s, en_b, 0, 60)
    assert not report(client, regulator, "over_daily_cap")["fired"]
    assert not report(client, regulator, "overlapping_sessions")["fired"]
    with transaction(engine) as s:
        s.add(DailyCredit(enrollment_id=en_b.id, day=date(2026, 1, 6), ms=3_601_000))
        en_b2 = add_enrollment(s, b, inst)
        add_session(s, en_b2, 20, 40)  # studying two courses at once
    ind = report(client, regulator, "over_daily_cap")
    [f] = ind["findings"]
    assert f["subjects"] == [str(b.id)]
    assert f["evidence"][0] == {
        "kind": "enrollment",
        "id": str(en_b.id),
        "url": f"/api/v1/enrollments/{en_b.id}",
        "detail": {"day": "2026-01-06", "seconds": 3601, "course": str(en_b.course_id)},
    }
    [f] = report(client, regulator, "overlapping_sessions")["findings"]
    assert f["subjects"] == [str(b.id)]
    assert f["metrics"]["overlap_s"] == 20 * 60


# ---------------------------------------------------------------- (e)


def _rollcalls(s: Session, en: Enrollment, statuses: list[RollCallStatus]) -> None:
    st = add_session(s, en, 0, 600)
    now = clock_mod.now()
    for status in statuses:
        s.add(
            RollCall(
                session_id=st.id,
                enrollment_id=en.id,
                user_id=en.user_id,
                due_at=now,
                offered_at=now,
                deadline=now,
                status=status,
            )
        )
    s.flush()


def test_rollcall_failure_rate(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    P, F, M = RollCallStatus.passed, RollCallStatus.failed, RollCallStatus.missed
    other = make_institution(engine)
    users = learners(engine, inst, 2) + learners(engine, other, 2)
    with transaction(engine) as s:
        for u, i in zip(users, (inst, inst, other, other), strict=True):
            _rollcalls(s, add_enrollment(s, u, i), [P] * 28 + [F, M])  # ~7 %: normal
    assert not report(client, regulator, "rollcall_failure_rate")["fired"]
    with transaction(engine) as s:  # a course where most roll-calls fail or go unanswered
        bad = add_enrollment(s, users[0], inst)
        _rollcalls(s, bad, [P] * 10 + [F] * 8 + [M] * 12)
    ind = report(client, regulator, "rollcall_failure_rate")
    subjects = [f["subjects"][0] for f in ind["findings"]]
    assert subjects == [f"course:{bad.course_id}"]
    [f] = ind["findings"]
    assert (f["metrics"]["failed"], f["metrics"]["missed"], f["metrics"]["rollcalls"]) == (
        8,
        12,
        30,
    )
    assert len(f["evidence"]) == 20
    # far above the overall rate but below the absolute limit: fires through the factor
    ind = report(client, regulator, "rollcall_failure_rate", rollcall_max_rate=0.9)
    assert [f["subjects"][0] for f in ind["findings"]] == [f"course:{bad.course_id}"]
    assert not report(
        client, regulator, "rollcall_failure_rate", rollcall_max_rate=0.9, rollcall_rate_factor=5
    )["fired"]


# ---------------------------------------------------------------- access


def test_staff_see_their_own_institution_only(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    other = make_institution(engine)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    a = make_learner(engine, other)
    b = make_learner(engine, other)
    h = hashlib.sha256(b"x").hexdigest()
    with transaction(engine) as s:
        add_event(s, a, other, frame_sha256=[h])
        add_event(s, b, other, frame_sha256=[h])
    assert report(client, regulator, "shared_frame")["fired"]
    assert report(client, regulator, "shared_frame", institution_id=str(other.id))["fired"]
    assert not report(client, regulator, "shared_frame", institution_id=str(inst.id))["fired"]
    assert not report(client, staff, "shared_frame")["fired"]
    r = client.get(URL, params={"institution_id": str(other.id)}, headers=staff)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    learner = login(client, make_learner(engine, inst).username)
    assert client.get(URL, headers=learner).status_code == 403
    assert client.get(URL).status_code == 401
    r = client.get(URL, params={"institution_id": str(uuid.uuid4())}, headers=regulator)
    assert (r.status_code, r.json()["code"]) == (404, "institution_not_found")
    r = client.get(URL, headers=regulator)
    assert r.status_code == 200
    assert [i["code"] for i in r.json()["indicators"]] == [
        "shared_face",
        "shared_frame",
        "crowded_ip",
        "over_daily_cap",
        "overlapping_sessions",
        "rollcall_failure_rate",
    ]


def test_api_keys_need_audit_read_and_see_their_own_institution_only(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    other = make_institution(engine)
    mine, theirs = learners(engine, inst, 5), learners(engine, other, 5)
    t0 = clock_mod.now()
    with transaction(engine) as s:
        # In each institution: two learners sending one frame, five checking in from one IP.
        events = {
            i.id: [
                add_event(s, u, i, frame_sha256=[hashlib.sha256(i.id.bytes).hexdigest()])
                for u in users[:2]
            ]
            + [
                add_event(s, u, i, client_ip=ip, created_at=t0 + timedelta(minutes=k))
                for k, u in enumerate(users)
            ]
            for i, users, ip in ((inst, mine, "10.0.0.1"), (other, theirs, "10.0.0.2"))
        }
        _, key = accounts.create_api_key(
            s, institution_id=inst.id, name="partner", scopes=["audit:read"], actor=Actor.system()
        )
        _, weak = accounts.create_api_key(
            s, institution_id=inst.id, name="weak", scopes=["courses:read"], actor=Actor.system()
        )
    h = {"Authorization": f"Bearer {key}"}
    theirs_ids = {str(u.id) for u in theirs} | {str(e.id) for e in events[other.id]}
    mine_ids = {str(u.id) for u in mine} | {str(e.id) for e in events[inst.id]}

    def ids(body: dict[str, Any]) -> set[str]:
        return {
            x
            for ind in body["indicators"]
            for f in ind["findings"]
            for x in [*f["subjects"], *(e["id"] for e in f["evidence"])]
        }

    r = client.get(URL, headers=regulator)  # both institutions' rows exist
    assert r.status_code == 200, r.text
    assert theirs_ids <= ids(r.json()) and mine_ids <= ids(r.json())

    for params in ({}, {"institution_id": str(inst.id)}):
        r = client.get(URL, params=params, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["institution_id"] == str(inst.id)
        assert ids(body) == mine_ids  # every one of its own rows, none of the other's
        assert not any(x in r.text for x in theirs_ids)
    assert report(client, h, "shared_frame")["findings"][0]["subjects"] == sorted(
        str(u.id) for u in mine[:2]
    )
    [f] = report(client, h, "crowded_ip")["findings"]
    assert (f["metrics"]["ip"], f["metrics"]["learners"]) == ("10.0.0.1", 5)

    r = client.get(URL, params={"institution_id": str(other.id)}, headers=h)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = client.get(URL, headers={"Authorization": f"Bearer {weak}"})
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")
    r = client.get(URL, headers={"Authorization": "Bearer st_not_a_key"})
    assert r.status_code == 401


def test_openapi_names_api_keys_and_the_scope_refusal(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/api/v1/reports/fraud"]["get"]
    assert "API keys (scope `audit:read`)" in op["description"]
    assert "403" in op["responses"]


def test_a_frame_first_seen_elsewhere_is_named_only_to_regulators(
    engine: Engine, inst: Institution, client: TestClient, regulator: dict[str, str]
) -> None:
    """Staff learn that their learner sent a frame first seen at another institution, but not
    who sent it there or which event: that is the regulator's to follow up."""
    other = make_institution(engine)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    ours = make_learner(engine, inst)
    theirs = make_learner(engine, other)
    h = hashlib.sha256(b"passed around").hexdigest()
    with transaction(engine) as s:
        first = add_event(s, theirs, other, frame_sha256=[h])
        s.add(FrameHash(sha256=h, user_id=theirs.id, event_id=first.id))
        mine = add_event(s, ours, inst, frame_sha256=[h])

    [seen_by_staff] = report(client, staff, "shared_frame")["findings"]
    text = json.dumps(seen_by_staff)
    assert str(theirs.id) not in text and str(first.id) not in text
    assert seen_by_staff["subjects"] == [str(ours.id), "other-institution"]
    kinds = [(e["kind"], e["id"]) for e in seen_by_staff["evidence"]]
    assert kinds == [("attendance_event", str(mine.id)), ("other_institution", "")]

    [seen_by_regulator] = report(client, regulator, "shared_frame")["findings"]
    assert set(seen_by_regulator["subjects"]) == {str(ours.id), str(theirs.id)}
    ids = {e["id"] for e in seen_by_regulator["evidence"]}
    assert {str(first.id), str(mine.id)} <= ids

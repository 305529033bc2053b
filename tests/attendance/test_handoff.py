"""The no-camera fallback over HTTP, on both databases, with the real face engine on real frames:
the computer creates a hand-off, the phone (no sign-in) opens the short link, takes a challenge
and posts its burst; the server runs the very operation the computer would have run, and the
computer's poll returns the same body the direct call would have returned."""

from __future__ import annotations

import logging
import re
import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.attendance.face import DLIB_IDENTITY
from app.attendance.models import (
    AttendanceEvent,
    FaceChallenge,
    FaceHandoff,
    FaceTemplate,
    Purpose,
)
from app.courses.models import RollCall, RollCallStatus, SessionState, StudySession
from app.db import transaction
from tests.face_data import blink_burst, lfw_person
from tests.factories import (
    audit_log,
    challenge,
    consent,
    face_learner,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
    send,
    video_frame,
)

pytestmark = pytest.mark.slow
API = "/api/v1"
CODE = re.compile(r"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$")


def create(client: TestClient, h: dict[str, str], **body: Any) -> Any:
    return client.post(f"{API}/me/face/handoffs", json=body, headers=h)


def poll(client: TestClient, h: dict[str, str], handoff_id: str) -> dict[str, Any]:
    r = client.get(f"{API}/me/face/handoffs/{handoff_id}", headers=h)
    assert r.status_code == 200, r.text
    return dict(r.json())


def phone_challenge(client: TestClient, engine: Any, code: str, actions: list[str]) -> str:
    """The phone takes a challenge through the code (no sign-in); the test fixes its actions
    (the clip blinks; it never turns its head on cue)."""
    r = client.post(f"{API}/handoffs/{code}/challenge")
    assert r.status_code == 201, r.text
    cid = r.json()["challenge_id"]
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None and c.issued_to.startswith("handoff:")
        c.actions = actions
        c.mode, c.schedule = "burst", None  # a burst: the streamed path has its own tests
        s.add(c)
        s.commit()
    return str(cid)


def phone_frames(client: TestClient, code: str, cid: str, frames: list[bytes]) -> Any:
    files = [("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    return client.post(f"{API}/handoffs/{code}/frames", data={"challenge_id": cid}, files=files)


def checkin_setup(
    client: TestClient, engine: Any, **course: Any
) -> tuple[Any, dict[str, str], str]:
    inst = make_institution(engine)
    learner, h = face_learner(client, engine, inst)
    c = make_course(engine, inst, **course)
    enrollment = make_enrollment(engine, learner, c)
    return learner, h, str(enrollment.id)


# ---------------------------------------------------------------- check-in


def test_checkin_on_the_phone_opens_the_learners_session(client: TestClient, engine: Any) -> None:
    learner, h, eid = checkin_setup(client, engine)
    r = create(client, h, purpose="checkin", enrollment_id=eid)
    assert r.status_code == 201, r.text
    created = r.json()
    code, hid = created["code"], created["handoff_id"]
    assert CODE.match(code)
    assert created["url"].endswith(f"/m/{code}")
    assert created["qr_svg_url"] == f"/m/{code}/qr.svg"
    assert 590 <= created["expires_in_s"] <= 600
    assert poll(client, h, hid)["state"] == "waiting"

    # The phone: no cookie, no token. The page shows the masked name and what it is for.
    phone = client.get(f"/m/{code}")
    assert phone.status_code == 200
    assert "王*明" in phone.text and "王小明" not in phone.text
    assert "学习签到" in phone.text and "低压电工作业" in phone.text
    assert phone.headers["referrer-policy"] == "no-referrer"
    qr = client.get(f"/m/{code}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.lstrip().startswith("<svg")
    assert client.post(f"{API}/handoffs/{code}/open").json()["state"] == "opened"
    assert poll(client, h, hid)["state"] == "opened"

    cid = phone_challenge(client, engine, code, ["blink"])
    r = phone_frames(client, code, cid, blink_burst("b"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "purpose": "checkin",
        "state": "passed",
        "reason": None,
        "outcome": "passed",
    }

    # The computer's poll: the same body the direct check-in returns.
    st = poll(client, h, hid)
    assert (st["state"], st["closed"], st["reason"]) == ("passed", True, None)
    result = st["result"]
    assert set(result) == {"session_id", "attendance_event_id", "heartbeat_interval_s", "state"}
    assert result["state"] == "studying" and result["heartbeat_interval_s"] == 30
    with Session(engine) as s:
        sess = s.get(StudySession, uuid.UUID(result["session_id"]))
        assert sess is not None
        assert sess.user_id == learner.id and str(sess.enrollment_id) == eid
        assert sess.state is SessionState.studying
        event = s.get(AttendanceEvent, uuid.UUID(result["attendance_event_id"]))
        assert event is not None and event.purpose is Purpose.checkin
        assert event.user_id == learner.id and event.outcome.value == "passed"
        stored = s.exec(select(FaceHandoff)).one()
        assert code not in stored.code_sha256 and len(stored.code_sha256) == 64
    # The computer carries on with heartbeats of that session.
    beat = client.post(
        f"{API}/sessions/{result['session_id']}/heartbeat", json={"visible": True}, headers=h
    )
    assert beat.status_code == 200, beat.text

    # Single use: the code is spent.
    r = client.post(f"{API}/handoffs/{code}/challenge")
    assert (r.status_code, r.json()["code"]) == (409, "handoff_used")
    assert r.json()["message_zh"]
    assert r.json()["passed"] is True  # a phone whose answer was lost learns its check passed
    r = phone_frames(client, code, cid, blink_burst("c"))
    assert (r.status_code, r.json()["code"]) == (409, "handoff_used")
    assert client.get(f"/m/{code}").status_code == 409
    actions = [a for a, _ in audit_log(engine, subject=f"face_handoff:{hid}")]
    assert actions == ["face.handoff_created", "face.handoff_opened", "face.handoff_passed"]
    assert all(code not in str(p) for _, p in audit_log(engine))


def test_wrong_person_fails_and_the_handoff_stays_usable(client: TestClient, engine: Any) -> None:
    learner, h, eid = checkin_setup(client, engine)
    created = create(client, h, purpose="checkin", enrollment_id=eid).json()
    code, hid = created["code"], created["handoff_id"]

    cid = phone_challenge(client, engine, code, [])  # identity only: the stranger's photo
    r = phone_frames(client, code, cid, lfw_person("George_W_Bush")[:1])
    assert (r.status_code, r.json()["code"]) == (403, "face_mismatch"), r.text
    assert r.json()["handoff_closed"] is False and r.json()["attendance_event_id"]
    st = poll(client, h, hid)
    assert (st["state"], st["reason"], st["closed"], st["result"]) == (
        "failed",
        "face_mismatch",
        False,
        None,
    )
    assert st["error"]["reason_code"] == "face_mismatch"
    with Session(engine) as s:
        assert s.exec(select(StudySession)).first() is None
        failed = s.exec(
            select(AttendanceEvent).where(col(AttendanceEvent.purpose) == Purpose.checkin)
        ).one()
        assert failed.reason_code == "face_mismatch"

    # The spent challenge cannot be reused: each try takes a fresh one.
    r = phone_frames(client, code, cid, blink_burst("b"))
    assert (r.status_code, r.json()["code"]) == (404, "challenge_not_found")
    cid = phone_challenge(client, engine, code, ["blink"])
    r = phone_frames(client, code, cid, blink_burst("b"))
    assert r.status_code == 200 and r.json()["state"] == "passed", r.text
    st = poll(client, h, hid)
    assert st["state"] == "passed" and st["result"]["session_id"]
    assert st["attempts"] == 2


# ---------------------------------------------------------------- roll-call


def _beat_until_offer(client: TestClient, clock: Any, h: dict[str, str], sid: str) -> Any:
    for _ in range(20):
        clock.advance(seconds=30)
        beat = client.post(f"{API}/sessions/{sid}/heartbeat", json={"visible": True}, headers=h)
        assert beat.status_code == 200, beat.text
        if beat.json()["rollcall"]:
            return beat.json()["rollcall"]
    raise AssertionError("no roll-call offered")


def test_rollcall_on_the_phone_within_the_window_and_after_it(
    client: TestClient, engine: Any, clock: Any
) -> None:
    learner, h, eid = checkin_setup(
        client,
        engine,
        rollcall_min_interval_s=60,
        rollcall_max_interval_s=90,
        rollcall_response_window_s=90,
    )
    cid = challenge(client, h, engine, ["blink"])
    r = send(client, f"{API}/enrollments/{eid}/sessions", h, cid, blink_burst("b"))
    assert r.status_code == 201, r.text
    sid = r.json()["session_id"]

    offer = _beat_until_offer(client, clock, h, sid)
    r = create(client, h, purpose="rollcall", rollcall_id=offer["rollcall_id"])
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["expires_in_s"] <= 90  # never after the roll-call's deadline
    clock.advance(seconds=20)
    cid = phone_challenge(client, engine, created["code"], ["blink"])
    r = phone_frames(client, created["code"], cid, blink_burst("c"))
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["outcome"]) == ("passed", "passed")
    st = poll(client, h, created["handoff_id"])
    assert st["state"] == "passed"
    assert st["result"] == {
        "outcome": "passed",
        "attendance_event_id": st["result"]["attendance_event_id"],
        "rollcall_status": "passed",
        "attempt": 1,
        "attempts_left": 0,
        "reason_code": None,
        "forfeited_seconds": 0,
        "stretch_from": st["result"]["stretch_from"],
        # The study page's counter is the study page's to read (its own heartbeat), not the
        # phone's: the hand-off's answer leaves it out.
        "credited_seconds": None,
    }
    assert st["result"]["stretch_from"] is not None  # the stretch the pass credited
    with Session(engine) as s:
        rc = s.get(RollCall, uuid.UUID(offer["rollcall_id"]))
        assert rc is not None and rc.status is RollCallStatus.passed

    # The next roll-call: the phone is too late.
    offer = _beat_until_offer(client, clock, h, sid)
    created = create(client, h, purpose="rollcall", rollcall_id=offer["rollcall_id"]).json()
    cid = phone_challenge(client, engine, created["code"], ["blink"])
    clock.advance(seconds=91)
    st = poll(client, h, created["handoff_id"])
    assert (st["state"], st["reason"], st["closed"]) == ("expired", "rollcall_expired", True)
    r = phone_frames(client, created["code"], cid, blink_burst("c2"))
    assert (r.status_code, r.json()["code"]) == (410, "rollcall_expired"), r.text
    assert r.json()["message_zh"]
    with Session(engine) as s:
        rc = s.get(RollCall, uuid.UUID(offer["rollcall_id"]))
        assert rc is not None and rc.status is RollCallStatus.missed
        sess = s.get(StudySession, uuid.UUID(sid))
        assert sess is not None and sess.state is SessionState.paused
    st = poll(client, h, created["handoff_id"])
    assert (st["state"], st["reason"], st["closed"]) == ("failed", "rollcall_expired", True)
    # A roll-call no longer pending gets no hand-off.
    r = create(client, h, purpose="rollcall", rollcall_id=offer["rollcall_id"])
    assert (r.status_code, r.json()["code"]) == (410, "rollcall_expired")


# ---------------------------------------------------------------- enrolment and quiz


def test_face_enrolment_on_the_phone(client: TestClient, engine: Any) -> None:
    learner = make_learner(engine, make_institution(engine))
    h = login(client, learner.username)
    consent(client, h)
    created = create(client, h, purpose="enrol").json()
    cid = phone_challenge(client, engine, created["code"], ["blink"])
    r = phone_frames(client, created["code"], cid, blink_burst("a"))
    assert r.status_code == 200 and r.json()["state"] == "passed", r.text
    st = poll(client, h, created["handoff_id"])
    assert set(st["result"]) == {"template_id", "attendance_event_id", "quality"}
    assert st["result"]["quality"]["frames"] == len(blink_burst("a"))
    me = client.get(f"{API}/me/face", headers=h).json()
    assert me["enrolled"] is True and me["template_id"] == st["result"]["template_id"]


def test_quiz_started_on_the_phone_shows_the_paper_on_the_computer_only(
    client: TestClient, engine: Any
) -> None:
    learner, h, eid = checkin_setup(client, engine)
    created = create(client, h, purpose="quiz", enrollment_id=eid).json()
    cid = phone_challenge(client, engine, created["code"], [])
    r = phone_frames(client, created["code"], cid, [video_frame()])
    assert r.status_code == 200 and r.json()["state"] == "passed", r.text
    assert "questions" not in r.text  # the phone learns the outcome only
    attempt = poll(client, h, created["handoff_id"])["result"]
    assert attempt["state"] == "open" and len(attempt["questions"]) == 3
    assert "answer" not in {k for q in attempt["questions"] for k in q}
    direct = client.get(f"{API}/quiz-attempts/{attempt['attempt_id']}", headers=h).json()
    assert direct == attempt


# ---------------------------------------------------------------- refusals


def test_expired_replaced_and_unknown_codes(client: TestClient, engine: Any, clock: Any) -> None:
    learner, h, eid = checkin_setup(client, engine)
    first = create(client, h, purpose="checkin", enrollment_id=eid).json()
    second = create(client, h, purpose="checkin", enrollment_id=eid).json()
    # A newer hand-off replaces the older one.
    r = client.post(f"{API}/handoffs/{first['code']}/challenge")
    assert (r.status_code, r.json()["code"]) == (410, "handoff_expired")
    assert poll(client, h, first["handoff_id"])["state"] == "expired"
    assert client.get(f"/m/{first['code']}").status_code == 410

    cid = phone_challenge(client, engine, second["code"], ["blink"])
    clock.advance(seconds=601)
    r = phone_frames(client, second["code"], cid, blink_burst("b"))
    assert (r.status_code, r.json()["code"]) == (410, "handoff_expired")
    assert r.json()["message_zh"] and r.json()["detail"]
    st = poll(client, h, second["handoff_id"])
    assert (st["state"], st["reason"], st["closed"]) == ("expired", "handoff_expired", True)
    assert client.get(f"/m/{second['code']}/qr.svg").status_code == 410

    for unknown in ("abcd-efgh-jkmn", "not-a-code", "x" * 12):
        r = client.post(f"{API}/handoffs/{unknown}/challenge")
        assert (r.status_code, r.json()["code"]) == (404, "handoff_not_found")
    assert client.get("/m/abcd-efgh-jkmn").status_code == 404
    r = client.post(
        f"{API}/handoffs/abcd-efgh-jkmn/frames",
        data={"challenge_id": str(uuid.uuid4())},
        files=[("frames", ("f.jpg", blink_burst("b")[0], "image/jpeg"))],
    )
    assert (r.status_code, r.json()["code"]) == (404, "handoff_not_found")
    with Session(engine) as s:
        assert s.exec(select(StudySession)).first() is None


def test_no_handoff_for_someone_elses_check(client: TestClient, engine: Any) -> None:
    learner, h, eid = checkin_setup(client, engine)
    other = make_learner(engine, make_institution(engine))
    h2 = login(client, other.username)
    consent(client, h2)
    for purpose in ("checkin", "quiz"):
        r = create(client, h2, purpose=purpose, enrollment_id=eid)
        assert (r.status_code, r.json()["code"]) == (404, "enrollment_not_found")
    r = create(client, h2, purpose="rollcall", rollcall_id=str(uuid.uuid4()))
    assert (r.status_code, r.json()["code"]) == (404, "rollcall_not_found")
    mine = create(client, h, purpose="checkin", enrollment_id=eid).json()
    r = client.get(f"{API}/me/face/handoffs/{mine['handoff_id']}", headers=h2)
    assert (r.status_code, r.json()["code"]) == (404, "handoff_not_found")
    r = create(client, h, purpose="enrol", enrollment_id=eid)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_handoff")
    r = create(client, h, purpose="checkin")
    assert (r.status_code, r.json()["code"]) == (422, "invalid_handoff")
    staff = make_user(engine, Role.staff, make_institution(engine))
    r = create(client, login(client, staff.username), purpose="enrol")
    assert r.status_code == 403
    # Without consent a learner gets no hand-off either.
    fresh = make_learner(engine)
    r = create(client, login(client, fresh.username), purpose="enrol")
    assert (r.status_code, r.json()["code"]) == (403, "consent_required")
    # Nor for a check-in before the face is enrolled.
    other_course = make_course(engine, make_institution(engine))
    own = make_enrollment(engine, other, other_course)
    r = create(client, h2, purpose="checkin", enrollment_id=str(own.id))
    assert (r.status_code, r.json()["code"]) == (409, "face_not_enrolled")


def test_the_code_never_reaches_the_logs(
    client: TestClient, engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from uvicorn.logging import AccessFormatter

    learner, h, eid = checkin_setup(client, engine)
    code = create(client, h, purpose="checkin", enrollment_id=eid).json()["code"]
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    keep = Keep()
    keep.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    access = logging.getLogger("uvicorn.access")
    access.addHandler(keep)
    try:
        with caplog.at_level(logging.INFO):
            # What uvicorn's access log writes for the phone's requests …
            for path in (f"/m/{code}", f"/api/v1/handoffs/{code}/frames"):
                access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5000", "POST", path, "1.1", 200)
            # … and what the app writes when a request fails unexpectedly.
            logging.getLogger("skilltrace").error("unhandled error on %s %s", "GET", f"/m/{code}")
            client.get(f"/m/{code}")
            client.post(f"{API}/handoffs/{code}/open")
    finally:
        access.removeHandler(keep)
    assert len(lines) == 2 and all("[redacted]" in line for line in lines), lines
    assert "/api/v1/handoffs/[redacted]/frames" in lines[1]
    # Everything the server side logged (the test's own HTTP client logs its URLs: not ours).
    server = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert any("[redacted]" in m for m in server)
    text = "\n".join(server + lines)
    assert code not in text and code.replace("-", "") not in text


def test_bad_input_from_the_phone_is_refused_in_words_and_changes_nothing(
    client: TestClient, engine: Any
) -> None:
    """Not an image, no frames at all, a body over the size limit: each a stable 4xx code, no
    study session opened, and the hand-off still there for a real try."""
    _learner, h, eid = checkin_setup(client, engine)
    created = create(client, h, purpose="checkin", enrollment_id=eid).json()
    code, hid = created["code"], created["handoff_id"]

    cid = phone_challenge(client, engine, code, ["blink"])
    r = phone_frames(client, code, cid, [b"this is not a picture"] * 3)
    assert r.status_code == 422 and r.json()["code"] == "not_an_image", r.text

    cid = phone_challenge(client, engine, code, ["blink"])
    r = client.post(f"{API}/handoffs/{code}/frames", data={"challenge_id": cid})
    # Frames are optional in the form (a streamed check takes none); a burst needs some.
    assert (r.status_code, r.json()["code"]) == (422, "too_few_frames"), r.text

    too_big = b"\xff\xd8" + b"\0" * (25 * 1024 * 1024)
    r = phone_frames(client, code, cid, [too_big])
    assert (r.status_code, r.json()["code"]) == (413, "image_too_large")

    with Session(engine) as s:
        assert s.exec(select(StudySession)).first() is None
    assert poll(client, h, hid)["closed"] is False
    cid = phone_challenge(client, engine, code, ["blink"])
    r = phone_frames(client, code, cid, blink_burst("c"))
    assert r.status_code == 200 and r.json()["state"] == "passed", r.text


def test_no_handoff_while_the_template_comes_from_an_older_model(
    client: TestClient, engine: Any
) -> None:
    """A check handed to a phone could not pass either: the hand-off is refused with the same
    face_reenrol_required as the check itself; an enrolment hand-off is still offered."""
    learner, h, eid = checkin_setup(client, engine)
    with transaction(engine) as s:
        t = s.exec(select(FaceTemplate).where(FaceTemplate.user_id == learner.id)).one()
        t.face_engine, t.model_name = DLIB_IDENTITY.engine, DLIB_IDENTITY.name
        t.model_sha256 = DLIB_IDENTITY.sha256
        s.add(t)
    r = create(client, h, purpose="checkin", enrollment_id=eid)
    assert (r.status_code, r.json()["code"]) == (409, "face_reenrol_required"), r.text
    assert create(client, h, purpose="enrol").status_code == 201


def test_the_phones_burst_sent_twice_at_once_checks_in_once(
    client: TestClient, engine: Any
) -> None:
    """A double tap on the phone: one check-in, and the other answer says the link is used
    (not "the check was already used, start again", which would send the learner round)."""
    _, h, eid = checkin_setup(client, engine)
    r = create(client, h, purpose="checkin", enrollment_id=eid)
    code, hid = r.json()["code"], r.json()["handoff_id"]
    cid = phone_challenge(client, engine, code, ["blink"])
    frames = blink_burst("b")
    gate = threading.Barrier(2, timeout=60)
    answers: list[Any] = [None, None]

    def tap(i: int) -> None:
        gate.wait()
        answers[i] = phone_frames(client, code, cid, frames)

    taps = [threading.Thread(target=tap, args=(i,)) for i in range(2)]
    for t in taps:
        t.start()
    for t in taps:
        t.join()
    got = sorted((a.status_code, a.json().get("code") or a.json().get("state")) for a in answers)
    assert got == [(200, "passed"), (409, "handoff_used")], [a.text for a in answers]
    assert [a.json()["passed"] for a in answers if a.status_code == 409] == [True]
    assert poll(client, h, hid)["state"] == "passed"
    with Session(engine) as s:
        assert len(s.exec(select(StudySession)).all()) == 1
        checkins = s.exec(select(AttendanceEvent).where(AttendanceEvent.purpose == Purpose.checkin))
        assert len(checkins.all()) == 1

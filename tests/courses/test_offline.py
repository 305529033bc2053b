"""Blended training: an offline session run through its check-in station with real face frames.

The station (signed-in staff) scans the learner's QR, streams the station camera's frames
(talking_head_1.mp4, the enrolled person, blinking on cue) through the same server-paced check
the learner pages use, and decides it with purpose ``offline_checkin`` / ``offline_checkout``.
The server's clock is frozen and moved by the test (~83 ms per frame), with the stream helpers
of tests/api/face_streams.py.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from typing import Any

import pypdf
import segno
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.accounts.models import Role
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, FaceChallenge, FaceCheckFrame, Purpose
from app.audit.service import Actor
from app.certificates.credential import hours
from app.cli import app as cli
from app.clock import FrozenClock
from app.config import get_settings
from app.courses import offline, offline_records, offline_station
from app.courses.models import CourseClass, Enrollment, OfflineAttendance, OfflineTokenUse
from app.courses.progress import refresh_completion
from app.db import transaction
from tests.api.face_streams import API, fix_plan, marked, responsive, stream
from tests.face_data import jpeg, lfw_person, video_frames
from tests.factories import (
    audit_actions,
    complete,
    consent,
    face_learner,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
)

#: Corner numbers for this module's frames (16 bits): 400 per stream, none shared with the
#: other stream tests' frames.
_marks = iter(range(40_000, 65_536, 400))


def _token(client: TestClient, h: dict[str, str], sid: str) -> str:
    r = client.post(f"{API}/me/offline-sessions/{sid}/qr-token", headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def _station_step(
    client: TestClient,
    engine: Any,
    clock: FrozenClock,
    staff_h: dict[str, str],
    sid: str,
    token: str,
) -> Any:
    r = client.post(
        f"{API}/offline-sessions/{sid}/station/checks", json={"token": token}, headers=staff_h
    )
    assert r.status_code == 201, r.text
    check = r.json()
    # One blink revealed at 1.3 s (the clip cannot follow random reveals; the random protocol
    # has its own tests), the station sending three frames per upload as the page does on a
    # slow link.
    fix_plan(engine, check["challenge_id"], [("blink", 1300)])
    stream(client, clock, check["frames_url"], staff_h, responsive, next(_marks), per_upload=3)
    return client.post(check["decide_url"], headers=staff_h)


def _world(client: TestClient, engine: Any, clock: FrozenClock) -> dict[str, Any]:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff, offline_required_minutes=120)
    learner, h = face_learner(client, engine, inst)
    enrollment = make_enrollment(engine, learner, course)
    staff_h = login(client, staff.username)
    start = clock.now() + timedelta(minutes=30)
    r = client.post(
        f"{API}/classes/{enrollment.class_id}/offline-sessions",
        json={
            "title": "低压电工实操：照明线路安装",
            "site_address": "深圳市南山区留仙大道 1088 号 实训楼 302 室",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=3)).isoformat(),
            "capacity": 20,
            "instructor_id": str(staff.id),
        },
        headers=staff_h,
    )
    assert r.status_code == 201, r.text
    return {
        "inst": inst,
        "staff": staff,
        "staff_h": staff_h,
        "course": course,
        "learner": learner,
        "h": h,
        "enrollment": enrollment,
        "sid": r.json()["session_id"],
        "start": start,
    }


def test_offline_session_through_the_station_credits_verified_minutes(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    w = _world(client, engine, clock)
    sid, h, staff_h = w["sid"], w["h"], w["staff_h"]
    mine = client.get(f"{API}/me/offline-sessions", headers=h).json()
    assert [m["session_id"] for m in mine] == [sid]
    assert mine[0]["qr_available"] is True  # check-in opens 30 minutes before the start

    # Check-in, 15 minutes after the start: the learner's QR, the station's camera.
    clock.advance(minutes=45)
    r = _station_step(client, engine, clock, staff_h, sid, _token(client, h, sid))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["kind"] == "checkin" and got["checked_out_at"] is None
    assert got["credited_minutes"] == 0
    with Session(engine) as s:
        checkin = s.get(AttendanceEvent, uuid.UUID(got["attendance_event_id"]))
        assert checkin is not None and checkin.purpose is Purpose.offline_checkin
        assert checkin.outcome.value == "passed" and checkin.liveness["mode"] == "streamed"
        assert checkin.user_id == w["learner"].id  # the learner's event, the staff's action
        assert s.exec(select(FaceCheckFrame)).first() is None  # frames gone once decided

    # Check-out, 10 minutes after the end: credit stops at the end of the window.
    clock.advance(hours=3)
    h, staff_h = login(client, w["learner"].username), login(client, w["staff"].username)
    r = _station_step(client, engine, clock, staff_h, sid, _token(client, h, sid))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["kind"] == "checkout"
    end = w["start"] + timedelta(hours=3)
    expected_ms = (end - checkin.created_at) // timedelta(milliseconds=1)
    assert 164 * 60_000 < expected_ms < 165 * 60_000  # 15 minutes late, a few seconds of check
    assert out["credited_minutes"] == out["offline_minutes_total"] == expected_ms // 60_000
    with Session(engine) as s:
        e = s.get(Enrollment, w["enrollment"].id)
        assert e is not None and e.offline_ms == expected_ms
        row = s.exec(select(OfflineAttendance)).one()
        assert row.credited_ms == expected_ms and row.checkout_at is not None
        # The offline ledger derives the same total from the face events alone ...
        ledger = offline_records.offline_ledger(s, e)
        assert ledger.matches and ledger.recomputed_ms == expected_ms
    # ... and ``skilltrace ledger-check`` catches a stored total that does not replay.
    runner = CliRunner()
    assert runner.invoke(cli, ["ledger-check"]).exit_code == 0
    with transaction(engine) as session:
        tampered = session.get(Enrollment, w["enrollment"].id)
        assert tampered is not None
        tampered.offline_ms += 60_000
    result = runner.invoke(cli, ["ledger-check"])
    assert result.exit_code == 1 and f'"offline_recomputed_ms": {expected_ms}' in result.stdout
    with transaction(engine) as session:
        tampered = session.get(Enrollment, w["enrollment"].id)
        assert tampered is not None
        tampered.offline_ms -= 60_000
    progress = client.get(f"{API}/enrollments/{w['enrollment'].id}", headers=h).json()
    assert progress["offline_minutes"] == expected_ms // 60_000
    assert progress["offline_required_minutes"] == 120
    assert not any("线下实训" in m for m in progress["missing_zh"])

    # Once checked out, the QR is not offered any more and a further scan is refused.
    assert client.get(f"{API}/me/offline-sessions", headers=h).json()[0]["qr_available"] is False
    r = client.post(f"{API}/me/offline-sessions/{sid}/qr-token", headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "offline_already_checked_out")

    # The instructor marks the practical assessment; the sheet shows it all.
    r = client.put(
        f"{API}/offline-sessions/{sid}/assessments/{w['enrollment'].id}",
        json={"passed": True, "note": "接线规范，通电测试一次成功"},
        headers=staff_h,
    )
    assert r.status_code == 200 and r.json()["passed"] is True, r.text
    sheet = client.get(f"{API}/offline-sessions/{sid}", headers=staff_h).json()
    assert sheet["session"]["checked_in"] == sheet["session"]["checked_out"] == 1
    line = sheet["learners"][0]
    assert line["credited_minutes"] == expected_ms // 60_000
    assert line["assessment"]["note"] == "接线规范，通电测试一次成功"
    mine = client.get(f"{API}/me/offline-sessions", headers=h).json()[0]
    assert mine["assessment_passed"] is True and mine["checked_out_at"] is not None
    att = f"offline_attendance:{row.id}"
    assert audit_actions(engine, att) == ["offline.checked_in", "offline.checked_out"]

    # The offline part is shown on its own: on the certificate (PDF and credential) ...
    complete(engine, w["enrollment"].id)  # the online part and the quiz
    with transaction(engine) as session:
        e = session.get(Enrollment, w["enrollment"].id)
        assert e is not None
        assert refresh_completion(session, e, w["course"], Actor.system())
    r = client.post(f"{API}/enrollments/{w['enrollment'].id}/certificate", headers=h)
    assert r.status_code == 201, r.text
    cert = r.json()
    minutes = expected_ms // 60_000
    claims = jwt.decode(
        cert["credential_jwt"],
        KeySet.import_key_set(client.get("/.well-known/jwks.json").json()),
        algorithms=["RS256"],
    ).claims
    training = claims["vc"]["credentialSubject"]["training"]
    assert (training["offlineMinutes"], training["offlineRequiredMinutes"]) == (minutes, 120)
    assert training["verifiedMinutes"] == 60  # the online part, apart
    pdf = client.get(f"/certificates/{cert['serial']}.pdf", headers=h).content
    text = re.sub(
        r"[\s\x00]+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    )
    assert f"线下实训学时Offlinehours{hours(minutes)}小时（{minutes}分钟）" in text
    assert "线上有效学时Onlinehours1.0小时（60分钟）" in text
    # ... and in the xAPI statements: an ``attended`` statement for the offline session with
    # the minutes as a result extension, and the completion's own offline extension.
    clock.advance(minutes=1)
    r = client.get("/xapi/statements", headers={**staff_h, "X-Experience-API-Version": "1.0.3"})
    assert r.status_code == 200, r.text
    ext = f"{get_settings().base_url}/xapi/extensions/offline-minutes"
    found = [
        st for st in r.json()["statements"] if ext in st.get("result", {}).get("extensions", {})
    ]
    by_verb = {st["verb"]["id"].rsplit("/", 1)[1]: st for st in found}
    assert by_verb["attended"]["result"]["extensions"][ext] == minutes
    assert by_verb["attended"]["result"]["duration"] == f"PT{minutes}M"
    assert by_verb["completed"]["result"]["extensions"][ext] == minutes
    # ... and in the statistics: one enrolment trained offline, its minutes, apart from online.
    totals = client.get("/api/v1/reports/summary", headers=staff_h).json()["totals"]
    assert (totals["offline_trained"], totals["offline_minutes"]) == (1, minutes)


def test_a_strangers_face_at_the_station_is_refused(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    """Learner B's QR, but the person at the camera is someone else (talking_head_1's speaker,
    enrolled as learner A): 403 face_mismatch, the failed event kept, no check-in."""
    w = _world(client, engine, clock)
    other = make_learner(engine, w["inst"])
    other_h = login(client, other.username)
    consent(client, other_h)
    with transaction(engine) as session:
        who = session.get(type(other), other.id)
        assert who is not None
        ch = attendance.create_challenge(session, who)
        ch.actions = []  # a burst enrolment of photos: B's own face
        session.add(ch)
        session.flush()
        attendance.enrol(session, who, challenge_id=ch.id, frames=lfw_person("George_W_Bush")[:5])
    make_enrollment(engine, other, w["course"])
    clock.advance(minutes=35)
    r = _station_step(
        client, engine, clock, w["staff_h"], w["sid"], _token(client, other_h, w["sid"])
    )
    assert (r.status_code, r.json()["code"]) == (403, "face_mismatch"), r.text
    assert r.json()["reason_code"] == "face_mismatch"
    with Session(engine) as s:
        event = s.get(AttendanceEvent, uuid.UUID(r.json()["attendance_event_id"]))
        assert event is not None and event.purpose is Purpose.offline_checkin
        assert event.user_id == other.id and event.outcome.value == "failed"
        assert s.exec(select(OfflineAttendance)).first() is None


def test_expired_replayed_and_foreign_qr_tokens_are_refused(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    w = _world(client, engine, clock)
    sid, h, staff_h = w["sid"], w["h"], w["staff_h"]
    scan = f"{API}/offline-sessions/{sid}/station/checks"

    def scanned(token: str, headers: dict[str, str] = staff_h) -> tuple[int, str]:
        r = client.post(scan, json={"token": token}, headers=headers)
        return r.status_code, r.json().get("code", "")

    # Too early: no QR yet (check-in opens half an hour before the start).
    clock.advance(minutes=-1)
    r = client.post(f"{API}/me/offline-sessions/{sid}/qr-token", headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "offline_session_closed")
    clock.advance(minutes=6)
    # Expired: a token older than its minute.
    stale = _token(client, h, sid)
    clock.advance(seconds=offline.TOKEN_TTL_S + 1)
    assert scanned(stale) == (422, "offline_token_expired")
    # Replayed: a token is good for one scan.
    fresh = _token(client, h, sid)
    assert scanned(fresh)[0] == 201
    assert scanned(fresh) == (409, "offline_token_used")
    with Session(engine) as s:
        assert len(s.exec(select(OfflineTokenUse)).all()) == 1
    # A browser that cannot read QR codes sends the camera's picture of the phone instead.
    pictures = f"{API}/offline-sessions/{sid}/station/qr-pictures"

    def picture(data: bytes) -> tuple[int, str]:
        files = {"frame": ("phone.png", data, "image/png")}
        r = client.post(pictures, files=files, headers=staff_h)
        return r.status_code, r.json().get("code", r.json().get("kind", ""))

    assert picture(jpeg(video_frames()[5])) == (422, "offline_qr_not_found")  # a face, no QR
    shown = io.BytesIO()
    segno.make(_token(client, h, sid), error="m").save(shown, kind="png", scale=6, border=4)
    # (the learner checked in above was scanned but not decided: still a check-in)
    assert picture(shown.getvalue()) == (201, "checkin")
    assert picture(shown.getvalue()) == (409, "offline_token_used")
    # Forged: a changed signature, or a learner id changed in the payload.
    head, body, mac = _token(client, h, sid).split(".")
    assert scanned(f"{head}.{body}.{mac[:-2]}AA") == (422, "offline_token_invalid")
    assert scanned("not-a-token") == (422, "offline_token_invalid")

    # A learner of another institution: their own session's QR is not this session's, and
    # put on this class's roster they are still refused.
    inst_b = make_institution(engine)
    staff_b = make_user(engine, Role.staff, inst_b)
    course_b = make_course(engine, inst_b, staff=staff_b)
    stranger = make_learner(engine, inst_b)  # refused before any face is looked at
    stranger_h = login(client, stranger.username)
    e_b = make_enrollment(engine, stranger, course_b)
    staff_b_h = login(client, staff_b.username)
    r = client.post(
        f"{API}/classes/{e_b.class_id}/offline-sessions",
        json={
            "title": "焊接实操",
            "site_address": "广州市天河区 实训基地",
            "starts_at": clock.now().isoformat(),
            "ends_at": (clock.now() + timedelta(hours=2)).isoformat(),
            "capacity": 5,
            "instructor_id": str(staff_b.id),
        },
        headers=staff_b_h,
    )
    assert r.status_code == 201, r.text
    sid_b = r.json()["session_id"]
    assert scanned(_token(client, stranger_h, sid_b)) == (422, "offline_token_invalid")
    # Staff of the other institution cannot run this session's station at all.
    assert scanned(_token(client, h, sid), staff_b_h) == (404, "offline_session_not_found")
    with transaction(engine) as session:  # on this class's roster by a direct write
        session.add(
            Enrollment(
                course_id=w["course"].id,
                user_id=stranger.id,
                institution_id=w["inst"].id,
                class_id=w["enrollment"].class_id,
            )
        )
    forged = offline_station.make_token(
        uuid.UUID(sid), stranger.id, clock.now() + timedelta(seconds=30)
    )
    assert scanned(forged) == (403, "offline_not_on_roster")
    # Nor does their phone get a QR for another institution's session.
    r = client.post(f"{API}/me/offline-sessions/{sid}/qr-token", headers=stranger_h)
    assert (r.status_code, r.json()["code"]) == (404, "offline_session_not_found")


def test_a_session_far_in_the_future_is_a_typo_not_a_500(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    """Year 9999 (west of UTC it cannot even become UTC) or 2206 for 2026: refused in words."""
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff, offline_required_minutes=120)
    enrollment = make_enrollment(engine, make_learner(engine, inst), course)
    url = f"{API}/classes/{enrollment.class_id}/offline-sessions"
    body = {
        "title": "低压电工实操：照明线路安装",
        "site_address": "深圳市南山区留仙大道 1088 号 实训楼 302 室",
        "capacity": 20,
        "instructor_id": str(staff.id),
    }
    h = login(client, staff.username)
    year = clock.now().year
    for starts, ends in (
        ("9999-12-31T10:00:00-12:00", "9999-12-31T20:00:00-12:00"),
        ("9999-12-31T10:00:00+00:00", "9999-12-31T20:00:00+00:00"),
        (f"{year + 180}-03-10T09:00:00+08:00", f"{year + 180}-03-10T12:00:00+08:00"),
    ):
        r = client.post(url, json={**body, "starts_at": starts, "ends_at": ends}, headers=h)
        assert r.status_code == 422, (starts, r.text)
        assert (r.json()["code"], r.json()["field"]) == ("invalid_offline_session", "starts_at")
    soon = clock.now() + timedelta(days=300)
    r = client.post(
        url,
        json={
            **body,
            "starts_at": soon.isoformat(),
            "ends_at": (soon + timedelta(hours=3)).isoformat(),
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert len(client.get(f"{API}/courses/{course.id}/offline-sessions", headers=h).json()) == 1


def test_only_the_station_feeds_and_decides_its_check(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    """The learner's own phone cannot stream to, or submit, the station's check: the face must
    be the one in front of the station's camera."""
    w = _world(client, engine, clock)
    clock.advance(minutes=30)
    r = client.post(
        f"{API}/offline-sessions/{w['sid']}/station/checks",
        json={"token": _token(client, w["h"], w["sid"])},
        headers=w["staff_h"],
    )
    cid = r.json()["challenge_id"]
    files = {"frame": ("f.jpg", marked(0, next(_marks)), "image/jpeg")}
    r = client.post(
        f"{API}/me/face/checks/{cid}/frames", data={"seq": "0"}, files=files, headers=w["h"]
    )
    assert (r.status_code, r.json()["code"]) == (404, "challenge_not_found")
    r = client.post(
        f"{API}/enrollments/{w['enrollment'].id}/sessions",
        data={"challenge_id": cid},
        headers=w["h"],
    )
    assert (r.status_code, r.json()["code"]) == (404, "challenge_not_found")
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None and c.used_at is None


def test_completion_waits_for_the_offline_hours(engine: Any, clock: FrozenClock) -> None:
    from app.courses.progress import progress

    inst = make_institution(engine)
    course = make_course(engine, inst, offline_required_minutes=120)
    learner = make_learner(engine, inst)
    enrollment = make_enrollment(engine, learner, course)
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        c = s.get(type(course), course.id)
        assert e is not None and c is not None
        e.credited_ms, e.quiz_passed = 60 * 60_000, True
        p = progress(e, c, practical=True)
        assert not p.complete and p.missing_zh == ["还需完成 120 分钟线下实训"]
        e.offline_ms = 119 * 60_000 + 59_999
        assert progress(e, c, practical=True).missing_zh == ["还需完成 1 分钟线下实训"]
        e.offline_ms = 120 * 60_000
        # The hours are met; a blended course also needs its practical assessment passed.
        assert progress(e, c, practical=None).missing_zh == ["需通过实操考核（尚未考核）"]
        assert progress(e, c, practical=False).missing_zh == [
            "需通过实操考核（最近一次考核不合格）"
        ]
        assert progress(e, c).missing_zh == ["需通过实操考核"]  # not looked up: not met early
        assert progress(e, c, practical=True).complete
        klass = s.exec(select(CourseClass).where(col(CourseClass.course_id) == c.id)).one()
        assert klass.id == e.class_id


def test_credit_is_the_verified_span_within_the_window() -> None:
    from datetime import UTC, datetime

    t0 = datetime(2026, 12, 12, 1, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    # early arrival, late departure: the window
    assert offline.credited_ms(t0, t0 + 3 * hour, t0 - hour, t0 + 4 * hour) == 3 * 3_600_000
    # late arrival, early departure: the verified span, to the millisecond
    span = offline.credited_ms(
        t0, t0 + 3 * hour, t0 + timedelta(minutes=10, milliseconds=7), t0 + 2 * hour
    )
    assert span == 110 * 60_000 - 7
    # no check-out, or a check-out before the start: nothing
    assert offline.credited_ms(t0, t0 + hour, t0, None) == 0
    assert offline.credited_ms(t0, t0 + hour, t0 - 2 * hour, t0 - hour) == 0

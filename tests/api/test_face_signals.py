"""Two signals on face events, over HTTP with the real engines on real photos:

* presentation attacks: a printed photo that the matcher accepts goes to staff review (never
  passes on the matcher alone), and every event records the PAD score and model;
* re-enrolment after a model switch: the new face is checked against the learner's previous
  (dlib) template with dlib; the same person is accepted, another person goes to review.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock
from app.accounts.models import Institution, Role, User
from app.attendance import pad
from app.attendance.face import (
    DLIB_IDENTITY,
    DlibFaceEngine,
    EngineConfig,
    ModelIdentity,
    load_image_file,
)
from app.attendance.models import AttendanceEvent, FaceTemplate, TemplateStatus
from app.attendance.sface import SFACE_IDENTITY, SFaceEngine
from app.attendance.templates import _encode_embeddings
from app.config import get_settings
from tests.face_data import FACES, blink_burst
from tests.factories import (
    audit_actions,
    challenge,
    consent,
    login,
    make_institution,
    make_learner,
    make_user,
    send,
    sign_in,
)

pytestmark = pytest.mark.slow


def _template(engine: Any, learner: User, model: ModelIdentity, embs: np.ndarray) -> uuid.UUID:
    """An active template made from real photos with ``model`` (as an enrolment would)."""
    blob, digest = _encode_embeddings(embs.astype(np.float32))
    t = FaceTemplate(
        user_id=learner.id,
        status=TemplateStatus.active,
        embeddings_enc=blob,
        embeddings_sha256=digest,
        n_embeddings=len(embs),
        face_engine=model.engine,
        model_name=model.name,
        model_version=model.version,
        model_sha256=model.sha256,
        created_at=clock.now(),
    )
    with Session(engine) as s:
        s.add(t)
        u = s.get(User, learner.id)
        assert u is not None
        u.face_enrolled = True
        s.add(u)
        s.commit()
        return t.id


def _embeddings(face_engine: DlibFaceEngine, paths: list[Path]) -> np.ndarray:
    return np.stack([face_engine.analyse(load_image_file(p)).embedding for p in paths])


def _partner(client: TestClient, engine: Any, learner: User) -> dict[str, str]:
    with Session(engine) as s:
        inst = s.get(Institution, learner.institution_id)
    staff = make_user(engine, Role.staff, inst)
    hs = login(client, staff.username)
    key = client.post(
        "/api/v1/api-keys", json={"name": "p", "scopes": ["verify"]}, headers=hs
    ).json()["key"]
    return {"Authorization": f"Bearer {key}"}


def _event(engine: Any, event_id: str) -> AttendanceEvent:
    with Session(engine) as s:
        ev = s.get(AttendanceEvent, uuid.UUID(event_id))
        assert ev is not None
        return ev


def test_printed_photo_that_matches_goes_to_review(client: TestClient, engine: Any) -> None:
    """Subject 0003's template from live webcam frames; a check with printed photos of 0003
    matches (the matcher alone would pass it) but the PAD score sends it to review. Live frames
    of the same subject pass, with their PAD score recorded."""
    learner = make_learner(engine, make_institution(engine))
    consent(client, login(client, learner.username))
    live = sorted((FACES / "antispoof/live/0003").iterdir())
    _template(engine, learner, SFACE_IDENTITY, _embeddings(SFaceEngine(), live[:5]))
    partner = _partner(client, engine, learner)
    url = f"/api/v1/learners/{learner.id}/verify"
    h = login(client, learner.username)

    printed = sorted((FACES / "antispoof/print_attack/0003").iterdir())[:5]
    cid = challenge(client, h, engine, [])  # no action: isolate the identity and PAD signals
    r = send(client, url, partner, cid, [p.read_bytes() for p in printed])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["outcome"], body["reason_code"]) == ("review", pad.REVIEW_REASON), body
    ev = _event(engine, body["attendance_event_id"])
    assert ev.best_distance is not None and float(ev.best_distance) >= 0.5  # it matched
    assert ev.pad_score is not None and float(ev.pad_score) < get_settings().face_pad_review_below
    assert ev.pad_model == pad.PAD_MODEL
    assert ev.review_status is not None and ev.review_status.value == "pending"

    cid = challenge(client, h, engine, [])
    r = send(client, url, partner, cid, [p.read_bytes() for p in live[10:15]])
    assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text
    ev = _event(engine, r.json()["attendance_event_id"])
    assert ev.pad_score is not None and float(ev.pad_score) >= pad.DEFAULT_REVIEW_BELOW
    # The API shows the signal to partners and staff.
    mine = client.get("/api/v1/me/attendance-events", headers=h).json()
    assert {e["pad_model"] for e in mine} == {pad.PAD_MODEL}


def _dlib_learner(client: TestClient, engine: Any, template_photos: list[Path]) -> User:
    learner = make_learner(engine, make_institution(engine))
    consent(client, login(client, learner.username))
    dlib = DlibFaceEngine(EngineConfig(engine="dlib"))
    _template(engine, learner, DLIB_IDENTITY, _embeddings(dlib, template_photos))
    return learner


def _reenrol(client: TestClient, engine: Any, learner: User, burst: str) -> Any:
    h = login(client, learner.username)
    assert client.get("/api/v1/me/face", headers=h).json()["reenrol_required"] is True
    cid = challenge(client, h, engine, ["blink"])
    return send(client, "/api/v1/me/face/enrol", h, cid, blink_burst(burst))


def _templates(engine: Any, learner: User) -> dict[str, TemplateStatus]:
    with Session(engine) as s:
        rows = s.exec(select(FaceTemplate).where(FaceTemplate.user_id == learner.id)).all()
        return {t.face_engine: t.status for t in rows}


def _video_frames_as_files(tmp_path: Path, numbers: list[int]) -> list[Path]:
    from tests.face_data import jpeg, video_frames

    out = []
    for i in numbers:
        p = tmp_path / f"frame{i}.jpg"
        p.write_bytes(jpeg(video_frames()[i]))
        out.append(p)
    return out


def test_reenrolment_of_the_same_person_is_accepted(
    client: TestClient, engine: Any, tmp_path: Path
) -> None:
    """A dlib template of the talking-head speaker (frames away from the bursts); re-enrolling
    with a blink burst of the same speaker: dlib confirms it, the SFace template is active."""
    learner = _dlib_learner(client, engine, _video_frames_as_files(tmp_path, [1, 5, 9, 48, 66]))
    r = _reenrol(client, engine, learner, "b")
    assert r.status_code == 201, r.text
    ev = _event(engine, r.json()["attendance_event_id"])
    assert ev.outcome.value == "passed"
    assert ev.prior_template_id is not None and ev.prior_score is not None
    assert ev.prior_threshold == f"{get_settings().face_accept_threshold:.4f}"
    assert float(ev.prior_score) <= float(ev.prior_threshold)  # dlib distance: smaller = closer
    assert _templates(engine, learner) == {
        "dlib": TemplateStatus.retired,
        "sface": TemplateStatus.active,
    }


def test_reenrolment_of_another_person_goes_to_review(client: TestClient, engine: Any) -> None:
    """The account's dlib template is another person's (antispoof/live/0001); the talking-head
    speaker re-enrols with a good live burst: 409 face_reenrol_unconfirmed, the old template
    stays active, the new one waits for staff; approving activates it."""
    photos = sorted((FACES / "antispoof/live/0001").iterdir())[:5]
    learner = _dlib_learner(client, engine, photos)
    r = _reenrol(client, engine, learner, "c")
    assert (r.status_code, r.json()["code"]) == (409, "face_reenrol_unconfirmed"), r.text
    event_id = r.json()["attendance_event_id"]
    ev = _event(engine, event_id)
    assert (ev.outcome.value, ev.reason_code) == ("review", "face_reenrol_unconfirmed")
    assert ev.prior_score is not None and ev.prior_threshold is not None
    assert float(ev.prior_score) > float(ev.prior_threshold)
    assert ev.liveness["passed"] is True  # a live person: only the identity is unconfirmed
    assert _templates(engine, learner) == {
        "dlib": TemplateStatus.active,
        "sface": TemplateStatus.pending,
    }
    with Session(engine) as s:
        inst = s.get(Institution, learner.institution_id)
    staff = make_user(engine, Role.staff, inst)
    hs = login(client, staff.username)
    queue = client.get("/api/v1/review/attendance-events", headers=hs).json()
    assert [(q["id"], q["reason_code"]) for q in queue] == [(event_id, "face_reenrol_unconfirmed")]
    assert queue[0]["prior_score"] == ev.prior_score
    assert sign_in(client, staff.username).status_code == 303
    page = client.get("/staff/review")
    assert page.status_code == 200
    assert "未达到原模型的通过阈值" in page.text and ev.prior_score in page.text
    client.cookies.clear()
    r = client.post(
        f"/api/v1/attendance-events/{event_id}/review",
        json={"decision": "approve", "reason": "已核对身份证件，确为本人"},
        headers=hs,
    )
    assert r.status_code == 200, r.text
    assert _templates(engine, learner) == {
        "dlib": TemplateStatus.retired,
        "sface": TemplateStatus.active,
    }


def test_enrolment_the_attack_model_doubts_works_but_goes_to_review(
    client: TestClient, engine: Any
) -> None:
    """Printed photos of subject 0003 enrolled as a burst (no action asked: only the PAD signal
    is left): the template works at once — the model flags some genuine people, who must not
    wait — but the enrolment waits in the staff queue; rejecting it retires the template."""
    learner = make_learner(engine, make_institution(engine))
    h = login(client, learner.username)
    consent(client, h)
    printed = sorted((FACES / "antispoof/print_attack/0003").iterdir())[:5]
    cid = challenge(client, h, engine, [])
    r = send(client, "/api/v1/me/face/enrol", h, cid, [p.read_bytes() for p in printed])
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/me", headers=h).json()["face_enrolled"] is True
    with Session(engine) as s:
        ev = s.exec(
            select(AttendanceEvent).where(AttendanceEvent.user_id == learner.id)  # type: ignore[arg-type]
        ).one()
        event_id = str(ev.id)
        assert (ev.outcome.value, ev.reason_code) == ("passed", pad.REVIEW_REASON)
        assert ev.pad_score is not None and float(ev.pad_score) < pad.DEFAULT_REVIEW_BELOW
        assert ev.review_status is not None and ev.review_status.value == "pending"
    assert set(_templates(engine, learner).values()) == {TemplateStatus.active}

    with Session(engine) as s:
        inst = s.get(Institution, learner.institution_id)
    hs = login(client, make_user(engine, Role.staff, inst).username)
    queue = client.get("/api/v1/review/attendance-events", headers=hs).json()
    assert [(q["id"], q["reason_code"]) for q in queue] == [(event_id, pad.REVIEW_REASON)]
    r = client.post(
        f"/api/v1/attendance-events/{event_id}/review",
        json={"decision": "reject", "reason": "打印的照片，不是本人在摄像头前"},
        headers=hs,
    )
    assert r.status_code == 200, r.text
    assert set(_templates(engine, learner).values()) == {TemplateStatus.retired}
    assert client.get("/api/v1/me", headers=h).json()["face_enrolled"] is False
    with Session(engine) as s:
        retired = s.exec(select(FaceTemplate).where(FaceTemplate.user_id == learner.id)).one()  # type: ignore[arg-type]
    assert "face.template_retired" in audit_actions(engine, f"face_template:{retired.id}")

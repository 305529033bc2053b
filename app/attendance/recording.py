"""Recording a face check: the analysed burst, replay detection, the attendance event, its
audit entry and its evidence crop.

Shared by enrolment (:mod:`app.attendance.templates`) and verification
(:mod:`app.attendance.verification`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock, metrics
from app.accounts.models import User
from app.aftercommit import after_commit, after_rollback
from app.attendance import liveness, prefetch, streaming
from app.attendance.budget import admit_burst
from app.attendance.checks import StoredFrame
from app.attendance.engine import (
    analyse_frames,
    current_model,
    current_stream_params,
    thresholds,
)
from app.attendance.exceptions import (
    FaceRejected,
    FrameReplayed,
    ImageTooLarge,
    LivenessFailed,
    NotAnImage,
    StreamDiscontinuous,
    TooFewFrames,
    TooManyFrames,
)
from app.attendance.face import FaceAnalysis
from app.attendance.models import (
    AttendanceEvent,
    FaceChallenge,
    FrameHash,
    Outcome,
    Purpose,
)
from app.attendance.streaming import Schedule
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings
from app.storage import evidence_store

#: Called with (session, event, actor) right after any attendance event is recorded, in the same
#: transaction (app/webhooks announces verifications to partners; subscribed in app/wiring.py).
event_recorded_hooks: list[Callable[[Session, AttendanceEvent, Actor], None]] = []
#: Input errors: refused before the challenge is consumed or anything is stored.
_INPUT_ERRORS = (NotAnImage, ImageTooLarge)


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None = None
    user_agent: str | None = None


def _fmt(d: float | None) -> str | None:
    return None if d is None else f"{d:.4f}"


# ---------------------------------------------------------------- frames


@dataclass
class _Burst:
    """Frames of one submission after analysis."""

    hashes: list[str]
    good: list[FaceAnalysis]
    rejections: list[FaceRejected]

    def dominant_rejection(self) -> FaceRejected:
        codes = Counter(r.code for r in self.rejections)
        code = codes.most_common(1)[0][0]
        return next(r for r in self.rejections if r.code == code)


def _analyse_burst(frames: Sequence[bytes], *, min_frames: int, learner_id: uuid.UUID) -> _Burst:
    s = get_settings()
    if len(frames) < min_frames:
        raise TooFewFrames(f"Send at least {min_frames} frames.")
    if len(frames) > s.face_max_frames:
        raise TooManyFrames(f"Send at most {s.face_max_frames} frames.")
    for data in frames:
        if len(data) > s.face_max_frame_bytes:
            raise ImageTooLarge()
    admit_burst(frames, learner_id)  # declared pixels, before any frame reaches a worker
    hashes = [hashlib.sha256(f).hexdigest() for f in frames]
    with metrics.FACE_ANALYSIS_SECONDS.time():
        results = analyse_frames(list(frames))
    good: list[FaceAnalysis] = []
    rejections: list[FaceRejected] = []
    for r in results:
        if isinstance(r, _INPUT_ERRORS):
            raise r
        if isinstance(r, FaceRejected):
            rejections.append(r)
        else:
            good.append(r)
    return _Burst(hashes=hashes, good=good, rejections=rejections)


def _analyse_stream(
    stored: Sequence[StoredFrame], plan: Schedule
) -> tuple[_Burst, streaming.StreamResult]:
    """Analyse a streamed check's frames (all at once, in the face pool) and decide its
    liveness. A frame that does not decode counts as a frame without a usable face."""
    # Most were analysed while the learner streamed (prefetch); the rest are analysed now.
    results = prefetch.analyse_stored([(f.data, f.sha256) for f in stored]) if stored else []
    good: list[FaceAnalysis] = []
    rejections: list[FaceRejected] = []
    frames: list[streaming.StreamFrame] = []
    for f, r in zip(stored, results, strict=True):
        if isinstance(r, FaceRejected):
            rejections.append(r)
            frames.append(streaming.StreamFrame(f.seq, f.t_ms, f.sha256, None, r.code))
        else:
            good.append(r)
            frames.append(streaming.StreamFrame(f.seq, f.t_ms, f.sha256, r))
    result = streaming.evaluate(frames, plan, current_stream_params())
    return _Burst(hashes=[f.sha256 for f in stored], good=good, rejections=rejections), result


def _stream_dict(result: streaming.StreamResult, plan: Schedule) -> dict[str, Any]:
    """The attendance event's liveness record of a streamed check: the decision, each
    reveal's action, moment and outcome, and the frame timing."""
    d = result.to_dict()
    d["mode"] = "streamed"
    d["window_ms"] = plan.window_ms
    # Liveness v1 named its verdicts per "actions"; the event's readers keep working.
    d["actions"] = [
        {"action": r["action"], "passed": r["passed"], "reason": r["reason"]} for r in d["reveals"]
    ]
    return d


def _stream_failure(result: streaming.StreamResult) -> str:
    """The event's reason code for a failed streamed liveness decision: replay/continuity
    (the frames are not one live camera's) or liveness (the actions were not answered)."""
    if result.category == "continuity":
        return StreamDiscontinuous.code
    return LivenessFailed.code


def _check_replay(session: Session, hashes: list[str]) -> bool:
    if len(set(hashes)) != len(hashes):
        return True
    seen = session.exec(select(FrameHash.sha256).where(col(FrameHash.sha256).in_(hashes))).first()
    return seen is not None


def _remember_frames(
    session: Session, user: User, event: AttendanceEvent, hashes: list[str]
) -> None:
    now = clock.now()
    for h in hashes:
        session.add(FrameHash(sha256=h, user_id=user.id, event_id=event.id, seen_at=now))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Another request stored one of these frames between our check and our insert.
        raise FrameReplayed() from None


def _store_evidence(session: Session, event: AttendanceEvent, crop: bytes) -> None:
    """Write the evidence crop before the event's row commits (so a committed row never points
    to a missing file), atomically, and remove it again if the transaction rolls back."""
    day = event.created_at
    key = f"evidence/{day:%Y}/{day:%m}/{event.id}.jpg"
    store = evidence_store()
    after_rollback(session, lambda: store.delete(key))
    event.evidence_sha256 = store.put_bytes(key, crop)
    event.evidence_path = key


def frame_quality(a: FaceAnalysis) -> float:
    """How good a frame is as evidence or template: sharp and well lit (brightness counts up
    to a normal exposure)."""
    return a.quality.sharpness * min(a.quality.brightness, 120.0)


def _best_frame(good: list[FaceAnalysis]) -> FaceAnalysis:
    return max(good, key=frame_quality)


# ---------------------------------------------------------------- events


def _new_event(
    user: User,
    *,
    purpose: Purpose,
    challenge: FaceChallenge | None,
    hashes: list[str],
    institution_id: uuid.UUID | None,
    client: ClientInfo,
) -> AttendanceEvent:
    model = current_model()
    accept, reject = thresholds()
    return AttendanceEvent(
        user_id=user.id,
        institution_id=institution_id,
        purpose=purpose,
        challenge_id=challenge.id if challenge else None,
        actions=list(challenge.actions) if challenge else [],
        frame_sha256=hashes,
        accept_threshold=f"{accept:.4f}",
        reject_threshold=f"{reject:.4f}",
        match_metric=model.metric,
        face_engine=model.engine,
        model_name=model.name,
        model_version=model.version,
        model_sha256=model.sha256,
        outcome=Outcome.failed,
        client_ip=client.ip,
        user_agent=(client.user_agent or "")[:300] or None,
        created_at=clock.now(),
    )


def event_payload(event: AttendanceEvent) -> dict[str, Any]:
    """What the audit entry of an event records (everything but the evidence image)."""
    return {
        "event": str(event.id),
        "user": str(event.user_id),
        "purpose": event.purpose.value,
        "challenge": str(event.challenge_id) if event.challenge_id else None,
        "actions": event.actions,
        "frame_sha256": event.frame_sha256,
        "best_distance": event.best_distance,
        "median_distance": event.median_distance,
        "accept_threshold": event.accept_threshold,
        "reject_threshold": event.reject_threshold,
        "model": f"{event.model_name}/{event.model_version}",
        "face_engine": event.face_engine,
        "model_sha256": event.model_sha256,
        "match_metric": event.match_metric,
        "liveness": {
            "mode": event.liveness.get("mode"),
            "passed": event.liveness.get("passed"),
            "reason": event.liveness.get("reason"),
            "actions": [
                {"action": a.get("action"), "passed": a.get("passed"), "reason": a.get("reason")}
                for a in event.liveness.get("actions", [])
            ],
        },
        "pad_score": event.pad_score,
        "pad_model": event.pad_model,
        "prior_template": str(event.prior_template_id) if event.prior_template_id else None,
        "prior_score": event.prior_score,
        "prior_threshold": event.prior_threshold,
        "outcome": event.outcome.value,
        "reason_code": event.reason_code,
        "matched_user": str(event.matched_user_id) if event.matched_user_id else None,
        "evidence_sha256": event.evidence_sha256,
        "client_ip": event.client_ip,
    }


def _save_event(session: Session, event: AttendanceEvent, actor: Actor) -> None:
    session.add(event)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=f"face.{event.purpose.value}.{event.outcome.value}",
        subject=f"attendance_event:{event.id}",
        payload=event_payload(event),
        institution_id=event.institution_id,
    )
    for hook in event_recorded_hooks:
        hook(session, event, actor)
    counter = metrics.FACE_CHECKS.labels(event.purpose.value, event.outcome.value)
    after_commit(session, counter.inc)  # decisions that were kept, not rolled-back attempts


def _liveness_dict(result: liveness.LivenessResult) -> dict[str, Any]:
    d = result.to_dict()
    d["mode"] = "burst"
    # JSON column: plain floats rounded for readability; the audit payload keeps only verdicts.
    for key in ("ear_baseline", "start_yaw", "max_identity_distance", "motion"):
        d[key] = round(float(d[key]), 4)
    for a in d["actions"]:
        if a.get("value") is not None:
            a["value"] = round(float(a["value"]), 4)
    return d


def _audit_replay(
    session: Session, user: User, challenge: FaceChallenge, hashes: list[str], actor: Actor
) -> None:
    audit.append(
        session,
        actor=actor,
        action="face.frame_replayed",
        subject=f"user:{user.id}",
        payload={"challenge": str(challenge.id), "frame_sha256": hashes},
        institution_id=user.institution_id,
    )

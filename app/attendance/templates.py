"""Face templates: enrolment from a liveness burst with the 1:N duplicate check, activation,
and deletion when consent is withdrawn. Embeddings are stored AES-GCM encrypted.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import User
from app.accounts.registration import require_institution
from app.attendance import liveness, pad, search
from app.attendance.challenges import _consume, _load_challenge, require_consent
from app.attendance.checks import (
    STREAMED,
    discard_stream,
    require_complete,
    require_issuer,
    stream_of,
)
from app.attendance.engine import current_liveness_params, current_model, thresholds
from app.attendance.exceptions import (
    FaceMatchesOtherLearner,
    FaceNotEnrolled,
    FaceReenrolUnconfirmed,
    FrameReplayed,
    FramesNotExpected,
    LivenessFailed,
    StreamDiscontinuous,
    TooFewFrames,
)
from app.attendance.face import FaceAnalysis, Metric
from app.attendance.models import (
    AttendanceEvent,
    FaceTemplate,
    Outcome,
    Purpose,
    ReviewStatus,
    TemplateStatus,
)
from app.attendance.recording import (
    ClientInfo,
    _analyse_burst,
    _analyse_stream,
    _audit_replay,
    _best_frame,
    _check_replay,
    _fmt,
    _liveness_dict,
    _new_event,
    _remember_frames,
    _save_event,
    _store_evidence,
    _stream_dict,
    _stream_failure,
    frame_quality,
)
from app.attendance.streaming import StreamResult
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings
from app.crypto import decrypt, encrypt
from app.db import release_read_lock

#: Embeddings kept per enrolment template (spread over the burst), plus their centroid.
TEMPLATE_EMBEDDINGS = 5


# ---------------------------------------------------------------- templates


def _encode_embeddings(embs: np.ndarray[Any, Any]) -> tuple[str, str]:
    raw = np.asarray(embs, dtype="<f4").tobytes()
    blob = encrypt("face_template", raw)
    return blob, hashlib.sha256(blob.encode()).hexdigest()


def _decode_embeddings(blob: str) -> np.ndarray[Any, Any]:
    raw = decrypt("face_template", blob)
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 128)


def active_template(session: Session, user_id: uuid.UUID) -> FaceTemplate | None:
    return session.exec(
        select(FaceTemplate)
        .where(
            col(FaceTemplate.user_id) == user_id, col(FaceTemplate.status) == TemplateStatus.active
        )
        .order_by(col(FaceTemplate.created_at).desc())
    ).first()


def _template_embeddings(template: FaceTemplate) -> np.ndarray[Any, Any]:
    if template.embeddings_enc is None:
        raise FaceNotEnrolled()
    return _decode_embeddings(template.embeddings_enc)


def template_is_current(template: FaceTemplate) -> bool:
    """Was ``template`` made by the configured engine's model (comparable with new frames)?"""
    return current_model().same_space(
        template.face_engine, template.model_name, template.model_sha256
    )


def needs_reenrolment(session: Session, user_id: uuid.UUID) -> bool:
    """The learner has an active template, but from another model: re-enrol at the next check."""
    template = active_template(session, user_id)
    return template is not None and not template_is_current(template)


def find_duplicates(
    session: Session, probes: np.ndarray[Any, Any], *, exclude_user: uuid.UUID, threshold: float
) -> list[tuple[uuid.UUID, float]]:
    """1:N search: other learners whose active template of the configured model lies within
    ``threshold`` of the probes (in the model's metric). Templates of other models are not
    comparable and not searched: their learners are searched when they re-enrol.

    Returns (user, fused score) closest first; see :mod:`app.attendance.search`.
    """
    index = _index(session)
    index.refresh(session)
    return index.search(session, probes, threshold, exclude_user=exclude_user)


def _index(session: Session) -> search.TemplateIndex:
    s = get_settings()
    snapshots = s.data_dir / "face-index" if s.face_index_snapshot else None
    return search.index_for(session, _decode_embeddings, current_model(), snapshots)


def maintain_index(engine: Engine) -> search.TemplateIndex:
    """Bring this process's 1:N index of the configured model up to date with the database
    (the first call loads it: from the node's snapshot, then what was written since), and
    rewrite the snapshot when the index has moved and the last one is
    ``face_index_snapshot_interval_s`` old. The app runs this in the background from start-up
    (``face_index_refresh_interval_s``), so no enrolment waits for the load."""
    with Session(engine) as session:
        index = _index(session)
        index.refresh(session)
    if index.snapshot_due(get_settings().face_index_snapshot_interval_s):
        index.save_snapshot()
    return index


def template_rows(good: Sequence[FaceAnalysis], metric: Metric) -> np.ndarray[Any, Any]:
    """The embeddings a template stores: ``TEMPLATE_EMBEDDINGS`` frames spread over the burst,
    then the centroid of the burst's ``TEMPLATE_EMBEDDINGS`` best-quality frames (unit length
    for cosine). Averaging cancels much of a single frame's pose, blur and expression: on
    webcam_cn a centroid of one capture session against single frames of other sessions is
    refused at cosine 0.40 in 0 of 2,010 comparisons, where single frame pairs are in 2.0 %;
    the impostor rate at 0.40 stays below 1e-3 (README "Face engines")."""
    chosen = _spread(list(good), TEMPLATE_EMBEDDINGS)
    best = sorted(good, key=frame_quality)[-TEMPLATE_EMBEDDINGS:]
    centroid = np.mean([a.embedding for a in best], axis=0)
    if metric == "cosine":
        centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    rows = [a.embedding for a in chosen] + [centroid]
    return np.stack(rows).astype(np.float32)


def _spread(items: list[FaceAnalysis], k: int) -> list[FaceAnalysis]:
    if len(items) <= k:
        return items
    idx = np.linspace(0, len(items) - 1, k).round().astype(int)
    return [items[i] for i in idx]


def _most_frontal(items: list[FaceAnalysis], share: float = 0.5) -> list[FaceAnalysis]:
    """The ``share`` of frames whose yaw is closest to the stream's median, in stream order."""
    if len(items) <= TEMPLATE_EMBEDDINGS:
        return items
    median = float(np.median([a.yaw for a in items]))
    keep = max(TEMPLATE_EMBEDDINGS, int(len(items) * share))
    ranked = sorted(range(len(items)), key=lambda i: abs(items[i].yaw - median))[:keep]
    return [items[i] for i in sorted(ranked)]


# ---------------------------------------------------------------- enrolment


def enrol(
    session: Session,
    user: User,
    *,
    challenge_id: uuid.UUID,
    frames: Sequence[bytes],
    client: ClientInfo = ClientInfo(),
) -> tuple[FaceTemplate, AttendanceEvent]:
    """Enrol (or re-enrol) a learner's face from a liveness burst.

    Needs consent, at least ``face_min_enrol_frames`` good frames and a passed liveness check;
    refuses with 409 ``face_matches_other_learner`` (flagged for review) when the face is
    another learner's. An older template stays active until the new one is accepted; one of
    an older model must confirm the new face in its own model, or the new template waits for
    staff review (409 ``face_reenrol_unconfirmed``, :mod:`app.attendance.reenrol`). Both go to
    the review queue of the learner's institution, so a learner of none is refused first (409
    ``institution_required``, :mod:`app.accounts.registration`).
    """
    from app.attendance import reenrol  # late: reenrol builds on this module

    s = get_settings()
    require_consent(user)
    require_institution(user)
    first = _load_challenge(session, user, challenge_id)  # refuse early, before the slow part
    require_issuer(first, None)  # a station's check never enrols a face
    streamed = first.mode == STREAMED
    stream: StreamResult | None = None
    if streamed:
        if frames:
            raise FramesNotExpected()
        plan = require_complete(first)
        streamed_frames = stream_of(session, first)
    prior = reenrol.prior_template(session, user)
    release_read_lock(session)
    if streamed:
        burst, stream = _analyse_stream(streamed_frames, plan)
        # The older model sees about ten frames spread over the stream, not all of them.
        step = max(1, len(streamed_frames) // 10)
        raw: Sequence[bytes] = [f.data for f in streamed_frames[::step]]
    else:
        burst = _analyse_burst(frames, min_frames=s.face_min_enrol_frames, learner_id=user.id)
        raw = frames
    prior_check = reenrol.check(prior, raw) if prior is not None else None
    challenge = _load_challenge(session, user, challenge_id)  # fresh look after the analysis
    actor = Actor.user(user.id)
    if streamed:
        challenge.actions = plan.actions  # the secret is out: the event and audit name them
        discard_stream(session, challenge)
    _consume(session, challenge)
    if _check_replay(session, burst.hashes):
        _audit_replay(session, user, challenge, burst.hashes, actor)
        raise FrameReplayed().keeping_changes()
    event = _new_event(
        user,
        purpose=Purpose.enrol,
        challenge=challenge,
        hashes=burst.hashes,
        institution_id=user.institution_id,
        client=client,
    )
    continuity = stream is not None and stream.category == "continuity"
    if (len(burst.good) < s.face_min_enrol_frames and not continuity) or (
        stream is not None and stream.category == "quality"
    ):
        err = burst.dominant_rejection() if burst.rejections else TooFewFrames()
        event.reason_code = err.code
        if stream is not None:
            event.liveness = _stream_dict(stream, plan)
        _save_event(session, event, actor)
        raise err.keeping_changes(attendance_event_id=str(event.id))
    if stream is not None:
        event.liveness = _stream_dict(stream, plan)
        passed, reason, failure = stream.passed, stream.reason, _stream_failure(stream)
    else:
        result = liveness.check(challenge.actions, burst.good, current_liveness_params())
        event.liveness = _liveness_dict(result)
        passed, reason, failure = result.passed, result.reason, LivenessFailed.code
    if burst.good:
        _store_evidence(session, event, _best_frame(burst.good).crop_jpeg)
    if not passed:
        event.reason_code = failure
        _save_event(session, event, actor)
        _remember_frames(session, user, event, burst.hashes)
        error = StreamDiscontinuous() if failure == StreamDiscontinuous.code else LivenessFailed()
        raise error.keeping_changes(attendance_event_id=str(event.id), reason=reason)
    pad_check = pad.assess_burst(burst.good, s.face_pad_review_below)
    pad.record(event, pad_check)
    if prior_check is not None:
        reenrol.record(event, prior_check)
    # A stream holds turned faces too: the template takes the most frontal frames, spread
    # over the stream, and their centroid.
    frontal = _most_frontal(burst.good) if stream is not None else burst.good
    model = current_model()
    embs = template_rows(frontal, model.metric)
    blob, digest = _encode_embeddings(embs)
    template = FaceTemplate(
        user_id=user.id,
        status=TemplateStatus.pending,
        embeddings_enc=blob,
        embeddings_sha256=digest,
        n_embeddings=len(embs),
        face_engine=model.engine,
        model_name=model.name,
        model_version=model.version,
        model_sha256=model.sha256,
        enrol_event_id=event.id,
        created_at=clock.now(),
    )
    dupes = find_duplicates(session, embs, exclude_user=user.id, threshold=thresholds()[0])
    if dupes:
        other, dist = dupes[0]
        event.outcome = Outcome.review
        event.reason_code = FaceMatchesOtherLearner.code
        event.matched_user_id = other
        event.best_distance = _fmt(dist)
        event.review_status = ReviewStatus.pending
        _save_event(session, event, actor)
        _remember_frames(session, user, event, burst.hashes)
        session.add(template)
        session.flush()
        raise FaceMatchesOtherLearner().keeping_changes(attendance_event_id=str(event.id))
    if prior_check is not None and not prior_check.matched:
        event.outcome = Outcome.review
        event.reason_code = FaceReenrolUnconfirmed.code
        event.review_status = ReviewStatus.pending
        _save_event(session, event, actor)
        _remember_frames(session, user, event, burst.hashes)
        session.add(template)  # held: a reviewer's approval activates it
        session.flush()
        raise FaceReenrolUnconfirmed().keeping_changes(attendance_event_id=str(event.id))
    event.outcome = Outcome.passed
    if pad_check.review:
        event.reason_code = pad.REVIEW_REASON
    _save_event(session, event, actor)
    _remember_frames(session, user, event, burst.hashes)
    _activate(session, user, template, actor)
    if pad_check.review:
        # The attack model doubts the enrolment: the template works at once (the model
        # flags ~4 % of genuine people, who must not wait), and staff look at the evidence;
        # rejecting the enrolment retires the template (app/attendance/review.py).
        from app.attendance.review import refer_to_review  # late: review builds on this module

        refer_to_review(session, event, why=pad.REVIEW_REASON, actor=actor)
    return template, event


def _activate(session: Session, user: User, template: FaceTemplate, actor: Actor) -> None:
    now = clock.now()
    for old in session.exec(
        select(FaceTemplate).where(
            col(FaceTemplate.user_id) == user.id, col(FaceTemplate.status) == TemplateStatus.active
        )
    ):
        old.status = TemplateStatus.retired
        old.retired_at = now
        session.add(old)
    template.status = TemplateStatus.active
    session.add(template)
    user.face_enrolled = True
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="face.template_activated",
        subject=f"face_template:{template.id}",
        payload={
            "user": str(user.id),
            "template_sha256": template.embeddings_sha256,
            "embeddings": template.n_embeddings,
            "model": f"{template.model_name}/{template.model_version}",
            "face_engine": template.face_engine,
            "model_sha256": template.model_sha256,
        },
        institution_id=user.institution_id,
    )


def delete_templates(session: Session, user: User) -> None:
    """Consent withdrawn: wipe every template's embeddings; rows and hashes stay for the audit."""
    now = clock.now()
    for t in session.exec(
        select(FaceTemplate).where(
            col(FaceTemplate.user_id) == user.id, col(FaceTemplate.status) != TemplateStatus.deleted
        )
    ):
        t.embeddings_enc = None
        t.status = TemplateStatus.deleted
        t.retired_at = now
        session.add(t)
        audit.append(
            session,
            actor=Actor.user(user.id),
            action="face.template_deleted",
            subject=f"face_template:{t.id}",
            payload={"user": str(user.id), "template_sha256": t.embeddings_sha256},
            institution_id=user.institution_id,
        )
    user.face_enrolled = False
    session.add(user)
    session.flush()


def on_consent_withdrawn(session: Session, user: User) -> None:
    delete_templates(session, user)

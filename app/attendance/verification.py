"""Verification: is the person in the frames this learner, and alive? Every decision is an
attendance event; the accept/review/reject band is :func:`app.attendance.face.decide`.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Sequence

import numpy as np
from sqlmodel import Session

from app.accounts.models import User
from app.attendance import liveness, pad, reasons
from app.attendance.challenges import (
    _check_lock,
    _consume,
    _count_failure,
    _load_challenge,
    _reset_failures,
    require_consent,
)
from app.attendance.checks import (
    STREAMED,
    discard_stream,
    require_complete,
    require_issuer,
    stream_of,
)
from app.attendance.engine import current_liveness_params, current_model, thresholds
from app.attendance.exceptions import (
    FaceMismatch,
    FaceNotEnrolled,
    FaceReenrolRequired,
    FrameReplayed,
    FramesNotExpected,
    LivenessFailed,
    StreamDiscontinuous,
    TooFewFrames,
)
from app.attendance.face import closer, decide_score, fused_score
from app.attendance.models import (
    AttendanceEvent,
    Outcome,
    Purpose,
    ReviewStatus,
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
)
from app.attendance.streaming import StreamResult
from app.attendance.templates import _template_embeddings, active_template, template_is_current
from app.audit.service import Actor
from app.config import get_settings
from app.db import release_read_lock
from app.errors import DomainError

# ---------------------------------------------------------------- verification


def verify(
    session: Session,
    user: User,
    *,
    challenge_id: uuid.UUID,
    frames: Sequence[bytes],
    purpose: Purpose,
    institution_id: uuid.UUID | None = None,
    client: ClientInfo = ClientInfo(),
    actor: Actor | None = None,
    issued_to: str | None = None,
) -> AttendanceEvent:
    """Check that the person in the frames is ``user`` and alive; record an attendance event.

    Returns the event for every decision (passed / failed / review) so callers choose their
    response; raises only for refusals before a decision (lock, challenge, bad or faceless
    frames). Failed decisions count towards the attempt limit. A template of another model than
    the configured one raises :class:`FaceReenrolRequired` before anything is consumed.
    ``issued_to`` names the station whose check this must be (offline sessions); without it a
    station's check is refused (:func:`app.attendance.checks.require_issuer`).
    """
    actor = actor or Actor.user(user.id)
    require_consent(user)
    _check_lock(session, user)
    template = active_template(session, user.id)
    if template is None or template.embeddings_enc is None:
        raise FaceNotEnrolled()
    if not template_is_current(template):
        raise FaceReenrolRequired(template_model=f"{template.face_engine}/{template.model_name}")
    first = _load_challenge(session, user, challenge_id)  # refuse early, before the slow part
    require_issuer(first, issued_to)
    streamed = first.mode == STREAMED
    stream: StreamResult | None = None
    if streamed:
        if frames:
            raise FramesNotExpected()
        plan = require_complete(first)
        streamed_frames = stream_of(session, first)
    release_read_lock(session)
    if streamed:
        burst, stream = _analyse_stream(streamed_frames, plan)
    else:
        burst = _analyse_burst(frames, min_frames=1, learner_id=user.id)
    _check_lock(session, user)  # fresh look after the analysis
    template = active_template(session, user.id)
    if template is None or template.embeddings_enc is None:
        raise FaceNotEnrolled()
    if not template_is_current(template):
        raise FaceReenrolRequired(template_model=f"{template.face_engine}/{template.model_name}")
    challenge = _load_challenge(session, user, challenge_id)
    if streamed:
        challenge.actions = plan.actions  # the secret is out: the event and audit name them
        discard_stream(session, challenge)
    _consume(session, challenge)
    if _check_replay(session, burst.hashes):
        _audit_replay(session, user, challenge, burst.hashes, actor)
        raise FrameReplayed().keeping_changes()
    event = _new_event(
        user,
        purpose=purpose,
        challenge=challenge,
        hashes=burst.hashes,
        institution_id=institution_id if institution_id is not None else user.institution_id,
        client=client,
    )
    if stream is not None and stream.category == "continuity":
        # Not one live camera's frames (voided, replayed, another person...): recorded as
        # such whatever the faces would have matched.
        event.liveness = _stream_dict(stream, plan)
        event.outcome, event.reason_code = Outcome.failed, _stream_failure(stream)
        if burst.good:
            _store_evidence(session, event, _best_frame(burst.good).crop_jpeg)
        _save_event(session, event, actor)
        _remember_frames(session, user, event, burst.hashes)
        _count_failure(session, user, actor)
        session.flush()
        return event
    if not burst.good or (stream is not None and stream.category == "quality"):
        err = burst.dominant_rejection() if burst.rejections else TooFewFrames()
        if stream is not None:
            event.liveness = _stream_dict(stream, plan)
        event.reason_code = err.code
        _save_event(session, event, actor)
        # A burst with no usable face is a failed check too: otherwise faceless frames (an image
        # bomb decodes to a blank picture) could be sent without end, never meeting the lock.
        _count_failure(session, user, actor)
        raise err.keeping_changes(attendance_event_id=str(event.id))
    metric = current_model().metric
    stored = _template_embeddings(template)
    embs = np.stack([a.embedding for a in burst.good])
    # Per frame its closest template embedding; "best" is the closest frame (smallest distance
    # or largest cosine similarity, per the model's metric).
    per_frame = [fused_score(e, stored, metric, strategy="min") for e in embs]
    event.best_distance = _fmt(max(per_frame, key=lambda v: closer(metric) * v))
    event.median_distance = _fmt(statistics.median(per_frame))
    fused = fused_score(embs, stored, metric)
    accept, reject = thresholds()
    decision = decide_score(fused, accept, reject, metric)
    failure = LivenessFailed.code
    if stream is not None:
        event.liveness = _stream_dict(stream, plan)
        live = stream.passed
        failure = _stream_failure(stream)
    elif challenge.actions:
        result = liveness.check(challenge.actions, burst.good, current_liveness_params())
        event.liveness = _liveness_dict(result)
        live = result.passed
    else:
        event.liveness = {"mode": "burst"}
        live = True
    _store_evidence(session, event, _best_frame(burst.good).crop_jpeg)
    pad_check = pad.assess_burst(burst.good, get_settings().face_pad_review_below)
    pad.record(event, pad_check)
    if not live:
        event.outcome, event.reason_code = Outcome.failed, failure
    elif decision == "passed" and pad_check.review:  # one more signal: review, never fail
        event.outcome, event.reason_code = Outcome.review, pad.REVIEW_REASON
        event.review_status = ReviewStatus.pending
    elif decision == "passed":
        event.outcome = Outcome.passed
    elif decision == "failed":
        event.outcome, event.reason_code = Outcome.failed, "face_mismatch"
    else:
        event.outcome, event.reason_code = Outcome.review, "uncertain_match"
        event.review_status = ReviewStatus.pending
    _save_event(session, event, actor)
    _remember_frames(session, user, event, burst.hashes)
    if event.outcome is Outcome.failed:
        _count_failure(session, user, actor)
    elif event.outcome is Outcome.passed:
        _reset_failures(session, user)
    session.flush()
    return event


def refusal(event: AttendanceEvent) -> DomainError:
    """The error a learner's operation (check-in, quiz gate) raises for a check that did not
    pass, by the reason's category: the revealed actions not done → 422 ``liveness_failed``;
    frames not one live camera's → 422 ``stream_discontinuous``; otherwise (not the enrolled
    face, or sent to review) 403 ``face_mismatch``. The event and its reason ride along."""
    kind = reasons.category(event.reason_code)
    error: DomainError
    if kind == "liveness":
        error = LivenessFailed()
    elif kind == "continuity":
        error = StreamDiscontinuous()
    else:
        error = FaceMismatch()
    return error.keeping_changes(
        attendance_event_id=str(event.id),
        outcome=event.outcome.value,
        reason_code=event.reason_code,
    )

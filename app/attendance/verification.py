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
from app.attendance import liveness, pad
from app.attendance.challenges import (
    _check_lock,
    _consume,
    _count_failure,
    _load_challenge,
    _reset_failures,
)
from app.attendance.engine import current_liveness_params, current_model, thresholds
from app.attendance.exceptions import (
    ConsentRequired,
    FaceNotEnrolled,
    FaceReenrolRequired,
    FrameReplayed,
    LivenessFailed,
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
    _audit_replay,
    _best_frame,
    _check_replay,
    _fmt,
    _liveness_dict,
    _new_event,
    _remember_frames,
    _save_event,
    _store_evidence,
)
from app.attendance.templates import _template_embeddings, active_template, template_is_current
from app.audit.service import Actor
from app.config import get_settings
from app.db import release_read_lock

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
) -> AttendanceEvent:
    """Check that the person in the frames is ``user`` and alive; record an attendance event.

    Returns the event for every decision (passed / failed / review) so callers choose their
    response; raises only for refusals before a decision (lock, challenge, bad or faceless
    frames). Failed decisions count towards the attempt limit. A template of another model than
    the configured one raises :class:`FaceReenrolRequired` before anything is consumed.
    """
    actor = actor or Actor.user(user.id)
    if not user.biometric_consent:
        raise ConsentRequired()
    _check_lock(session, user)
    template = active_template(session, user.id)
    if template is None or template.embeddings_enc is None:
        raise FaceNotEnrolled()
    if not template_is_current(template):
        raise FaceReenrolRequired(template_model=f"{template.face_engine}/{template.model_name}")
    _load_challenge(session, user, challenge_id)  # refuse early, before the slow part
    release_read_lock(session)
    burst = _analyse_burst(frames, min_frames=1, learner_id=user.id)
    _check_lock(session, user)  # fresh look after the analysis
    template = active_template(session, user.id)
    if template is None or template.embeddings_enc is None:
        raise FaceNotEnrolled()
    if not template_is_current(template):
        raise FaceReenrolRequired(template_model=f"{template.face_engine}/{template.model_name}")
    challenge = _load_challenge(session, user, challenge_id)
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
    if not burst.good:
        err = burst.dominant_rejection()
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
    if challenge.actions:
        result = liveness.check(challenge.actions, burst.good, current_liveness_params())
        event.liveness = _liveness_dict(result)
        live = result.passed
    else:
        live = True
    _store_evidence(session, event, _best_frame(burst.good).crop_jpeg)
    pad_check = pad.assess_burst(burst.good, get_settings().face_pad_review_below)
    pad.record(event, pad_check)
    if not live:
        event.outcome, event.reason_code = Outcome.failed, LivenessFailed.code
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

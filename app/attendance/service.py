"""Face verification rules: challenges, enrolment with 1:N duplicate check, verification events,
attempt limits, review, evidence retention.

Every function takes the request's session, flushes and never commits; each write appends its
audit entry in the same transaction. Refusals that must leave a record (a consumed challenge, a
recorded failed verification) raise errors marked with ``keeping_changes()``. Bad input (not an
image, too large, too many frames) is refused before anything is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts import service as accounts_service
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.attendance import liveness, search
from app.attendance.engine import analyse_frames
from app.attendance.exceptions import (
    ChallengeExpired,
    ChallengeNotFound,
    ChallengeUsed,
    ConsentRequired,
    EventNotFound,
    EvidencePurged,
    FaceMatchesOtherLearner,
    FaceNotEnrolled,
    FaceRejected,
    FrameReplayed,
    ImageTooLarge,
    LivenessFailed,
    NotAnImage,
    NothingToReview,
    TooFewFrames,
    TooManyFrames,
    VerificationLocked,
)
from app.attendance.face import MODEL_NAME, MODEL_VERSION, FaceAnalysis, fused_distance
from app.attendance.models import (
    AttendanceEvent,
    FaceChallenge,
    FaceTemplate,
    FrameHash,
    Outcome,
    Purpose,
    ReviewStatus,
    TemplateStatus,
    VerificationLock,
)
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings
from app.crypto import decrypt, encrypt
from app.db import release_read_lock
from app.errors import Forbidden

#: Called with (session, event, approved, actor) after staff decide an event in review, so other
#: domains (the study ledger) can settle what waited on it without this package importing them.
review_decided_hooks: list[Callable[[Session, AttendanceEvent, bool, Actor], None]] = []
#: Called with (session, event, actor) right after any attendance event is recorded, in the same
#: transaction (app/webhooks announces verifications to partners from here).
event_recorded_hooks: list[Callable[[Session, AttendanceEvent, Actor], None]] = []

#: Embeddings kept per enrolment template (spread over the burst).
TEMPLATE_EMBEDDINGS = 5
#: Input errors: refused before the challenge is consumed or anything is stored.
_INPUT_ERRORS = (NotAnImage, ImageTooLarge)


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None = None
    user_agent: str | None = None


def _fmt(d: float | None) -> str | None:
    return None if d is None else f"{d:.4f}"


# ---------------------------------------------------------------- challenges


def create_challenge(
    session: Session, user: User, *, issued_to: str = "learner", actor: Actor | None = None
) -> FaceChallenge:
    """A fresh single-use challenge with a random nonce and 1–2 random actions."""
    if not user.biometric_consent:
        raise ConsentRequired()
    rng = secrets.SystemRandom()
    actions: list[str] = rng.sample(list(liveness.ACTIONS), k=rng.choice((1, 2)))
    if "turn_left" in actions and "turn_right" in actions:
        actions = [actions[0]]  # one turn per burst keeps the capture short on a phone
    now = clock.now()
    challenge = FaceChallenge(
        user_id=user.id,
        nonce=secrets.token_urlsafe(16),
        actions=actions,
        created_at=now,
        expires_at=now + timedelta(seconds=get_settings().face_challenge_ttl_s),
        issued_to=issued_to,
    )
    session.add(challenge)
    session.flush()
    audit.append(
        session,
        actor=actor or Actor.user(user.id),
        action="face.challenge_issued",
        subject=f"challenge:{challenge.id}",
        payload={
            "user": str(user.id),
            "actions": actions,
            "expires_at": audit.format_time(challenge.expires_at),
        },
        institution_id=user.institution_id,
    )
    return challenge


def _load_challenge(session: Session, user: User, challenge_id: uuid.UUID) -> FaceChallenge:
    challenge = session.get(FaceChallenge, challenge_id, with_for_update=True)
    if challenge is None or challenge.user_id != user.id:
        raise ChallengeNotFound()
    if challenge.used_at is not None:
        raise ChallengeUsed()
    if challenge.expires_at <= clock.now():
        raise ChallengeExpired()
    return challenge


# ---------------------------------------------------------------- attempt limits


def _check_lock(session: Session, user: User) -> None:
    lock = session.get(VerificationLock, user.id)
    now = clock.now()
    if lock and lock.locked_until and lock.locked_until > now:
        retry = int((lock.locked_until - now).total_seconds()) + 1
        raise VerificationLocked(
            f"Too many failed face checks; try again in {retry} s.", retry_after=retry
        )


def _count_failure(session: Session, user: User, actor: Actor) -> None:
    s = get_settings()
    lock = session.get(VerificationLock, user.id, with_for_update=True) or VerificationLock(
        user_id=user.id
    )
    lock.failures += 1
    if lock.failures >= s.verify_max_failures:
        over = lock.failures - s.verify_max_failures
        seconds = min(s.verify_backoff_base_s * 2**over, s.verify_backoff_max_s)
        lock.locked_until = clock.now() + timedelta(seconds=seconds)
        audit.append(
            session,
            actor=actor,
            action="face.verification_locked",
            subject=f"user:{user.id}",
            payload={"failures": lock.failures, "seconds": seconds},
            institution_id=user.institution_id,
        )
    session.add(lock)


def _reset_failures(session: Session, user: User) -> None:
    lock = session.get(VerificationLock, user.id)
    if lock and (lock.failures or lock.locked_until):
        lock.failures = 0
        lock.locked_until = None
        session.add(lock)


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


def _analyse_burst(frames: Sequence[bytes], *, min_frames: int) -> _Burst:
    s = get_settings()
    if len(frames) < min_frames:
        raise TooFewFrames(f"Send at least {min_frames} frames.")
    if len(frames) > s.face_max_frames:
        raise TooManyFrames(f"Send at most {s.face_max_frames} frames.")
    for data in frames:
        if len(data) > s.face_max_frame_bytes:
            raise ImageTooLarge()
    hashes = [hashlib.sha256(f).hexdigest() for f in frames]
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


def _store_evidence(event: AttendanceEvent, crop: bytes) -> None:
    day = event.created_at
    rel = Path("evidence") / f"{day:%Y}" / f"{day:%m}" / f"{event.id}.jpg"
    path = get_settings().data_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(crop)
    event.evidence_path = str(rel)
    event.evidence_sha256 = hashlib.sha256(crop).hexdigest()


def _best_frame(good: list[FaceAnalysis]) -> FaceAnalysis:
    return max(good, key=lambda a: a.quality.sharpness * min(a.quality.brightness, 120.0))


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


def find_duplicates(
    session: Session, probes: np.ndarray[Any, Any], *, exclude_user: uuid.UUID, threshold: float
) -> list[tuple[uuid.UUID, float]]:
    """1:N search: other learners whose active template lies within ``threshold`` of the probes.

    Returns (user, fused distance) nearest first; see :mod:`app.attendance.search`.
    """
    index = search.index_for(session, _decode_embeddings)
    index.refresh(session)
    return index.search(probes, threshold, exclude_user=exclude_user)


def _spread(items: list[FaceAnalysis], k: int) -> list[FaceAnalysis]:
    if len(items) <= k:
        return items
    idx = np.linspace(0, len(items) - 1, k).round().astype(int)
    return [items[i] for i in idx]


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
    s = get_settings()
    return AttendanceEvent(
        user_id=user.id,
        institution_id=institution_id,
        purpose=purpose,
        challenge_id=challenge.id if challenge else None,
        actions=list(challenge.actions) if challenge else [],
        frame_sha256=hashes,
        accept_threshold=f"{s.face_accept_threshold:.4f}",
        reject_threshold=f"{s.face_reject_threshold:.4f}",
        model_name=MODEL_NAME,
        model_version=MODEL_VERSION,
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
        "liveness": {
            "passed": event.liveness.get("passed"),
            "reason": event.liveness.get("reason"),
            "actions": [
                {"action": a.get("action"), "passed": a.get("passed"), "reason": a.get("reason")}
                for a in event.liveness.get("actions", [])
            ],
        },
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


def _liveness_dict(result: liveness.LivenessResult) -> dict[str, Any]:
    d = result.to_dict()
    # JSON column: plain floats rounded for readability; the audit payload keeps only verdicts.
    for key in ("ear_baseline", "start_yaw", "max_identity_distance", "motion"):
        d[key] = round(float(d[key]), 4)
    for a in d["actions"]:
        if a.get("value") is not None:
            a["value"] = round(float(a["value"]), 4)
    return d


def _consume(session: Session, challenge: FaceChallenge) -> None:
    challenge.used_at = clock.now()
    session.add(challenge)
    session.flush()


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
    another learner's. An older template stays active until the new one is accepted.
    """
    s = get_settings()
    if not user.biometric_consent:
        raise ConsentRequired()
    _load_challenge(session, user, challenge_id)  # refuse early, before the slow part
    release_read_lock(session)
    burst = _analyse_burst(frames, min_frames=s.face_min_enrol_frames)
    challenge = _load_challenge(session, user, challenge_id)  # fresh look after the analysis
    actor = Actor.user(user.id)
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
    if len(burst.good) < s.face_min_enrol_frames:
        err = burst.dominant_rejection() if burst.rejections else TooFewFrames()
        event.reason_code = err.code
        _save_event(session, event, actor)
        raise err.keeping_changes(attendance_event_id=str(event.id))
    result = liveness.check(challenge.actions, burst.good)
    event.liveness = _liveness_dict(result)
    best = _best_frame(burst.good)
    _store_evidence(event, best.crop_jpeg)
    if not result.passed:
        event.reason_code = LivenessFailed.code
        _save_event(session, event, actor)
        _remember_frames(session, user, event, burst.hashes)
        raise LivenessFailed(f"Liveness check failed: {result.reason}.").keeping_changes(
            attendance_event_id=str(event.id), reason=result.reason
        )
    chosen = _spread(burst.good, TEMPLATE_EMBEDDINGS)
    embs = np.stack([a.embedding for a in chosen]).astype(np.float32)
    blob, digest = _encode_embeddings(embs)
    template = FaceTemplate(
        user_id=user.id,
        status=TemplateStatus.pending,
        embeddings_enc=blob,
        embeddings_sha256=digest,
        n_embeddings=len(chosen),
        model_name=MODEL_NAME,
        model_version=MODEL_VERSION,
        enrol_event_id=event.id,
        created_at=clock.now(),
    )
    dupes = find_duplicates(session, embs, exclude_user=user.id, threshold=s.face_accept_threshold)
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
    event.outcome = Outcome.passed
    _save_event(session, event, actor)
    _remember_frames(session, user, event, burst.hashes)
    _activate(session, user, template, actor)
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
        },
        institution_id=user.institution_id,
    )


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
    frames). Failed decisions count towards the attempt limit.
    """
    actor = actor or Actor.user(user.id)
    if not user.biometric_consent:
        raise ConsentRequired()
    _check_lock(session, user)
    template = active_template(session, user.id)
    if template is None or template.embeddings_enc is None:
        raise FaceNotEnrolled()
    _load_challenge(session, user, challenge_id)  # refuse early, before the slow part
    release_read_lock(session)
    burst = _analyse_burst(frames, min_frames=1)
    _check_lock(session, user)  # fresh look after the analysis
    template = active_template(session, user.id)
    if template is None or template.embeddings_enc is None:
        raise FaceNotEnrolled()
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
        raise err.keeping_changes(attendance_event_id=str(event.id))
    embs = np.stack([a.embedding for a in burst.good])
    per_frame = [fused_distance(e, _template_embeddings(template), strategy="min") for e in embs]
    event.best_distance = _fmt(min(per_frame))
    event.median_distance = _fmt(statistics.median(per_frame))
    fused = fused_distance(embs, _template_embeddings(template))
    s = get_settings()
    if challenge.actions:
        result = liveness.check(challenge.actions, burst.good)
        event.liveness = _liveness_dict(result)
        live = result.passed
    else:
        live = True
    _store_evidence(event, _best_frame(burst.good).crop_jpeg)
    if not live:
        event.outcome, event.reason_code = Outcome.failed, LivenessFailed.code
    elif fused <= s.face_accept_threshold:
        event.outcome = Outcome.passed
    elif fused > s.face_reject_threshold:
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


# ---------------------------------------------------------------- reading and review


def _visible(principal: Principal, event: AttendanceEvent) -> bool:
    if principal.user is not None and principal.user.id == event.user_id:
        return True
    if principal.role is Role.learner:
        return False
    return principal.can_see_institution(event.institution_id)


def get_event(session: Session, principal: Principal, event_id: uuid.UUID) -> AttendanceEvent:
    event = session.get(AttendanceEvent, event_id)
    if event is None or not _visible(principal, event):
        raise EventNotFound()
    return event


def list_events(
    session: Session,
    principal: Principal,
    *,
    user_id: uuid.UUID | None = None,
    review_status: ReviewStatus | None = None,
    institution_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[AttendanceEvent]:
    stmt = select(AttendanceEvent)
    if institution_id is not None:
        stmt = stmt.where(col(AttendanceEvent.institution_id) == institution_id)
    if principal.role is Role.learner:
        stmt = stmt.where(col(AttendanceEvent.user_id) == principal.user.id)  # type: ignore[union-attr]
    elif not principal.is_regulator:
        stmt = stmt.where(col(AttendanceEvent.institution_id) == principal.institution_id)
    if user_id is not None:
        stmt = stmt.where(col(AttendanceEvent.user_id) == user_id)
    if review_status is not None:
        stmt = stmt.where(col(AttendanceEvent.review_status) == review_status)
    stmt = stmt.order_by(col(AttendanceEvent.created_at).desc()).limit(limit)
    return list(session.exec(stmt))


def review(
    session: Session, principal: Principal, event_id: uuid.UUID, *, approve: bool, reason: str
) -> AttendanceEvent:
    """Staff decide an event in review; approving a 1:N duplicate activates the held template."""
    if principal.user is None or principal.role not in (Role.staff, Role.admin):
        raise Forbidden("Only staff of the learner's institution review attendance.")
    event = get_event(session, principal, event_id)
    if event.review_status is not ReviewStatus.pending:
        raise NothingToReview()
    now = clock.now()
    event.review_status = ReviewStatus.approved if approve else ReviewStatus.rejected
    event.reviewed_by = principal.user.id
    event.reviewed_at = now
    event.review_reason = reason.strip()[:500]
    session.add(event)
    audit.append(
        session,
        actor=principal.actor,
        action="face.review_approved" if approve else "face.review_rejected",
        subject=f"attendance_event:{event.id}",
        payload={"reason": event.review_reason, "purpose": event.purpose.value},
        institution_id=event.institution_id,
    )
    if event.purpose is Purpose.enrol:
        held = session.exec(
            select(FaceTemplate).where(
                col(FaceTemplate.enrol_event_id) == event.id,
                col(FaceTemplate.status) == TemplateStatus.pending,
            )
        ).first()
        learner = session.get(User, event.user_id)
        if held is not None and learner is not None:
            if approve:
                _activate(session, learner, held, principal.actor)
            else:
                held.status = TemplateStatus.retired
                held.retired_at = now
                session.add(held)
    session.flush()
    for hook in review_decided_hooks:
        hook(session, event, approve, principal.actor)
    return event


def evidence(session: Session, principal: Principal, event_id: uuid.UUID) -> bytes:
    """The evidence crop; staff of the event's institution and regulators only."""
    event = session.get(AttendanceEvent, event_id)
    if (
        event is None
        or principal.role is Role.learner
        or not principal.can_see_institution(event.institution_id)
    ):
        raise EventNotFound()
    if event.evidence_path is None:
        raise EventNotFound("This event has no evidence crop.")
    if event.evidence_purged_at is not None:
        raise EvidencePurged()
    path = get_settings().data_dir / event.evidence_path
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != event.evidence_sha256:
        raise EvidencePurged("The stored crop does not match its recorded hash.")
    return data


def purge_evidence(session: Session, *, now: datetime | None = None) -> int:
    """Delete evidence crops past the retention period; their hashes stay. Returns the count."""
    now = now or clock.now()
    cutoff = now - timedelta(days=get_settings().evidence_retention_days)
    events = session.exec(
        select(AttendanceEvent).where(
            col(AttendanceEvent.created_at) < cutoff,
            col(AttendanceEvent.evidence_path).is_not(None),
            col(AttendanceEvent.evidence_purged_at).is_(None),
        )
    ).all()
    base = get_settings().data_dir
    for event in events:
        if event.evidence_path:
            (base / event.evidence_path).unlink(missing_ok=True)
        event.evidence_purged_at = now
        session.add(event)
        audit.append(
            session,
            actor=Actor.system("purge-evidence"),
            action="face.evidence_purged",
            subject=f"attendance_event:{event.id}",
            payload={"evidence_sha256": event.evidence_sha256},
            institution_id=event.institution_id,
        )
    session.flush()
    return len(events)


def _on_consent_withdrawn(session: Session, user: User) -> None:
    delete_templates(session, user)


if _on_consent_withdrawn not in accounts_service.consent_withdrawn_hooks:
    accounts_service.consent_withdrawn_hooks.append(_on_consent_withdrawn)

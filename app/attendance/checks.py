"""Check sessions: the server side of the streamed, server-paced face check.

A check session is a :class:`FaceChallenge` of mode ``streamed`` whose actions stay secret (the
plan, :class:`app.attendance.streaming.Schedule`, is stored on it). The client uploads frames in
order, one upload at a time (:func:`add_frames`), each carrying what the camera took while the
previous upload was on its way; the server stamps each upload on arrival, requires the next
sequence number, refuses a repeated or already-seen frame (which voids the check), and answers
with the action to do *now* once its random moment has come. When the last window has closed
the client submits the check to the operation it was opened for (enrolment, check-in,
roll-call, quiz gate, partner verification), which decides on the stored stream
(:func:`stream_of`) and deletes it.

**Why small sequential HTTP uploads and not a WebSocket.** Every face check already crosses
the same paths as the rest of the API: the session cookie with its CSRF header, the partners'
API keys with their scopes, the phone hand-off's one-time code, the request-size limit,
``Idempotency-Key``, the per-address throttles and the audit — all HTTP middleware and
dependencies that a WebSocket would bypass and need again. Chinese corporate and government
networks often sit behind proxies that break or time out WebSockets; an upload of one JPEG
(~30 KB) every ~80 ms is plain HTTP/1.1 keep-alive traffic any proxy passes, and the server stays
stateless between requests (the plan lives in the database), so any app process — SQLite with
one worker or PostgreSQL with several — may take the next frame. The cost is a request per
upload (~1 ms of server time each; the face analysis runs beside, :mod:`prefetch`).

**Several frames per upload.** One frame per round trip makes the frame rate the link's: a
330 ms round trip (a weak mobile link) delivers 3 frames a second, below the 4 the protocol
needs. An upload may therefore carry what the camera took while the previous one was on its
way, with the capture times; the server uses only their differences, bounded by its own
arrival times (:func:`add_frames`, :func:`stamps_of`). **The page still sends one frame per
upload:** where round trips vary, an upload's spacing is compressed into the time since the
previous arrival, which shortens the intervals the motion check divides by and read as
``implausible_motion`` in a loaded CI run. Judging motion on the capture spacing needs the
capture times stored per frame (a column on ``face_check_frames``); until then the several-
frame form is for partners whose round trips are steady.

Every function takes the request's session and flushes; nothing commits here.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlmodel import Session, col, delete, select

from app import clock
from app.accounts.models import User
from app.aftercommit import after_commit
from app.attendance import prefetch
from app.attendance.budget import admit_burst
from app.attendance.challenges import _load_challenge, require_consent
from app.attendance.engine import current_stream_params
from app.attendance.exceptions import (
    ChallengeNotFound,
    CheckIncomplete,
    FrameOutOfOrder,
    FrameRepeated,
    FrameReplayed,
    FrameTimesInvalid,
    ImageTooLarge,
    NotAStreamedCheck,
    TooManyFrames,
)
from app.attendance.models import FaceChallenge, FaceCheckFrame, FrameHash
from app.attendance.streaming import REASON_OUT_OF_ORDER, REASON_REPEATED, Schedule
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings

#: Mode of a challenge whose frames are streamed to it.
STREAMED = "streamed"
BURST = "burst"
#: ``issued_to`` of a check an offline session's station opened (app/courses/offline.py):
#: ``offline:<session id>:<checkin|checkout>``. Only that station sends its frames and decides
#: it: a learner's own phone, a partner or another operation cannot (the learner must stand in
#: front of the station's camera).
STATION_PREFIX = "offline:"
#: Frames one check may hold: its longest plan at the highest frame rate allowed, with room.
MAX_CHECK_FRAMES = 400
#: Frames one upload may carry: the browser sends what it captured while the previous upload
#: was on its way (12 frames/s and a 600 ms round trip make 8).
MAX_UPLOAD_FRAMES = 8
#: How far before its arrival a check's first upload may say its first frame was taken.
FIRST_SPAN_MS = 1000


@dataclass(frozen=True, slots=True)
class FrameAck:
    """The server's answer to one streamed frame."""

    seq: int
    #: Arrival, milliseconds since the check's first frame (the server's clock).
    t_ms: int
    #: The action to do now (its window is open), ``None`` while the learner just looks on.
    action: str | None
    #: Which reveal this is (1-based) and how many there are.
    step: int | None
    steps: int
    #: Milliseconds left in the open window.
    window_left_ms: int | None
    #: The last window has closed: stop sending and submit the check.
    complete: bool
    next_seq: int


def open_check(
    session: Session, user: User, *, issued_to: str = "learner", actor: Actor | None = None
) -> FaceChallenge:
    """A fresh streamed check for ``user``: a random plan, secret until its reveals."""
    require_consent(user)
    plan = Schedule.draw(current_stream_params())
    now = clock.now()
    check = FaceChallenge(
        user_id=user.id,
        nonce=secrets.token_urlsafe(16),
        actions=[],
        created_at=now,
        expires_at=now + timedelta(seconds=get_settings().face_challenge_ttl_s),
        issued_to=issued_to,
        mode=STREAMED,
        schedule=plan.to_json(),
    )
    session.add(check)
    session.flush()
    audit.append(
        session,
        actor=actor or Actor.user(user.id),
        action="face.check_opened",
        subject=f"challenge:{check.id}",
        # The actions stay out of the audit until the decision: they are the check's secret.
        payload={
            "user": str(user.id),
            "mode": STREAMED,
            "reveals": len(plan.reveals),
            "expires_at": audit.format_time(check.expires_at),
        },
        institution_id=user.institution_id,
    )
    return check


def station_issuer(session_id: uuid.UUID, kind: str) -> str:
    """``issued_to`` of a station's check for one offline session and kind."""
    return f"{STATION_PREFIX}{session_id}:{kind}"


def require_issuer(check: FaceChallenge, issued_to: str | None) -> None:
    """A station's check is used only by that station (``issued_to`` given and equal); every
    other caller (``None``) may not touch a station's check: 404 ``challenge_not_found``."""
    if issued_to is None:
        if check.issued_to.startswith(STATION_PREFIX):
            raise ChallengeNotFound()
    elif check.issued_to != issued_to:
        raise ChallengeNotFound()


def _ack(plan: Schedule, seq: int, t_ms: int) -> FrameAck:
    current = plan.current(t_ms)
    step = plan.reveals.index(current) + 1 if current is not None else None
    left = (
        current.revealed_ms + plan.window_ms - t_ms
        if current is not None and current.revealed_ms is not None
        else None
    )
    return FrameAck(
        seq=seq,
        t_ms=t_ms,
        action=current.action if current is not None else None,
        step=step,
        steps=len(plan.reveals),
        window_left_ms=left,
        complete=plan.complete(t_ms) and plan.broken is None,
        next_seq=plan.last_seq + 1,
    )


def add_frames(
    session: Session,
    user: User,
    check_id: uuid.UUID,
    *,
    seq: int,
    frames: Sequence[bytes],
    captured_ms: Sequence[int] | None = None,
    issued_to: str | None = None,
) -> FrameAck:
    """Stamp and store the frames of one upload (1..:data:`MAX_UPLOAD_FRAMES`, in capture
    order, the first numbered ``seq``); say what to do now.

    The check row is locked for the duration, so uploads of one check are taken one at a time
    and in arrival order. The first frame must carry the next sequence number: a gap or a step
    back voids the check (409 ``frame_out_of_order``), as does a frame sent twice within the
    check (409 ``frame_repeated``) or one that reached an earlier decision (422
    ``frame_replayed``); the void check then fails as discontinuous when it is submitted.
    Re-sending the *last* upload with the same bytes (a retry after a lost response) is
    answered again, not stored.

    **Times.** The last frame is stamped with the upload's arrival on the server's clock. An
    upload of several frames (a client that keeps capturing while the previous upload is on
    its way) gives each frame's capture time on its own clock (``captured_ms``,
    increasing, and after the previous upload's); only their differences are used, and never
    to place a frame at or before the previous upload's arrival (or, for the first upload,
    more than :data:`FIRST_SPAN_MS` before it): the server's clock still bounds every frame
    from both sides (:func:`stamps_of`). Reveals happen at arrivals only, the moment an answer
    can carry them.
    """
    if not frames or len(frames) > MAX_UPLOAD_FRAMES:
        raise TooManyFrames(f"Send 1 to {MAX_UPLOAD_FRAMES} frames per upload.")
    times = list(captured_ms) if captured_ms is not None else None
    if times is None and len(frames) > 1:
        raise FrameTimesInvalid("Several frames need captured_ms: one capture time per frame.")
    if times is not None and (
        len(times) != len(frames) or any(b <= a for a, b in zip(times, times[1:], strict=False))
    ):
        raise FrameTimesInvalid("captured_ms must give one capture time per frame, increasing.")
    check = _load_challenge(session, user, check_id)
    require_issuer(check, issued_to)
    if check.mode != STREAMED or check.schedule is None:
        raise NotAStreamedCheck()
    plan = Schedule.from_json(check.schedule)
    limit = get_settings().face_max_frame_bytes
    if any(len(data) > limit for data in frames):
        raise ImageTooLarge()
    digests = [hashlib.sha256(data).hexdigest() for data in frames]
    if plan.broken:
        raise (FrameRepeated() if plan.broken == REASON_REPEATED else FrameOutOfOrder())
    last = seq + len(frames) - 1
    if last == plan.last_seq and seq >= 0:
        stored = session.exec(
            select(FaceCheckFrame.sha256, FaceCheckFrame.t_ms)
            .where(
                col(FaceCheckFrame.challenge_id) == check.id,
                col(FaceCheckFrame.seq) >= seq,
                col(FaceCheckFrame.seq) <= last,
            )
            .order_by(col(FaceCheckFrame.seq))
        ).all()
        if [d for d, _t in stored] == digests:
            return _ack(plan, last, stored[-1][1])
    if plan.complete(plan.last_ms):
        return _ack(plan, plan.last_seq, plan.last_ms)  # done: later frames are not needed
    now = clock.now()

    def void(reason: str) -> None:
        plan.broken = reason
        check.schedule = plan.to_json()
        session.add(check)
        session.flush()

    if seq != plan.last_seq + 1:
        void(REASON_OUT_OF_ORDER)
        raise FrameOutOfOrder(expected_seq=plan.last_seq + 1).keeping_changes()
    if last >= MAX_CHECK_FRAMES:
        raise TooManyFrames()
    admit_burst(frames, user.id)  # header checks and the learner's pixel budget
    repeated = len(set(digests)) != len(digests) or (
        session.exec(
            select(FaceCheckFrame.id).where(
                col(FaceCheckFrame.challenge_id) == check.id,
                col(FaceCheckFrame.sha256).in_(digests),
            )
        ).first()
        is not None
    )
    if repeated:
        void(REASON_REPEATED)
        raise FrameRepeated().keeping_changes()
    if session.exec(select(FrameHash.sha256).where(col(FrameHash.sha256).in_(digests))).first():
        void("frame_replayed")
        raise FrameReplayed().keeping_changes()
    if times is not None and plan.last_client_ms is not None and times[0] <= plan.last_client_ms:
        raise FrameTimesInvalid("captured_ms must go on after the previous upload's.")
    if check.started_at is None:
        # The check's clock starts at its first frame: the first upload's span (bounded) ago.
        span = min(times[-1] - times[0], FIRST_SPAN_MS) if times is not None else 0
        check.started_at = now - timedelta(milliseconds=span)
    arrival = max(0, round((now - check.started_at).total_seconds() * 1000))
    arrival = max(arrival, plan.last_ms)  # the server's clock never runs backwards for a check
    stamps = stamps_of(times, arrival, plan.last_ms, plan.last_client_ms)
    plan.on_frames(stamps)
    plan.last_client_ms = times[-1] if times is not None else None
    plan.last_seq = last
    for i, (data, digest, t_ms) in enumerate(zip(frames, digests, stamps, strict=True)):
        session.add(
            FaceCheckFrame(
                challenge_id=check.id,
                seq=seq + i,
                t_ms=t_ms,
                received_at=now,
                sha256=digest,
                data=data,
            )
        )
        after_commit(session, partial(prefetch.prefetch, data, digest))
    check.schedule = plan.to_json()
    session.add(check)
    session.flush()
    return _ack(plan, last, arrival)


def stamps_of(
    times: Sequence[int] | None, arrival: int, previous: int, previous_client: int | None
) -> list[int]:
    """The server's times of one upload's frames (ms since the check's first frame).

    ``arrival`` is the upload's, and its last frame's; ``previous`` is the previous upload's
    arrival (-1 for the first upload, whose first frame starts the clock); ``previous_client``
    that upload's last capture time on the client's clock, if it gave capture times.

    Without capture times (one frame): the arrival. Otherwise the frames keep their capture
    spacing, ending at the arrival. Where that spacing reaches back to the previous arrival or
    before it (the round trips differ from one upload to the next, or the client claims more
    time than the server saw), it is compressed into the time between the two arrivals: every
    frame stays after the previous upload's and, in order, keeps its share of the interval.
    Clamping them to the previous arrival instead put several frames at one moment, which reads
    as the face jumping in no time (``implausible_motion``; a loaded CI machine did it)."""
    if times is None:
        return [arrival]
    last = times[-1]
    if previous < 0:  # the first upload: its first frame is the check's moment 0
        low, ref = 0, times[0]
    else:
        low = previous
        if previous_client is not None:
            ref = previous_client
        else:  # one mean capture interval before the first frame
            ref = times[0] - (last - times[0]) // max(len(times) - 1, 1)
    client, server = last - ref, arrival - low
    if client <= server:
        return [arrival - (last - c) for c in times]
    return [low + round((c - ref) * server / client) for c in times]


def plan_of(check: FaceChallenge) -> Schedule:
    if check.mode != STREAMED or check.schedule is None:
        raise NotAStreamedCheck()
    return Schedule.from_json(check.schedule)


def require_complete(check: FaceChallenge) -> Schedule:
    """The check's plan, if it may be decided now: its last window closed, or it was voided
    (then it is decided as a failure). Otherwise 409 ``check_incomplete``, nothing consumed."""
    plan = plan_of(check)
    if plan.broken is None and not plan.complete(plan.last_ms):
        raise CheckIncomplete(next_seq=plan.last_seq + 1)
    return plan


@dataclass(frozen=True, slots=True)
class StoredFrame:
    seq: int
    t_ms: int
    sha256: str
    data: bytes


def stream_of(session: Session, check: FaceChallenge) -> list[StoredFrame]:
    """The check's frames in arrival order."""
    rows = session.exec(
        select(FaceCheckFrame)
        .where(col(FaceCheckFrame.challenge_id) == check.id)
        .order_by(col(FaceCheckFrame.seq))
    ).all()
    return [StoredFrame(r.seq, r.t_ms, r.sha256, r.data) for r in rows]


def discard_stream(session: Session, check: FaceChallenge) -> None:
    """Delete a decided check's frames (the attendance event keeps their hashes)."""
    session.exec(delete(FaceCheckFrame).where(col(FaceCheckFrame.challenge_id) == check.id))


__all__ = [
    "BURST",
    "MAX_CHECK_FRAMES",
    "MAX_UPLOAD_FRAMES",
    "STATION_PREFIX",
    "STREAMED",
    "FrameAck",
    "StoredFrame",
    "add_frames",
    "discard_stream",
    "open_check",
    "plan_of",
    "require_complete",
    "require_issuer",
    "stamps_of",
    "station_issuer",
    "stream_of",
]

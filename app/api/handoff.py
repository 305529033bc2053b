"""The no-camera fallback: hand a pending face check over to a phone.

The signed-in learner's page creates a hand-off and polls it; the phone, with no sign-in, uses
the short code (the credential for that one check) to take a challenge and post its frames.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status

from app.accounts.exceptions import InstitutionRequired, InvalidToken, RateLimited
from app.accounts.principal import Principal
from app.api.deps import PUBLIC, CurrentLearner, SessionDep, client_info
from app.attendance import exceptions as fx
from app.attendance.exceptions import FRAME_SUBMISSION_ERRORS, STREAM_FRAME_ERRORS
from app.attendance.models import HandoffPurpose
from app.attendance.schemas import ChallengeOut, EnrolOut, FrameAckOut
from app.courses import exceptions as cx
from app.courses import quiz
from app.courses.schemas import CheckInOut, QuizAttemptOut, RollCallAnswerOut
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.handoff import service as handoff
from app.handoff.schemas import HandoffCreated, HandoffIn, HandoffStatusOut, PhoneResultOut
from app.http.frames import (
    CapturedField,
    ChallengeField,
    FramesField,
    SeqField,
    StreamFramesField,
    client_of,
    read_frames,
    read_upload,
)
from app.http.links import phone_url

router = APIRouter(tags=["face"])

_auth = (NotAuthenticated, InvalidToken, Forbidden)
# Unknown codes are counted per client address: guessing meets 429 `rate_limited`.
_code_errors = (fx.HandoffNotFound, fx.HandoffExpired, fx.HandoffUsed, RateLimited)
CodePath = Annotated[
    str, Path(max_length=32, description="The hand-off's short code (the phone link's last part)")
]


@router.post(
    "/me/face/handoffs",
    status_code=status.HTTP_201_CREATED,
    response_model=HandoffCreated,
    responses=problem_responses(
        *_auth,
        fx.ConsentRequired,
        fx.ConsentRenewalRequired,
        fx.FaceNotEnrolled,
        fx.FaceReenrolRequired,
        fx.InvalidHandoff,
        InstitutionRequired,
        cx.EnrollmentNotFound,
        cx.RollCallNotFound,
        cx.RollCallExpired,
        cx.RollCallNotPending,
    ),
)
def create_handoff(
    body: HandoffIn, user: CurrentLearner, session: SessionDep, request: Request
) -> HandoffCreated:
    """Continue one pending face check on a phone: a short link (and its QR code) for it."""
    h, code = handoff.create(
        session,
        user,
        purpose=body.purpose,
        enrollment_id=body.enrollment_id,
        rollcall_id=body.rollcall_id,
    )
    st = handoff.status(session, user, h.id)
    return HandoffCreated(
        handoff_id=h.id,
        purpose=h.purpose,
        url=phone_url(request, code),
        code=code,
        expires_at=h.expires_at,
        expires_in_s=st.expires_in_s,
        qr_svg_url=f"/m/{code}/qr.svg",
    )


def _result_body(
    session: SessionDep, user: CurrentLearner, purpose: HandoffPurpose, result: dict[str, Any]
) -> dict[str, Any]:
    """The stored outcome as the direct endpoint's own response model renders it."""
    if purpose is HandoffPurpose.enrol:
        return EnrolOut(
            template_id=result["template_id"],
            attendance_event_id=result["attendance_event_id"],
            quality={"frames": result["frames"], "embeddings": result["embeddings"]},
        ).model_dump(mode="json")
    if purpose is HandoffPurpose.checkin:
        return CheckInOut.model_validate(result).model_dump(mode="json")
    if purpose is HandoffPurpose.rollcall:
        return RollCallAnswerOut.model_validate(result).model_dump(mode="json")
    attempt = quiz.get_attempt(session, Principal.of_user(user), uuid.UUID(result["attempt_id"]))
    return QuizAttemptOut.of(attempt).model_dump(mode="json")


@router.get(
    "/me/face/handoffs/{handoff_id}",
    response_model=HandoffStatusOut,
    responses=problem_responses(*_auth, fx.HandoffNotFound),
)
def get_handoff(
    handoff_id: uuid.UUID, user: CurrentLearner, session: SessionDep
) -> HandoffStatusOut:
    """Poll a hand-off: waiting, opened, passed (with the direct call's body), failed, expired."""
    st = handoff.status(session, user, handoff_id)
    h = st.handoff
    return HandoffStatusOut(
        handoff_id=h.id,
        purpose=h.purpose,
        state=st.state,
        reason=st.reason,
        closed=st.closed,
        expires_at=h.expires_at,
        expires_in_s=st.expires_in_s,
        attempts=h.attempts,
        result=_result_body(session, user, h.purpose, st.result) if st.result else None,
        error=st.error,
    )


# ---------------------------------------------------------------- the phone (the code authorises)


@router.post(
    "/handoffs/{code}/open",
    response_model=PhoneResultOut,
    responses=problem_responses(*_code_errors),
    dependencies=[PUBLIC],
)
def open_handoff(code: CodePath, session: SessionDep, request: Request) -> PhoneResultOut:
    """The phone page loaded (no sign-in: the code is the credential)."""
    h = handoff.mark_opened(session, code, client=client_info(request)[0])
    return PhoneResultOut(purpose=h.purpose, state=h.state, reason=h.reason)


@router.post(
    "/handoffs/{code}/challenge",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeOut,
    responses=problem_responses(*_code_errors, fx.ConsentRequired, fx.ConsentRenewalRequired),
    dependencies=[PUBLIC],
)
def handoff_challenge(code: CodePath, session: SessionDep, request: Request) -> ChallengeOut:
    """A fresh streamed face check for the hand-off's learner (``mode`` streamed): stream the
    phone camera's frames to ``frames_url``, then submit to ``…/frames`` without frames."""
    c = handoff.challenge(session, code, client=client_info(request)[0])
    return ChallengeOut.of(c, f"/api/v1/handoffs/{code}/checks/{c.id}/frames")


@router.post(
    "/handoffs/{code}/checks/{check_id}/frames",
    response_model=FrameAckOut,
    responses=problem_responses(*_code_errors, *STREAM_FRAME_ERRORS),
    dependencies=[PUBLIC],
)
def handoff_stream_frame(
    code: CodePath,
    check_id: uuid.UUID,
    seq: SeqField,
    frame: StreamFramesField,
    session: SessionDep,
    request: Request,
    captured_ms: CapturedField = None,
) -> FrameAckOut:
    """Frames of the phone's streamed check (1 to 8 per upload, ``captured_ms`` with more than
    one), the last stamped on arrival; the answer reveals the action to do now and says when
    the check is complete (then submit it to ``…/frames``)."""
    ack = handoff.add_frames(
        session,
        code,
        check_id,
        seq=seq,
        frames=read_upload(frame),
        captured_ms=captured_ms,
        client=client_info(request)[0],
    )
    return FrameAckOut.of(ack)


@router.post(
    "/handoffs/{code}/frames",
    response_model=PhoneResultOut,
    responses=problem_responses(
        *_code_errors,
        *FRAME_SUBMISSION_ERRORS,
        fx.FaceMismatch,
        fx.FaceNotEnrolled,
        fx.FaceReenrolRequired,
        fx.VerificationLocked,
        fx.FaceMatchesOtherLearner,
        fx.FaceReenrolUnconfirmed,
        cx.EnrollmentNotFound,
        cx.RollCallExpired,
        cx.RollCallNotPending,
        cx.AttemptOpen,
        cx.AttemptLimitReached,
        cx.QuizUnavailable,
    ),
    dependencies=[PUBLIC],
)
def handoff_frames(
    code: CodePath,
    challenge_id: ChallengeField,
    session: SessionDep,
    request: Request,
    frames: FramesField = None,
) -> PhoneResultOut:
    """The phone's finished check: runs the operation the computer asked for (same rules, same
    errors)."""
    h = handoff.submit(
        session,
        code,
        challenge_id=challenge_id,
        frames=read_frames(frames),
        client=client_of(request),
    )
    outcome = (h.result or {}).get("result", {}).get("outcome")
    return PhoneResultOut(
        purpose=h.purpose,
        state=h.state,
        reason=h.reason,
        outcome=outcome if h.purpose is HandoffPurpose.rollcall else "passed",
    )

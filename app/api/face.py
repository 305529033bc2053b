"""Face enrolment, verification, attendance events, staff review and evidence."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.accounts import service as accounts
from app.accounts.exceptions import (
    InstitutionRequired,
    InvalidToken,
    MissingScope,
    UserNotFound,
)
from app.accounts.principal import Principal
from app.api.deps import CurrentLearner, SessionDep, UserPrincipal, require_scope
from app.attendance import checks
from app.attendance import exceptions as fx
from app.attendance import repository as visible
from app.attendance import service as attendance
from app.attendance.exceptions import FRAME_SUBMISSION_ERRORS, STREAM_FRAME_ERRORS
from app.attendance.models import Purpose, ReviewStatus
from app.attendance.schemas import (
    ChallengeOut,
    EnrolOut,
    EventOut,
    FaceStatusOut,
    FrameAckOut,
    ReviewIn,
    ReviewItemOut,
    VerifyOut,
)
from app.errors import Forbidden, NotAuthenticated, problem_responses
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
from app.storage import StorageUnavailable

router = APIRouter(tags=["face"])

_auth = (NotAuthenticated, InvalidToken, Forbidden)
VerifyKey = Annotated[Principal, require_scope("verify")]
AttendanceRead = Annotated[Principal, require_scope("attendance:read")]


@router.post(
    "/me/face/challenge",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeOut,
    responses=problem_responses(*_auth, fx.ConsentRequired, fx.ConsentRenewalRequired),
)
def new_challenge(user: CurrentLearner, session: SessionDep) -> ChallengeOut:
    """A new streamed face check (``mode`` streamed): send the camera's frames in order to
    ``frames_url`` (one upload at a time, 1 to 8 frames each); the answers reveal the actions
    to do, at moments the server chooses. When an answer says ``complete``, submit the
    operation (enrolment, check-in, roll-call, quiz) with this ``challenge_id`` and no frames.
    Single use, short expiry."""
    c = checks.open_check(session, user)
    return ChallengeOut.of(c, f"/api/v1/me/face/checks/{c.id}/frames")


@router.post(
    "/me/face/checks/{check_id}/frames",
    response_model=FrameAckOut,
    responses=problem_responses(*_auth, *STREAM_FRAME_ERRORS),
)
def stream_frame(
    check_id: uuid.UUID,
    seq: SeqField,
    frame: StreamFramesField,
    user: CurrentLearner,
    session: SessionDep,
    captured_ms: CapturedField = None,
) -> FrameAckOut:
    """The learner's streamed check: frames in order (``seq`` 0, 1, 2, …, about 10 a second),
    one upload at a time, each upload carrying what the camera took since the previous one was
    sent (1 to 8 frames, with ``captured_ms`` when more than one). The last frame is stamped
    with the upload's arrival; the answer says which action to do now (``action``) and when to
    stop (``complete``). A frame out of order or sent twice voids the check (409)."""
    ack = checks.add_frames(
        session, user, check_id, seq=seq, frames=read_upload(frame), captured_ms=captured_ms
    )
    return FrameAckOut.of(ack)


@router.get("/me/face", response_model=FaceStatusOut, responses=problem_responses(*_auth))
def face_status(user: CurrentLearner, session: SessionDep) -> FaceStatusOut:
    """Whether the learner has an active face template, and whether it must be re-enrolled
    (made by an older face model)."""
    t = attendance.active_template(session, user.id)
    return FaceStatusOut(
        enrolled=t is not None,
        template_id=t.id if t else None,
        enrolled_at=t.created_at if t else None,
        biometric_consent=user.biometric_consent,
        reenrol_required=t is not None and not attendance.template_is_current(t),
        template_model=f"{t.face_engine}/{t.model_name}" if t else None,
    )


@router.post(
    "/me/face/enrol",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolOut,
    responses=problem_responses(
        *_auth,
        *FRAME_SUBMISSION_ERRORS,
        fx.FaceMatchesOtherLearner,
        fx.FaceReenrolUnconfirmed,
        InstitutionRequired,
    ),
)
def enrol(
    challenge_id: ChallengeField,
    user: CurrentLearner,
    session: SessionDep,
    request: Request,
    frames: FramesField = None,
) -> EnrolOut:
    """Enrol the learner's face from a liveness burst (≥ 3 good frames)."""
    template, event = attendance.enrol(
        session,
        user,
        challenge_id=challenge_id,
        frames=read_frames(frames),
        client=client_of(request),
    )
    return EnrolOut(
        template_id=template.id,
        attendance_event_id=event.id,
        quality={"frames": len(event.frame_sha256), "embeddings": template.n_embeddings},
    )


@router.get(
    "/me/attendance-events", response_model=list[EventOut], responses=problem_responses(*_auth)
)
def my_events(user: CurrentLearner, session: SessionDep) -> list[EventOut]:
    """The learner's own attendance events, newest first, with review decisions."""
    events = attendance.list_events(session, Principal.of_user(user))
    return [EventOut.of(e) for e in events]


@router.post(
    "/learners/{learner_id}/face/challenge",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeOut,
    responses=problem_responses(
        *_auth, MissingScope, UserNotFound, fx.ConsentRequired, fx.ConsentRenewalRequired
    ),
)
def partner_challenge(
    learner_id: uuid.UUID, principal: VerifyKey, session: SessionDep
) -> ChallengeOut:
    """A burst challenge for a learner of the caller's institution, for partners that capture
    frames themselves and send a finished burst to ``…/verify`` (its event records liveness
    mode ``burst``). The streamed protocol (``…/face/checks``) resists recorded video far
    better; prefer it when the partner's client can stream."""
    learner = accounts.get_managed_learner(session, principal, learner_id)
    c = attendance.create_challenge(
        session, learner, issued_to=str(principal.actor), actor=principal.actor
    )
    return ChallengeOut.of(c)


@router.post(
    "/learners/{learner_id}/face/checks",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeOut,
    responses=problem_responses(
        *_auth, MissingScope, UserNotFound, fx.ConsentRequired, fx.ConsentRenewalRequired
    ),
)
def partner_check(learner_id: uuid.UUID, principal: VerifyKey, session: SessionDep) -> ChallengeOut:
    """A streamed, server-paced check for a learner of the caller's institution.

    The partner's client streams the camera's frames in order to ``frames_url``, one upload at a
    time (``seq`` of the first frame, 1 to 8 ``frame`` parts and, with several, one
    ``captured_ms`` each: what the camera took, about 10 a second, while the previous upload was
    on its way), shows the
    learner each answer's ``action`` the moment it appears, and stops when an answer says
    ``complete``; then ``POST …/verify`` with this ``challenge_id`` and no frames decides. The
    event records liveness mode ``streamed``."""
    learner = accounts.get_managed_learner(session, principal, learner_id)
    c = checks.open_check(session, learner, issued_to=str(principal.actor), actor=principal.actor)
    return ChallengeOut.of(c, f"/api/v1/learners/{learner_id}/face/checks/{c.id}/frames")


@router.post(
    "/learners/{learner_id}/face/checks/{check_id}/frames",
    response_model=FrameAckOut,
    responses=problem_responses(*_auth, MissingScope, UserNotFound, *STREAM_FRAME_ERRORS),
)
def partner_stream_frame(
    learner_id: uuid.UUID,
    check_id: uuid.UUID,
    seq: SeqField,
    frame: StreamFramesField,
    principal: VerifyKey,
    session: SessionDep,
    captured_ms: CapturedField = None,
) -> FrameAckOut:
    """Frames of a partner's streamed check, as the learner's own ``…/me/face/checks/{id}/frames``
    takes them (1 to 8 per upload, ``captured_ms`` with more than one)."""
    learner = accounts.get_managed_learner(session, principal, learner_id)
    ack = checks.add_frames(
        session, learner, check_id, seq=seq, frames=read_upload(frame), captured_ms=captured_ms
    )
    return FrameAckOut.of(ack)


@router.post(
    "/learners/{learner_id}/verify",
    response_model=VerifyOut,
    responses=problem_responses(
        *_auth,
        MissingScope,
        UserNotFound,
        *FRAME_SUBMISSION_ERRORS,
        fx.FaceNotEnrolled,
        fx.FaceReenrolRequired,
        fx.VerificationLocked,
    ),
)
def partner_verify(
    learner_id: uuid.UUID,
    challenge_id: ChallengeField,
    principal: VerifyKey,
    session: SessionDep,
    request: Request,
    frames: FramesField = None,
) -> VerifyOut:
    """Verify a partner's check; the outcome is in the body (not an error). A burst challenge
    takes its frames here; a streamed check (``…/face/checks``) takes none."""
    learner = accounts.get_managed_learner(session, principal, learner_id)
    event = attendance.verify(
        session,
        learner,
        challenge_id=challenge_id,
        frames=read_frames(frames),
        purpose=Purpose.partner,
        client=client_of(request),
        actor=principal.actor,
        institution_id=principal.institution_id,
    )
    return VerifyOut(
        outcome=event.outcome,
        attendance_event_id=event.id,
        reason_code=event.reason_code,
        median_distance=event.median_distance,
        accept_threshold=event.accept_threshold,
        reject_threshold=event.reject_threshold,
        match_metric=event.match_metric,
    )


@router.get(
    "/attendance-events/{event_id}",
    response_model=EventOut,
    responses=problem_responses(*_auth, fx.EventNotFound),
)
def get_event(event_id: uuid.UUID, principal: AttendanceRead, session: SessionDep) -> EventOut:
    """One attendance event: the learner's own, their institution's (staff), any (regulators)."""
    return EventOut.of(attendance.get_event(session, principal, event_id))


@router.get(
    "/attendance-events/{event_id}/evidence",
    response_class=Response,
    responses={
        200: {
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The evidence face crop",
        },
        **problem_responses(*_auth, fx.EventNotFound, fx.EvidencePurged, StorageUnavailable),
    },
)
def get_evidence(event_id: uuid.UUID, principal: AttendanceRead, session: SessionDep) -> Response:
    """The evidence face crop (staff of the institution, regulators); never cached."""
    data = attendance.evidence(session, principal, event_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store, private"})


@router.get(
    "/review/attendance-events",
    response_model=list[ReviewItemOut],
    responses=problem_responses(*_auth),
)
def review_queue(
    principal: UserPrincipal,
    session: SessionDep,
    review_status: Annotated[ReviewStatus, Query(alias="status")] = ReviewStatus.pending,
) -> list[ReviewItemOut]:
    """Events waiting for (or past) staff review in the caller's institution."""
    rows = visible.review_queue(session, principal, (review_status,))
    return [ReviewItemOut.of_row(row) for row in rows]


@router.post(
    "/attendance-events/{event_id}/review",
    response_model=EventOut,
    responses=problem_responses(*_auth, fx.EventNotFound, fx.NothingToReview),
)
def decide(
    event_id: uuid.UUID, body: ReviewIn, principal: UserPrincipal, session: SessionDep
) -> EventOut:
    """Approve or reject an event in review, with a reason the learner will see."""
    event = attendance.review(
        session, principal, event_id, approve=body.decision == "approve", reason=body.reason
    )
    return EventOut.of(event)

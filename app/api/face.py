"""Face enrolment, verification, attendance events, staff review and evidence."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.accounts import service as accounts
from app.accounts.exceptions import InvalidToken, MissingScope, UserNotFound
from app.accounts.principal import Principal
from app.api.deps import CurrentLearner, SessionDep, UserPrincipal, require_scope
from app.attendance import exceptions as fx
from app.attendance import repository as visible
from app.attendance import service as attendance
from app.attendance.exceptions import FRAME_SUBMISSION_ERRORS
from app.attendance.models import Purpose, ReviewStatus
from app.attendance.schemas import (
    ChallengeOut,
    EnrolOut,
    EventOut,
    FaceStatusOut,
    ReviewIn,
    ReviewItemOut,
    VerifyOut,
)
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.http.frames import ChallengeField, FramesField, client_of, read_frames

router = APIRouter(tags=["face"])

_auth = (NotAuthenticated, InvalidToken, Forbidden)
VerifyKey = Annotated[Principal, require_scope("verify")]
AttendanceRead = Annotated[Principal, require_scope("attendance:read")]


@router.post(
    "/me/face/challenge",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeOut,
    responses=problem_responses(*_auth, fx.ConsentRequired),
)
def new_challenge(user: CurrentLearner, session: SessionDep) -> ChallengeOut:
    """A single-use liveness challenge: the actions to perform and a short expiry."""
    c = attendance.create_challenge(session, user)
    return ChallengeOut(
        challenge_id=c.id, nonce=c.nonce, actions=c.actions, expires_at=c.expires_at
    )


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
        *_auth, *FRAME_SUBMISSION_ERRORS, fx.FaceMatchesOtherLearner, fx.FaceReenrolUnconfirmed
    ),
)
def enrol(
    challenge_id: ChallengeField,
    frames: FramesField,
    user: CurrentLearner,
    session: SessionDep,
    request: Request,
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
    responses=problem_responses(*_auth, MissingScope, UserNotFound, fx.ConsentRequired),
)
def partner_challenge(
    learner_id: uuid.UUID, principal: VerifyKey, session: SessionDep
) -> ChallengeOut:
    """A challenge for a learner of the caller's institution (partners that capture frames)."""
    learner = accounts.get_managed_learner(session, principal, learner_id)
    c = attendance.create_challenge(
        session, learner, issued_to=str(principal.actor), actor=principal.actor
    )
    return ChallengeOut(
        challenge_id=c.id, nonce=c.nonce, actions=c.actions, expires_at=c.expires_at
    )


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
    frames: FramesField,
    principal: VerifyKey,
    session: SessionDep,
    request: Request,
) -> VerifyOut:
    """Verify frames a partner platform captured; the outcome is in the body (not an error)."""
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
        **problem_responses(*_auth, fx.EventNotFound, fx.EvidencePurged),
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

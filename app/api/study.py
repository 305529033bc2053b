"""Check-in, heartbeats, roll-call answers, progress and the ledger check."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from pydantic import ValidationError

from app import metrics
from app.accounts.exceptions import InvalidToken, MissingScope
from app.accounts.principal import Principal
from app.accounts.tokencache import Caller
from app.api.deps import (
    CoursesRead,
    CurrentLearner,
    LearnerForWrite,
    SessionDep,
    UserPrincipal,
    learner_for_write,
)
from app.attendance import exceptions as fx
from app.attendance import service as attendance
from app.attendance.exceptions import FRAME_SUBMISSION_ERRORS
from app.attendance.schemas import EventOut
from app.courses import exceptions as cx
from app.courses import study
from app.courses.progress import lesson_statuses, practical_passed, progress, study_time
from app.courses.rollcall_report import get_report, report_of
from app.courses.schemas import (
    CheckInOut,
    HeartbeatIn,
    HeartbeatOut,
    LedgerOut,
    LessonProgressOut,
    LessonTimeOut,
    ProgressOut,
    RollCallAnswerOut,
    RollCallExceptionIn,
    RollCallOffer,
    RollCallOut,
    SessionOut,
)
from app.courses.service import course_of, get_enrollment_for
from app.errors import Forbidden, NotAuthenticated, ValidationFailed, problem_responses
from app.http.frames import ChallengeField, FramesField, client_of, read_frames
from app.http.session import run_unit

router = APIRouter(tags=["study"])

_auth = (NotAuthenticated, InvalidToken, Forbidden)


@router.post(
    "/enrollments/{enrollment_id}/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=CheckInOut,
    responses=problem_responses(
        *_auth,
        *FRAME_SUBMISSION_ERRORS,
        cx.EnrollmentNotFound,
        fx.FaceMismatch,
        fx.FaceNotEnrolled,
        fx.FaceReenrolRequired,
        fx.VerificationLocked,
        cx.SessionActiveElsewhere,
    ),
)
def check_in(
    enrollment_id: uuid.UUID,
    challenge_id: ChallengeField,
    user: CurrentLearner,
    session: SessionDep,
    request: Request,
    take_over: Annotated[bool, Form(description="End a session open elsewhere")] = True,
    frames: FramesField = None,
) -> CheckInOut:
    """Face check-in: opens a study session (403 face_mismatch, event recorded, if not you)."""
    sess, event = study.check_in(
        session,
        user,
        enrollment_id=enrollment_id,
        challenge_id=challenge_id,
        frames=read_frames(frames),
        client=client_of(request),
        take_over=take_over,
    )
    enrollment = get_enrollment_for(session, Principal.of_user(user), enrollment_id)
    return CheckInOut(
        session_id=sess.id,
        attendance_event_id=event.id,
        heartbeat_interval_s=course_of(session, enrollment).heartbeat_interval_s,
        state=sess.state,
    )


@router.post(
    "/sessions/{session_id}/heartbeat",
    response_model=HeartbeatOut,
    responses=problem_responses(*_auth, cx.SessionNotFound, cx.SessionEnded, cx.LessonNotFound),
)
async def heartbeat(session_id: uuid.UUID, body: HeartbeatIn, caller: LearnerForWrite) -> Response:
    """The page is alive (and visible?): credit, state, and a due roll-call if any."""
    return await _heartbeat(session_id, body, caller)


async def heartbeat_fast_lane(request: Request, raw: bytes) -> Response | None:
    """:func:`heartbeat` in its fast lane (app/http/fastlane.py, registered in front of it): the
    same body model, the same caller check, the same answer; a body that does not validate is
    handed back to the declared route (None), whose 422 is FastAPI's."""
    try:
        body = HeartbeatIn.model_validate(json.loads(raw))
    except (ValueError, RecursionError, ValidationError):
        return None
    caller = await learner_for_write(request)
    return await _heartbeat(uuid.UUID(request.path_params["session_id"]), body, caller)


#: The fast lanes of this router's routes: (path, method, handler, UUID path parameters).
FAST_LANES = (("/sessions/{session_id}/heartbeat", "POST", heartbeat_fast_lane, ("session_id",)),)


async def _heartbeat(session_id: uuid.UUID, body: HeartbeatIn, caller: Caller) -> Response:
    # The hot path (every open page, every interval): see "hot write endpoints" in
    # app/http/session.py. The answer is serialised here (FastAPI would validate it again
    # against response_model, which stays for the OpenAPI document).
    r = await run_unit(
        lambda session: study.heartbeat(
            session,
            caller,
            session_id,
            visible=body.visible,
            lesson_id=body.lesson_id,
            position_ms=body.position_ms,
        )
    )
    metrics.HEARTBEATS.labels("yes" if r.earned_ms else "no").inc()
    offer = None
    if r.rollcall is not None:
        offer = RollCallOffer(rollcall_id=r.rollcall.id, deadline=r.rollcall.deadline)
    out = HeartbeatOut(
        credited_seconds=r.credited_seconds,
        rollcall=offer,
        state=r.state,
        earned_seconds=r.earned,
        furthest_position_ms=r.lesson_reach_ms,
        open_seconds=r.open_ms // 1000,
        held_seconds=r.held_ms // 1000,
        forfeited_seconds=r.forfeited_ms // 1000,
        lesson=None
        if r.lesson is None
        else LessonTimeOut(
            lesson_id=r.lesson.lesson_id,
            watched_seconds=r.lesson.watched_ms // 1000,
            open_seconds=r.lesson.open_ms // 1000,
            required_seconds=r.lesson.required_ms // 1000,
            finished=r.lesson.finished,
        ),
    )
    return Response(out.model_dump_json(), media_type="application/json")


@router.post(
    "/rollcalls/{rollcall_id}/response",
    response_model=RollCallAnswerOut,
    responses=problem_responses(
        *_auth,
        *FRAME_SUBMISSION_ERRORS,
        cx.RollCallNotFound,
        cx.RollCallExpired,
        cx.RollCallNotPending,
        fx.FaceNotEnrolled,
        fx.FaceReenrolRequired,
        fx.VerificationLocked,
    ),
)
def answer_rollcall(
    rollcall_id: uuid.UUID,
    challenge_id: ChallengeField,
    user: CurrentLearner,
    session: SessionDep,
    request: Request,
    frames: FramesField = None,
) -> RollCallAnswerOut:
    """Answer a roll-call before its deadline (410 rollcall_expired after it: recorded missed)."""
    rc, event = study.answer_rollcall(
        session,
        user,
        rollcall_id,
        challenge_id=challenge_id,
        frames=read_frames(frames),
        client=client_of(request),
    )
    report = report_of(session, rc)
    return RollCallAnswerOut(
        outcome=event.outcome,
        attendance_event_id=event.id,
        rollcall_status=rc.status,
        attempt=len(report.attempts),
        attempts_left=report.attempts_left,
        reason_code=event.reason_code,
        forfeited_seconds=report.forfeited_ms // 1000,
        stretch_from=report.stretch_from,
        credited_seconds=study_time(
            session, get_enrollment_for(session, Principal.of_user(user), rc.enrollment_id)
        ).shown_seconds,
    )


@router.get(
    "/rollcalls/{rollcall_id}",
    response_model=RollCallOut,
    responses=problem_responses(*_auth, MissingScope, cx.RollCallNotFound),
)
def get_rollcall(
    rollcall_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> RollCallOut:
    """A roll-call with every attempt and its reason, the time it cost, and any exception."""
    return RollCallOut.of(get_report(session, principal, rollcall_id))


@router.post(
    "/rollcalls/{rollcall_id}/exception",
    response_model=RollCallOut,
    responses=problem_responses(
        *_auth, cx.RollCallNotFound, cx.RollCallNotExcusable, ValidationFailed
    ),
)
def grant_rollcall_exception(
    rollcall_id: uuid.UUID, body: RollCallExceptionIn, principal: UserPrincipal, session: SessionDep
) -> RollCallOut:
    """Staff excuse a failed or missed roll-call: its forfeited time is credited again."""
    rc = study.grant_exception(session, principal, rollcall_id, reason=body.reason)
    return RollCallOut.of(report_of(session, rc))


@router.post(
    "/sessions/{session_id}/end",
    response_model=SessionOut,
    responses=problem_responses(*_auth, cx.SessionNotFound),
)
def end(session_id: uuid.UUID, user: CurrentLearner, session: SessionDep) -> SessionOut:
    """End the study session; the time since the last verification is credited."""
    sess = study.end_session(session, user, session_id)
    enrollment = get_enrollment_for(session, Principal.of_user(user), sess.enrollment_id)
    return SessionOut(
        session_id=sess.id, state=sess.state, credited_seconds=enrollment.credited_seconds
    )


@router.get(
    "/enrollments/{enrollment_id}",
    response_model=ProgressOut,
    responses=problem_responses(*_auth, MissingScope, cx.EnrollmentNotFound),
)
def get_progress(
    enrollment_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> ProgressOut:
    """Progress towards completion, with what is still missing in words."""
    enrollment = get_enrollment_for(session, principal, enrollment_id)
    lessons = lesson_statuses(session, enrollment)
    p = progress(
        enrollment, course_of(session, enrollment), lessons, practical_passed(session, enrollment)
    )
    return ProgressOut(
        enrollment_id=enrollment.id,
        course_id=enrollment.course_id,
        completed_at=enrollment.completed_at,
        **{k: v for k, v in p.__dict__.items() if k != "complete"},
        complete=enrollment.completed_at is not None,
        lessons=[
            LessonProgressOut(
                lesson_id=st.lesson_id,
                position=st.position,
                title=st.title,
                kind=st.kind,
                watched_seconds=st.watched_ms // 1000,
                required_seconds=st.required_ms // 1000,
                furthest_position_ms=st.reach_ms,
                finished=st.finished,
            )
            for st in lessons
        ],
    )


@router.get(
    "/enrollments/{enrollment_id}/attendance",
    response_model=list[EventOut],
    responses=problem_responses(*_auth, MissingScope, cx.EnrollmentNotFound),
)
def enrollment_attendance(
    enrollment_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> list[EventOut]:
    """The learner's attendance events at the enrolment's institution."""
    enrollment = get_enrollment_for(session, principal, enrollment_id)
    events = attendance.list_events(
        session,
        principal,
        user_id=enrollment.user_id,
        limit=1000,
        institution_id=enrollment.institution_id,
    )
    return [EventOut.of(e) for e in events]


@router.get(
    "/enrollments/{enrollment_id}/ledger",
    response_model=LedgerOut,
    responses=problem_responses(*_auth, MissingScope, cx.EnrollmentNotFound),
)
def ledger_check(
    enrollment_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> LedgerOut:
    """Recompute the verified time from stored events alone and compare with the stored total."""
    enrollment = get_enrollment_for(session, principal, enrollment_id)
    check = study.check_ledger(session, enrollment)
    r = check.recomputed
    return LedgerOut(
        stored_seconds=check.stored_seconds,
        recomputed_seconds=r.credited_seconds,
        forfeited_seconds=r.forfeited_seconds,
        held_seconds=r.held_seconds,
        stored_rollcalls=list(check.stored_rollcalls),
        recomputed_rollcalls=[r.rollcalls_total, r.rollcalls_passed],
        matches=check.matches,
        per_day={str(d): v for d, v in r.per_day.items()},
    )

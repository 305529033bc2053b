"""Blended training (线下实训): offline sessions of a class, the check-in station that verifies
each learner's face on the site's camera, practical assessments, and the learner's own sessions
with their short-lived QR. The rules are app/courses/offline.py's."""

from __future__ import annotations

import uuid
from typing import Annotated

import segno
from fastapi import APIRouter, Request, status
from sqlmodel import Session

from app import clock
from app.accounts import exceptions as ax
from app.accounts.principal import Principal
from app.api.deps import CurrentLearner, CurrentUser, SessionDep, require_scope
from app.attendance import exceptions as fx
from app.attendance.exceptions import FRAME_SUBMISSION_ERRORS, STREAM_FRAME_ERRORS
from app.attendance.schemas import FrameAckOut
from app.config import get_settings
from app.courses import exceptions as cx
from app.courses import offline
from app.courses import offline_records as records
from app.courses import offline_station as station
from app.courses.models import OfflineSession
from app.courses.offline_schemas import (
    AssessmentIn,
    AssessmentOut,
    AttendanceLineOut,
    AttendanceSheetOut,
    CancelIn,
    MyOfflineSessionOut,
    OfflineSessionIn,
    OfflineSessionOut,
    QrTokenOut,
    StationCheckOut,
    StationResultOut,
    StationScanIn,
)
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.http.frames import (
    CapturedField,
    FrameField,
    SeqField,
    StreamFramesField,
    client_of,
    read_frame,
    read_upload,
)

router = APIRouter(tags=["offline"])

CoursesRead = Annotated[Principal, require_scope("courses:read")]

_user_auth = (NotAuthenticated, ax.InvalidToken, ax.InsufficientRole, Forbidden)
_read_auth = (NotAuthenticated, ax.InvalidToken, ax.MissingScope, Forbidden)
_station = (*_user_auth, cx.OfflineSessionNotFound)


def _out(session: Session, s: OfflineSession) -> OfflineSessionOut:
    return OfflineSessionOut.of(offline.summary(session, s))


@router.post(
    "/classes/{class_id}/offline-sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=OfflineSessionOut,
    responses=problem_responses(
        *_user_auth, cx.ClassNotFound, cx.ClassClosed, cx.InvalidOfflineSession
    ),
)
def schedule(
    class_id: uuid.UUID, body: OfflineSessionIn, user: CurrentUser, session: SessionDep
) -> OfflineSessionOut:
    """Schedule an offline practical session for a class (staff of its institution)."""
    s = offline.schedule_session(
        session,
        Principal.of_user(user),
        class_id,
        title=body.title,
        site_address=body.site_address,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        capacity=body.capacity,
        instructor_id=body.instructor_id,
    )
    return _out(session, s)


@router.get(
    "/courses/{course_id}/offline-sessions",
    response_model=list[OfflineSessionOut],
    responses=problem_responses(*_read_auth, cx.OfflineSessionNotFound),
)
def list_sessions(
    course_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> list[OfflineSessionOut]:
    """A course's offline sessions, earliest first, with how many checked in and out."""
    return [OfflineSessionOut.of(s) for s in offline.list_sessions(session, principal, course_id)]


@router.get(
    "/offline-sessions/{offline_session_id}",
    response_model=AttendanceSheetOut,
    responses=problem_responses(*_read_auth, cx.OfflineSessionNotFound),
)
def get_session(
    offline_session_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> AttendanceSheetOut:
    """One session with every learner of its class: check-in, check-out, offline minutes and
    the practical assessment."""
    s, lines = offline.attendance_sheet(session, principal, offline_session_id)
    return AttendanceSheetOut(
        session=_out(session, s), learners=[AttendanceLineOut.of(line) for line in lines]
    )


@router.post(
    "/offline-sessions/{offline_session_id}/cancel",
    response_model=OfflineSessionOut,
    responses=problem_responses(*_station, cx.InvalidOfflineSession, cx.OfflineSessionClosed),
)
def cancel(
    offline_session_id: uuid.UUID, body: CancelIn, user: CurrentUser, session: SessionDep
) -> OfflineSessionOut:
    """Cancel a session nobody has checked in to, with a reason."""
    s = offline.cancel_session(
        session, Principal.of_user(user), offline_session_id, reason=body.reason
    )
    return _out(session, s)


@router.post(
    "/offline-sessions/{offline_session_id}/station/checks",
    status_code=status.HTTP_201_CREATED,
    response_model=StationCheckOut,
    responses=problem_responses(
        *_station,
        cx.OfflineTokenInvalid,
        cx.OfflineTokenExpired,
        cx.OfflineTokenUsed,
        cx.OfflineNotOnRoster,
        cx.OfflineAlreadyDone,
        cx.OfflineSessionClosed,
        cx.OfflineSessionFull,
        fx.ConsentRequired,
    ),
)
def scan(
    offline_session_id: uuid.UUID, body: StationScanIn, user: CurrentUser, session: SessionDep
) -> StationCheckOut:
    """The station scanned a learner's QR: a streamed face check of that learner opens —
    check-in if they have not checked in, else check-out. Stream the station camera's frames
    to ``frames_url`` (as with ``/me/face/checks``), then POST ``decide_url``."""
    c = station.open_station_check(session, Principal.of_user(user), offline_session_id, body.token)
    return StationCheckOut.of(c, offline_session_id)


@router.post(
    "/offline-sessions/{offline_session_id}/station/qr-pictures",
    status_code=status.HTTP_201_CREATED,
    response_model=StationCheckOut,
    responses=problem_responses(
        *_station,
        fx.NotAnImage,
        fx.ImageTooLarge,
        cx.OfflineQrNotFound,
        cx.OfflineTokenInvalid,
        cx.OfflineTokenExpired,
        cx.OfflineTokenUsed,
        cx.OfflineNotOnRoster,
        cx.OfflineAlreadyDone,
        cx.OfflineSessionClosed,
        cx.OfflineSessionFull,
        fx.ConsentRequired,
    ),
)
def scan_picture(
    offline_session_id: uuid.UUID, frame: FrameField, user: CurrentUser, session: SessionDep
) -> StationCheckOut:
    """The station camera's picture of a learner's phone, for browsers that cannot read QR
    codes themselves: the server finds the QR (422 ``offline_qr_not_found`` if there is none —
    send the next picture) and then does exactly what ``…/station/checks`` does."""
    c = station.open_station_check_from_picture(
        session,
        Principal.of_user(user),
        offline_session_id,
        read_frame(frame),
        max_bytes=get_settings().face_max_frame_bytes,
    )
    return StationCheckOut.of(c, offline_session_id)


@router.post(
    "/offline-sessions/{offline_session_id}/station/checks/{check_id}/frames",
    response_model=FrameAckOut,
    responses=problem_responses(*_station, *STREAM_FRAME_ERRORS),
)
def station_frame(
    offline_session_id: uuid.UUID,
    check_id: uuid.UUID,
    seq: SeqField,
    frame: StreamFramesField,
    user: CurrentUser,
    session: SessionDep,
    captured_ms: CapturedField = None,
) -> FrameAckOut:
    """Frames of the station's camera (``seq`` 0, 1, 2, … about 10 a second, one upload at a
    time, 1 to 8 frames each with ``captured_ms`` when more than one); the answer says which
    action the learner does now and when the check is complete."""
    ack = station.station_frame(
        session,
        Principal.of_user(user),
        offline_session_id,
        check_id,
        seq=seq,
        frames=read_upload(frame),
        captured_ms=captured_ms,
    )
    return FrameAckOut.of(ack)


@router.post(
    "/offline-sessions/{offline_session_id}/station/checks/{check_id}/decide",
    response_model=StationResultOut,
    responses=problem_responses(
        *_station,
        *FRAME_SUBMISSION_ERRORS,
        fx.FaceMismatch,
        fx.FaceNotEnrolled,
        fx.FaceReenrolRequired,
        fx.VerificationLocked,
        cx.OfflineNotOnRoster,
        cx.OfflineAlreadyDone,
        cx.OfflineSessionClosed,
        cx.OfflineSessionFull,
    ),
)
def decide(
    offline_session_id: uuid.UUID,
    check_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
) -> StationResultOut:
    """Decide the station's check: the learner's face against their template, purpose
    ``offline_checkin`` / ``offline_checkout``. Passed: the check-in is recorded, or the
    check-out and the session's offline minutes (verified check-in to check-out, within the
    session's window). Not passed: refused with the reason (403 ``face_mismatch`` for a
    stranger's face), the face event kept."""
    r = station.decide_station_check(
        session, Principal.of_user(user), offline_session_id, check_id, client=client_of(request)
    )
    return StationResultOut.of(r)


@router.put(
    "/offline-sessions/{offline_session_id}/assessments/{enrollment_id}",
    response_model=AssessmentOut,
    responses=problem_responses(
        *_station, cx.EnrollmentNotFound, cx.OfflineNotCheckedIn, cx.InvalidOfflineSession
    ),
)
def assess(
    offline_session_id: uuid.UUID,
    enrollment_id: uuid.UUID,
    body: AssessmentIn,
    user: CurrentUser,
    session: SessionDep,
) -> AssessmentOut:
    """The session's instructor marks a learner who checked in as passed or failed (实操考核),
    with a note; marking again replaces the result."""
    mark = records.assess(
        session,
        Principal.of_user(user),
        offline_session_id,
        enrollment_id,
        passed=body.passed,
        note=body.note,
    )
    return AssessmentOut.of(mark)


@router.get(
    "/me/offline-sessions",
    response_model=list[MyOfflineSessionOut],
    responses=problem_responses(*_user_auth),
)
def my_sessions(user: CurrentLearner, session: SessionDep) -> list[MyOfflineSessionOut]:
    """The offline sessions of the learner's classes, with their check-in, check-out, minutes
    and assessment, and whether the station takes their QR now."""
    now = clock.now()
    return [MyOfflineSessionOut.of(m, now) for m in offline.my_sessions(session, user)]


@router.post(
    "/me/offline-sessions/{offline_session_id}/qr-token",
    status_code=status.HTTP_201_CREATED,
    response_model=QrTokenOut,
    responses=problem_responses(
        *_user_auth,
        cx.OfflineSessionNotFound,
        cx.OfflineSessionClosed,
        cx.OfflineAlreadyDone,
    ),
)
def qr_token(
    offline_session_id: uuid.UUID, user: CurrentLearner, session: SessionDep
) -> QrTokenOut:
    """A fresh station QR token for one of the learner's sessions: bound to the learner and the
    session, valid 60 s, good for one scan. Show it as a QR code and fetch a new one every
    ``refresh_in_s`` seconds."""
    t = station.issue_token(session, user, offline_session_id)
    qr = segno.make(t.token, error="m", micro=False)
    return QrTokenOut(
        token=t.token,
        expires_at=t.expires_at,
        refresh_in_s=t.refresh_in_s,
        qr_svg=str(qr.svg_data_uri(scale=1, border=4, omitsize=True, dark="#000", light="#fff")),
    )

"""The learner's pages: the catalogue and enrolment, their courses, study, quiz, progress and
the training record.

Pages are server-rendered; the camera, heartbeats, roll-calls and the quiz run in small ES
modules (``static/js``) that call the REST API with the session cookie and the CSRF header.
Handlers only translate HTTP: the rules live in the services they call.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts import registration
from app.accounts.consent import consent_is_current
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent
from app.certificates.outlook import course_outlook
from app.certificates.subsidy import yuan
from app.config import get_settings
from app.courses import classes, invites, quiz
from app.courses import exceptions as cx
from app.courses import service as courses
from app.courses.media import watchable_lesson
from app.courses.models import Course, Enrollment
from app.courses.progress import (
    lesson_statuses,
    open_lesson_ms,
    practical_passed,
    progress,
    study_time,
)
from app.courses.rollcall import MAX_ATTEMPTS
from app.courses.rollcall_report import RollCallReport, decided_reports, interruption
from app.db import attempt
from app.errors import DomainError
from app.http.media import media_response
from app.http.session import SessionDep
from app.web.attendance_words import (
    clock_time,
    counter_words,
    event_reason,
    reason_words,
    rollcall_reason,
    rollcall_sentence,
    time_notes,
)
from app.web.i18n import (
    Lang,
    lang_of,
    message_for,
)
from app.web.render import (
    error_page,
    not_learner,
    redirect,
    render,
    to_login,
)
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)

#: The programme's own rules (app/programmes/eligibility.py) as the course page names them.
PROGRAMME_RULE_NAMES = {
    "target_group": "人员类别：",
    "age": "年龄：",
    "residence": "户籍或居住地：",
    "certificate_kind": "证书类型：",
}


# ---------------------------------------------------------------- courses


def _enrolments_by_course(session: Session, user: User) -> dict[uuid.UUID, Enrollment]:
    return {
        e.course_id: e for e, _c in courses.list_my_enrollments(session, Principal.of_user(user))
    }


@router.get("/courses")
def catalogue_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    rows, _next = courses.list_catalogue(session, limit=200)
    mine = _enrolments_by_course(session, user) if user.role is Role.learner else {}
    return render(request, "catalogue.html", user, courses=rows, mine=mine)


@router.get("/courses/{course_id}")
def course_page(
    request: Request, course_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    if user is None:
        return to_login(request)
    principal = Principal.of_user(user)
    try:
        course = courses.get_course(session, principal, course_id)
        lessons = courses.list_lessons(session, principal, course_id)
    except DomainError as err:
        return error_page(request, user, err)
    mine = (
        _enrolments_by_course(session, user).get(course.id) if user.role is Role.learner else None
    )
    return render(
        request,
        "course.html",
        user,
        course=course,
        lessons=lessons,
        enrollment=mine,
        outlook=course_outlook(session, course, user),
        yuan=yuan,
        programme_rule_names=PROGRAMME_RULE_NAMES,
    )


@router.post("/courses/{course_id}/enrol")
def course_enrol(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    try:
        with attempt(session):
            enrollment = courses.enrol(session, Principal.of_user(user), course_id)
    except cx.AlreadyEnrolled as err:
        return redirect(request, f"/study/{err.extra.get('enrollment_id')}", "already_enrolled")
    except DomainError as err:
        return error_page(request, user, err)
    return redirect(request, f"/study/{enrollment.id}", "enrolled")


def _my(
    request: Request,
    user: User,
    session: Session,
    *,
    status: int = 200,
    join_error: str | None = None,
    typed: str = "",
) -> Response:
    rows = courses.list_my_enrollments(session, Principal.of_user(user))
    enrolled = attendance.active_template(session, user.id) is not None
    items = [(e, c, progress(e, c)) for e, c in rows]
    mine = [e for e, _c in rows]
    klasses = classes.classes_of(session, mine)
    return render(
        request,
        "my.html",
        user,
        items=items,
        klasses=klasses,
        teachers=classes.head_teacher_names(session, list(klasses.values())),
        face_enrolled=enrolled,
        face_reenrol=attendance.needs_reenrolment(session, user.id),
        status=status,
        join_error=join_error,
        typed=typed,
    )


@router.get("/my")
def my_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    if registration.needs_institution(user):
        return redirect(request, "/institution", "need_institution")
    return _my(request, user, session)


@router.post("/my/join")
def join_class(
    request: Request,
    user: PageUser,
    session: SessionDep,
    code: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Enrol in the class of a class invite code (the rule of ``POST /me/enrollments/by-code``)."""
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    try:
        with attempt(session):
            invites.join_with_code(session, Principal.of_user(user), code)
    except classes.AlreadyInClass:  # a second tap, the code typed again: she is in that class
        return redirect(request, "/my", "class_already_joined")
    except DomainError as err:  # InAnotherClass too: why the code cannot move her, whom to ask
        return _my(
            request,
            user,
            session,
            status=err.status,
            join_error=message_for(err, lang_of(request)),
            typed=code,
        )
    return redirect(request, "/my", "class_joined")


# ---------------------------------------------------------------- study, quiz, progress


def _learner_enrollment(
    request: Request, user: User | None, session: Session, enrollment_id: uuid.UUID
) -> tuple[Enrollment, Course] | Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    try:
        enrollment = courses.get_enrollment_for(session, Principal.of_user(user), enrollment_id)
    except DomainError as err:
        return error_page(request, user, err)
    return enrollment, courses.course_of(session, enrollment)


def _face_ready(request: Request, user: User, session: Session) -> Response | None:
    if not consent_is_current(user):
        return redirect(request, "/consent", "need_consent")
    if attendance.active_template(session, user.id) is None:
        return redirect(request, "/face", "need_face")
    if attendance.needs_reenrolment(session, user.id):
        return redirect(request, "/face", "need_reenrol")
    return None


@router.get("/study/{enrollment_id}")
def study_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    found = _learner_enrollment(request, user, session, enrollment_id)
    if isinstance(found, Response):
        return found
    assert user is not None  # noqa: S101 - _learner_enrollment returned a response otherwise
    enrollment, course = found
    lang: Lang = lang_of(request)
    lessons = courses.list_lessons(session, Principal.of_user(user), course.id)
    statuses = lesson_statuses(session, enrollment)
    time = study_time(session, enrollment)
    stopped = interruption(session, enrollment)
    return render(
        request,
        "study.html",
        user,
        enrollment=enrollment,
        course=course,
        lessons=lessons,
        statuses={st.lesson_id: st for st in statuses},
        open_ms=open_lesson_ms(session, enrollment),
        p=progress(enrollment, course, statuses, practical_passed(session, enrollment)),
        time=time,
        time_notes=time_notes(time, lang),
        counter=lambda s: counter_words(s, lang),
        stopped=stopped,
        stopped_words=rollcall_sentence(stopped, lang) if stopped else None,
        stopped_reason=rollcall_reason(stopped, lang, _last_failed_event(session, user, stopped))
        if stopped
        else None,
        max_attempts=MAX_ATTEMPTS,
        face_block=_face_ready(request, user, session) is not None,
        face_reenrol=attendance.needs_reenrolment(session, user.id),
        consent=consent_is_current(user),
        max_frames=get_settings().face_max_frames,
    )


def _last_failed_event(
    session: Session, user: User, report: RollCallReport
) -> AttendanceEvent | None:
    last = report.last_failed
    if last is None:
        return None
    return attendance.get_event(session, Principal.of_user(user), last.attendance_event_id)


@router.get("/quiz/{enrollment_id}")
def quiz_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    found = _learner_enrollment(request, user, session, enrollment_id)
    if isinstance(found, Response):
        return found
    assert user is not None  # noqa: S101
    enrollment, course = found
    blocked = _face_ready(request, user, session)
    if blocked is not None:
        return blocked
    attempts = quiz.list_attempts(session, Principal.of_user(user), enrollment.id)
    # The course's rule, as the API applies it (409 quiz_not_open): closed until the hours.
    closed = quiz.not_open(enrollment, course)
    return render(
        request,
        "quiz.html",
        user,
        enrollment=enrollment,
        course=course,
        attempts=attempts,
        attempts_left=max(course.quiz_max_attempts - len(attempts), 0),
        closed=closed,
        closed_message=message_for(closed, lang_of(request)) if closed else None,
        max_frames=get_settings().face_max_frames,
    )


@router.get("/progress/{enrollment_id}")
def progress_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    found = _learner_enrollment(request, user, session, enrollment_id)
    if isinstance(found, Response):
        return found
    enrollment, course = found
    lang: Lang = lang_of(request)
    p = progress(enrollment, course, practical=practical_passed(session, enrollment))
    time = study_time(session, enrollment)
    return render(
        request,
        "progress.html",
        user,
        enrollment=enrollment,
        course=course,
        p=p,
        time=time,
        time_notes=time_notes(time, lang),
        counter=lambda s: counter_words(s, lang),
        missing=p.missing_zh if lang == "zh" else p.missing,
        certificate=_certificate_serial(session, enrollment.id),
    )


def _certificate_serial(session: Session, enrollment_id: uuid.UUID) -> str | None:
    try:
        from app.certificates.service import certificate_of
    except ImportError:  # pragma: no cover - the certificates package is not installed
        return None
    cert = certificate_of(session, enrollment_id)
    return cert.serial if cert is not None else None


@router.get("/record")
def record_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    principal = Principal.of_user(user)
    rows = courses.list_my_enrollments(session, principal)
    items = [(e, c, progress(e, c), _certificate_serial(session, e.id)) for e, c in rows]
    events = attendance.list_events(session, principal, user_id=user.id, limit=200)
    lang: Lang = lang_of(request)
    titles = {e.id: c.title for e, c in rows}
    by_id = {ev.id: ev for ev in events}

    def words(code: str | None, event_id: uuid.UUID) -> str:
        ev = by_id.get(event_id)
        return event_reason(ev, lang) if ev is not None else reason_words(code, lang)

    # Every roll-call that did not simply pass: what it cost and why, attempt by attempt.
    rollcalls = [
        {
            "report": r,
            "course": titles.get(r.rollcall.enrollment_id, ""),
            "sentence": rollcall_sentence(r, lang),
            "reason": rollcall_reason(
                r, lang, by_id.get(r.last_failed.attendance_event_id) if r.last_failed else None
            ),
            "attempts": [
                (a, words(a.reason_code, a.attendance_event_id) if a.outcome != "passed" else "")
                for a in r.attempts
            ],
        }
        for r in decided_reports(session, list(titles))
        if r.rollcall.status.value != "passed" or r.rollcall.excused_at is not None
    ]
    return render(
        request,
        "record.html",
        user,
        items=items,
        events=events,
        rollcalls=rollcalls,
        reason=lambda ev: event_reason(ev, lang),
        clock_time=clock_time,
    )


# ---------------------------------------------------------------- lesson videos


@router.get("/media/lessons/{lesson_id}/{what}")
def lesson_media(
    request: Request, lesson_id: uuid.UUID, what: str, user: PageUser, session: SessionDep
) -> Response:
    """A hosted lesson video (byte ranges) or its poster, for the study page's ``<video>``
    (the same response as ``GET /api/v1/lessons/{id}/video``; the cookie is the caller)."""
    if what not in ("video", "poster"):
        return error_page(request, user, cx.VideoNotFound())
    if user is None:
        return to_login(request)
    try:
        lesson = watchable_lesson(session, Principal.of_user(user), lesson_id)
        return media_response(lesson, request.headers, poster=what == "poster")
    except DomainError as err:
        return error_page(request, user, err)

"""A draft course's lessons and question bank (a published course is frozen)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.courses import media
from app.courses import service as courses
from app.courses.models import QuestionKind as QKind
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.validation import ascii_int
from app.web.i18n import gettext, lang_of, message_for
from app.web.render import (
    act,
    redirect,
)
from app.web.session import PageUser
from app.web.staff.courses import course_refused, course_view
from app.web.staff.forms import (
    LESSON_RULES,
    MAX_OPTION_ROWS,
    NOT_A_NUMBER,
    QUESTION_RULES,
    LessonForm,
    QuestionForm,
    field_error,
    rule,
    staff_post,
)

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- lessons


def _minutes(form: LessonForm, t: Any) -> tuple[int | None, dict[str, str]]:
    raw = form.minutes.strip()
    if not re.fullmatch(r"-?\d{1,9}", raw):
        return None, {"minutes": t(NOT_A_NUMBER) + " " + rule(t, LESSON_RULES, "minutes")}
    return int(raw), {}


def _lesson_post(
    request: Request,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID | None,
    user: User | None,
    session: Session,
    form: LessonForm,
) -> Response:
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    target = str(lesson_id) if lesson_id else "new"
    keep = {"lesson_target": target, "lesson_values": form.model_dump(exclude={"csrf", "once"})}
    minutes, errors = _minutes(form, gettext(lang))
    if minutes is None:
        return course_view(
            request, staff, session, course_id, status=422, lesson_errors=errors, **keep
        )
    principal = Principal.of_user(staff)

    fields = {"title": form.title, "kind": form.kind, "body_or_url": form.body_or_url}

    def change() -> object:
        if lesson_id is None:
            return courses.add_lesson(session, principal, course_id, minutes=minutes, **fields)
        return courses.update_lesson(
            session, principal, course_id, lesson_id, minutes=minutes, **fields
        )

    def refused(err: DomainError) -> Response:
        errors = field_error(err, lang, LESSON_RULES, "body_or_url")
        return course_refused(request, staff, session, course_id, err, lesson_errors=errors, **keep)

    flash = "lesson_added" if lesson_id is None else "lesson_saved"
    return act(
        request,
        session,
        staff,
        change,
        refused=refused,
        done=lambda _: redirect(request, f"/staff/courses/{course_id}#lessons", flash),
        once=form.once if lesson_id is None else "",
    )


@router.post("/staff/courses/{course_id}/lessons")
def add_lesson(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[LessonForm, Form()],
) -> Response:
    """A new lesson, only while the course is a draft (the page shows no form afterwards; the
    service refuses a published course with 409 ``course_published``, as the API does)."""
    return _lesson_post(request, course_id, None, user, session, form)


@router.post("/staff/courses/{course_id}/lessons/video")
def add_video_lesson(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)],
    title: Annotated[str, Form(max_length=400)],
    minutes: Annotated[str, Form(max_length=12)],
    file: Annotated[UploadFile, File()],
) -> Response:
    """A lesson with a video the platform hosts (the API's upload, from the course page)."""
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    keep = {"video_values": {"title": title, "minutes": minutes}}
    if not re.fullmatch(r"\d{1,9}", minutes.strip()):
        t = gettext(lang)
        errors = {"minutes": t(NOT_A_NUMBER) + " " + rule(t, LESSON_RULES, "minutes")}
        return course_view(
            request, staff, session, course_id, status=422, video_errors=errors, **keep
        )
    try:
        with attempt(session):
            media.add_video_lesson(
                session,
                Principal.of_user(staff),
                course_id,
                title=title,
                minutes=int(minutes),
                upload=file.file,
            )
    except DomainError as err:
        field = err.extra.get("field")
        if field == "minutes":
            errors = {"minutes": gettext(lang)("要求学习时长不能超过视频长度（按分钟向上取整）。")}
        elif field == "title":
            errors = field_error(err, lang, LESSON_RULES, "title")
        else:  # the video itself: its type, codec, size or length, in words
            errors = {"file": message_for(err, lang)}
        return course_refused(request, staff, session, course_id, err, video_errors=errors, **keep)
    return redirect(request, f"/staff/courses/{course_id}#lessons", "lesson_added")


@router.post("/staff/courses/{course_id}/lessons/{lesson_id}")
def update_lesson(
    request: Request,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[LessonForm, Form()],
) -> Response:
    return _lesson_post(request, course_id, lesson_id, user, session, form)


def _course_edit(
    request: Request,
    user: User | None,
    session: Session,
    csrf: str,
    course_id: uuid.UUID,
    change: Callable[[Principal], object],
    section: str,
    flash: str,
) -> Response:
    """A one-button change of a course (move, remove): done and back to its section with a
    flash, or the course page with the refusal in words."""
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    return act(
        request,
        session,
        staff,
        lambda: change(Principal.of_user(staff)),
        refused=lambda err: course_refused(
            request, staff, session, course_id, err, error=message_for(err, lang)
        ),
        done=lambda _: redirect(request, f"/staff/courses/{course_id}#{section}", flash),
    )


@router.post("/staff/courses/{course_id}/lessons/{lesson_id}/move")
def move_lesson(
    request: Request,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    to: Annotated[int, Form(ge=1, le=100_000)],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _course_edit(
        request,
        user,
        session,
        csrf,
        course_id,
        lambda who: courses.move_lesson(session, who, course_id, lesson_id, position=to),
        "lessons",
        "lesson_moved",
    )


@router.post("/staff/courses/{course_id}/lessons/{lesson_id}/remove")
def remove_lesson(
    request: Request,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _course_edit(
        request,
        user,
        session,
        csrf,
        course_id,
        lambda who: courses.remove_lesson(session, who, course_id, lesson_id),
        "lessons",
        "lesson_removed",
    )


# ---------------------------------------------------------------- questions


def parse_question(form: QuestionForm) -> tuple[list[str] | None, list[int] | None]:
    """Option rows as typed (blank rows dropped) and the ticked rows as indexes of the kept
    options; ``(None, None)`` when a ticked row is blank. A judge question with every row
    blank takes the default options (the first row is 正确, the second 错误)."""
    rows = [o.strip() for o in form.option]
    ticked: set[int] = set()
    for a in form.answer:
        index = ascii_int(a)
        if index is None or index >= MAX_OPTION_ROWS:
            return None, None
        ticked.add(index)
    if form.kind == QKind.judge.value and not any(rows):
        return [], sorted(i for i in ticked)
    kept = [i for i, o in enumerate(rows) if o]
    if any(i >= len(rows) or not rows[i] for i in ticked):
        return None, None
    return [rows[i] for i in kept], sorted(kept.index(i) for i in ticked)


def _question_post(
    request: Request,
    course_id: uuid.UUID,
    question_id: uuid.UUID | None,
    user: User | None,
    session: Session,
    form: QuestionForm,
) -> Response:
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    t = gettext(lang)
    target = str(question_id) if question_id else "new"
    values = {
        "kind": form.kind,
        "stem": form.stem,
        "options": list(form.option),
        "answer": [i for i in map(ascii_int, form.answer) if i is not None],
    }
    keep = {"question_target": target, "question_values": values}
    options, answer = parse_question(form)
    if options is None or answer is None:
        errors = {"answer": rule(t, QUESTION_RULES, "answer")}
        return course_view(
            request, staff, session, course_id, status=422, question_errors=errors, **keep
        )
    principal = Principal.of_user(staff)

    def change() -> object:
        kind, stem = form.kind, form.stem
        if question_id is None:
            return courses.add_question(
                session,
                principal,
                course_id,
                kind=kind,
                stem=stem,
                options=options or None,
                answer=answer,
            )
        return courses.update_question(
            session,
            principal,
            course_id,
            question_id,
            kind=kind,
            stem=stem,
            options=options,
            answer=answer,
        )

    def refused(err: DomainError) -> Response:
        errors = field_error(err, lang, QUESTION_RULES, "answer")
        return course_refused(
            request, staff, session, course_id, err, question_errors=errors, **keep
        )

    flash = "question_added" if question_id is None else "question_saved"
    return act(
        request,
        session,
        staff,
        change,
        refused=refused,
        done=lambda _: redirect(request, f"/staff/courses/{course_id}#questions", flash),
        once=form.once if question_id is None else "",
    )


@router.post("/staff/courses/{course_id}/questions")
def add_question(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[QuestionForm, Form()],
) -> Response:
    """A new question, only while the course is a draft (the page shows no form afterwards;
    the service refuses a published course, as the API does)."""
    return _question_post(request, course_id, None, user, session, form)


@router.post("/staff/courses/{course_id}/questions/{question_id}")
def update_question(
    request: Request,
    course_id: uuid.UUID,
    question_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[QuestionForm, Form()],
) -> Response:
    return _question_post(request, course_id, question_id, user, session, form)


@router.post("/staff/courses/{course_id}/questions/{question_id}/remove")
def remove_question(
    request: Request,
    course_id: uuid.UUID,
    question_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _course_edit(
        request,
        user,
        session,
        csrf,
        course_id,
        lambda who: courses.remove_question(session, who, course_id, question_id),
        "questions",
        "question_removed",
    )

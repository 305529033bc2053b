"""A course's lessons and question bank: add, list, edit, move, remove.

A published course is frozen: adding, editing, moving and removing are for drafts only (409
``course_published``, through the API and the pages alike): learners were credited and examined
on them. Questions are
audited by content hash, so the answer stays out of the trail.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.chain import canonical
from app.courses.exceptions import (
    InvalidLesson,
    InvalidQuestion,
    LessonNotFound,
    QuestionNotFound,
)
from app.courses.media import forget_video
from app.courses.models import (
    Course,
    CourseStatus,
    Lesson,
    LessonKind,
    Question,
    QuestionKind,
)
from app.courses.policy import (
    JUDGE_OPTIONS,
    LESSON_BODY_CHARS,
    LESSON_MINUTES,
    OPTION_CHARS,
    OPTIONS,
    STEM_CHARS,
    TITLE_CHARS,
    _author,
    _bounded,
    _draft_for_write,
    _owner_staff,
    _text,
    get_course,
)

# ---------------------------------------------------------------- lessons


def _check_video_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidLesson("A video lesson needs an http(s) URL.", field="body_or_url")
    if any(c.isspace() for c in url):
        raise InvalidLesson("The video URL must not contain spaces.", field="body_or_url")


def add_lesson(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    *,
    title: str,
    kind: LessonKind | str,
    body_or_url: str,
    minutes: int,
) -> Lesson:
    """Append a lesson (text, or an http(s) video URL) to a draft course."""
    course = _draft_for_write(session, principal, course_id)
    title = _text(title, "title", TITLE_CHARS, InvalidLesson)
    try:
        kind = LessonKind(kind)
    except ValueError:
        raise InvalidLesson("kind must be video or text.", field="kind") from None
    body_or_url = _text(body_or_url, "body_or_url", LESSON_BODY_CHARS, InvalidLesson)
    if kind is LessonKind.video:
        _check_video_url(body_or_url)
    _bounded(minutes, "minutes", LESSON_MINUTES, InvalidLesson)
    last = session.exec(
        select(func.max(col(Lesson.position))).where(col(Lesson.course_id) == course.id)
    ).one()
    lesson = Lesson(
        course_id=course.id,
        position=(last or 0) + 1,
        title=title,
        kind=kind,
        body_or_url=body_or_url,
        minutes=minutes,
        created_at=clock.now(),
    )
    session.add(lesson)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.added",
        subject=f"lesson:{lesson.id}",
        payload={
            "course": str(course.id),
            "position": lesson.position,
            "title": lesson.title,
            "kind": kind.value,
            "minutes": minutes,
            "content_sha256": hashlib.sha256(body_or_url.encode()).hexdigest(),
            "course_published": course.status is CourseStatus.published,
        },
        institution_id=course.institution_id,
    )
    return lesson


def list_lessons(session: Session, principal: Principal, course_id: uuid.UUID) -> list[Lesson]:
    """The lessons of a course the caller may read, in order."""
    course = get_course(session, principal, course_id)
    return list(
        session.exec(
            select(Lesson)
            .where(col(Lesson.course_id) == course.id)
            .order_by(col(Lesson.position), col(Lesson.created_at))
        )
    )


# ---------------------------------------------------------------- questions


def _check_question(
    kind: QuestionKind, options: Sequence[str] | None, answer: Sequence[int]
) -> tuple[list[str], list[int]]:
    """Options and answer indexes as stored: judge questions default to 正确/错误."""
    if kind is QuestionKind.judge and not options:
        options = list(JUDGE_OPTIONS)
    opts = [_text(o, "options", OPTION_CHARS, InvalidQuestion) for o in options or []]
    low, high = OPTIONS
    if kind is QuestionKind.judge and len(opts) != 2:
        raise InvalidQuestion("A judge question has exactly two options.", field="options")
    if not low <= len(opts) <= high:
        raise InvalidQuestion(f"A question has {low} to {high} options.", field="options")
    if len(set(opts)) != len(opts):
        raise InvalidQuestion("Two options have the same text.", field="options")
    if any(isinstance(i, bool) or not 0 <= i < len(opts) for i in answer):
        raise InvalidQuestion(
            f"Answers are option indexes from 0 to {len(opts) - 1}.", field="answer"
        )
    if len(set(answer)) != len(answer):
        raise InvalidQuestion("An option is named twice in the answer.", field="answer")
    if kind is QuestionKind.multiple:
        if not answer:
            raise InvalidQuestion("A multiple-choice question needs at least one answer.")
    elif len(answer) != 1:
        raise InvalidQuestion(f"A {kind.value} question has exactly one answer.", field="answer")
    return opts, sorted(answer)


def add_question(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    *,
    kind: QuestionKind | str,
    stem: str,
    options: Sequence[str] | None,
    answer: Sequence[int],
) -> Question:
    """Add a question to a draft course's bank; answers are option indexes."""
    course = _draft_for_write(session, principal, course_id)
    try:
        kind = QuestionKind(kind)
    except ValueError:
        raise InvalidQuestion("kind must be single, multiple or judge.", field="kind") from None
    stem = _text(stem, "stem", STEM_CHARS, InvalidQuestion)
    opts, ans = _check_question(kind, options, answer)
    question = Question(
        course_id=course.id,
        kind=kind,
        stem=stem,
        options=opts,
        answer=ans,
        created_at=clock.now(),
    )
    session.add(question)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="question.added",
        subject=f"question:{question.id}",
        # The answer itself stays out of the trail (partners with audit:read export it); its
        # hash still proves later what the question and its key were.
        payload={
            "course": str(course.id),
            "kind": kind.value,
            "options": len(opts),
            "content_sha256": hashlib.sha256(
                canonical({"stem": stem, "options": opts, "answer": ans})
            ).hexdigest(),
            "course_published": course.status is CourseStatus.published,
        },
        institution_id=course.institution_id,
    )
    return question


def list_questions(session: Session, principal: Principal, course_id: uuid.UUID) -> list[Question]:
    """The question bank with answers: staff of the owning institution only."""
    _author(principal)
    course = get_course(session, principal, course_id)
    _owner_staff(principal, course)
    return list(
        session.exec(
            select(Question)
            .where(col(Question.course_id) == course.id)
            .order_by(col(Question.created_at), col(Question.id))
        )
    )


def _lesson_of(session: Session, course: Course, lesson_id: uuid.UUID) -> Lesson:
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or lesson.course_id != course.id:
        raise LessonNotFound()
    return lesson


def _ordered_lessons(session: Session, course_id: uuid.UUID) -> list[Lesson]:
    return list(
        session.exec(
            select(Lesson)
            .where(col(Lesson.course_id) == course_id)
            .order_by(col(Lesson.position), col(Lesson.created_at), col(Lesson.id))
        )
    )


def _renumber(session: Session, lessons: Sequence[Lesson]) -> None:
    for n, lesson in enumerate(lessons, start=1):
        if lesson.position != n:
            lesson.position = n
            session.add(lesson)


def update_lesson(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    *,
    title: str | None = None,
    kind: LessonKind | str | None = None,
    body_or_url: str | None = None,
    minutes: int | None = None,
) -> Lesson:
    """Change a lesson of a draft course; the result is checked as a new lesson would be."""
    course = _draft_for_write(session, principal, course_id)
    lesson = _lesson_of(session, course, lesson_id)
    new_title = lesson.title if title is None else _text(title, "title", TITLE_CHARS, InvalidLesson)
    try:
        new_kind = lesson.kind if kind is None else LessonKind(kind)
    except ValueError:
        raise InvalidLesson("kind must be video or text.", field="kind") from None
    new_body = (
        lesson.body_or_url
        if body_or_url is None
        else _text(body_or_url, "body_or_url", LESSON_BODY_CHARS, InvalidLesson)
    )
    if lesson.video_key is not None:
        if new_kind is not LessonKind.video or new_body != lesson.body_or_url:
            raise InvalidLesson(
                "A lesson with an uploaded video keeps it: add a new lesson to change it.",
                field="body_or_url" if new_kind is LessonKind.video else "kind",
            )
    elif new_kind is LessonKind.video:
        _check_video_url(new_body)
    new_minutes = lesson.minutes if minutes is None else minutes
    _bounded(new_minutes, "minutes", LESSON_MINUTES, InvalidLesson)
    if lesson.duration_ms is not None and new_minutes > math.ceil(lesson.duration_ms / 60_000):
        raise InvalidLesson(
            "A video lesson cannot require more minutes than the video lasts.", field="minutes"
        )
    changed = [
        name
        for name, value in (
            ("title", new_title),
            ("kind", new_kind),
            ("body_or_url", new_body),
            ("minutes", new_minutes),
        )
        if getattr(lesson, name) != value
    ]
    if not changed:
        return lesson
    lesson.title, lesson.kind, lesson.body_or_url, lesson.minutes = (
        new_title,
        new_kind,
        new_body,
        new_minutes,
    )
    session.add(lesson)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.updated",
        subject=f"lesson:{lesson.id}",
        payload={
            "course": str(course.id),
            "changed": changed,
            "position": lesson.position,
            "title": lesson.title,
            "kind": lesson.kind.value,
            "minutes": lesson.minutes,
            "content_sha256": hashlib.sha256(lesson.body_or_url.encode()).hexdigest(),
        },
        institution_id=course.institution_id,
    )
    return lesson


def move_lesson(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    *,
    position: int,
) -> Lesson:
    """Move a lesson of a draft course to ``position`` (1 = first); the others close up."""
    course = _draft_for_write(session, principal, course_id)
    lesson = _lesson_of(session, course, lesson_id)
    lessons = _ordered_lessons(session, course.id)
    _bounded(position, "position", (1, len(lessons)), InvalidLesson)
    old = lessons.index(lesson) + 1
    if old == position:
        return lesson
    lessons.remove(lesson)
    lessons.insert(position - 1, lesson)
    _renumber(session, lessons)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.moved",
        subject=f"lesson:{lesson.id}",
        payload={"course": str(course.id), "from": old, "to": position},
        institution_id=course.institution_id,
    )
    return lesson


def remove_lesson(
    session: Session, principal: Principal, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> None:
    """Remove a lesson of a draft course; the lessons after it move up."""
    course = _draft_for_write(session, principal, course_id)
    lesson = _lesson_of(session, course, lesson_id)
    payload = {
        "course": str(course.id),
        "position": lesson.position,
        "title": lesson.title,
        "kind": lesson.kind.value,
        "content_sha256": hashlib.sha256(lesson.body_or_url.encode()).hexdigest(),
    }
    forget_video(session, lesson)  # its files go once the removal commits
    session.delete(lesson)
    session.flush()
    _renumber(session, _ordered_lessons(session, course.id))
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.removed",
        subject=f"lesson:{lesson_id}",
        payload=payload,
        institution_id=course.institution_id,
    )


def _question_of(session: Session, course: Course, question_id: uuid.UUID) -> Question:
    question = session.get(Question, question_id)
    if question is None or question.course_id != course.id:
        raise QuestionNotFound()
    return question


def _question_hash(q: Question) -> str:
    return hashlib.sha256(
        canonical({"stem": q.stem, "options": q.options, "answer": q.answer})
    ).hexdigest()


def update_question(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    question_id: uuid.UUID,
    *,
    kind: QuestionKind | str | None = None,
    stem: str | None = None,
    options: Sequence[str] | None = None,
    answer: Sequence[int] | None = None,
) -> Question:
    """Change a question of a draft course's bank; the result is checked whole (kind, options
    and answer together). Audited by content hash: the answer stays out of the trail."""
    course = _draft_for_write(session, principal, course_id)
    question = _question_of(session, course, question_id)
    try:
        new_kind = question.kind if kind is None else QuestionKind(kind)
    except ValueError:
        raise InvalidQuestion("kind must be single, multiple or judge.", field="kind") from None
    new_stem = question.stem if stem is None else _text(stem, "stem", STEM_CHARS, InvalidQuestion)
    opts, ans = _check_question(
        new_kind,
        question.options if options is None else options,
        question.answer if answer is None else answer,
    )
    if (new_kind, new_stem, opts, ans) == (
        question.kind,
        question.stem,
        question.options,
        question.answer,
    ):
        return question
    before = _question_hash(question)
    question.kind, question.stem, question.options, question.answer = (
        new_kind,
        new_stem,
        opts,
        ans,
    )
    session.add(question)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="question.updated",
        subject=f"question:{question.id}",
        payload={
            "course": str(course.id),
            "kind": new_kind.value,
            "options": len(opts),
            "old_content_sha256": before,
            "content_sha256": _question_hash(question),
        },
        institution_id=course.institution_id,
    )
    return question


def remove_question(
    session: Session, principal: Principal, course_id: uuid.UUID, question_id: uuid.UUID
) -> None:
    """Remove a question from a draft course's bank."""
    course = _draft_for_write(session, principal, course_id)
    question = _question_of(session, course, question_id)
    payload = {
        "course": str(course.id),
        "kind": question.kind.value,
        "content_sha256": _question_hash(question),
    }
    session.delete(question)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="question.removed",
        subject=f"question:{question_id}",
        payload=payload,
        institution_id=course.institution_id,
    )

"""Courses, lessons, question banks, the catalogue, enrolment and face-gated quizzes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status

from app.accounts import exceptions as ax
from app.accounts.principal import Principal
from app.api.deps import (
    SCOPE_ERRORS,
    USER_ERRORS,
    CoursesRead,
    CurrentLearner,
    CurrentUser,
    SessionDep,
)
from app.attendance import exceptions as fx
from app.attendance.exceptions import FRAME_SUBMISSION_ERRORS
from app.courses import classes, invites, quiz
from app.courses import exceptions as cx
from app.courses import service as courses
from app.courses.class_schemas import InviteCodeIn, SelfEnrolIn
from app.courses.models import Level
from app.courses.schemas import (
    CourseIn,
    CourseOut,
    CoursePage,
    CourseUpdateIn,
    EnrollmentOut,
    EnrolOut,
    LessonIn,
    LessonOut,
    LessonUpdateIn,
    QuestionIn,
    QuestionOut,
    QuestionUpdateIn,
    QuizAttemptOut,
    QuizResultOut,
    QuizSubmitIn,
)
from app.errors import problem_responses
from app.http.frames import ChallengeField, FramesField, client_of, read_frames

router = APIRouter(tags=["courses"])


# Signed-in users only (API keys get 403 `forbidden`; who may author is the service's
# ``may_author``), and the same plus a scope for reads.


# ---------------------------------------------------------------- courses


@router.post(
    "/courses",
    status_code=status.HTTP_201_CREATED,
    response_model=CourseOut,
    responses=problem_responses(*USER_ERRORS, cx.InvalidCourse),
)
def create_course(body: CourseIn, user: CurrentUser, session: SessionDep) -> CourseOut:
    """Create a draft course for the staff member's institution."""
    course = courses.create_course(
        session,
        Principal.of_user(user),
        title=body.title,
        occupation_code=body.occupation_code,
        occupation_name=body.occupation_name,
        level=body.level,
        required_minutes=body.required_minutes,
        pass_score=body.pass_score,
        subsidy_fen=body.subsidy_fen,
        description=body.description,
        policy=body.policy(),
    )
    return CourseOut.of(course)


@router.get(
    "/courses",
    response_model=CoursePage,
    responses=problem_responses(*SCOPE_ERRORS, ax.InvalidInput),
)
def catalogue(
    principal: CoursesRead,
    session: SessionDep,
    occupation_code: Annotated[str | None, Query(max_length=32)] = None,
    level: Level | None = None,
    institution_id: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CoursePage:
    """The catalogue of published courses, oldest first, cursor-paginated."""
    rows, nxt = courses.list_catalogue(
        session,
        occupation_code=occupation_code,
        level=level,
        institution_id=institution_id,
        cursor=cursor,
        limit=limit,
    )
    return CoursePage(items=[CourseOut.of(c) for c in rows], next_cursor=nxt)


@router.get(
    "/courses/{course_id}",
    response_model=CourseOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.CourseNotFound),
)
def get_course(course_id: uuid.UUID, principal: CoursesRead, session: SessionDep) -> CourseOut:
    """A published course, or a draft for its institution's staff and regulators."""
    return CourseOut.of(courses.get_course(session, principal, course_id))


@router.post(
    "/courses/{course_id}/publish",
    response_model=CourseOut,
    responses=problem_responses(
        *USER_ERRORS, cx.CourseNotFound, cx.CourseIncomplete, cx.CourseHoursShort
    ),
)
def publish(course_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> CourseOut:
    """Publish a draft (needs a lesson, enough questions for one quiz, and lessons adding up to
    at least the required minutes: 409 `course_hours_short` otherwise); repeatable."""
    return CourseOut.of(courses.publish_course(session, Principal.of_user(user), course_id))


@router.post(
    "/courses/{course_id}/lessons",
    status_code=status.HTTP_201_CREATED,
    response_model=LessonOut,
    responses=problem_responses(
        *USER_ERRORS, cx.CourseNotFound, cx.InvalidLesson, cx.CoursePublished
    ),
)
def add_lesson(
    course_id: uuid.UUID, body: LessonIn, user: CurrentUser, session: SessionDep
) -> LessonOut:
    """Append a text or video lesson to a draft (a published course is frozen: 409)."""
    lesson = courses.add_lesson(
        session,
        Principal.of_user(user),
        course_id,
        title=body.title,
        kind=body.kind,
        body_or_url=body.body_or_url,
        minutes=body.minutes,
    )
    return LessonOut.of(lesson)


@router.get(
    "/courses/{course_id}/lessons",
    response_model=list[LessonOut],
    responses=problem_responses(*SCOPE_ERRORS, cx.CourseNotFound),
)
def list_lessons(
    course_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> list[LessonOut]:
    """The lessons of a course the caller may read, in order."""
    return [LessonOut.of(lesson) for lesson in courses.list_lessons(session, principal, course_id)]


@router.post(
    "/courses/{course_id}/questions",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionOut,
    responses=problem_responses(
        *USER_ERRORS, cx.CourseNotFound, cx.InvalidQuestion, cx.CoursePublished
    ),
)
def add_question(
    course_id: uuid.UUID, body: QuestionIn, user: CurrentUser, session: SessionDep
) -> QuestionOut:
    """Add a single, multiple or judge question to a draft; answers are option indexes."""
    question = courses.add_question(
        session,
        Principal.of_user(user),
        course_id,
        kind=body.kind,
        stem=body.stem,
        options=body.options,
        answer=body.answer,
    )
    return QuestionOut.model_validate(question, from_attributes=True)


@router.get(
    "/courses/{course_id}/questions",
    response_model=list[QuestionOut],
    responses=problem_responses(*USER_ERRORS, cx.CourseNotFound),
)
def list_questions(
    course_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> list[QuestionOut]:
    """The question bank with answers: staff of the owning institution only."""
    return [
        QuestionOut.model_validate(q, from_attributes=True)
        for q in courses.list_questions(session, Principal.of_user(user), course_id)
    ]


# ---------------------------------------------------------------- editing drafts


@router.patch(
    "/courses/{course_id}",
    response_model=CourseOut,
    responses=problem_responses(
        *USER_ERRORS, cx.CourseNotFound, cx.InvalidCourse, cx.CoursePublished
    ),
)
def update_course(
    course_id: uuid.UUID, body: CourseUpdateIn, user: CurrentUser, session: SessionDep
) -> CourseOut:
    """Change a draft course's fields; a published course is frozen (409 `course_published`)."""
    course = courses.update_course(session, Principal.of_user(user), course_id, body.changes())
    return CourseOut.of(course)


@router.patch(
    "/courses/{course_id}/lessons/{lesson_id}",
    response_model=LessonOut,
    responses=problem_responses(
        *USER_ERRORS,
        cx.CourseNotFound,
        cx.LessonNotFound,
        cx.InvalidLesson,
        cx.CoursePublished,
    ),
)
def update_lesson(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    body: LessonUpdateIn,
    user: CurrentUser,
    session: SessionDep,
) -> LessonOut:
    """Change or move a lesson of a draft course (`position`: 1 = first)."""
    principal = Principal.of_user(user)
    lesson = courses.update_lesson(
        session,
        principal,
        course_id,
        lesson_id,
        title=body.title,
        kind=body.kind,
        body_or_url=body.body_or_url,
        minutes=body.minutes,
    )
    if body.position is not None:
        lesson = courses.move_lesson(
            session, principal, course_id, lesson_id, position=body.position
        )
    return LessonOut.of(lesson)


@router.delete(
    "/courses/{course_id}/lessons/{lesson_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *USER_ERRORS, cx.CourseNotFound, cx.LessonNotFound, cx.CoursePublished
    ),
)
def remove_lesson(
    course_id: uuid.UUID, lesson_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Response:
    """Remove a lesson of a draft course; the lessons after it move up."""
    courses.remove_lesson(session, Principal.of_user(user), course_id, lesson_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch(
    "/courses/{course_id}/questions/{question_id}",
    response_model=QuestionOut,
    responses=problem_responses(
        *USER_ERRORS,
        cx.CourseNotFound,
        cx.QuestionNotFound,
        cx.InvalidQuestion,
        cx.CoursePublished,
    ),
)
def update_question(
    course_id: uuid.UUID,
    question_id: uuid.UUID,
    body: QuestionUpdateIn,
    user: CurrentUser,
    session: SessionDep,
) -> QuestionOut:
    """Change a question of a draft course's bank (kind, options and answer checked together)."""
    question = courses.update_question(
        session,
        Principal.of_user(user),
        course_id,
        question_id,
        kind=body.kind,
        stem=body.stem,
        options=body.options,
        answer=body.answer,
    )
    return QuestionOut.model_validate(question, from_attributes=True)


@router.delete(
    "/courses/{course_id}/questions/{question_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(
        *USER_ERRORS, cx.CourseNotFound, cx.QuestionNotFound, cx.CoursePublished
    ),
)
def remove_question(
    course_id: uuid.UUID, question_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Response:
    """Remove a question from a draft course's bank."""
    courses.remove_question(session, Principal.of_user(user), course_id, question_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- enrolment


@router.post(
    "/courses/{course_id}/enrol",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolOut,
    responses=problem_responses(
        *USER_ERRORS,
        cx.CourseNotFound,
        cx.AlreadyEnrolled,
        cx.ClassNotFound,
        cx.ClassFull,
        cx.ClassClosed,
        cx.NoOpenClass,
    ),
)
def enrol(
    course_id: uuid.UUID,
    user: CurrentLearner,
    session: SessionDep,
    body: Annotated[
        SelfEnrolIn | None,
        Body(
            openapi_examples={
                "class": {
                    "summary": "join a chosen class",
                    "value": {"class_id": "5b0e4a7e-2f61-4c1b-9d3a-6f0c2b8e9a41"},
                },
                "any": {"summary": "the earliest class with a seat", "value": {}},
            }
        ),
    ] = None,
) -> EnrolOut:
    """Enrol in a published course, into a class of it (chosen, or the earliest with a seat);
    a repeat gets 409 `already_enrolled` with the id."""
    enrollment = courses.enrol(
        session, Principal.of_user(user), course_id, class_id=body.class_id if body else None
    )
    return EnrolOut(enrollment_id=enrollment.id, class_id=enrollment.class_id)


@router.post(
    "/me/enrollments/by-code",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrolOut,
    responses=problem_responses(
        *USER_ERRORS,
        ax.InstitutionUnavailable,
        classes.AlreadyInClass,
        classes.InAnotherClass,
        cx.ClassFull,
        cx.ClassClosed,
    ),
)
def enrol_by_code(body: InviteCodeIn, user: CurrentLearner, session: SessionDep) -> EnrolOut:
    """Enrol in the class a class invite code (班级邀请码) names — a class of the learner's own
    institution that takes enrolments; any other code is 422 `institution_unavailable`, like
    an unknown one. The same rule as registering with the code. A learner already in that
    class gets 409 `already_enrolled` (with `enrollment_id`, `class_id`); one in the course's
    default class with nothing studied yet is moved into it (the same enrolment, 201); one in
    another class of the course gets 409 `already_enrolled` (a code does not move them)."""
    enrollment = invites.join_with_code(session, Principal.of_user(user), body.code)
    return EnrolOut(enrollment_id=enrollment.id, class_id=enrollment.class_id)


@router.get(
    "/me/enrollments",
    response_model=list[EnrollmentOut],
    responses=problem_responses(*USER_ERRORS),
)
def my_enrollments(user: CurrentUser, session: SessionDep) -> list[EnrollmentOut]:
    """The signed-in learner's enrolments with course titles, newest first."""
    return [
        EnrollmentOut.of(e, c)
        for e, c in courses.list_my_enrollments(session, Principal.of_user(user))
    ]


# ---------------------------------------------------------------- quizzes


@router.post(
    "/enrollments/{enrollment_id}/quiz-attempts",
    status_code=status.HTTP_201_CREATED,
    response_model=QuizAttemptOut,
    responses=problem_responses(
        *USER_ERRORS,
        cx.EnrollmentNotFound,
        cx.AttemptOpen,
        cx.QuizNotOpen,
        cx.AttemptLimitReached,
        cx.QuizUnavailable,
        *FRAME_SUBMISSION_ERRORS,
        fx.FaceNotEnrolled,
        fx.FaceReenrolRequired,
        fx.FaceMismatch,
        fx.VerificationLocked,
    ),
)
def start_quiz(
    enrollment_id: uuid.UUID,
    challenge_id: ChallengeField,
    user: CurrentLearner,
    session: SessionDep,
    request: Request,
    frames: FramesField = None,
) -> QuizAttemptOut:
    """Face-gated start of a quiz attempt: the questions (never the answers) and a deadline."""
    attempt = quiz.start_attempt(
        session,
        user,
        enrollment_id,
        challenge_id=challenge_id,
        frames=read_frames(frames),
        client=client_of(request),
    )
    return QuizAttemptOut.of(attempt)


@router.get(
    "/enrollments/{enrollment_id}/quiz-attempts",
    response_model=list[QuizAttemptOut],
    responses=problem_responses(*SCOPE_ERRORS, cx.EnrollmentNotFound),
)
def list_quiz_attempts(
    enrollment_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> list[QuizAttemptOut]:
    """The attempts of an enrolment (learner, staff of the institution, regulators)."""
    return [QuizAttemptOut.of(a) for a in quiz.list_attempts(session, principal, enrollment_id)]


@router.get(
    "/quiz-attempts/{attempt_id}",
    response_model=QuizAttemptOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.AttemptNotFound),
)
def get_quiz_attempt(
    attempt_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> QuizAttemptOut:
    """One attempt as shown (e.g. to resume after a reload), with its result once submitted."""
    return QuizAttemptOut.of(quiz.get_attempt(session, principal, attempt_id))


@router.post(
    "/quiz-attempts/{attempt_id}/submit",
    response_model=QuizResultOut,
    responses=problem_responses(
        *USER_ERRORS, cx.AttemptNotFound, cx.AttemptClosed, cx.InvalidAnswers
    ),
)
def submit_quiz(
    attempt_id: uuid.UUID, body: QuizSubmitIn, user: CurrentLearner, session: SessionDep
) -> QuizResultOut:
    """Submit the answers (option indexes as shown) once, before the deadline."""
    return QuizResultOut.model_validate(
        quiz.submit(session, user, attempt_id, body.answers).result()
    )

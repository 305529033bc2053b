"""Enrolments and the quiz: an enrolment as its learner sees it, a quiz attempt's paper (never
the answers), the answers submitted and the result."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.courses import quiz
from app.courses import service as svc
from app.courses.models import (
    Course,
    Enrollment,
    Level,
    QuestionKind,
    QuizAttempt,
)


class EnrollmentOut(BaseModel):
    enrollment_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    institution_id: uuid.UUID
    class_id: uuid.UUID
    occupation_code: str
    level: Level
    created_at: datetime
    credited_minutes: int
    required_minutes: int
    quiz_passed: bool
    best_quiz_score: int | None
    completed_at: datetime | None

    @classmethod
    def of(cls, e: Enrollment, c: Course) -> EnrollmentOut:
        return cls(
            enrollment_id=e.id,
            course_id=c.id,
            course_title=c.title,
            institution_id=e.institution_id,
            class_id=e.class_id,
            occupation_code=c.occupation_code,
            level=c.level,
            created_at=e.created_at,
            credited_minutes=e.credited_seconds // 60,
            required_minutes=c.required_minutes,
            quiz_passed=e.quiz_passed,
            best_quiz_score=e.best_quiz_score,
            completed_at=e.completed_at,
        )


class QuizQuestionOut(BaseModel):
    """A question as the learner sees it: options in the shown order, never the answer."""

    id: uuid.UUID
    kind: QuestionKind
    stem: str
    options: list[str]


class QuizAttemptOut(BaseModel):
    attempt_id: uuid.UUID
    enrollment_id: uuid.UUID
    attendance_event_id: uuid.UUID
    questions: list[QuizQuestionOut]
    started_at: datetime
    deadline: datetime
    state: Literal["open", "submitted", "expired"]
    submitted_at: datetime | None = None
    score: int | None = None
    passed: bool | None = None

    @classmethod
    def of(cls, attempt: QuizAttempt) -> QuizAttemptOut:
        return cls(
            attempt_id=attempt.id,
            enrollment_id=attempt.enrollment_id,
            attendance_event_id=attempt.attendance_event_id,
            questions=[QuizQuestionOut.model_validate(q) for q in quiz.shown_questions(attempt)],
            started_at=attempt.started_at,
            deadline=attempt.deadline,
            state=quiz.attempt_state(attempt),
            submitted_at=attempt.submitted_at,
            score=attempt.score,
            passed=attempt.passed,
        )


class QuizSubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, list[int]] = Field(
        max_length=svc.QUIZ_QUESTION_COUNT[1],
        description="question id → indexes of the chosen options, as shown in this attempt; "
        "a question left out counts as wrong",
    )


class QuizResultOut(BaseModel):
    attempt_id: uuid.UUID
    score: int = Field(description="percent of questions fully right")
    passed: bool
    correct: int
    total: int
    pass_score: int
    quiz_passed: bool = Field(description="whether the enrolment's quiz is passed (by any attempt)")
    completed: bool = Field(description="whether the enrolment is now complete")
    attempts_left: int = Field(
        default=0, description="attempts the learner may still start after this one"
    )

"""Request and response bodies of the course, enrolment, quiz and study-session API.

Bounds are the service's (app/courses/service.py), declared here too so partners see them in
OpenAPI. Nothing a learner receives carries a question's answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.attendance import reasons
from app.attendance.models import Outcome
from app.courses import quiz
from app.courses import service as svc
from app.courses.models import (
    LEVEL_NAMES_ZH,
    Course,
    CourseStatus,
    CreditPolicy,
    Enrollment,
    LessonKind,
    Level,
    QuestionKind,
    QuizAttempt,
    QuizOpens,
    RollCallStatus,
    SessionState,
)
from app.courses.rollcall import MAX_ATTEMPTS
from app.courses.rollcall_report import RollCallReport
from app.validation import MultilineText, Text


class RollcallPolicyIn(BaseModel):
    """Random roll-call and time-credit policy (defaults: every 10–30 min, 90 s to answer)."""

    model_config = ConfigDict(extra="forbid")

    min_interval_s: int = Field(
        default=600, ge=svc.ROLLCALL_INTERVAL_S[0], le=svc.ROLLCALL_INTERVAL_S[1]
    )
    max_interval_s: int = Field(
        default=1800, ge=svc.ROLLCALL_INTERVAL_S[0], le=svc.ROLLCALL_INTERVAL_S[1]
    )
    response_window_s: int = Field(
        default=90, ge=svc.RESPONSE_WINDOW_S[0], le=svc.RESPONSE_WINDOW_S[1]
    )
    min_pass_rate: int = Field(default=80, ge=0, le=100, description="percent")
    daily_cap_minutes: int = Field(
        default=480, ge=svc.DAILY_CAP_MINUTES[0], le=svc.DAILY_CAP_MINUTES[1]
    )
    credit_policy: CreditPolicy = Field(
        default=CreditPolicy.strict,
        description="strict: a failed or missed roll-call forfeits the open segment; "
        "lenient: it keeps the credit up to the last heartbeat",
    )
    heartbeat_interval_s: int = Field(
        default=30, ge=svc.HEARTBEAT_INTERVAL_S[0], le=svc.HEARTBEAT_INTERVAL_S[1]
    )


class QuizPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_count: int = Field(
        default=10, ge=svc.QUIZ_QUESTION_COUNT[0], le=svc.QUIZ_QUESTION_COUNT[1]
    )
    time_limit_s: int = Field(
        default=1800, ge=svc.QUIZ_TIME_LIMIT_S[0], le=svc.QUIZ_TIME_LIMIT_S[1]
    )
    max_attempts: int = Field(default=3, ge=svc.QUIZ_MAX_ATTEMPTS[0], le=svc.QUIZ_MAX_ATTEMPTS[1])
    opens: QuizOpens = Field(
        default=QuizOpens.after_hours,
        description="after_hours: the quiz opens once the verified minutes reach required_minutes "
        "(409 quiz_not_open before); any_time: from enrolment on",
    )


class CourseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=svc.TITLE_CHARS)
    description: MultilineText = Field(default="", max_length=svc.DESCRIPTION_CHARS)
    occupation_code: str = Field(
        min_length=1, max_length=svc.OCCUPATION_CODE_CHARS, description="职业编码, e.g. 4-03-02-01"
    )
    occupation_name: Text = Field(min_length=1, max_length=svc.OCCUPATION_NAME_CHARS)
    level: Level
    required_minutes: int = Field(ge=svc.REQUIRED_MINUTES[0], le=svc.REQUIRED_MINUTES[1])
    pass_score: int = Field(ge=0, le=100, description="percent")
    subsidy_fen: int = Field(ge=svc.SUBSIDY_FEN[0], le=svc.SUBSIDY_FEN[1])
    rollcall: RollcallPolicyIn = Field(default_factory=RollcallPolicyIn)
    quiz: QuizPolicyIn = Field(default_factory=QuizPolicyIn)
    require_each_lesson: bool = Field(
        default=False,
        description="completion also needs every lesson finished (its minutes watched or read)",
    )
    offline_required_minutes: int = Field(
        default=0,
        ge=svc.OFFLINE_REQUIRED_MINUTES[0],
        le=svc.OFFLINE_REQUIRED_MINUTES[1],
        description="blended training: offline practical minutes completion needs (0: none)",
    )

    def policy(self) -> svc.CoursePolicy:
        r, q = self.rollcall, self.quiz
        return svc.CoursePolicy(
            rollcall_min_interval_s=r.min_interval_s,
            rollcall_max_interval_s=r.max_interval_s,
            rollcall_response_window_s=r.response_window_s,
            rollcall_min_pass_rate=r.min_pass_rate,
            daily_cap_minutes=r.daily_cap_minutes,
            credit_policy=r.credit_policy,
            heartbeat_interval_s=r.heartbeat_interval_s,
            quiz_question_count=q.question_count,
            quiz_time_limit_s=q.time_limit_s,
            quiz_max_attempts=q.max_attempts,
            quiz_opens=q.opens,
            require_each_lesson=self.require_each_lesson,
            offline_required_minutes=self.offline_required_minutes,
        )


class RollcallPolicyOut(BaseModel):
    min_interval_s: int
    max_interval_s: int
    response_window_s: int
    min_pass_rate: int
    daily_cap_minutes: int
    credit_policy: CreditPolicy
    heartbeat_interval_s: int


class QuizPolicyOut(BaseModel):
    question_count: int
    time_limit_s: int
    max_attempts: int
    opens: QuizOpens = Field(
        default=QuizOpens.after_hours,
        description="after_hours: the quiz opens once the verified minutes reach required_minutes "
        "(409 quiz_not_open before); any_time: from enrolment on",
    )


class CourseOut(BaseModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    title: str
    description: str
    occupation_code: str
    occupation_name: str
    level: Level
    level_name_zh: str
    required_minutes: int
    pass_score: int
    subsidy_fen: int
    rollcall: RollcallPolicyOut
    quiz: QuizPolicyOut
    status: CourseStatus
    created_at: datetime
    published_at: datetime | None
    require_each_lesson: bool = False
    offline_required_minutes: int = Field(
        default=0, description="offline practical minutes completion needs (0: none)"
    )

    @classmethod
    def of(cls, c: Course) -> CourseOut:
        return cls(
            id=c.id,
            institution_id=c.institution_id,
            title=c.title,
            description=c.description,
            occupation_code=c.occupation_code,
            occupation_name=c.occupation_name,
            level=c.level,
            level_name_zh=LEVEL_NAMES_ZH[c.level],
            required_minutes=c.required_minutes,
            pass_score=c.pass_score,
            subsidy_fen=c.subsidy_fen,
            rollcall=RollcallPolicyOut(
                min_interval_s=c.rollcall_min_interval_s,
                max_interval_s=c.rollcall_max_interval_s,
                response_window_s=c.rollcall_response_window_s,
                min_pass_rate=c.rollcall_min_pass_rate,
                daily_cap_minutes=c.daily_cap_minutes,
                credit_policy=c.credit_policy,
                heartbeat_interval_s=c.heartbeat_interval_s,
            ),
            quiz=QuizPolicyOut(
                question_count=c.quiz_question_count,
                time_limit_s=c.quiz_time_limit_s,
                max_attempts=c.quiz_max_attempts,
                opens=c.quiz_opens,
            ),
            status=c.status,
            created_at=c.created_at,
            published_at=c.published_at,
            require_each_lesson=c.require_each_lesson,
            offline_required_minutes=c.offline_required_minutes,
        )


class CoursePage(BaseModel):
    items: list[CourseOut]
    next_cursor: str | None


class LessonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1, max_length=svc.TITLE_CHARS)
    kind: LessonKind
    body_or_url: MultilineText = Field(
        min_length=1,
        max_length=svc.LESSON_BODY_CHARS,
        description="the text of a text lesson, or the http(s) URL of a video",
    )
    minutes: int = Field(ge=svc.LESSON_MINUTES[0], le=svc.LESSON_MINUTES[1])


class LessonOut(BaseModel):
    id: uuid.UUID
    course_id: uuid.UUID
    position: int
    title: str
    kind: LessonKind
    body_or_url: str = Field(
        description="a text lesson's text, an external video's URL; empty for a hosted video"
    )
    minutes: int
    created_at: datetime
    hosted: bool = Field(default=False, description="the platform hosts the lesson's video")
    video_url: str | None = Field(
        default=None, description="where a hosted video plays (byte ranges; enrolled learners)"
    )
    poster_url: str | None = None
    video_type: str | None = Field(default=None, description="video/mp4 or video/webm")
    duration_ms: int | None = None

    @classmethod
    def of(cls, lesson: Any) -> LessonOut:
        out = cls.model_validate(lesson, from_attributes=True)
        if lesson.video_key is not None:
            out.hosted = True
            out.video_url = f"/api/v1/lessons/{lesson.id}/video"
            out.poster_url = f"/api/v1/lessons/{lesson.id}/poster"
        return out


class LessonProgressOut(BaseModel):
    """What the learner watched (or read) of one lesson, in confirmed study time."""

    lesson_id: uuid.UUID
    position: int
    title: str
    kind: LessonKind
    watched_seconds: int
    required_seconds: int
    furthest_position_ms: int = Field(description="a video's furthest watched point")
    finished: bool


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: QuestionKind
    stem: MultilineText = Field(min_length=1, max_length=svc.STEM_CHARS)
    options: list[Text] | None = Field(
        default=None,
        max_length=svc.OPTIONS[1],
        description='2..10 options; judge questions have two (default ["正确", "错误"])',
    )
    answer: list[int] = Field(
        max_length=svc.OPTIONS[1],
        description="indexes of the right options: one for single and judge, one or more for "
        "multiple",
    )


class QuestionOut(BaseModel):
    """A question with its answer: staff of the owning institution only."""

    id: uuid.UUID
    course_id: uuid.UUID
    kind: QuestionKind
    stem: str
    options: list[str]
    answer: list[int]
    created_at: datetime


class EnrolOut(BaseModel):
    enrollment_id: uuid.UUID
    class_id: uuid.UUID


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


# ---------------------------------------------------------------- editing drafts (PATCH)


class RollcallPolicyPatch(BaseModel):
    """Roll-call and credit policy fields to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    min_interval_s: int | None = Field(
        default=None, ge=svc.ROLLCALL_INTERVAL_S[0], le=svc.ROLLCALL_INTERVAL_S[1]
    )
    max_interval_s: int | None = Field(
        default=None, ge=svc.ROLLCALL_INTERVAL_S[0], le=svc.ROLLCALL_INTERVAL_S[1]
    )
    response_window_s: int | None = Field(
        default=None, ge=svc.RESPONSE_WINDOW_S[0], le=svc.RESPONSE_WINDOW_S[1]
    )
    min_pass_rate: int | None = Field(default=None, ge=0, le=100, description="percent")
    daily_cap_minutes: int | None = Field(
        default=None, ge=svc.DAILY_CAP_MINUTES[0], le=svc.DAILY_CAP_MINUTES[1]
    )
    credit_policy: CreditPolicy | None = None
    heartbeat_interval_s: int | None = Field(
        default=None, ge=svc.HEARTBEAT_INTERVAL_S[0], le=svc.HEARTBEAT_INTERVAL_S[1]
    )


class QuizPolicyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_count: int | None = Field(
        default=None, ge=svc.QUIZ_QUESTION_COUNT[0], le=svc.QUIZ_QUESTION_COUNT[1]
    )
    time_limit_s: int | None = Field(
        default=None, ge=svc.QUIZ_TIME_LIMIT_S[0], le=svc.QUIZ_TIME_LIMIT_S[1]
    )
    max_attempts: int | None = Field(
        default=None, ge=svc.QUIZ_MAX_ATTEMPTS[0], le=svc.QUIZ_MAX_ATTEMPTS[1]
    )
    opens: QuizOpens | None = None


class CourseUpdateIn(BaseModel):
    """Fields of a draft course to change; those left out (or null) stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: Text | None = Field(default=None, min_length=1, max_length=svc.TITLE_CHARS)
    description: MultilineText | None = Field(default=None, max_length=svc.DESCRIPTION_CHARS)
    occupation_code: str | None = Field(
        default=None, min_length=1, max_length=svc.OCCUPATION_CODE_CHARS
    )
    occupation_name: Text | None = Field(
        default=None, min_length=1, max_length=svc.OCCUPATION_NAME_CHARS
    )
    level: Level | None = None
    required_minutes: int | None = Field(
        default=None, ge=svc.REQUIRED_MINUTES[0], le=svc.REQUIRED_MINUTES[1]
    )
    pass_score: int | None = Field(default=None, ge=0, le=100, description="percent")
    subsidy_fen: int | None = Field(default=None, ge=svc.SUBSIDY_FEN[0], le=svc.SUBSIDY_FEN[1])
    rollcall: RollcallPolicyPatch | None = None
    quiz: QuizPolicyPatch | None = None
    require_each_lesson: bool | None = None
    offline_required_minutes: int | None = Field(
        default=None, ge=svc.OFFLINE_REQUIRED_MINUTES[0], le=svc.OFFLINE_REQUIRED_MINUTES[1]
    )

    def changes(self) -> svc.CourseChanges:
        r = self.rollcall or RollcallPolicyPatch()
        q = self.quiz or QuizPolicyPatch()
        return svc.CourseChanges(
            title=self.title,
            description=self.description,
            occupation_code=self.occupation_code,
            occupation_name=self.occupation_name,
            level=self.level,
            required_minutes=self.required_minutes,
            pass_score=self.pass_score,
            subsidy_fen=self.subsidy_fen,
            rollcall_min_interval_s=r.min_interval_s,
            rollcall_max_interval_s=r.max_interval_s,
            rollcall_response_window_s=r.response_window_s,
            rollcall_min_pass_rate=r.min_pass_rate,
            daily_cap_minutes=r.daily_cap_minutes,
            credit_policy=r.credit_policy,
            heartbeat_interval_s=r.heartbeat_interval_s,
            quiz_question_count=q.question_count,
            quiz_time_limit_s=q.time_limit_s,
            quiz_max_attempts=q.max_attempts,
            quiz_opens=q.opens,
            require_each_lesson=self.require_each_lesson,
            offline_required_minutes=self.offline_required_minutes,
        )


class LessonUpdateIn(BaseModel):
    """Fields of a draft course's lesson to change, and where to move it (1 = first)."""

    model_config = ConfigDict(extra="forbid")

    title: Text | None = Field(default=None, min_length=1, max_length=svc.TITLE_CHARS)
    kind: LessonKind | None = None
    body_or_url: MultilineText | None = Field(
        default=None, min_length=1, max_length=svc.LESSON_BODY_CHARS
    )
    minutes: int | None = Field(default=None, ge=svc.LESSON_MINUTES[0], le=svc.LESSON_MINUTES[1])
    position: int | None = Field(
        default=None, ge=1, le=100_000, description="1-based place in the course; others close up"
    )


class QuestionUpdateIn(BaseModel):
    """Fields of a draft course's question to change; the result is checked whole."""

    model_config = ConfigDict(extra="forbid")

    kind: QuestionKind | None = None
    stem: MultilineText | None = Field(default=None, min_length=1, max_length=svc.STEM_CHARS)
    options: list[Text] | None = Field(default=None, max_length=svc.OPTIONS[1])
    answer: list[int] | None = Field(default=None, max_length=svc.OPTIONS[1])


# ---------------------------------------------------------------- study sessions (app/api/study.py)


class CheckInOut(BaseModel):
    session_id: uuid.UUID
    attendance_event_id: uuid.UUID
    heartbeat_interval_s: int
    state: SessionState


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visible: bool = Field(description="The study page was visible since the last heartbeat")
    lesson_id: uuid.UUID | None = Field(
        default=None, description="The lesson on screen (one of the enrolment's course)"
    )
    position_ms: int | None = Field(
        default=None,
        ge=0,
        le=24 * 3600 * 1000,
        description="A video lesson's playback position in milliseconds. A video lesson earns "
        "the newly watched span since the previous heartbeat (at most the wall-time gap), "
        "nothing without a position or when playing from beyond the furthest point watched",
    )


class RollCallOffer(BaseModel):
    rollcall_id: uuid.UUID
    deadline: datetime


class HeartbeatOut(BaseModel):
    credited_seconds: int = Field(description="Verified seconds of the enrolment so far")
    rollcall: RollCallOffer | None
    state: SessionState
    earned_seconds: int
    furthest_position_ms: int | None = Field(
        default=None,
        description="A video lesson's furthest watched point (ms): the player may seek up to "
        "it, not beyond",
    )


_RC = "0b6f3c52-5d1e-4b8a-9a57-3f1f2d6a8c11"
_EV = "6f2d9a0e-8c4b-4f7e-b1a3-2c5d7e9f0a12"
_EV2 = "7a3e0b1f-9d5c-4a8f-82b4-3d6e8f0a1b23"


class RollCallAnswerOut(BaseModel):
    """One attempt at a roll-call and where the roll-call stands after it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outcome": "failed",
                    "attendance_event_id": _EV,
                    "rollcall_status": "pending",
                    "attempt": 1,
                    "attempts_left": 2,
                    "reason_code": "liveness_failed",
                    "forfeited_seconds": 0,
                    "stretch_from": None,
                    "credited_seconds": 1830,
                },
                {
                    "outcome": "failed",
                    "attendance_event_id": _EV2,
                    "rollcall_status": "failed",
                    "attempt": 3,
                    "attempts_left": 0,
                    "reason_code": "face_mismatch",
                    "forfeited_seconds": 720,
                    "stretch_from": "2026-12-03T06:05:00Z",
                    "credited_seconds": 1110,
                },
            ]
        }
    )

    outcome: Outcome = Field(description="This attempt's face check")
    attendance_event_id: uuid.UUID
    rollcall_status: RollCallStatus = Field(
        description="pending: try again with a fresh challenge (attempts_left > 0)"
    )
    attempt: int = Field(default=1, description="Which attempt this was (1, 2, …)")
    attempts_left: int = Field(default=0, description="Chances left within the response window")
    reason_code: str | None = Field(
        default=None, description="Why this attempt failed (liveness_failed, face_mismatch, …)"
    )
    forfeited_seconds: int = Field(
        default=0, description="Study time the roll-call cost (strict policy, once it failed)"
    )
    stretch_from: datetime | None = Field(
        default=None,
        description="Start of the stretch of study the roll-call closed (credited, held or "
        "forfeited): the last passed face check",
    )
    credited_seconds: int | None = Field(
        default=None,
        description="The enrolment's verified seconds after this answer, as the heartbeat "
        "counts them (confirmed plus the open stretch)",
    )


class RollCallAttemptOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "attempt": 1,
                    "attendance_event_id": _EV,
                    "outcome": "failed",
                    "reason_code": "liveness_failed",
                    "reason_category": "liveness",
                    "at": "2026-12-03T06:17:12Z",
                }
            ]
        }
    )

    attempt: int
    attendance_event_id: uuid.UUID
    outcome: Outcome
    reason_code: str | None
    reason_category: reasons.Category | None = Field(
        description="What kind of failure (app/attendance/reasons.py): the face did not match, "
        "the actions were not done, the frames were unusable, or not one live camera's"
    )
    at: datetime


class RollCallExceptionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-12-03T07:30:00Z",
                    "by": "3e9d1a46-5b8c-4f4d-a073-1c2e6f8b0d57",
                    "reason": "学员来电说明摄像头故障，已视频核实为本人",
                    "restored_seconds": 720,
                }
            ]
        }
    )

    at: datetime
    by: uuid.UUID | None
    reason: str | None
    restored_seconds: int


class RollCallOut(BaseModel):
    """A roll-call: its attempts, what it cost, and any exception staff granted."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rollcall_id": _RC,
                    "enrollment_id": "1c7b9e24-3f6a-4d2b-8e51-9a0c4d6f8b35",
                    "session_id": "2d8c0f35-4a7b-4e3c-9f62-0b1d5e7a9c46",
                    "status": "failed",
                    "offered_at": "2026-12-03T06:17:00Z",
                    "deadline": "2026-12-03T06:18:30Z",
                    "answered_at": "2026-12-03T06:18:02Z",
                    "max_attempts": 3,
                    "attempts_left": 0,
                    "attempts": [
                        {
                            "attempt": n,
                            "attendance_event_id": ev,
                            "outcome": "failed",
                            "reason_code": "face_mismatch",
                            "reason_category": "match",
                            "at": at,
                        }
                        for n, ev, at in [
                            (1, _EV, "2026-12-03T06:17:12Z"),
                            (2, _EV2, "2026-12-03T06:17:40Z"),
                            (3, "8b4f1c20-ae6d-4b90-93c5-4e7f9a1b2c34", "2026-12-03T06:18:02Z"),
                        ]
                    ],
                    "stretch_from": "2026-12-03T06:05:00Z",
                    "forfeited_seconds": 0,
                    "held_seconds": 0,
                    "exception": {
                        "at": "2026-12-03T07:30:00Z",
                        "by": "3e9d1a46-5b8c-4f4d-a073-1c2e6f8b0d57",
                        "reason": "学员来电说明摄像头故障，已视频核实为本人",
                        "restored_seconds": 720,
                    },
                }
            ]
        }
    )

    rollcall_id: uuid.UUID
    enrollment_id: uuid.UUID
    session_id: uuid.UUID
    status: RollCallStatus
    offered_at: datetime
    deadline: datetime
    answered_at: datetime | None
    max_attempts: int
    attempts_left: int
    attempts: list[RollCallAttemptOut]
    stretch_from: datetime | None
    forfeited_seconds: int
    held_seconds: int
    exception: RollCallExceptionOut | None

    @classmethod
    def of(cls, r: RollCallReport) -> RollCallOut:
        rc = r.rollcall
        return cls(
            rollcall_id=rc.id,
            enrollment_id=rc.enrollment_id,
            session_id=rc.session_id,
            status=rc.status,
            offered_at=rc.offered_at,
            deadline=rc.deadline,
            answered_at=rc.answered_at,
            max_attempts=MAX_ATTEMPTS,
            attempts_left=r.attempts_left,
            attempts=[
                RollCallAttemptOut(
                    attempt=a.attempt,
                    attendance_event_id=a.attendance_event_id,
                    outcome=Outcome(a.outcome),
                    reason_code=a.reason_code,
                    reason_category=reasons.category(a.reason_code)
                    if a.outcome != "passed"
                    else None,
                    at=a.created_at,
                )
                for a in r.attempts
            ],
            stretch_from=r.stretch_from,
            forfeited_seconds=r.forfeited_ms // 1000,
            held_seconds=r.held_ms // 1000,
            exception=(
                RollCallExceptionOut(
                    at=rc.excused_at,
                    by=rc.excused_by,
                    reason=rc.excuse_reason,
                    restored_seconds=r.restored_ms // 1000,
                )
                if rc.excused_at is not None
                else None
            ),
        )


class RollCallExceptionIn(BaseModel):
    """Excuse a failed or missed roll-call; the reason is kept and audited."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "学员来电说明摄像头故障，已视频核实为本人"}]},
    )

    reason: MultilineText = Field(min_length=1, max_length=500)


class SessionOut(BaseModel):
    session_id: uuid.UUID
    state: SessionState
    credited_seconds: int


class ProgressOut(BaseModel):
    enrollment_id: uuid.UUID
    course_id: uuid.UUID
    credited_minutes: int
    required_minutes: int
    quiz_passed: bool
    best_quiz_score: int | None
    rollcalls_total: int
    rollcalls_passed: int
    rollcall_pass_rate: int | None
    min_pass_rate: int
    complete: bool
    completed_at: datetime | None
    missing: list[str]
    missing_zh: list[str]
    require_each_lesson: bool = Field(
        default=False, description="completion also needs every lesson finished"
    )
    lessons_finished: int | None = None
    lessons_total: int | None = None
    offline_minutes: int = Field(
        default=0, description="offline practical minutes credited at offline sessions"
    )
    offline_required_minutes: int = Field(
        default=0, description="offline practical minutes completion needs (0: none)"
    )
    lessons: list[LessonProgressOut] = Field(
        default_factory=list, description="each lesson: what was watched (or read) of it"
    )


class LedgerOut(BaseModel):
    stored_seconds: int
    recomputed_seconds: int
    forfeited_seconds: int
    held_seconds: int
    stored_rollcalls: list[int]
    recomputed_rollcalls: list[int]
    matches: bool
    per_day: dict[str, int]

"""Courses: create (with the roll-call, credit and quiz policies), read, list and edit a
draft (PATCH: the fields left out stay as they are)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.courses import service as svc
from app.courses.models import (
    LEVEL_NAMES_ZH,
    Course,
    CourseStatus,
    CreditPolicy,
    Level,
    QuizOpens,
)
from app.validation import MultilineText, Text

#: The API's roll-call and quiz policy fields (a course's ``rollcall`` and ``quiz`` objects) →
#: the course's columns, which are also the fields of the service's CoursePolicy and
#: CourseChanges: the one place the two namings meet.
ROLLCALL_COLUMNS = {
    "min_interval_s": "rollcall_min_interval_s",
    "max_interval_s": "rollcall_max_interval_s",
    "response_window_s": "rollcall_response_window_s",
    "min_pass_rate": "rollcall_min_pass_rate",
    "daily_cap_minutes": "daily_cap_minutes",
    "credit_policy": "credit_policy",
    "heartbeat_interval_s": "heartbeat_interval_s",
}
QUIZ_COLUMNS = {
    "question_count": "quiz_question_count",
    "time_limit_s": "quiz_time_limit_s",
    "max_attempts": "quiz_max_attempts",
    "opens": "quiz_opens",
}


def policy_columns(rollcall: BaseModel, quiz: BaseModel) -> dict[str, Any]:
    """A request's roll-call and quiz policy (whole, or a patch's) as the course's columns."""
    return {
        column: getattr(part, name)
        for part, columns in ((rollcall, ROLLCALL_COLUMNS), (quiz, QUIZ_COLUMNS))
        for name, column in columns.items()
    }


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
        return svc.CoursePolicy(
            **policy_columns(self.rollcall, self.quiz),
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
                **{name: getattr(c, column) for name, column in ROLLCALL_COLUMNS.items()}
            ),
            quiz=QuizPolicyOut(
                **{name: getattr(c, column) for name, column in QUIZ_COLUMNS.items()}
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
        return svc.CourseChanges(
            title=self.title,
            description=self.description,
            occupation_code=self.occupation_code,
            occupation_name=self.occupation_name,
            level=self.level,
            required_minutes=self.required_minutes,
            pass_score=self.pass_score,
            subsidy_fen=self.subsidy_fen,
            **policy_columns(
                self.rollcall or RollcallPolicyPatch(), self.quiz or QuizPolicyPatch()
            ),
            require_each_lesson=self.require_each_lesson,
            offline_required_minutes=self.offline_required_minutes,
        )

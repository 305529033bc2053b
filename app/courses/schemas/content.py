"""A course's content: lessons and questions, to add, read and edit in a draft, and what a
learner watched of each lesson."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.courses import service as svc
from app.courses.models import (
    LessonKind,
    QuestionKind,
)
from app.validation import MultilineText, Text


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


# ---------------------------------------------------------------- editing drafts (PATCH)


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

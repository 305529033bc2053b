"""Builders for certificate tests: courses and completed enrolments made directly in the
database (the study rules are tested in tests/courses; no faces are needed here), and issuing
through the service as the learner would.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app import clock
from app.accounts.models import Institution, User
from app.accounts.principal import Principal
from app.certificates import service as certificates
from app.certificates.models import Certificate
from app.courses.models import Course, CourseStatus, Enrollment, Level
from app.db import transaction

_seq = itertools.count(1)


def make_course(engine: Engine, institution: Institution, **fields: Any) -> Course:
    n = next(_seq)
    values: dict[str, Any] = {
        "title": f"低压电工作业 {n}",
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": Level.level4,
        "required_minutes": 60,
        "pass_score": 60,
        "subsidy_fen": 150_000,
        "rollcall_min_pass_rate": 80,
        "status": CourseStatus.published,
        **fields,
    }
    with transaction(engine) as s:
        course = Course(institution_id=institution.id, **values)
        s.add(course)
        s.flush()
        return course


def make_enrollment(
    engine: Engine,
    learner: User,
    course: Course,
    *,
    complete: bool = True,
    minutes: int | None = None,
    rollcalls: tuple[int, int] = (5, 5),
    quiz: int | None = 90,
) -> Enrollment:
    """An enrolment, complete by default (verified minutes, quiz and roll-calls all met)."""
    with transaction(engine) as s:
        e = Enrollment(
            course_id=course.id,
            user_id=learner.id,
            institution_id=course.institution_id,
            created_at=clock.now(),
        )
        if complete:
            e.credited_seconds = 60 * (course.required_minutes if minutes is None else minutes)
            e.quiz_passed = quiz is not None and quiz >= course.pass_score
            e.best_quiz_score = quiz
            e.rollcalls_passed, e.rollcalls_total = rollcalls
            e.completed_at = clock.now()
        s.add(e)
        s.flush()
        return e


def complete(engine: Engine, enrollment_id: uuid.UUID) -> None:
    """What the study service's last verified minute does: meet every condition."""
    with transaction(engine) as s:
        e = s.get(Enrollment, enrollment_id)
        assert e is not None
        course = s.get(Course, e.course_id)
        assert course is not None
        e.credited_seconds = course.required_minutes * 60
        e.quiz_passed, e.best_quiz_score = True, 95
        e.rollcalls_passed, e.rollcalls_total = 4, 4
        s.add(e)


def issue(engine: Engine, learner: User, enrollment: Enrollment) -> Certificate:
    with transaction(engine) as s:
        return certificates.issue(s, Principal.of_user(learner), enrollment.id)


def certified(
    engine: Engine, learner: User, institution: Institution, **fields: Any
) -> Certificate:
    """A course, a completed enrolment and its certificate, issued now."""
    opts = {k: fields.pop(k) for k in ("rollcalls", "minutes", "quiz") if k in fields}
    course = make_course(engine, institution, **fields)
    return issue(engine, learner, make_enrollment(engine, learner, course, **opts))


def reload(engine: Engine, serial: str) -> Certificate:
    with Session(engine) as s:
        return certificates.by_serial(s, serial)

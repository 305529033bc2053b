"""The course API's roll-call and quiz policy objects map onto the course's columns in one place
(app/courses/schemas/courses.py): every field of the request, patch and response objects is in
the map, every column it names is one the service and the table have, and a policy goes from a
request to the service and back out unchanged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from uuid import uuid4

from app.courses import service as svc
from app.courses.models import Course, CreditPolicy, Level, QuizOpens
from app.courses.schemas import (
    CourseIn,
    CourseOut,
    CourseUpdateIn,
    QuizPolicyIn,
    QuizPolicyOut,
    QuizPolicyPatch,
    RollcallPolicyIn,
    RollcallPolicyOut,
    RollcallPolicyPatch,
)
from app.courses.schemas.courses import QUIZ_COLUMNS, ROLLCALL_COLUMNS


def test_every_policy_field_has_its_column() -> None:
    for model in (RollcallPolicyIn, RollcallPolicyOut, RollcallPolicyPatch):
        assert set(model.model_fields) == set(ROLLCALL_COLUMNS), model
    for model in (QuizPolicyIn, QuizPolicyOut, QuizPolicyPatch):
        assert set(model.model_fields) == set(QUIZ_COLUMNS), model
    columns = {*ROLLCALL_COLUMNS.values(), *QUIZ_COLUMNS.values()}
    policy = {f.name for f in dataclasses.fields(svc.CoursePolicy)}
    changes = {f.name for f in dataclasses.fields(svc.CourseChanges)}
    assert columns <= policy and columns <= changes
    assert columns <= set(Course.model_fields)
    # Every policy column of the service is reachable from the API (the two left are top-level).
    assert policy - columns == {"require_each_lesson", "offline_required_minutes"}


def _course_in() -> CourseIn:
    return CourseIn(
        title="低压电工作业（初级）",
        occupation_code="6-31-01-03",
        occupation_name="电工",
        level=Level.level5,
        required_minutes=120,
        pass_score=60,
        subsidy_fen=150000,
        rollcall=RollcallPolicyIn(
            min_interval_s=300,
            max_interval_s=900,
            response_window_s=60,
            min_pass_rate=70,
            daily_cap_minutes=240,
            credit_policy=CreditPolicy.lenient,
            heartbeat_interval_s=20,
        ),
        quiz=QuizPolicyIn(
            question_count=8, time_limit_s=900, max_attempts=2, opens=QuizOpens.any_time
        ),
        require_each_lesson=True,
        offline_required_minutes=60,
    )


def test_a_policy_goes_to_the_service_and_back_out_unchanged() -> None:
    body = _course_in()
    policy = body.policy()
    assert policy == svc.CoursePolicy(
        rollcall_min_interval_s=300,
        rollcall_max_interval_s=900,
        rollcall_response_window_s=60,
        rollcall_min_pass_rate=70,
        daily_cap_minutes=240,
        credit_policy=CreditPolicy.lenient,
        heartbeat_interval_s=20,
        quiz_question_count=8,
        quiz_time_limit_s=900,
        quiz_max_attempts=2,
        quiz_opens=QuizOpens.any_time,
        require_each_lesson=True,
        offline_required_minutes=60,
    )
    course = Course(
        id=uuid4(),
        institution_id=uuid4(),
        title=body.title,
        description="",
        occupation_code=body.occupation_code,
        occupation_name=body.occupation_name,
        level=body.level,
        required_minutes=body.required_minutes,
        pass_score=body.pass_score,
        subsidy_fen=body.subsidy_fen,
        created_at=datetime(2026, 3, 2, tzinfo=UTC),
        **dataclasses.asdict(policy),
    )
    out = CourseOut.of(course)
    assert out.rollcall.model_dump() == body.rollcall.model_dump()
    assert out.quiz.model_dump() == body.quiz.model_dump()


def test_a_patch_changes_only_the_policy_fields_it_names() -> None:
    patch = CourseUpdateIn(
        rollcall=RollcallPolicyPatch(min_pass_rate=90),
        quiz=QuizPolicyPatch(opens=QuizOpens.any_time),
    )
    changes = patch.changes()
    named = {k: v for k, v in dataclasses.asdict(changes).items() if v is not None}
    assert named == {"rollcall_min_pass_rate": 90, "quiz_opens": QuizOpens.any_time}
    assert dataclasses.asdict(CourseUpdateIn().changes()) == dataclasses.asdict(svc.CourseChanges())

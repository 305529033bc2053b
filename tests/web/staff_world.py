"""The staff pages' data set and helpers (tests/web/test_staff_pages.py and others): an
institution with staff, a published course with learners, a draft, and strangers; signing in
through the page; the course form."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from app import clock
from app.accounts.models import Institution, LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.api.deps import CSRF_COOKIE
from app.clock import SHANGHAI
from app.courses import service as courses
from app.courses.models import Course
from app.db import transaction
from tests import factories
from tests.factories import PASSWORD, csrf_of, make_institution, make_learner, make_user


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the login form; the CSRF value of the signed-in session."""
    client.cookies.clear()
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(client.cookies.get(CSRF_COOKIE))


def draft_course(engine: Any, staff: User, *, question_count: int = 2, **kw: Any) -> Course:
    with transaction(engine) as s:
        return courses.create_course(
            s,
            Principal.of_user(staff),
            title=kw.get("title", "中式烹调师（初级）"),
            occupation_code="4-03-02-01",
            occupation_name="中式烹调师",
            level="level5",
            required_minutes=120,
            pass_score=60,
            subsidy_fen=120_000,
            policy=courses.CoursePolicy(quiz_question_count=question_count),
        )


COURSE_FORM = {
    "title": "养老护理员（初级）",
    "description": "生活照料、基础护理与安全防护。",
    "occupation_code": "4-10-01-05",
    "occupation_name": "养老护理员",
    "level": "level5",
    "required_minutes": "180",
    "pass_score": "60",
    "subsidy_yuan": "1,500.50",
    # Durations as a number and a unit (the API keeps seconds; the page converts).
    "min_interval": "10",
    "min_interval_unit": "min",
    "max_interval": "0.5",
    "max_interval_unit": "h",
    "response_window": "90",
    "response_window_unit": "s",
    "min_pass_rate": "80",
    "daily_cap_minutes": "480",
    "credit_policy": "lenient",
    "heartbeat_interval": "30",
    "heartbeat_interval_unit": "s",
    "question_count": "2",
    "time_limit": "20",
    "time_limit_unit": "min",
    "max_attempts": "3",
    "quiz_opens": "after_hours",
}


class World:
    """An institution with staff, a published course with learners, a draft, and strangers."""

    def __init__(self, engine: Any) -> None:
        self.inst: Institution = make_institution(engine)
        self.staff = make_user(engine, Role.staff, self.inst)
        self.draft = draft_course(engine, self.staff, title="草稿课程")
        self.course = factories.course_row(engine, self.inst, title="低压电工作业")
        self.learner = make_learner(engine, self.inst, real_name="赵小红")
        with transaction(engine) as s:
            row = s.get(User, self.learner.id)
            assert row is not None
            row.group = LearnerGroup.migrant_worker
            s.add(row)
        self.done = factories.enrollment_row(engine, self.learner, self.course)
        self.other_learner = make_learner(engine, self.inst, real_name="钱小白")
        self.doing = factories.enrollment_row(  # self-enrolled: the course's default class
            engine, self.other_learner, self.course, complete=False, filed=False
        )
        self.other_inst = make_institution(engine)
        self.stranger = make_user(engine, Role.staff, self.other_inst)
        self.regulator = make_user(engine, Role.regulator)


def local_time(minutes: int) -> str:
    """A ``datetime-local`` field's value ``minutes`` from now, in Beijing time."""
    at = clock.now().astimezone(SHANGHAI) + timedelta(minutes=minutes)
    return at.strftime("%Y-%m-%dT%H:%M")


def class_form(w: World, csrf: str, **over: str) -> dict[str, str]:
    """The new-class form of ``w.course``, filled in."""
    return {
        "csrf": csrf,
        "code": "2026-05",
        "name": "2026年第5期低压电工班",
        "starts_on": "2026-05-06",
        "ends_on": "2026-06-19",
        "capacity": "30",
        "head_teacher_id": str(w.staff.id),
        **over,
    }


def offline_form(w: World, csrf: str, **over: str) -> dict[str, str]:
    """A class's new offline-session form, an hour from now for two hours."""
    return {
        "csrf": csrf,
        "title": "照明线路安装实操",
        "site_address": "深圳市南山区留仙大道 1088 号 实训楼 302 室",
        "starts_at": local_time(60),
        "ends_at": local_time(180),
        "capacity": "30",
        "instructor_id": str(w.staff.id),
        **over,
    }

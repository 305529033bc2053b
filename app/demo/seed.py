"""``seed()``: the demo, step by step, into an empty development database (refused otherwise),
with the clock frozen at the start of the simulated history; ``seed_if_empty()`` for callers
that only want the logins when there is nothing yet."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session

from app import clock
from app.accounts import service as accounts
from app.attendance import simulation
from app.audit.service import Actor
from app.config import Environment, get_settings
from app.demo.courses import file_next_term, seed_courses, seed_standards
from app.demo.learners import seed_learners
from app.demo.people import LEARNERS
from app.demo.timeline import ProgressFn, no_progress, time_travel
from app.demo.world import DEMO_LOGINS, DemoLogin, DemoRefused, seed_world

#: Simulated history: six months up to the moment seeding starts.
HISTORY_DAYS = 182


@dataclass
class DemoResult:
    logins: list[DemoLogin]
    counts: dict[str, int] = field(default_factory=dict)


def check_may_seed(session: Session) -> None:
    """Refuse unless development and an empty database (no users: nothing to mix with)."""
    # The test environment is development's twin (the suite seeds); production never.
    if get_settings().env not in (Environment.development, Environment.test):
        raise DemoRefused("only with SKILLTRACE_ENV=development")
    users = accounts.count_users(session)
    if users:
        raise DemoRefused(f"database not empty ({users} users), nothing added")


def seed(session: Session, *, progress: ProgressFn = no_progress) -> DemoResult:
    """Seed the demo (see app/demo/__init__.py) into an empty development database."""
    check_may_seed(session)
    rng = random.Random(2026)  # noqa: S311 - the same picture every time, not a secret
    real_now = clock.now()
    start = (real_now - timedelta(days=HISTORY_DAYS)).replace(microsecond=0)
    actor = Actor.system("seed-demo")
    counts: dict[str, int] = {}
    with time_travel(start) as frozen, simulation.simulating():
        progress("地区、机构与账号", 0, 1)
        world = seed_world(session, actor)
        provincial = world.regulators["regulator-gd"]
        counts["institutions"] = len(world.institutions)
        counts["standards"] = seed_standards(session, provincial)
        course_rows = seed_courses(session, world.staff, frozen, progress, provincial)
        counts["courses"] = len(course_rows)
        counts["enrollments"] = seed_learners(
            session,
            rng,
            world.institutions,
            world.staff,
            course_rows,
            frozen,
            real_now,
            progress,
            provincial,
        )
        counts["learners"] = LEARNERS
        file_next_term(session, course_rows[1], world.staff)
    return DemoResult(logins=list(DEMO_LOGINS), counts=counts)


def seed_if_empty(session: Session) -> list[DemoLogin] | None:
    """The demo's logins after seeding, or None (nothing added) if the database has users."""
    if accounts.count_users(session) > 0:
        return None
    return seed(session).logins

"""The learners' six months: ~300 learners join, each enrolled by their institution's staff into
a class; the first few register themselves and study (app/demo/history.py); the quarter's claims
are planned; then the timeline plays."""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlmodel import Session

from app import clock
from app.accounts import activation, idcard
from app.accounts import service as accounts
from app.accounts.models import Institution, LearnerGroup, User
from app.accounts.principal import Principal
from app.courses import classes
from app.demo.application import plan_application
from app.demo.claims import plan_claims, quarter_start
from app.demo.courses import Run
from app.demo.history import HISTORY_LEARNERS, plan_history
from app.demo.offline import OfflinePlan, plan_offline
from app.demo.people import LEARNERS, people
from app.demo.timeline import ProgressFn, Timeline


def seed_learners(
    session: Session,
    rng: random.Random,
    insts: dict[str, Institution],
    staff: dict[str, list[User]],
    runs: list[Run],
    frozen: clock.FrozenClock,
    real_now: datetime,
    progress: ProgressFn,
    provincial: User,
) -> int:
    """Learners join over the first five months, each enrolled by their institution's staff
    into one course (a quarter also into a second course of the same institution); the first
    ``HISTORY_LEARNERS`` registered themselves, consented and study (app/demo/history.py)."""
    today = real_now.astimezone(clock.SHANGHAI).date()
    by_inst: dict[str, list[Run]] = {}
    for run in runs:
        if run.classes:
            by_inst.setdefault(run.spec.inst, []).append(run)
    codes = list(by_inst)
    start = frozen.now()
    joined = sorted(rng.uniform(0.5, 150.0) for _ in range(LEARNERS - HISTORY_LEARNERS))
    joined = [rng.uniform(0.2, 20.0) for _ in range(HISTORY_LEARNERS)] + joined
    timeline = Timeline(frozen, real_now - timedelta(hours=1))
    # After every evening sitting (the latest starts at 20:50 for at most 50 minutes); the clock
    # runs in UTC (an audit entry hashes its time as written).
    agent_evening = (
        (start + timedelta(days=45)).astimezone(clock.SHANGHAI).replace(hour=22, minute=30)
    ).astimezone(UTC)
    enrolled = 0
    opened: set[uuid.UUID] = set()
    blended = OfflinePlan()

    def enrol(n: int, name: str, number: idcard.IdNumber, group: LearnerGroup) -> None:
        nonlocal enrolled
        code = codes[n % len(codes)]
        inst = insts[code]
        clerk = Principal.of_user(staff[code][n % 2])
        history = n < HISTORY_LEARNERS
        if history:
            learner = accounts.register_learner(
                session,
                username=f"xy{number.value[-6:]}{n:03d}",
                password=secrets.token_urlsafe(18),  # nobody signs in as them
                real_name=name,
                id_number=number.value,
                group=group,
                institution_id=inst.id,
            )
            accounts.set_biometric_consent(session, learner, granted=True)
        else:
            learner = activation.create_pending_learner(
                session,
                real_name=name,
                id_number=number,
                phone=None,
                group=group,
                institution_id=inst.id,
                actor=clerk.actor,
                via="staff",
            )
        own = by_inst[code]
        picks = [own[(n // len(codes)) % len(own)] if history else rng.choice(own)]
        if not history and rng.random() < 0.25:
            other = rng.choice(by_inst[code])
            if other is not picks[0]:
                picks.append(other)
        for run in picks:
            klass = run.classes[0 if joined[n] < 60 else 1]
            if klass.id not in opened and klass.status.value == "planned":
                classes.open_class(session, clerk, klass.id)
            opened.add(klass.id)
            enrollment = classes.enrol_learner(session, clerk, klass.id, learner.id)
            enrolled += 1
            if history:
                blended.add(clerk, learner, enrollment)
                # The institution (in codes' order) of n % 3 == 2: six of its learners.
                agent_at = (
                    agent_evening + timedelta(minutes=n // 3) if n % 3 == 2 and n < 18 else None
                )
                plan_history(
                    session, rng, n, learner, clerk, enrollment, run.course, timeline, agent_at
                )

    for n, (name, number, group) in enumerate(people(rng, LEARNERS, today)):
        when = start + timedelta(days=joined[n], hours=rng.uniform(0, 9))
        timeline.at(when, partial(enrol, n, name, number, group))
    # Subsidy claims for the last quarter that ended at least ten days into the history.
    q_end = quarter_start((start + timedelta(days=130)).astimezone(clock.SHANGHAI).date())
    q_start = quarter_start(q_end - timedelta(days=1))
    quarter = (q_start.month - 1) // 3 + 1
    filed = datetime(q_end.year, q_end.month, 10, 2, 0, tzinfo=UTC)
    plan_claims(session, timeline, staff, provincial, q_start.year, quarter, filed)
    # A week before today: a learner's own application, in its public notice by today.
    plan_application(session, timeline, provincial, real_now - timedelta(days=7))
    # After the history learners have joined (within their first 20 days): an offline session.
    plan_offline(session, timeline, blended, start + timedelta(days=40))
    timeline.play(progress)
    return enrolled

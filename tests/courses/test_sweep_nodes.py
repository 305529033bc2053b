"""Background jobs with several app nodes: two roll-call sweeps, or two evidence purges, running
at once on one database resolve each row once (one audit entry, one count)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from app import clock as clock_mod
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent
from app.audit.models import AuditEntry
from app.courses import study
from app.courses.models import Enrollment, RollCall, RollCallStatus
from app.db import transaction
from tests.factories import (
    attendance_verdict,
    course_row,
    make_institution,
    make_learner,
    self_enrolled,
    start_session,
)


def _entries(engine: Any, action: str) -> int:
    with Session(engine) as s:
        return int(
            s.exec(
                select(func.count()).select_from(AuditEntry).where(col(AuditEntry.action) == action)
            ).one()
        )


def _blocked_or_done(engine: Any, done: threading.Event) -> Callable[[], bool]:
    """The second job either finished or waits for a row lock the first holds (PostgreSQL)."""

    def check() -> bool:
        if done.is_set():
            return True
        if engine.dialect.name != "postgresql":
            return False
        with engine.connect() as conn:
            waiting = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            ).scalar_one()
        return bool(waiting)

    return check


def _race(engine: Any, job: Callable[[Session], int]) -> tuple[int, int]:
    """Job A runs and holds its transaction open while job B starts; then A commits. On SQLite
    B waits for A's write lock before it starts, so the two run one after the other."""
    results: dict[str, int] = {}
    done = threading.Event()

    def second() -> None:
        with transaction(engine) as s:
            results["b"] = job(s)
        done.set()

    with transaction(engine) as s:
        results["a"] = job(s)
        thread = threading.Thread(target=second)
        thread.start()
        if engine.dialect.name == "postgresql":
            deadline = time.monotonic() + 20
            check = _blocked_or_done(engine, done)
            while not check() and time.monotonic() < deadline:
                time.sleep(0.02)
    thread.join(30)
    assert not thread.is_alive()
    return results["a"], results["b"]


def test_two_sweeps_at_once_mark_each_missed_rollcall_once(engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    sessions = []
    for _ in range(3):
        learner = make_learner(engine, inst)
        course = course_row(engine, inst, heartbeat_interval_s=30)
        e = self_enrolled(engine, learner, course)
        sid = start_session(engine, learner, e, course)
        with transaction(engine) as s:
            now = clock_mod.now()
            s.add(
                RollCall(
                    session_id=sid,
                    enrollment_id=e.id,
                    user_id=learner.id,
                    due_at=now,
                    offered_at=now,
                    deadline=now + timedelta(seconds=30),
                    status=RollCallStatus.pending,
                )
            )
        sessions.append(sid)
    clock.advance(seconds=31)

    a, b = _race(engine, study.sweep_missed_rollcalls)

    assert a + b == 3, (a, b)
    assert _entries(engine, "rollcall.missed") == 3
    with Session(engine) as s:
        totals = s.exec(select(Enrollment.rollcalls_total)).all()
    assert sorted(totals) == [1, 1, 1]  # each counted once


def test_two_evidence_purges_at_once_purge_and_audit_each_event_once(
    engine: Any, clock: Any, tmp_path: Any
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    from app.attendance.models import Outcome

    with transaction(engine) as s:
        for _ in range(3):
            event = attendance_verdict(s, learner, Outcome.passed, inst)
            event.evidence_path = f"evidence/{uuid.uuid4().hex}.jpg"
            s.add(event)
    clock.advance(days=400)

    a, b = _race(engine, attendance.purge_evidence)

    assert a + b == 3, (a, b)
    assert _entries(engine, "face.evidence_purged") == 3
    with Session(engine) as s:
        left = s.exec(
            select(func.count())
            .select_from(AttendanceEvent)
            .where(col(AttendanceEvent.evidence_purged_at).is_(None))
        ).one()
    assert left == 0

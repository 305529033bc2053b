"""The sweep: roll-calls whose deadline passed with no answer (a closed page sends no heartbeat)
become missed, once, whichever node sweeps."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app import clock
from app.audit.service import Actor
from app.courses.models import (
    RollCall,
    RollCallStatus,
    StudySession,
)
from app.courses.rollcall.resolution import _miss_past_deadline


def sweep_missed_rollcalls(session: Session, *, now: datetime | None = None) -> int:
    """Mark roll-calls whose deadline passed with no answer as missed (a closed page sends no
    heartbeat). Runs periodically in the app and as ``skilltrace sweep``.

    Safe with any number of sweepers on any number of nodes: a roll-call is resolved under its
    study session's row lock, after reading it again there, so it is resolved once. A session
    another process holds (a heartbeat, an answer, another sweeper) is skipped rather than
    waited for (``SKIP LOCKED`` on PostgreSQL): that process resolves the roll-call, or the next
    sweep does. SQLite's one writer serialises sweeps anyway."""
    now = now or clock.now()
    due = session.exec(
        select(RollCall.id, RollCall.session_id).where(
            col(RollCall.status) == RollCallStatus.pending, col(RollCall.deadline) < now
        )
    ).all()
    n = 0
    for rollcall_id, session_id in due:
        study = session.exec(
            select(StudySession)
            .where(col(StudySession.id) == session_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).first()
        if study is None:  # held by another process right now (or gone)
            continue
        rc = session.get(RollCall, rollcall_id, populate_existing=True)
        if rc is None or rc.status is not RollCallStatus.pending:
            continue  # resolved since we listed it
        _miss_past_deadline(session, study, rc, Actor.system("sweep"))
        n += 1
    session.flush()
    return n

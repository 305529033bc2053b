"""Simulated face decisions: how the demo (``skilltrace seed-demo``) records six months of
check-ins and roll-calls without cameras.

Face perception (detection, embedding, liveness, PAD) takes a second of CPU per check, and the
demo's history holds thousands of them; nor may the demo need anyone's face data. So the demo
records each decision it simulates as what it is: an attendance event through the ordinary
recording path (:func:`app.attendance.recording._save_event`: same row, same audit entry, same
hooks) whose engine, model and liveness mode all say ``simulated`` (never a real engine's name),
with no frames and no evidence crop. Staff and regulator pages show the engine of every event,
so a simulated check is visibly one.

Refused unless :func:`simulating` is active, which it only is in development (or the test
environment) while the demo seeds an empty database (app/demo/seed.py checks that first). Nothing
else in the product calls this module; real checks go through
:func:`app.attendance.verification.verify`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlmodel import Session

from app import clock
from app.accounts.models import User
from app.attendance.engine import thresholds
from app.attendance.models import AttendanceEvent, Outcome, Purpose, ReviewStatus
from app.attendance.recording import _save_event
from app.audit.service import Actor
from app.config import Environment, get_settings

#: The engine, model and liveness mode of every simulated decision.
SIMULATED = "simulated"

_active: ContextVar[bool] = ContextVar("attendance_simulation", default=False)


class SimulationRefused(RuntimeError):
    """A simulated face decision outside the demo seeder (or in production)."""


def _allowed() -> bool:
    return get_settings().env in (Environment.development, Environment.test)


@contextmanager
def simulating() -> Iterator[None]:
    """Allow simulated decisions in this context (development and tests only)."""
    if not _allowed():
        raise SimulationRefused("simulated face decisions exist only in development")
    token = _active.set(True)
    try:
        yield
    finally:
        _active.reset(token)


def record(
    session: Session,
    user: User,
    *,
    purpose: Purpose,
    outcome: Outcome,
    reason_code: str | None = None,
    distance: float | None = None,
    institution_id: uuid.UUID | None = None,
    client_ip: str | None = None,
) -> AttendanceEvent:
    """Record one simulated face decision as an attendance event (audited like any other).

    ``distance`` is the simulated match score in the configured model's metric, reported beside
    its real thresholds (SFace: cosine similarity, so a pass sits above the accept threshold and
    a "review" in the band below it); ``reason_code`` is required unless passed."""
    if not _active.get() or not _allowed():
        raise SimulationRefused("simulated face decisions are recorded only by seed-demo")
    if outcome is not Outcome.passed and not reason_code:
        raise ValueError("a simulated failure or review needs its reason code")
    accept, reject = thresholds()
    d = None if distance is None else f"{distance:.4f}"
    event = AttendanceEvent(
        user_id=user.id,
        institution_id=institution_id if institution_id is not None else user.institution_id,
        purpose=purpose,
        accept_threshold=f"{accept:.4f}",
        reject_threshold=f"{reject:.4f}",
        match_metric=SIMULATED,
        face_engine=SIMULATED,
        model_name=SIMULATED,
        model_version="demo",
        model_sha256=SIMULATED,
        best_distance=d,
        median_distance=d,
        liveness={
            "mode": SIMULATED,
            "passed": reason_code not in ("liveness_failed", "stream_discontinuous"),
            "reason": reason_code if reason_code in ("liveness_failed",) else None,
            "actions": [],
        },
        outcome=outcome,
        reason_code=reason_code,
        review_status=ReviewStatus.pending if outcome is Outcome.review else None,
        client_ip=client_ip,
        user_agent="seed-demo (simulated)",
        created_at=clock.now(),
    )
    _save_event(session, event, Actor.user(user.id))
    session.flush()
    return event

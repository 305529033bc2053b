"""Study sessions, heartbeats, roll-calls and credit, one import away: re-exports the modules
that hold them (``study.check_in(...)``, ``study.heartbeat(...)``).

- :mod:`app.courses.sessions`: face check-in opens a session, ending closes it;
- :mod:`app.courses.heartbeat`: heartbeats (a Core fast path and the ORM path);
- :mod:`app.courses.rollcall`: random roll-calls, answers, misses, review decisions, the sweep;
- :mod:`app.courses.credit`: the open segment, the daily cap, and the ledger check;
- :mod:`app.courses.ledger`: the rules as pure functions of the stored events.
"""

from __future__ import annotations

from app.courses.credit import ACTIVE_STATES, LedgerCheck, check_ledger, ledger_events
from app.courses.heartbeat import HeartbeatResult, RollCallOffer, heartbeat
from app.courses.rollcall import (
    MAX_ATTEMPTS,
    answer_rollcall,
    can_excuse,
    grant_exception,
    next_rollcall_time,
    rollcall_missed_hooks,
    settle_rollcall,
    sweep_missed_rollcalls,
)
from app.courses.sessions import check_in, end_session

__all__ = [
    "check_in",
    "end_session",
    "RollCallOffer",
    "HeartbeatResult",
    "heartbeat",
    "next_rollcall_time",
    "rollcall_missed_hooks",
    "answer_rollcall",
    "grant_exception",
    "can_excuse",
    "MAX_ATTEMPTS",
    "settle_rollcall",
    "sweep_missed_rollcalls",
    "ACTIVE_STATES",
    "LedgerCheck",
    "ledger_events",
    "check_ledger",
]

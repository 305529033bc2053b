"""Scheduled upkeep (for cron): purge old evidence and idempotency records, sweep missed
roll-calls, check the live study totals against the ledger."""

from __future__ import annotations

import json

import typer

from app.cli.base import app
from app.config import get_settings


@app.command("purge-evidence")
def purge_evidence() -> None:
    """Delete evidence face crops older than the retention period (their hashes stay)."""
    from app.attendance import service as attendance
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        n = attendance.purge_evidence(session)
    days = get_settings().evidence_retention_days
    typer.echo(json.dumps({"purged": n, "retention_days": days}))


@app.command("purge-idempotency")
def purge_idempotency() -> None:
    """Delete Idempotency-Keys (and their stored responses) past idempotency_ttl_s."""
    from app.db import get_engine, transaction
    from app.idempotency import service as idempotency

    with transaction(get_engine()) as session:
        n = idempotency.purge_expired(session)
    typer.echo(json.dumps({"purged": n, "ttl_s": get_settings().idempotency_ttl_s}))


@app.command()
def sweep() -> None:
    """Mark roll-calls whose deadline passed without an answer as missed."""
    from app.courses.study import sweep_missed_rollcalls
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        n = sweep_missed_rollcalls(session)
    typer.echo(json.dumps({"missed": n}))


@app.command("ledger-check")
def ledger_check() -> None:
    """Recompute every enrolment's verified time from stored events — online study and offline
    practical minutes (app/courses/offline.py) — and exit 1 on any mismatch."""
    from sqlmodel import select

    from app.courses.models import Enrollment
    from app.courses.offline_records import offline_ledger
    from app.courses.study import check_ledger
    from app.db import get_engine, transaction

    bad = 0
    with transaction(get_engine(), reading=True) as session:
        enrollments = session.exec(select(Enrollment)).all()
        for e in enrollments:
            check = check_ledger(session, e)
            offline = offline_ledger(session, e)
            if not check.matches or not offline.matches:
                bad += 1
                typer.echo(
                    json.dumps(
                        {
                            "enrollment": str(e.id),
                            "stored_seconds": check.stored_seconds,
                            "recomputed_seconds": check.recomputed.credited_seconds,
                            "offline_stored_ms": offline.stored_ms,
                            "offline_recomputed_ms": offline.recomputed_ms,
                        }
                    )
                )
    typer.echo(json.dumps({"checked": len(enrollments), "mismatches": bad}))
    if bad:
        raise typer.Exit(1)

"""The face templates' change clock: what lets every node's 1:N index load only what changed.

Every transaction that writes a face template (enrolment, activation, retirement, consent
withdrawal, a reviewer's decision: any ORM write to ``face_templates``) takes the next value of
``face_index_clock.seq`` just before it commits and stamps it on the rows it wrote
(``face_templates.change_seq``). It does so by ``UPDATE … RETURNING`` on the clock's one row, whose
row lock it keeps until the commit: the next such transaction waits for that commit before it
draws its own value, so **the values commit in order**. Hence a reader that sees the clock at
``V`` (committed) finds every row stamped ``<= V`` already committed, and an index that has seen
``W`` brings itself up to date by reading the rows stamped in ``(W, V]`` — none is ever skipped
by a transaction that started earlier and committed later, which a timestamp watermark cannot
promise. When nothing changed, the refresh is one read of one row.

The lock is taken as the transaction's last statement (after its final flush), so a transaction
holding it waits for no other lock: it cannot take part in a deadlock. Writes to the table that
bypass the ORM must call :func:`stamp` themselves. On SQLite writers are serialised anyway.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from app.attendance.models import FaceIndexClock, FaceTemplate

_CLOCK = FaceIndexClock.__table__  # type: ignore[attr-defined]
_TEMPLATES = FaceTemplate.__table__  # type: ignore[attr-defined]
_KEY = "skilltrace.face_templates_written"

_TICK = (
    sa.update(_CLOCK).where(_CLOCK.c.id == 1).values(seq=_CLOCK.c.seq + 1).returning(_CLOCK.c.seq)
)
_READ = sa.select(_CLOCK.c.epoch, _CLOCK.c.seq).where(_CLOCK.c.id == 1)


def read(conn: sa.Connection) -> tuple[str | None, int]:
    """The clock as committed: (epoch, seq); (None, 0) before any template was written."""
    row = conn.execute(_READ).first()
    return (None, 0) if row is None else (str(row.epoch), int(row.seq))


def stamp(conn: sa.Connection, template_ids: Iterable[uuid.UUID]) -> int:
    """Draw the next clock value (holding the clock's row lock until commit) and stamp it on
    ``template_ids``. Returns the value."""
    ids = list(template_ids)
    value = conn.execute(_TICK).scalar()
    if value is None:  # an empty table (a fresh or emptied database): create the row once
        ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(_CLOCK)
        conn.execute(
            ins.values(id=1, epoch=uuid.uuid4().hex, seq=0).on_conflict_do_nothing(
                index_elements=["id"]
            )
        )
        value = conn.execute(_TICK).scalar_one()
    for start in range(0, len(ids), 500):
        conn.execute(
            sa.update(_TEMPLATES)
            .where(_TEMPLATES.c.id.in_(ids[start : start + 500]))
            .values(change_seq=value)
        )
    return int(value)


@event.listens_for(Session, "before_flush")
def _note_writes(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    written = [o.id for o in (*session.new, *session.dirty) if isinstance(o, FaceTemplate)]
    if written:
        session.info.setdefault(_KEY, set()).update(written)


@event.listens_for(Session, "before_commit")
def _stamp_writes(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer commit stamps
    if _KEY not in session.info and not any(
        isinstance(o, FaceTemplate) for o in (*session.new, *session.dirty)
    ):
        return
    session.flush()  # the last flush: nothing follows the clock's lock but the commit
    written = session.info.pop(_KEY, None)
    if written:
        stamp(session.connection(), written)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_KEY, None)  # rolled back (a commit popped it already)

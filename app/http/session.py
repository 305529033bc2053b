"""The request's unit of work (:func:`app.db.transaction`) as FastAPI dependencies.

One transaction per request: it commits when the handler returns and rolls back on error
(keeping the changes of a :class:`~app.errors.DomainError` marked ``keep_changes``), all before
the response is sent (``scope="function"``), so a client never sees success for a transaction
that then failed to commit. A keyed request (``Idempotency-Key``) hands its open transaction to
the middleware instead, which commits it with the stored response (app/idempotency/outcome.py).
On SQLite, reads (GET) take no write lock (see app/db.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Annotated, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import begin_write_nowait, get_engine, run_and_finish, transaction
from app.idempotency import outcome

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


def get_session(request: Request) -> Iterator[Session]:
    """The request's session, in one unit of work (reads take no write lock on SQLite)."""
    reading = request.method in READ_METHODS
    with transaction(get_engine(), reading=reading, hand_over=outcome.defer_commit) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# ---------------------------------------------------------------- hot write endpoints
# A handler a page calls many times a second across all learners (the study heartbeat) has one
# dependency (its caller: app/api/deps.py) and at most two trips to worker threads instead of
# one per dependency: the caller is read in one when the token cache does not know it, the
# handler opens its unit of work, does its work and ends it in the other (:func:`run_unit`). The
# caller is read in a transaction of its own that only reads (no write lock on SQLite), so the
# database write lock is held only while the handler works, never while a request waits for
# the event loop or for a free worker thread. The unit of work ends by :func:`app.db.finish`'s
# rules before the handler returns: no answer is sent for work that did not commit.


async def in_thread(fn: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(fn)


# A hot handler's unit of work goes through its database's *write lane*: one at a time on
# SQLite, which lets one writer at a time in (``BEGIN IMMEDIATE``, app/db.py), as many as the pool
# keeps connections on PostgreSQL. Those waiting for their turn wait on the event loop, in order,
# not in forty worker threads queued on the write lock (or on the pool).
#
# On SQLite the unit of work then runs on the event loop itself when no other writer holds the
# database: the work is a few statements of CPU that wait for no lock, and a worker thread would
# only add a hand-off of the GIL at every statement (the sqlite3 driver releases it around each
# call, and a thread waits up to the interpreter's switch interval, 5 ms, to get it back while the
# event loop runs): under 32 heartbeats in flight that convoy, not the work, bounded the rate.
# When another writer holds the database (a page's unit of work in a worker thread, another
# process), the lane's holder waits for it in a worker thread, and the next in line after it
# tries the event loop again. PostgreSQL's units of work always run in a worker thread (they
# wait on the server).

_LANES: RunVar[dict[Engine, CapacityLimiter]] = RunVar("skilltrace_write_lanes")


def lane_width(engine: Engine) -> int:
    """How many units of work a lane runs at once on ``engine``'s database."""
    if engine.dialect.name == "sqlite":
        return 1
    size = getattr(engine.pool, "size", None)
    return max(1, size()) if callable(size) else 1


def write_lane(engine: Engine) -> CapacityLimiter:
    """The lane of ``engine``'s database in the running event loop."""
    try:
        lanes = _LANES.get()
    except LookupError:
        lanes = {}
        _LANES.set(lanes)
    lane = lanes.get(engine)
    if lane is None:
        lane = lanes[engine] = CapacityLimiter(lane_width(engine))
    return lane


async def run_finished(session: Session, work: Callable[[], T]) -> T:
    """Run a handler's work and end its unit of work, in one go, in its turn in the database's
    write lane: on the event loop when SQLite lets it write at once, else in a worker thread."""
    engine = session.get_bind().engine
    finished = partial(run_and_finish, session, work, hand_over=outcome.defer_commit)
    lane = write_lane(engine)
    if engine.dialect.name != "sqlite":
        return await anyio.to_thread.run_sync(finished, limiter=lane)
    try:
        lane.acquire_nowait()
    except anyio.WouldBlock:
        await lane.acquire()
    try:
        if begin_write_nowait(session):  # run_unit's session: no transaction yet
            return finished()
        return await anyio.to_thread.run_sync(finished)
    finally:
        lane.release()


async def run_unit(work: Callable[[Session], T]) -> T:
    """A hot handler's whole unit of work: a session opened, ``work(session)`` run and the unit
    of work ended (:func:`run_finished`: committed before this returns, or rolled back), and
    the session closed — unless a keyed request's middleware took it to commit with the stored
    response (app/idempotency/outcome.py), which then closes it."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        return await run_finished(session, partial(work, session))
    finally:
        if outcome.taken(session):
            pass  # the middleware commits and closes it with the response
        elif session.in_transaction():  # pragma: no cover - finish failed to end it
            await in_thread(session.close)
        else:
            session.close()

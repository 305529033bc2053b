"""Appending to the audit chains on both databases: atomic with the change, serialised per chain."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Institution
from app.audit import service as audit
from app.audit.chain import GENESIS, ChainVerifier, entry_hash
from app.audit.models import AuditChainHead, AuditEntry
from app.audit.service import Actor
from app.db import transaction


def _append(session: Session, chain: str, i: int = 0) -> AuditEntry:
    return audit.append(
        session,
        actor=Actor.system("test"),
        action="test.appended",
        subject=f"thing:{i}",
        payload={"i": i, "名字": "王小明"},
        chain=chain,
    )


def _entries(engine: Engine, chain: str) -> list[AuditEntry]:
    with Session(engine) as s:
        stmt = select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.seq)  # type: ignore[arg-type]
        return list(s.execute(stmt).scalars())


def assert_chain_intact(engine: Engine, chain: str, n: int) -> None:
    """seq 1..n without gap or duplicate, every link right, the head row agrees, export verifies."""
    rows = _entries(engine, chain)
    assert [e.seq for e in rows] == list(range(1, n + 1))
    prev = GENESIS
    for e in rows:
        assert e.prev_hash == prev, e.seq
        prev = e.hash
    with Session(engine) as s:
        head = s.get(AuditChainHead, chain)
        assert head is not None and (head.seq, head.head_hash) == (n, prev)
        verifier = ChainVerifier()
        checkpoint = None
        for obj in audit.iter_export(s, chain):
            if obj["type"] == "checkpoint":
                checkpoint = obj
            else:
                assert entry_hash(obj) == obj["hash"]
                assert verifier.feed(obj) is None, verifier.result
    result = verifier.finish(checkpoint)
    assert result.ok, result
    assert (result.entries, result.last_seq, result.head_hash) == (n, n, prev)


def test_append_commits_with_the_change(engine: Engine) -> None:
    with transaction(engine) as session:
        inst = accounts.create_institution(session, code="SZ001", name="深圳", actor=Actor.system())
    chain = audit.chain_for(inst.id)
    [entry] = _entries(engine, chain)
    assert (entry.seq, entry.action, entry.prev_hash) == (1, "institution.created", GENESIS)
    assert entry.actor == "system:cli"
    assert_chain_intact(engine, chain, 1)


def test_append_rolls_back_with_the_change(engine: Engine) -> None:
    with pytest.raises(RuntimeError), transaction(engine) as session:
        accounts.create_institution(session, code="SZ001", name="深圳", actor=Actor.system())
        _append(session, audit.PLATFORM_CHAIN)
        raise RuntimeError("the request failed after the change")
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Institution)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditChainHead)).scalar_one() == 0
    # The chain picks up at seq 1 afterwards: nothing of the failed transaction remains.
    with transaction(engine) as session:
        _append(session, audit.PLATFORM_CHAIN)
    assert_chain_intact(engine, audit.PLATFORM_CHAIN, 1)


def test_several_appends_in_one_transaction(engine: Engine) -> None:
    chain = audit.chain_for(uuid.uuid4())
    with transaction(engine) as session:
        for i in range(5):
            assert _append(session, chain, i).seq == i + 1
    with transaction(engine) as session:
        assert _append(session, chain).seq == 6
    assert_chain_intact(engine, chain, 6)


def test_refused_payload_appends_nothing(engine: Engine) -> None:
    chain = audit.chain_for(uuid.uuid4())
    with pytest.raises(TypeError), transaction(engine) as session:
        audit.append(
            session, actor="system:test", action="x", subject="y", payload={"d": 0.5}, chain=chain
        )
    assert _entries(engine, chain) == []


def test_chains_are_independent(engine: Engine) -> None:
    a, b = audit.chain_for(uuid.uuid4()), audit.chain_for(uuid.uuid4())
    for i in range(7):
        with transaction(engine) as session:
            _append(session, a, i)
            if i % 2:
                _append(session, b, i)
    with transaction(engine) as session:
        _append(session, audit.PLATFORM_CHAIN)
    assert_chain_intact(engine, a, 7)
    assert_chain_intact(engine, b, 3)
    assert_chain_intact(engine, audit.PLATFORM_CHAIN, 1)
    with Session(engine) as s:
        assert audit.chains(s) == sorted([a, b, audit.PLATFORM_CHAIN])


def _run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run(t: int) -> None:
        try:
            barrier.wait()
            work(t)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads), "an append thread hung"
    return errors


THREADS, PER_THREAD = 8, 25


def test_concurrent_appends_to_one_chain(engine: Engine) -> None:
    chain = audit.chain_for(uuid.uuid4())

    def work(t: int) -> None:
        for i in range(PER_THREAD):
            with transaction(engine) as session:
                _append(session, chain, t * 1000 + i)

    errors = _run_threads(THREADS, work)
    assert errors == []
    assert_chain_intact(engine, chain, THREADS * PER_THREAD)
    subjects = {e.subject for e in _entries(engine, chain)}
    assert len(subjects) == THREADS * PER_THREAD  # every append landed exactly once


def test_concurrent_appends_to_two_chains(engine: Engine) -> None:
    chains = [audit.chain_for(uuid.uuid4()), audit.chain_for(uuid.uuid4())]

    def work(t: int) -> None:
        for i in range(PER_THREAD):
            with transaction(engine) as session:
                _append(session, chains[(t + i) % 2], t * 1000 + i)

    errors = _run_threads(THREADS, work)
    assert errors == []
    for chain in chains:
        assert_chain_intact(engine, chain, THREADS * PER_THREAD // 2)


def test_concurrent_first_appends_create_one_head(engine: Engine) -> None:
    """Many transactions racing to create a brand-new chain: one head, no fork."""
    chain = audit.chain_for(uuid.uuid4())

    def work(t: int) -> None:
        with transaction(engine) as session:
            _append(session, chain, t)

    assert _run_threads(THREADS, work) == []
    assert_chain_intact(engine, chain, THREADS)


def test_concurrent_institution_creation(engine: Engine) -> None:
    """The real write path: change + audit entry per transaction, each on its own chain."""

    def work(t: int) -> None:
        for i in range(5):
            with transaction(engine) as session:
                accounts.create_institution(
                    session, code=f"C{t}-{i}", name="机构", actor=Actor.system()
                )
                _append(session, audit.PLATFORM_CHAIN, t * 100 + i)

    assert _run_threads(THREADS, work) == []
    assert_chain_intact(engine, audit.PLATFORM_CHAIN, THREADS * 5)
    with Session(engine) as s:
        insts = list(s.execute(select(Institution)).scalars())
    assert len(insts) == THREADS * 5
    for inst in insts:
        assert_chain_intact(engine, audit.chain_for(inst.id), 1)


def test_entry_time_never_goes_back_along_the_chain(engine: Engine, clock: Any) -> None:
    """A writer that read the clock before waiting for the chain lock must not chain an older
    time after a newer one (a since/until window export would then skip an entry mid-chain).
    """
    chain = audit.chain_for(uuid.uuid4())
    t0 = clock.now()
    waiting = threading.Event()
    errors: list[BaseException] = []

    def late_writer() -> None:
        try:
            waiting.set()
            with transaction(engine) as session:
                _append(session, chain, 2)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    with transaction(engine) as session:
        clock.set(t0 + timedelta(seconds=10))
        _append(session, chain, 1)  # holds the chain lock until commit
        clock.set(t0)  # the other node's clock is behind (or it read it before waiting)
        th = threading.Thread(target=late_writer)
        th.start()
        waiting.wait()
        th.join(timeout=0.5)  # it is blocked on the lock
        assert th.is_alive()
    th.join(timeout=30)
    assert errors == []
    first, second = _entries(engine, audit.chain_for(uuid.UUID(chain[5:])))
    assert second.time >= first.time
    with Session(engine) as s:
        window = [
            o["seq"] for o in audit.iter_export(s, chain, since=first.time) if o["type"] == "entry"
        ]
    assert window == [1, 2]


def _records(n: int) -> list[audit.Record]:
    return [
        audit.Record(
            actor=Actor.user(uuid.UUID(int=i + 1)) if i % 3 else "system:test",
            action="learner.created" if i % 2 else "enrollment.created",
            subject=f"user:{uuid.UUID(int=1000 + i)}",
            payload={
                "i": i,
                "名字": "王小明",
                "group": None,
                "nested": {"b": [1, "二"], "a": True},
            },
        )
        for i in range(n)
    ]


def _fields(entries: list[AuditEntry]) -> list[tuple[Any, ...]]:
    return [
        (e.chain, e.seq, e.time, e.actor, e.action, e.subject, e.payload, e.prev_hash, e.hash)
        for e in entries
    ]


def test_append_many_writes_what_append_writes_hash_for_hash(engine: Engine, clock: Any) -> None:
    """The bulk path and the per-row path give the same chain, entry for entry, from a head that
    is not the genesis and whose time is ahead of the clock (times never go back)."""
    chain = audit.chain_for(uuid.uuid4())
    t0 = clock.now()
    clock.set(t0 + timedelta(seconds=10))
    with transaction(engine) as session:
        _append(session, chain, -1)
    clock.set(t0)
    records = _records(2 * audit.INSERT_BATCH + 7)  # more than one INSERT statement

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction(engine) as session:
        for r in records:
            audit.append(
                session, actor=r.actor, action=r.action, subject=r.subject, payload=r.payload,
                chain=chain,
            )  # fmt: skip
        session.flush()
        per_row = _fields(
            list(
                session.execute(
                    select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.seq)  # type: ignore[arg-type]
                ).scalars()
            )
        )
        raise Undo
    assert len(_entries(engine, chain)) == 1  # the per-row run was rolled back
    with transaction(engine) as session:
        seq, head_hash = audit.append_many(session, records, chain=chain)
    bulk = _fields(_entries(engine, chain))
    assert len(per_row) == len(bulk) == len(records) + 1
    assert bulk == per_row
    assert (seq, head_hash) == (bulk[-1][1], bulk[-1][-1])
    assert_chain_intact(engine, chain, len(records) + 1)
    with transaction(engine) as session:
        assert _append(session, chain).seq == len(records) + 2  # the head row moved on
    assert_chain_intact(engine, chain, len(records) + 2)


def test_append_many_refuses_a_bad_payload_before_writing_anything(engine: Engine) -> None:
    chain = audit.chain_for(uuid.uuid4())
    records = [*_records(3), audit.Record("system:test", "x", "y", {"d": 0.5})]
    with pytest.raises(TypeError), transaction(engine) as session:
        audit.append_many(session, records, chain=chain)
    assert _entries(engine, chain) == []
    with transaction(engine) as session:
        assert audit.append_many(session, [], chain=chain) == (0, GENESIS)
    with Session(engine) as s:
        assert s.get(AuditChainHead, chain) is None


def test_single_append_waits_for_a_bulk_append_on_the_same_chain(engine: Engine) -> None:
    """A request appending while a bulk append holds the chain (row lock on PostgreSQL, the
    write lock on SQLite) waits and chains after the whole batch: no fork, no gap."""
    chain = audit.chain_for(uuid.uuid4())
    with transaction(engine) as session:
        _append(session, chain, 0)
    started = threading.Event()
    errors: list[BaseException] = []
    seqs: list[int] = []

    def single() -> None:
        try:
            started.set()
            with transaction(engine) as session:
                seqs.append(_append(session, chain, 99).seq)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    th = threading.Thread(target=single)
    with transaction(engine) as session:
        audit.append_many(session, _records(50), chain=chain)  # holds the chain until commit
        th.start()
        started.wait()
        th.join(timeout=0.5)
        assert th.is_alive()  # blocked on the chain's lock
        audit.append_many(session, _records(3), chain=chain)  # still ours
    th.join(timeout=30)
    assert not th.is_alive() and errors == []
    assert seqs == [1 + 50 + 3 + 1]
    assert_chain_intact(engine, chain, 55)
    assert _entries(engine, chain)[-1].subject == "thing:99"

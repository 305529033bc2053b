"""The streamed export (DB-API fast path on SQLite and PostgreSQL) writes exactly the bytes a
plain reference writes: ORM rows, one ``json.dumps`` per line. Awkward content on purpose:
CJK and astral text, control characters, quotes and backslashes in every string column, the
largest exact integers, nested payloads, times with and without microseconds, a year before
1000 (which the fast path hands back to Python)."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.audit import export
from app.audit import service as audit
from app.audit.chain import MAX_SAFE_INT
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.db import transaction

CHAIN = "golden:链"
TEXTS = [
    "王小明",
    "😀𠀀 astral",
    "\x01\x1f\x7f\u2028\u2029 controls",  # no NUL: PostgreSQL text columns refuse it
    'quote " backslash \\ slash /',
    "new\nline\r\ttab",
    "",
    "é\uff61",
]
# Object keys stay in the BMP (check_payload refuses the rest).
KEYS = [t for t in TEXTS if all(ord(c) <= 0xFFFF for c in t)]


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([0, -0, 1, -1, MAX_SAFE_INT, -MAX_SAFE_INT, 10**15])
    if kind == 1:  # payload strings may hold NUL: stored escaped in the canonical JSON text
        return rng.choice([*TEXTS, "nul \x00"]) + str(rng.randrange(1000))
    if kind == 2:
        return rng.choice([True, False, None])
    if kind in (3, 4):
        return rng.randrange(-(2**40), 2**40)
    if kind == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS) + k: _value(rng, depth + 1) for k in ("a", "Z", "课")[: kind - 5]}


def _fill(engine: Engine, clock: Any, n: int = 300) -> None:
    rng = random.Random(5)
    for start in range(0, n, 50):
        with transaction(engine) as s:
            for i in range(start, start + 50):
                # whole seconds now and then: ".000000" must be written too
                clock.advance(seconds=rng.choice([1, 0.5, 0.000001, 3600, 0.123456]))
                audit.append(
                    s,
                    actor=f"user:{rng.choice(TEXTS)}{i}",
                    action=f"golden.{rng.choice(TEXTS)}",
                    subject=f'thing:{i} "{rng.choice(TEXTS)}"',
                    payload={f"k{j}": _value(rng) for j in range(rng.randrange(6))},
                    chain=CHAIN,
                )


def _rows(engine: Engine, chain: str, since: Any = None, until: Any = None) -> list[AuditEntry]:
    with Session(engine) as s:
        stmt = select(AuditEntry).where(col(AuditEntry.chain) == chain)
        if since is not None:
            stmt = stmt.where(col(AuditEntry.time) >= since)
        if until is not None:
            stmt = stmt.where(col(AuditEntry.time) < until)
        return list(s.exec(stmt.order_by(col(AuditEntry.seq))))


def _dumps(obj: dict[str, Any]) -> bytes:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


def reference(engine: Engine, chain: str, since: Any = None, until: Any = None) -> bytes:
    rows = _rows(engine, chain, since, until)
    out = []
    for e in rows:
        out.append(
            _dumps(
                {
                    "type": "entry",
                    "chain": e.chain,
                    "seq": e.seq,
                    "time": e.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "payload": json.loads(e.payload),
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
            )
        )
    last = rows[-1] if rows else None
    cp = audit.export_checkpoint(
        chain,
        rows[0].seq if rows else None,
        last.seq if last else 0,
        last.hash if last else audit.GENESIS,
        last.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if last else audit.EMPTY_EXPORT_TIME,
    )
    out.append(_dumps(cp))
    return b"".join(out)


def fast(engine: Engine, chain: str, **kw: Any) -> bytes:
    with transaction(engine, reading=True) as s:
        return b"".join(export.iter_export_bytes(s, chain, **kw))


@pytest.fixture
def golden(engine: Engine, clock: Any) -> Engine:
    _fill(engine, clock)
    return engine


def test_fast_export_is_the_reference_byte_for_byte(golden: Engine) -> None:
    want = reference(golden, CHAIN)
    assert want.count(b"\n") == 301
    for batch in (1, 7, export.STREAM_BATCH):
        assert fast(golden, CHAIN, batch=batch) == want, batch
    with transaction(golden, reading=True) as s:  # the ORM path the CLI used to take
        assert b"".join(audit.export_lines(audit.iter_export(s, CHAIN))) == want


def test_windows_are_the_reference_too(golden: Engine) -> None:
    times = [e.time for e in _rows(golden, CHAIN)]
    for since, until in (
        (times[10], times[200]),
        (times[0], None),
        (None, times[150]),
        (times[-1], None),
        (times[-1] + timedelta(days=1), None),  # nothing: a checkpoint for no entries
    ):
        assert fast(golden, CHAIN, since=since, until=until) == reference(
            golden, CHAIN, since, until
        ), (since, until)


def test_portable_path_writes_the_same(golden: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    want_nd = fast(golden, CHAIN)
    want_csv = fast(golden, CHAIN, fmt="csv")
    monkeypatch.setattr(export, "_raw_batches", lambda *a: None)
    assert fast(golden, CHAIN, batch=13) == want_nd
    assert fast(golden, CHAIN, fmt="csv", batch=13) == want_csv
    objs = list(export.csv_to_objects(io.StringIO(want_csv.decode("utf-8"), newline="")))
    assert objs == [json.loads(line) for line in want_nd.splitlines()]


def test_times_the_database_cannot_format_are_formatted_in_python(
    engine: Engine, clock: Any
) -> None:
    # strftime writes year 999 unpadded; SQLite's stored text and to_char pad it, so these
    # rows come back NULL from the query and go through format_time like before.
    clock.set(datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    with transaction(engine) as s:
        audit.append(s, actor=Actor.system(), action="a", subject="s", chain="ancient")
        clock.advance(seconds=1)  # into the year 1000: the fast path again
        audit.append(s, actor=Actor.system(), action="b", subject="s", chain="ancient")
    body = fast(engine, "ancient")
    assert body == reference(engine, "ancient")
    assert b'"time":"999-12-31T23:59:59.999999Z"' in body
    assert b'"time":"1000-01-01T00:00:00.999999Z"' in body


def test_both_databases_take_the_fast_path(engine: Engine) -> None:
    with transaction(engine, reading=True) as s:
        batches = export._raw_batches(s, CHAIN, None, None, 10)
        assert batches is not None
        assert list(batches) == []

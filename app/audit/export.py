"""Streaming audit exports for regulators: NDJSON or CSV, in chain order, constant memory.

Rows are read as plain columns (no ORM objects) and written as pre-serialised lines,
byte-identical to ``export_lines(iter_export(...))`` in app/audit/service.py: the stored
payload already is canonical JSON, so a line is assembled around it without parsing it. On
SQLite and PostgreSQL one statement streams the chain through the DB-API cursor (server-side
on PostgreSQL) with the time already formatted by the database; elsewhere SQLAlchemy Core
reads it in seq-keyed pages. tests/audit/test_export_golden.py holds both to a plain reference.

NDJSON: one canonical JSON object per line (``"type": "entry"``), then one ``"type": "checkpoint"``
line. ``skilltrace audit verify FILE --jwks jwks.json`` checks it offline.

CSV (RFC 4180, UTF-8, CRLF line ends, header row) has the columns of :data:`CSV_COLUMNS`:

- ``type``: ``entry`` or, on the last row, ``checkpoint``;
- ``chain``, ``seq``, ``time`` (RFC 3339 UTC, microseconds), ``actor``, ``action``, ``subject``;
- ``payload``: the entry's payload as canonical JSON text (RFC 8785), exactly as hashed; on the
  checkpoint row, the canonical JSON of the checkpoint's signed claims;
- ``prev_hash``, ``hash``: SHA-256 hex (the checkpoint row: empty and the head hash);
- ``jws``: empty for entries; the checkpoint's compact JWS (EdDSA) on the checkpoint row.

An entry's hash is SHA-256 over the canonical JSON of its fields ``chain, seq, time, actor,
action, subject, payload, prev_hash`` (see app/audit/chain.py), so a CSV can be verified too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session

from app.audit import service as audit
from app.audit.chain import GENESIS, canonical
from app.audit.models import AuditEntry
from app.errors import ValidationFailed

ExportFormat = Literal["ndjson", "csv"]
CSV_COLUMNS = (
    "type",
    "chain",
    "seq",
    "time",
    "actor",
    "action",
    "subject",
    "payload",
    "prev_hash",
    "hash",
    "jws",
)
MEDIA_TYPES: dict[str, str] = {
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
}

_T = AuditEntry.__table__.c  # type: ignore[attr-defined]
# JSON string encoding exactly as json.dumps(..., ensure_ascii=False) writes it: the C function
# JSONEncoder(ensure_ascii=False).encode calls for a str, without its per-call Python overhead.
_enc: Callable[[str], str] = json.encoder.encode_basestring


class InvalidWindow(ValidationFailed):
    code = "invalid_window"
    message_zh = "起始时间必须早于结束时间。"
    message_en = "`since` must be before `until`."


def as_utc(t: datetime | None) -> datetime | None:
    """Query times without an offset are taken as UTC."""
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def check_window(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidWindow()


def filename(chain: str, since: datetime | None, until: datetime | None, fmt: str) -> str:
    def stamp(t: datetime | None) -> str:
        return t.strftime("%Y%m%dT%H%M%SZ") if t else "all"

    name = chain.replace(":", "-")
    return f"audit-{name}-{stamp(since)}-{stamp(until)}.{fmt}"


#: Entries per streamed chunk (about 0.6 MB of NDJSON). Peak memory grows with it (some 7 KB
#: per entry: rows, lines and the chunk at once) while larger batches are no faster.
STREAM_BATCH = 1000

# The stored time as format_time() writes it, computed by the database so the hot loop neither
# builds nor formats a datetime per row. A value outside what these expressions reproduce
# exactly (SQLite text not in SQLAlchemy's storage format, years before 1000, which strftime
# does not pad) comes back NULL and is formatted the slow way, from the ORM-typed column.
_SQLITE_TIME = (
    'CASE WHEN "time" GLOB \'[1-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] '
    "[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]' "
    "THEN substr(\"time\", 1, 10) || 'T' || substr(\"time\", 12) || 'Z' END"
)
_PG_TIME = (
    "CASE WHEN \"time\" >= '1000-01-01 00:00:00+00' AND \"time\" < '10000-01-01 00:00:00+00' "
    'THEN to_char("time" AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\') END'
)
_COLUMNS = "seq, {time}, actor, action, subject, payload, prev_hash, hash"

#: (seq, time as format_time() writes it or None, actor, action, subject, payload, prev, hash)
Row = tuple[int, str | None, str, str, str, str, str, str]


def _raw_batches(
    session: Session,
    chain: str,
    since: datetime | None,
    until: datetime | None,
    batch: int,
) -> Iterator[Sequence[Row]] | None:
    """One streaming statement on the DB-API connection (a server-side cursor on PostgreSQL),
    read ``batch`` rows at a time; None on a database without this fast path."""
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        time_sql, ph = _SQLITE_TIME, ":{}"
    elif dialect.name == "postgresql" and dialect.driver == "psycopg":
        time_sql, ph = _PG_TIME, "%({})s"
    else:
        return None
    # Bound times converted exactly as SQLAlchemy binds the column (naive UTC text on SQLite).
    to_db = _T.time.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
    params: dict[str, Any] = {"chain": chain}
    # Only constant SQL is put together here; every value is a bound parameter.
    sql = f"SELECT {_COLUMNS.format(time=time_sql)} FROM audit_entries"  # noqa: S608
    sql += f" WHERE chain = {ph.format('chain')}"
    if since is not None:
        sql += f' AND "time" >= {ph.format("since")}'
        params["since"] = to_db(since)
    if until is not None:
        sql += f' AND "time" < {ph.format("until")}'
        params["until"] = to_db(until)
    sql += " ORDER BY seq"
    if session.autoflush:  # as session.execute() would: the DB-API cursor bypasses it
        session.flush()
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a live connection always has one
        return None

    def gen() -> Iterator[Sequence[Row]]:
        # PostgreSQL: a named (server-side) cursor, so memory stays constant; SQLite's cursor
        # steps through the result as it is fetched anyway.
        kw = {"name": "skilltrace_audit_export"} if dialect.name == "postgresql" else {}
        cur = dbapi.cursor(**kw)
        try:
            cur.execute(sql, params)
            while rows := cur.fetchmany(batch):
                yield rows
        finally:
            cur.close()

    return gen()


def _core_batches(
    session: Session,
    chain: str,
    since: datetime | None,
    until: datetime | None,
    batch: int,
) -> Iterator[Sequence[Row]]:
    """The portable path: SQLAlchemy Core in seq-keyed pages."""
    after = 0
    while True:
        stmt = (
            select(
                _T.seq, _T.time, _T.actor, _T.action, _T.subject, _T.payload, _T.prev_hash, _T.hash
            )
            .where(_T.chain == chain, _T.seq > after)
            .order_by(_T.seq)
            .limit(batch)
        )
        if since is not None:
            stmt = stmt.where(_T.time >= since)
        if until is not None:
            stmt = stmt.where(_T.time < until)
        rows = session.execute(stmt).all()
        if not rows:
            return
        yield [(r[0], audit.format_time(r[1]), *r[2:]) for r in rows]
        after = rows[-1][0]


def _batches(
    session: Session,
    chain: str,
    since: datetime | None,
    until: datetime | None,
    batch: int,
) -> Iterator[Sequence[Row]]:
    fast = _raw_batches(session, chain, since, until, batch)
    return _core_batches(session, chain, since, until, batch) if fast is None else fast


def _slow_time(session: Session, chain: str, seq: int) -> str:
    """An entry's time through the ORM column type, formatted (rows the SQL could not do)."""
    t = session.execute(select(_T.time).where(_T.chain == chain, _T.seq == seq)).scalar_one()
    return audit.format_time(t)


def ndjson_lines(chain_enc: str, rows: Sequence[Row], time_of: Callable[[int], str]) -> str:
    """Entries as their canonical JSON lines (keys sorted), around the stored canonical payload.

    ``time_of(seq)`` formats a time the query left NULL. Strings go through the C string
    encoder json.dumps(..., ensure_ascii=False) itself uses, so the bytes are the same.
    """
    e = _enc
    return "".join(
        [
            f'{{"action":{e(action)},"actor":{e(actor)},"chain":{chain_enc},"hash":{e(h)},'
            f'"payload":{payload},"prev_hash":{e(prev)},"seq":{seq},"subject":{e(subject)},'
            f'"time":"{t or time_of(seq)}","type":"entry"}}\n'
            for seq, t, actor, action, subject, payload, prev, h in rows
        ]
    )


def iter_export_bytes(
    session: Session,
    chain: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    fmt: ExportFormat = "ndjson",
    batch: int = STREAM_BATCH,
) -> Iterator[bytes]:
    """The export as byte chunks (one per batch of entries), ending with the signed checkpoint.

    Byte-identical to ``export_lines(iter_export(...))`` (app/audit/service.py), the reference.
    """
    first_seq: int | None = None
    last_seq, last_hash, last_time = 0, GENESIS, audit.EMPTY_EXPORT_TIME
    chain_enc = _enc(chain)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def time_of(seq: int) -> str:
        return _slow_time(session, chain, seq)

    if fmt == "csv":
        writer.writerow(CSV_COLUMNS)
        yield buf.getvalue().encode("utf-8")
    for rows in _batches(session, chain, since, until, batch):
        if first_seq is None:
            first_seq = rows[0][0]
        if fmt == "ndjson":
            yield ndjson_lines(chain_enc, rows, time_of).encode("utf-8")
        else:
            buf.seek(0)
            buf.truncate()
            writer.writerows(
                ("entry", chain, seq, t or time_of(seq), actor, action, subj, pl, prev, h, "")
                for seq, t, actor, action, subj, pl, prev, h in rows
            )
            yield buf.getvalue().encode("utf-8")
        last = rows[-1]
        last_seq, last_hash, last_time = last[0], last[7], last[1] or time_of(last[0])
    cp = audit.export_checkpoint(chain, first_seq, last_seq, last_hash, last_time)
    if fmt == "ndjson":
        yield canonical(cp) + b"\n"
        return
    claims = {k: v for k, v in cp.items() if k not in ("type", "jws")}
    buf.seek(0)
    buf.truncate()
    writer.writerow(
        (
            "checkpoint",
            chain,
            cp["seq"],
            cp["time"],
            "",
            "",
            "",
            canonical(claims).decode("utf-8"),
            "",
            cp["head_hash"],
            cp["jws"],
        )
    )
    yield buf.getvalue().encode("utf-8")


def csv_to_objects(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Read a CSV export back as the NDJSON objects (entries, then the checkpoint)."""
    for row in csv.DictReader(lines):
        if row["type"] == "checkpoint":
            claims = json.loads(row["payload"])
            yield {"type": "checkpoint", **claims, "jws": row["jws"]}
            continue
        yield {
            "type": "entry",
            "chain": row["chain"],
            "seq": int(row["seq"]),
            "time": row["time"],
            "actor": row["actor"],
            "action": row["action"],
            "subject": row["subject"],
            "payload": json.loads(row["payload"]),
            "prev_hash": row["prev_hash"],
            "hash": row["hash"],
        }

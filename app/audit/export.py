"""Streaming audit exports for regulators: NDJSON or CSV, in chain order, constant memory.

Rows are read as plain columns in batches (no ORM objects) and written as pre-serialised lines,
byte-identical to ``export_lines(iter_export(...))`` in app/audit/service.py: the stored
payload already is canonical JSON, so a line is assembled around it without parsing it.

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
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.chain import GENESIS, canonical
from app.audit.models import AuditEntry
from app.errors import Forbidden, ValidationFailed

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
# JSON string encoding exactly as json.dumps(..., ensure_ascii=False) writes it.
_enc = json.JSONEncoder(ensure_ascii=False).encode


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


def resolve_chain(session: Session, principal: Principal, institution_id: uuid.UUID | None) -> str:
    """The chain a caller may read: regulators any (none: the platform chain); staff and API
    keys (scope ``audit:read``, checked by the route) only their own institution's."""
    if principal.role is not None and not (principal.is_regulator or principal.role is Role.staff):
        raise Forbidden()
    target = institution_id or (None if principal.is_regulator else principal.institution_id)
    if target is None:
        if not principal.is_regulator:
            raise Forbidden()
        return audit.PLATFORM_CHAIN
    if not principal.can_see_institution(target):
        raise Forbidden("You can only read your own institution's audit trail.")
    accounts.get_institution(session, target)  # 404 institution_not_found
    return audit.chain_for(target)


def filename(chain: str, since: datetime | None, until: datetime | None, fmt: str) -> str:
    def stamp(t: datetime | None) -> str:
        return t.strftime("%Y%m%dT%H%M%SZ") if t else "all"

    name = chain.replace(":", "-")
    return f"audit-{name}-{stamp(since)}-{stamp(until)}.{fmt}"


def _batches(
    session: Session,
    chain: str,
    since: datetime | None,
    until: datetime | None,
    batch: int,
) -> Iterator[Sequence[Any]]:
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
        yield rows
        after = rows[-1][0]


def ndjson_line(chain_enc: str, row: Any) -> str:
    """One entry as its canonical JSON line (keys sorted), around the stored canonical payload."""
    seq, time, actor, action, subject, payload, prev_hash, hash_ = row
    return (
        f'{{"action":{_enc(action)},"actor":{_enc(actor)},"chain":{chain_enc},'
        f'"hash":{_enc(hash_)},"payload":{payload},"prev_hash":{_enc(prev_hash)},'
        f'"seq":{seq},"subject":{_enc(subject)},"time":"{audit.format_time(time)}",'
        '"type":"entry"}\n'
    )


def iter_export_bytes(
    session: Session,
    chain: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    fmt: ExportFormat = "ndjson",
    batch: int = audit.EXPORT_BATCH,
) -> Iterator[bytes]:
    """The export as byte chunks (one per batch of entries), ending with the signed checkpoint."""
    first_seq: int | None = None
    last_seq, last_hash, last_time = 0, GENESIS, audit.EMPTY_EXPORT_TIME
    chain_enc = _enc(chain)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if fmt == "csv":
        writer.writerow(CSV_COLUMNS)
        yield buf.getvalue().encode("utf-8")
    for rows in _batches(session, chain, since, until, batch):
        if first_seq is None:
            first_seq = rows[0][0]
        if fmt == "ndjson":
            yield "".join([ndjson_line(chain_enc, r) for r in rows]).encode("utf-8")
        else:
            buf.seek(0)
            buf.truncate()
            writer.writerows(
                ("entry", chain, seq, audit.format_time(t), actor, action, subj, pl, prev, h, "")
                for seq, t, actor, action, subj, pl, prev, h in rows
            )
            yield buf.getvalue().encode("utf-8")
        last_seq, last_hash, last_time = rows[-1][0], rows[-1][7], audit.format_time(rows[-1][1])
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

"""The offline verifier behind ``skilltrace audit verify FILE --jwks FILE``: an NDJSON or CSV
export read line by line (constant memory), every hash recomputed, the checkpoint's signature
checked (:func:`verify_export`), the first bad line named.

A line is refused where it is when it could be read two ways: a key named twice (readers
disagree on which value counts), a field the hash does not cover, an entry labelled as a
checkpoint. Like app/audit/chain.py it needs no database. The loop is the hot path of verifying
a long export, so lines are parsed with the C scanner json.loads itself uses, minus its per-call
Python overhead, and hashed from the bytes as read (see ``_hash_of_canonical_line``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.audit.chain import ENTRY_FIELDS, ChainVerifier, VerifyResult

#: Call the progress callback every this many lines.
PROGRESS_EVERY = 5000


class DuplicateKey(ValueError):
    """An object names the same key twice: JSON parsers disagree on which value counts (Python
    keeps the last, others the first), so such a line could show one thing and hash another."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DuplicateKey(k)
            seen.add(k)
    return obj


# The C scanner of json.loads' default decoder (same parse_float, parse_int, strict, ...), but
# refusing duplicate keys at any depth; and the plain one, a third faster, for the hot loop (see
# verify_lines for why that is enough there).
_scan_strict = json.scanner.make_scanner(  # type: ignore[attr-defined]
    json.JSONDecoder(object_pairs_hook=_no_duplicates)
)
_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]


def _loads(raw: bytes | str) -> Any:
    return json.loads(raw, object_pairs_hook=_no_duplicates)


class BadLine(Exception):
    """A line that is not an entry at all (not JSON, after the checkpoint), or a checkpoint
    whose signature fails: reported as is, before any note."""

    def __init__(self, line: int | None, seq: int | None, error: str) -> None:
        super().__init__(error)
        self.line, self.seq, self.error = line, seq, error


def parse_line(raw: bytes) -> Any:
    """``json.loads(raw)``, with the same result and the same errors, except that an object
    naming a key twice raises :class:`DuplicateKey`.

    A line starting with ``{"`` has no byte order mark and no NUL in its first two bytes, so
    json.loads would decode it as UTF-8 (surrogatepass) and scan it from 0; anything unusual
    (an error, text after the value other than the newline) goes through json.loads itself.
    """
    if raw[:2] == b'{"':
        try:
            s = raw.decode("utf-8", "surrogatepass")
            obj, end = _scan_strict(s, 0)
        except Exception:  # noqa: BLE001 - json.loads below raises exactly what it raises
            return _loads(raw)
        n = len(s)
        if end == n or (end == n - 1 and s[end] == "\n"):
            return obj
    return _loads(raw)


@dataclass
class FileVerification:
    result: VerifyResult
    checkpoint: dict[str, Any] | None
    checkpoint_line: int


#: What a checkpoint line holds: its signed claims, ``type`` and the signature.
CHECKPOINT_FIELDS = frozenset({"type", "iss", "chain", "seq", "first_seq", "head_hash", "time"})
_CHECKPOINT_LINE_FIELDS = CHECKPOINT_FIELDS | {"jws"}
#: Fields only an entry has: a "checkpoint" holding one is an entry relabelled.
_ENTRY_ONLY_FIELDS = frozenset(ENTRY_FIELDS) - CHECKPOINT_FIELDS | {"hash"}


def check_checkpoint_shape(obj: dict[str, Any], line: int) -> None:
    """A line labelled ``checkpoint`` must be one: an entry relabelled (its hash then no longer
    counts) is reported at its own line, as is a field the signature does not cover."""
    if not obj.keys() <= _CHECKPOINT_LINE_FIELDS:
        if obj.keys() & _ENTRY_ONLY_FIELDS:
            seq = obj.get("seq") if type(obj.get("seq")) is int else None
            raise BadLine(line, seq, "an entry relabelled as a checkpoint")
        extra = sorted(obj.keys() - _CHECKPOINT_LINE_FIELDS)
        raise BadLine(line, None, f"checkpoint holds fields its signature does not cover: {extra}")


def verify_lines(
    fh: IO[bytes],
    *,
    expected_prev: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileVerification:
    """Check every entry line of an NDJSON export and the checkpoint's claims about them.

    Raises :class:`BadLine` for a line that cannot be an entry (not JSON, a duplicate key,
    after the checkpoint, a relabelled entry); otherwise the result says whether the chain
    holds (its ``bad_line`` is the first bad line). Blank lines are skipped but counted, so
    positions are the file's line numbers. ``progress(bytes_read, entries)`` is called every
    :data:`PROGRESS_EVERY` lines. The checkpoint's signature is checked by
    :func:`check_signature`; :func:`verify_export` does both, and more.

    Duplicate keys: lines are parsed by the plain scanner (a third faster than one that looks
    for them). An entry line whose bytes are not what its hash covers is parsed again, refusing
    duplicate keys, before its fields are trusted (:meth:`ChainVerifier.feed`'s ``recheck``);
    one whose bytes are what its hash covers can only hold a duplicate key if its hash is not
    one the service wrote, so the chain fails further on (or the signature does) and
    :func:`verify_export` then looks for the first duplicate key before that point.
    """
    verifier = ChainVerifier(expected_prev=expected_prev, recheck=_recheck)
    feed = verifier.feed_next
    checkpoint: dict[str, Any] | None = None
    checkpoint_line = last_line = 0
    failed = None
    for lineno, raw in enumerate(fh, start=1):
        if raw[:2] == b'{"':  # parse_line() inlined: the common case
            try:
                s = raw.decode("utf-8", "surrogatepass")
                obj, end = _scan_once(s, 0)
                if end != len(s) - 1 or s[end] != "\n":
                    obj = parse_line(raw)
            except Exception:  # noqa: BLE001 - parse_line gives json.loads' result or error
                obj = None
        elif not raw.strip():
            continue
        else:
            obj = None
        last_line = lineno
        if checkpoint is not None:
            raise BadLine(lineno, None, "content after the checkpoint")
        if obj is None:
            try:
                obj = parse_line(raw)
            except DuplicateKey as exc:
                raise BadLine(lineno, None, _duplicate(exc)) from None
            except ValueError:  # also bytes that are not UTF-8
                raise BadLine(lineno, None, "not JSON (the file is truncated or corrupt)") from None
        if not isinstance(obj, dict):
            raise BadLine(lineno, None, "not a JSON object")
        if obj.get("type") == "checkpoint":
            problem = _recheck(raw)
            if problem is not None:
                raise BadLine(lineno, None, problem)
            check_checkpoint_shape(obj, lineno)
            checkpoint, checkpoint_line = obj, lineno
            continue
        failed = feed(obj, lineno, raw)
        if failed is not None:
            break
        if progress is not None and lineno % PROGRESS_EVERY == 0:
            progress(fh.tell(), verifier.result.entries)
    if failed is None:
        failed = verifier.finish(checkpoint, line=checkpoint_line or last_line + 1)
    return FileVerification(failed, checkpoint, checkpoint_line)


def _duplicate(exc: DuplicateKey) -> str:
    return f"duplicate key {exc.key!r}: readers disagree on which value counts"


def _recheck(raw: bytes) -> str | None:
    """What is wrong with a line the plain parser read: a duplicate key, or nothing."""
    try:
        parse_line(raw)
    except DuplicateKey as exc:
        return _duplicate(exc)
    except ValueError:
        return None  # not JSON: the plain parser said so already
    return None


def first_duplicate_key(fh: IO[bytes], last_line: int | None = None) -> BadLine | None:
    """The first line (up to ``last_line``) of an NDJSON file naming a key twice, if any."""
    fh.seek(0)
    for lineno, raw in enumerate(fh, start=1):
        if last_line is not None and lineno > last_line:
            break
        problem = _recheck(raw)
        if problem is not None:
            return BadLine(lineno, None, problem)
    return None


# --------------------------------------------------------------------------------- CSV export

#: The header row of a CSV export (app/audit/export.py CSV_COLUMNS; repeated here because the
#: verifier needs nothing but app/audit/chain.py and this module, and a test keeps them equal).
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
CSV_HEADER = ",".join(CSV_COLUMNS).encode()
_SEQ = re.compile(r"0|[1-9][0-9]{0,15}")


def is_csv(head: bytes) -> bool:
    """Whether a file starting with ``head`` is meant as a CSV export (its header row starts
    with the first column's name; an NDJSON line starts with ``{``)."""
    return head.startswith(b"type,")


def verify_csv(
    fh: IO[bytes],
    *,
    expected_prev: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileVerification:
    """:func:`verify_lines` for a CSV export (RFC 4180, the columns of :data:`CSV_COLUMNS`).

    Every row must have exactly those columns; an entry row's ``payload`` is JSON without
    duplicate keys and its ``jws`` empty; the checkpoint row's columns must say what its signed
    claims (``payload``) say. Positions are the file's line numbers where the row starts (a
    quoted field may span lines).
    """
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="strict", newline="")
    try:
        return _verify_csv(text, fh, expected_prev, progress)
    finally:
        text.detach()  # the caller's file stays open (and is closed by the caller)


def _verify_csv(
    text: IO[str],
    fh: IO[bytes],
    expected_prev: str | None,
    progress: Callable[[int, int], None] | None,
) -> FileVerification:
    reader = csv.reader(text, strict=True)
    verifier = ChainVerifier(expected_prev=expected_prev)
    checkpoint: dict[str, Any] | None = None
    checkpoint_line = last_line = 0
    failed = None
    line = 1
    rows = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BadLine(
                line, None, f"not CSV (the file is truncated or corrupt): {exc}"
            ) from None
        start, line = line, reader.line_num + 1
        rows += 1
        if rows == 1:
            if tuple(row) != CSV_COLUMNS:
                raise BadLine(start, None, "the header row is not " + CSV_HEADER.decode())
            continue
        if not row or row == [""]:
            continue
        last_line = start
        if checkpoint is not None:
            raise BadLine(start, None, "content after the checkpoint")
        if len(row) != len(CSV_COLUMNS):
            raise BadLine(
                start,
                None,
                f"{len(row)} columns instead of {len(CSV_COLUMNS)}: not covered by the hash",
            )
        obj = _csv_object(dict(zip(CSV_COLUMNS, row, strict=True)), start)
        if obj["type"] == "checkpoint":
            checkpoint, checkpoint_line = obj, start
            continue
        failed = verifier.feed(obj, start)
        if failed is not None:
            break
        if progress is not None and rows % PROGRESS_EVERY == 0:
            progress(fh.tell(), verifier.result.entries)
    if rows == 0:
        raise BadLine(1, None, "empty file")
    if failed is None:
        failed = verifier.finish(checkpoint, line=checkpoint_line or last_line + 1)
    return FileVerification(failed, checkpoint, checkpoint_line)


def _csv_object(row: dict[str, str], line: int) -> dict[str, Any]:
    """One CSV row as the NDJSON object it stands for; :class:`BadLine` if it cannot be one."""
    kind = row["type"]
    if not _SEQ.fullmatch(row["seq"]):
        raise BadLine(line, None, "seq is not an integer")
    seq = int(row["seq"])
    try:
        payload = _loads(row["payload"])
    except DuplicateKey as exc:
        raise BadLine(line, seq, _duplicate(exc)) from None
    except ValueError:
        raise BadLine(line, seq, "payload is not JSON") from None
    if kind == "checkpoint":
        if not isinstance(payload, dict):
            raise BadLine(line, None, "the checkpoint's claims are not a JSON object")
        cp = {"type": "checkpoint", **payload, "jws": row["jws"]}
        check_checkpoint_shape(cp, line)
        shown = {"chain": row["chain"], "seq": seq, "time": row["time"], "head_hash": row["hash"]}
        differ = sorted(k for k, v in shown.items() if cp.get(k) != v)
        if any(row[k] for k in ("actor", "action", "subject", "prev_hash")):
            differ.append("actor/action/subject/prev_hash (must be empty)")
        if differ:
            raise BadLine(
                line, None, f"the checkpoint row's columns differ from its claims: {differ}"
            )
        return cp
    if kind != "entry":
        raise BadLine(line, seq, f"type {kind!r} is neither entry nor checkpoint")
    if row["jws"]:
        raise BadLine(line, seq, "an entry row with a signature: jws is not covered by the hash")
    return {
        "type": "entry",
        "chain": row["chain"],
        "seq": seq,
        "time": row["time"],
        "actor": row["actor"],
        "action": row["action"],
        "subject": row["subject"],
        "payload": payload,
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


def verify_export(
    fh: IO[bytes],
    keys_path: Path | None,
    *,
    expected_prev: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyResult:
    """Everything ``skilltrace audit verify`` checks: the chain of an NDJSON or CSV export, its
    checkpoint and (given the public keys) the checkpoint's signature.

    Returns the result of an intact chain (``checkpoint_verified`` says whether the signature
    was checked); raises :class:`BadLine` at the first bad line otherwise. ``fh`` must be
    seekable: a file that does not verify is read again for duplicate keys (see
    :func:`verify_lines`), so a line naming a key twice is reported where it is.
    """
    head = fh.read(len("type,"))
    fh.seek(0)
    csv_file = is_csv(head)
    check = verify_csv if csv_file else verify_lines
    failure: BadLine | None = None
    result: VerifyResult | None = None
    try:
        checked = check(fh, expected_prev=expected_prev, progress=progress)
        result = checked.result
        if result.ok and checked.checkpoint is not None and keys_path is not None:
            check_signature(checked.checkpoint, keys_path, checked.checkpoint_line)
            result.checkpoint_verified = True
    except BadLine as exc:
        failure = exc
    else:
        if not result.ok:
            failure = BadLine(result.bad_line, result.bad_seq, result.error or "")
    if not csv_file and (failure is not None or not result or not result.checkpoint_verified):
        duplicate = first_duplicate_key(fh, failure.line if failure is not None else None)
        if duplicate is not None:
            failure = duplicate
    if failure is not None or result is None:
        raise failure or BadLine(None, None, "nothing was verified")
    return result


def check_signature(checkpoint: dict[str, Any], keys_path: Path, line: int) -> None:
    """Check the checkpoint's JWS against the public keys (PEM or JWKS file) and that the
    line states exactly what was signed; raises :class:`BadLine` otherwise."""
    import jwt

    from app.audit.signing import load_public_keys, verify_checkpoint

    try:
        claims = verify_checkpoint(str(checkpoint.get("jws", "")), load_public_keys(keys_path))
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise BadLine(line, None, f"checkpoint signature invalid: {exc}") from None
    differ = sorted(k for k in claims if claims[k] != checkpoint.get(k))
    differ += sorted(checkpoint.keys() - claims.keys() - {"type", "jws"})
    if differ:
        raise BadLine(
            line, None, f"the checkpoint line differs from what was signed: {', '.join(differ)}"
        )

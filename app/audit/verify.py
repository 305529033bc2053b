"""The offline verifier behind ``skilltrace audit verify FILE --jwks FILE``: an NDJSON export read
line by line (constant memory), every hash recomputed, the first bad line named.

Like app/audit/chain.py it needs no database. The loop is the hot path of verifying a long
export, so lines are parsed with the C scanner json.loads itself uses, minus its per-call
Python overhead, and hashed from the bytes as read (see ``_hash_of_canonical_line``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.audit.chain import ChainVerifier, VerifyResult

#: Call the progress callback every this many lines.
PROGRESS_EVERY = 5000

# The C scanner of json.loads' default decoder (same parse_float, parse_int, strict, ...).
_scan_once = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
_loads = json.loads


class BadLine(Exception):
    """A line that is not an entry at all (not JSON, after the checkpoint), or a checkpoint
    whose signature fails: reported as is, before any note."""

    def __init__(self, line: int | None, seq: int | None, error: str) -> None:
        super().__init__(error)
        self.line, self.seq, self.error = line, seq, error


def parse_line(raw: bytes) -> Any:
    """``json.loads(raw)``, with the same result and the same errors.

    A line starting with ``{"`` has no byte order mark and no NUL in its first two bytes, so
    json.loads would decode it as UTF-8 (surrogatepass) and scan it from 0; anything unusual
    (an error, text after the value other than the newline) goes through json.loads itself.
    """
    if raw[:2] == b'{"':
        try:
            s = raw.decode("utf-8", "surrogatepass")
            obj, end = _scan_once(s, 0)
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


def verify_lines(
    fh: IO[bytes],
    *,
    expected_prev: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileVerification:
    """Check every entry line of an NDJSON export and the checkpoint's claims about them.

    Raises :class:`BadLine` for a line that cannot be an entry; otherwise the result says
    whether the chain holds (its ``bad_line`` is the first bad line). Blank lines are skipped
    but counted, so positions are the file's line numbers. ``progress(bytes_read, entries)``
    is called every :data:`PROGRESS_EVERY` lines. The checkpoint's signature is checked by
    :func:`check_signature`.
    """
    verifier = ChainVerifier(expected_prev=expected_prev)
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
            except ValueError:  # also bytes that are not UTF-8
                raise BadLine(lineno, None, "not JSON (the file is truncated or corrupt)") from None
        if not isinstance(obj, dict):
            raise BadLine(lineno, None, "not a JSON object")
        if obj.get("type") == "checkpoint":
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
    if differ:
        raise BadLine(
            line, None, f"the checkpoint line differs from what was signed: {', '.join(differ)}"
        )

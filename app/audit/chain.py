"""The hash chain itself: canonical form, entry hashes, and verification of an export.

This module has no database or app dependencies so the offline verifier needs nothing else.

Canonical form: RFC 8785 (JSON Canonicalization Scheme). Payloads are restricted to strings,
integers, booleans, null, arrays and objects with string keys (no floats: write a distance as a
decimal string), for which JCS is exactly ``json.dumps(obj, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8 — fast, and reproducible by a
regulator in any language with a JCS library.

Entry hash = SHA-256 over the canonical form of
``{"chain", "seq", "time", "actor", "action", "subject", "payload", "prev_hash"}``;
the first entry of a chain has ``prev_hash`` = 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64
ENTRY_FIELDS = ("chain", "seq", "time", "actor", "action", "subject", "payload", "prev_hash")


#: JCS writes numbers as IEEE 754 doubles; larger integers would not survive exactly.
MAX_SAFE_INT = 2**53 - 1


def _check_str(s: str, path: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise TypeError(f"{path}: lone surrogates are not valid Unicode text") from None


def check_payload(value: Any, path: str = "payload") -> None:
    """Refuse values the canonical form does not allow.

    Floats, integers beyond ±(2**53 - 1), lone surrogates, non-string keys and keys outside
    the BMP: for everything else :func:`canonical` is byte-identical to RFC 8785.
    """
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_str(value, path)
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise TypeError(
                f"{path}: integers beyond 2**53 - 1 are not exact in JSON; use a string"
            )
        return
    if isinstance(value, float):
        raise TypeError(f"{path}: floats are not allowed in audit payloads; use a string")
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_payload(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{path}: keys must be strings")
            _check_str(k, path)
            if any(ord(c) > 0xFFFF for c in k):
                raise TypeError(f"{path}: keys outside the BMP sort differently under JCS")
            check_payload(v, f"{path}.{k}")
        return
    raise TypeError(f"{path}: {type(value).__name__} is not JSON")


def canonical(obj: Any) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical form of an entry's hashed fields."""
    return hashlib.sha256(canonical({k: entry[k] for k in ENTRY_FIELDS})).hexdigest()


@dataclass
class VerifyResult:
    ok: bool
    entries: int = 0
    chain: str | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    checkpoint_verified: bool = False
    error: str | None = None
    #: 1-based line number of the first bad line in the file, if any.
    bad_line: int | None = None
    bad_seq: int | None = None
    notes: list[str] = field(default_factory=list)


class ChainVerifier:
    """Feeds exported entries one at a time (constant memory) and finds the first break.

    ``expected_prev`` lets a partial export (a ``since`` window) be checked against the hash of
    the entry before it; without it the window's first ``prev_hash`` is taken on trust unless
    the window starts at seq 1. An export's checkpoint also signs the seq it starts at, so
    entries dropped from the start are found either way.

    ``line`` (file line number) may be passed to :meth:`feed` and :meth:`finish` so positions
    name lines of the file; without it lines are counted from 1, one per call. ``recheck(raw)``
    (app/audit/verify.py: a duplicate key) names what is wrong with a line whose bytes are not
    the hashed form, before its parsed fields are hashed instead.
    """

    def __init__(
        self,
        expected_prev: str | None = None,
        recheck: Callable[[bytes], str | None] | None = None,
    ) -> None:
        self.result = VerifyResult(ok=True)
        self._recheck = recheck
        self._prev_hash = expected_prev
        self._prev_seq: int | None = None
        self._line = 0
        self._first_line: int | None = None

    def _fail(self, msg: str, seq: int | None, line: int | None = None) -> VerifyResult:
        self.result.ok = False
        self.result.error = msg
        self.result.bad_line = self._line if line is None else line
        self.result.bad_seq = seq
        return self.result

    def feed(
        self, entry: dict[str, Any], line: int | None = None, raw: bytes | None = None
    ) -> VerifyResult | None:
        """Check one entry; returns the (failed) result at the first problem, else None.

        ``raw``, the entry's line as read, lets the hash be checked without serialising the
        entry again when the line is already canonical (any export of ours is); otherwise the
        canonical form is rebuilt from ``entry`` as usual.
        """
        self._line = self._line + 1 if line is None else line
        if not entry.keys() >= _REQUIRED:
            missing = [k for k in _REQUIRED_ORDER if k not in entry]
            return self._fail(f"entry lacks fields {missing}", entry.get("seq"))
        seq = entry["seq"]
        if not isinstance(seq, int):
            return self._fail("seq is not an integer", None)
        if len(entry) > len(_REQUIRED):
            extra = sorted(k for k in entry if k not in _ALLOWED)
            if extra:
                return self._fail(f"fields the hash does not cover: {extra}", seq)
            if entry["type"] != "entry":
                return self._fail(f"type {entry['type']!r} is not an entry's", seq)
        r = self.result
        if r.chain is None:
            r.chain = entry["chain"]
            r.first_seq = seq
            self._first_line = self._line
            if seq == 1 and entry["prev_hash"] != GENESIS:
                return self._fail("first entry of the chain does not start at genesis", seq)
            if seq != 1 and self._prev_hash is None:
                r.notes.append(
                    f"export starts at seq {seq}; its link to seq {seq - 1} was not checked "
                    "(pass the previous entry's hash to check it)"
                )
        elif entry["chain"] != r.chain:
            return self._fail(f"entry belongs to chain {entry['chain']!r}, not {r.chain!r}", seq)
        prev_seq = self._prev_seq
        if prev_seq is not None and seq != prev_seq + 1:
            if seq <= prev_seq:
                return self._fail(
                    f"entry seq {seq} after seq {prev_seq}: reordered or duplicated", seq
                )
            return self._fail(
                f"seq jumps from {prev_seq} to {seq}: "
                f"{seq - prev_seq - 1} entr{'y' if seq - prev_seq == 2 else 'ies'}"
                " dropped",
                seq,
            )
        if self._prev_hash is not None and entry["prev_hash"] != self._prev_hash:
            return self._fail(
                "prev_hash does not match the previous entry's hash: an entry before it was "
                "changed, dropped or inserted",
                seq,
            )
        claimed = entry["hash"]
        computed = _hash_of_canonical_line(raw) if raw is not None else None
        if computed != claimed:
            # The line's bytes are not what its hash covers: its fields count only as read by a
            # parser that leaves no doubt (``recheck``: e.g. no key named twice).
            if raw is not None and self._recheck is not None:
                problem = self._recheck(raw)
                if problem is not None:
                    return self._fail(problem, seq)
            try:
                computed = entry_hash(entry)
            except (TypeError, ValueError):  # NaN, Infinity, lone surrogates: never written by us
                return self._fail("entry holds values canonical JSON does not allow", seq)
        if computed != claimed:
            return self._fail("hash does not match the entry's content: the entry was edited", seq)
        self._prev_hash = claimed
        self._prev_seq = seq
        r.entries += 1
        r.last_seq = seq
        r.head_hash = claimed
        return None

    def feed_next(self, entry: dict[str, Any], line: int, raw: bytes) -> VerifyResult | None:
        """:meth:`feed` for an exported line, faster where it matters: the entry that follows
        an accepted one, with every field and no other, linked, and hashed as the line's bytes
        say (which includes ``"type":"entry"`` as the last field: the tenth). Anything else goes
        through :meth:`feed`, so the outcome is always the one :meth:`feed` gives."""
        prev_seq = self._prev_seq
        if prev_seq is not None and len(entry) == _LINE_FIELDS and entry.keys() >= _REQUIRED:
            seq = entry["seq"]
            claimed = entry["hash"]
            r = self.result
            if (
                type(seq) is int
                and seq == prev_seq + 1
                and entry["chain"] == r.chain
                and entry["prev_hash"] == self._prev_hash
                and _hash_of_canonical_line(raw) == claimed
            ):
                self._line = line
                self._prev_hash = r.head_hash = claimed
                self._prev_seq = r.last_seq = seq
                r.entries += 1
                return None
        return self.feed(entry, line, raw)

    def finish(self, checkpoint: dict[str, Any] | None, line: int | None = None) -> VerifyResult:
        """Compare the chain reached with the signed checkpoint's claims (start and head)."""
        r = self.result
        if not r.ok:
            return r
        self._line = self._line + 1 if line is None else line
        if checkpoint is None:
            return self._fail(
                "no checkpoint at the end: the export is truncated or was cut short", None
            )
        if r.entries == 0:
            if checkpoint.get("seq", 0) != 0:
                return self._fail(
                    f"checkpoint names seq {checkpoint.get('seq')} but the export has no "
                    "entries: they were removed",
                    None,
                )
            return r
        if checkpoint.get("chain") != r.chain:
            return self._fail("checkpoint is for another chain", None)
        if "first_seq" in checkpoint and checkpoint["first_seq"] != r.first_seq:
            return self._fail(
                f"the export starts at seq {r.first_seq} but its checkpoint says it starts at "
                f"seq {checkpoint['first_seq']}: entries at the start were dropped",
                r.first_seq,
                line=self._first_line,
            )
        if checkpoint.get("seq") != r.last_seq:
            return self._fail(
                f"checkpoint names seq {checkpoint.get('seq')} but the export ends at seq "
                f"{r.last_seq}: entries were dropped at the end or the export was truncated",
                r.last_seq,
            )
        if checkpoint.get("head_hash") != r.head_hash:
            return self._fail(
                f"head hash mismatch: the chain ends at seq {r.last_seq} with hash "
                f"{r.head_hash}, the checkpoint names {checkpoint.get('head_hash')}: entries "
                "were changed and the chain re-hashed",
                r.last_seq,
            )
        return r


_REQUIRED_ORDER = (*ENTRY_FIELDS, "hash")
_REQUIRED = frozenset(_REQUIRED_ORDER)
#: An exported entry line: the hashed fields, ``hash`` and ``type`` (``"entry"``), no other.
_ALLOWED = _REQUIRED | {"type"}
_LINE_FIELDS = len(_ALLOWED)
_HASH_KEY = b',"hash":"'
_TYPE_TAIL = b',"type":"entry"}'
_TYPE_TAIL_NL = _TYPE_TAIL + b"\n"


def _hash_of_canonical_line(raw: bytes) -> str | None:
    """SHA-256 of the hashed form, cut out of a canonical entry line, or None if it is not one.

    A canonical line is the hashed form with ``"hash":"<64 hex>",`` inserted after ``chain``
    and ``,"type":"entry"`` before the closing brace (keys sort that way). The keys before
    ``hash`` hold strings, whose quotes are escaped, so the first ``,"hash":"`` is the key.
    A line that is not canonical gives a digest that does not match, and the caller falls
    back to rebuilding the canonical form: this path can only accept what that one accepts.
    """
    if raw.endswith(_TYPE_TAIL_NL):  # as exported: no copy of the line to strip it
        end = len(raw) - len(_TYPE_TAIL_NL)
    else:
        line = raw.rstrip(b"\r\n")
        if not line.endswith(_TYPE_TAIL):
            return None
        end = len(line) - len(_TYPE_TAIL)
    i = raw.find(_HASH_KEY, 0, end)
    if i < 0:
        return None
    j = i + len(_HASH_KEY) + 64
    if raw[j : j + 2] != b'",':
        return None
    h = hashlib.sha256(raw[:i])
    h.update(raw[j + 1 : end])
    h.update(b"}")
    return h.hexdigest()


def iter_ndjson(lines: Iterable[str | bytes]) -> Iterator[dict[str, Any]]:
    for raw in lines:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if text.strip():
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("each line must be a JSON object")
            yield obj

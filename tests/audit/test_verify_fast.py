"""The verifier's fast paths decide exactly what the plain ones decide: ``parse_line`` is
``json.loads`` refusing duplicate keys, ``ChainVerifier.feed_next`` is ``feed``, on intact and on
tampered input."""

from __future__ import annotations

import dataclasses
import io
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.audit import verify
from app.audit.chain import GENESIS, ChainVerifier, canonical, entry_hash
from app.audit.verify import BadLine, DuplicateKey, parse_line, verify_lines

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise DuplicateKey(next(k for k in keys if keys.count(k) > 1))
    return dict(pairs)


def _loads(raw: bytes) -> Any:
    """The reference: json.loads, refusing an object that names a key twice."""
    return json.loads(raw, object_pairs_hook=_pairs)


def _outcome(f: Any, raw: bytes) -> tuple[str, str]:
    try:
        return ("ok", repr(f(raw)))  # repr: NaN == NaN
    except Exception as exc:  # noqa: BLE001 - the very exception is what is compared
        return ("error", type(exc).__name__)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.text(min_size=1, max_size=5), json_values, min_size=1, max_size=4),
    st.sampled_from(["", "\n", "\r\n", " \n", "x", "}\n", "\n\n"]),
    st.integers(min_value=-1, max_value=60),
    st.booleans(),
)
def test_parse_line_is_json_loads(obj: dict[str, Any], tail: str, cut: int, ascii_: bool) -> None:
    raw = json.dumps(obj, ensure_ascii=ascii_, separators=(",", ":")).encode("utf-8", "replace")
    raw += tail.encode()
    if cut >= 0:  # a line cut short, possibly inside a multi-byte character
        raw = raw[: cut + 2]
    assert _outcome(parse_line, raw) == _outcome(_loads, raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_parse_line_is_json_loads_on_junk(junk: bytes) -> None:
    for raw in (
        b'{"' + junk,
        junk,
        b'{"a":1}' + junk,
        b'{"a":"\xed\xa0\x80"}\n',
        b'{"a":1,"a":' + junk,
        b'{"b":{"a":1,"a":2},' + junk,
    ):
        assert _outcome(parse_line, raw) == _outcome(_loads, raw)


def _chain(n: int) -> list[dict[str, Any]]:
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        e = {
            "type": "entry",
            "chain": "inst:x",
            "seq": seq,
            "time": f"2026-01-05T01:00:{seq:02d}.000000Z",
            "actor": "system:cli",
            "action": "lesson.completed",
            "subject": f"enrolment:{seq}",
            "payload": {"i": seq, "课程": "电工基础"},
            "prev_hash": prev,
        }
        e["hash"] = prev = entry_hash(e)
        out.append(e)
    return out


def _tamper(entries: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    objs = [dict(e) for e in entries]
    for _ in range(rng.randrange(1, 3)):
        k = rng.randrange(len(objs))
        what = rng.randrange(12)
        if what == 0:
            del objs[k]
        elif what == 1 and k + 1 < len(objs):
            objs[k], objs[k + 1] = objs[k + 1], objs[k]
        elif what == 2:
            objs[k]["payload"] = {"i": -1}
        elif what == 3:
            objs[k]["seq"] = rng.choice([True, "7", 7.0, k + 2, 0])
        elif what == 4:
            del objs[k][rng.choice(["actor", "hash", "prev_hash", "time", "seq"])]
        elif what == 5:
            objs[k]["chain"] = "inst:y"
        elif what == 6:
            objs[k]["payload"] = {"i": -1}
            objs[k]["hash"] = entry_hash(objs[k])  # rehashed: the next link breaks
        elif what == 7:
            objs.insert(k, dict(objs[k]))
        elif what == 9:
            objs[k]["note"] = "not hashed"
        elif what == 10:
            objs[k]["type"] = rng.choice(["note", None, 1])
        elif what == 11:
            objs[k].pop("type", None)
        else:
            objs[k]["prev_hash"] = "f" * 64
    return objs


def _raw(obj: dict[str, Any], rng: random.Random) -> bytes:
    if rng.random() < 0.2:  # not canonical: spaces, other key order
        return json.dumps(obj, ensure_ascii=False).encode() + b"\n"
    return canonical(obj) + b"\n"


def _state(v: ChainVerifier) -> dict[str, Any]:
    return {**dataclasses.asdict(v.result), **{k: getattr(v, k) for k in vars(v) if k[0] == "_"}}


def test_feed_next_decides_what_feed_decides() -> None:
    rng = random.Random(7)
    intact = _chain(12)
    for round_ in range(400):
        objs = intact if round_ == 0 else _tamper(intact, rng)
        raws = [_raw(o, rng) for o in objs]
        expected_prev = rng.choice([None, None, GENESIS, "a" * 64])
        plain, fast = ChainVerifier(expected_prev), ChainVerifier(expected_prev)
        for line, (o, raw) in enumerate(zip(objs, raws, strict=True), start=1):
            a = plain.feed(json.loads(raw), line, raw)
            b = fast.feed_next(json.loads(raw), line, raw)
            assert (a is None) == (b is None)
            assert _state(plain) == _state(fast), (round_, line, o)
            if a is not None:
                break


def test_verify_lines_reads_an_export_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "PROGRESS_EVERY", 10)
    entries = _chain(30)
    cp = {"type": "checkpoint", "chain": "inst:x", "seq": 30, "head_hash": entries[-1]["hash"]}
    body = b"".join(canonical(o) + b"\n" for o in [*entries, cp])
    seen: list[tuple[int, int]] = []
    checked = verify_lines(io.BytesIO(body), progress=lambda done, n: seen.append((done, n)))
    assert checked.result.ok and checked.result.entries == 30
    assert (checked.checkpoint, checked.checkpoint_line) == (cp, 31)
    assert [n for _, n in seen] == [10, 20, 30]
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    lines = body.splitlines(keepends=True)
    for bad, error in (
        (lines[:5] + [b"[1]\n"], "not a JSON object"),
        (lines[:5] + [lines[5][:30]], "not JSON (the file is truncated or corrupt)"),
        (lines + [lines[0]], "content after the checkpoint"),
    ):
        try:
            verify_lines(io.BytesIO(b"".join(bad)))
        except BadLine as exc:
            assert (exc.line, exc.error) == (len(bad), error)
        else:
            raise AssertionError(error)

"""The canonical form is RFC 8785 (JCS) for every payload the append path accepts."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from app.audit.chain import (
    ENTRY_FIELDS,
    GENESIS,
    ChainVerifier,
    canonical,
    check_payload,
    entry_hash,
)

SAFE_INT = 2**53 - 1

# Scalars the append path allows; text includes CJK, astral characters (emoji) and controls.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-SAFE_INT, max_value=SAFE_INT)
    | st.text()
    | st.sampled_from(["王小明", "两后生", '培训\n机构\t"引号"\\', "😀𠀀", "\x00\x1f\x7f\u2028"])
)
# Object keys in the Basic Multilingual Plane (no surrogates): code point order = UTF-16 order.
bmp_keys = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(bmp_keys, inner, max_size=4),
    max_leaves=20,
)
payloads = st.dictionaries(bmp_keys, json_values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(payloads)
def test_canonical_is_jcs(payload: dict[str, Any]) -> None:
    check_payload(payload)
    assert canonical(payload) == rfc8785.dumps(payload)


@settings(max_examples=100, deadline=None)
@given(payloads)
def test_canonical_entry_is_jcs(payload: dict[str, Any]) -> None:
    entry = _entry(payload=payload)
    assert canonical(entry) == rfc8785.dumps(entry)


def test_canonical_known_bytes() -> None:
    obj = {"b": [1, True, None], "a": "王", "A": {"z": -0, "y": "\n"}}
    assert canonical(obj) == '{"A":{"y":"\\n","z":0},"a":"王","b":[1,true,null]}'.encode()
    # JCS sorts by UTF-16 code units; within the BMP that is code point order.
    assert canonical({"\uff61": 1, "\u00e9": 2, "a": 3}) == rfc8785.dumps(
        {"\uff61": 1, "\u00e9": 2, "a": 3}
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"distance": 0.41},
        {"nested": [{"x": 1.0}]},
        {"nan": float("nan")},
        {1: "int key"},
        {"nested": {(1, 2): "tuple key"}},
        {"emoji key 😀": 1},  # astral keys sort differently under JCS
        {"big": 2**53},  # beyond IEEE 754 doubles: JCS cannot represent it exactly
        {"small": -(2**53)},
        {"surrogate": "\ud800"},  # lone surrogate: not encodable as UTF-8
        {"\udfff": 1},
        {"bytes": b"abc"},
        {"set": {1, 2}},
        {"obj": object()},
    ],
)
def test_check_payload_refuses(payload: dict[Any, Any]) -> None:
    with pytest.raises(TypeError):
        check_payload(payload)


def test_check_payload_accepts_edges() -> None:
    check_payload({"max": SAFE_INT, "min": -SAFE_INT, "t": (1, "二"), "astral value": "😀"})


def _entry(**over: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "chain": "inst:00000000-0000-0000-0000-000000000001",
        "seq": 1,
        "time": "2026-01-05T01:00:00.000000Z",
        "actor": "system:cli",
        "action": "institution.created",
        "subject": "institution:1",
        "payload": {"code": "SZ001", "name": "深圳测试培训学校"},
        "prev_hash": GENESIS,
    }
    entry.update(over)
    return entry


def test_entry_hash_is_stable() -> None:
    # SHA-256 over the JCS form, computed independently; pinned because a change here breaks
    # every chain already written.
    assert entry_hash(_entry()) == hashlib.sha256(rfc8785.dumps(_entry())).hexdigest()
    assert (
        entry_hash(_entry()) == "27abd8ef9ff0a1cf2d3153b8fceab9fa96f03884289d3d98a33f39e00a787ee1"
    )


def test_entry_hash_covers_every_field_and_ignores_the_rest() -> None:
    base = entry_hash(_entry())
    assert entry_hash({**_entry(), "hash": "x", "type": "entry", "extra": 1}) == base
    assert entry_hash(dict(reversed(list(_entry().items())))) == base
    for field in ENTRY_FIELDS:
        changed = _entry(**{field: "changed" if field != "seq" else 2})
        assert entry_hash(changed) != base, field
    assert entry_hash(_entry(payload={"code": "SZ001", "name": "深圳测试培训学校 "})) != base


def _chain(n: int) -> list[dict[str, Any]]:
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        e = _entry(seq=seq, prev_hash=prev, payload={"i": seq})
        e["hash"] = prev = entry_hash(e)
        out.append(e)
    return out


def test_verifier_accepts_an_intact_chain() -> None:
    entries = _chain(5)
    v = ChainVerifier()
    assert all(v.feed(e) is None for e in entries)
    r = v.finish({"chain": entries[0]["chain"], "seq": 5, "head_hash": entries[-1]["hash"]})
    assert (r.ok, r.entries, r.first_seq, r.last_seq) == (True, 5, 1, 5)


def test_verifier_reports_a_non_json_value_as_a_bad_entry() -> None:
    # A tampered file may carry NaN (json.loads accepts it) where canonical JSON has none.
    entries = _chain(3)
    entries[1]["payload"] = {"i": float("nan")}
    v = ChainVerifier()
    assert v.feed(entries[0]) is None
    r = v.feed(entries[1])
    assert r is not None and (r.ok, r.bad_line, r.bad_seq) == (False, 2, 2)

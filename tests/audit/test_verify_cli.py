"""`skilltrace audit export | public-key | verify`: an intact export verifies offline; every kind
of tampering is reported at the first bad line."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app.accounts.models import RegistryStatus
from app.audit import export as export_mod
from app.audit import service as audit
from app.audit import signing
from app.audit import verify as verify_mod
from app.audit.chain import ENTRY_FIELDS, canonical, entry_hash
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.cli import app
from app.db import transaction
from tests.factories import make_institution

N = 20  # entries in the chain: the institution's creation + 19 more
K = 7  # the entry the tampering targets

runner = CliRunner()


@dataclass
class Export:
    path: Path
    jwks: Path
    chain: str
    lines: list[dict[str, Any]]  # entries then the checkpoint

    def write(self, objs: list[dict[str, Any]], name: str = "tampered.ndjson") -> Path:
        out = self.path.with_name(name)
        out.write_bytes(b"".join(canonical(o) + b"\n" for o in objs))
        return out


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args))


def verify(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("audit", "verify", str(path), *args)
    lines = result.stdout.strip().splitlines()
    assert lines, (result.exit_code, result.stdout, result.stderr, result.exception)
    return result.exit_code, json.loads(lines[-1])


@pytest.fixture
def export(engine: Engine, clock: Any, tmp_path: Path) -> Export:
    inst = make_institution(engine, code="SZ001", status=RegistryStatus.pending)  # 1 entry
    for i in range(2, N + 1):
        clock.advance(60)
        with transaction(engine) as session:
            audit.append(
                session,
                actor=Actor.system(),
                action="lesson.completed",
                subject=f"enrolment:{i}",
                payload={"i": i, "课程": "电工基础", "minutes": 45, "ok": i % 3 != 0, "x": None},
                institution_id=inst.id,
            )
    path = tmp_path / "export.ndjson"
    r = cli("audit", "export", "--institution", "SZ001", "--output", str(path))
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    r = cli("audit", "public-key")
    assert r.exit_code == 0, r.stderr
    jwks = tmp_path / "jwks.json"
    jwks.write_text(r.stdout)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    return Export(path, jwks, audit.chain_for(inst.id), lines)


def test_export_is_complete_and_canonical(export: Export) -> None:
    entries, checkpoint = export.lines[:-1], export.lines[-1]
    assert [e["seq"] for e in entries] == list(range(1, N + 1))
    assert {e["chain"] for e in entries} == {export.chain}
    assert checkpoint["type"] == "checkpoint"
    assert (checkpoint["seq"], checkpoint["head_hash"]) == (N, entries[-1]["hash"])
    assert checkpoint["first_seq"] == 1
    # Each line is the canonical form of its object, so the file is reproducible byte for byte.
    assert export.path.read_bytes() == b"".join(canonical(o) + b"\n" for o in export.lines)
    assert "电工基础" in export.path.read_text(encoding="utf-8")


def test_export_is_byte_identical_across_calls(export: Export, tmp_path: Path) -> None:
    again = tmp_path / "again.ndjson"
    r = cli("audit", "export", "--institution", "SZ001", "-o", str(again))
    assert r.exit_code == 0
    assert again.read_bytes() == export.path.read_bytes()
    r = cli("audit", "export", "--institution", "SZ001")  # to stdout
    assert r.stdout_bytes == export.path.read_bytes()


def test_export_unknown_institution_fails(export: Export) -> None:
    r = cli("audit", "export", "--institution", "NOPE")
    assert r.exit_code == 1
    assert "institution_not_found" in r.stderr


def test_intact_export_verifies_with_jwks(export: Export) -> None:
    code, out = verify(export.path, "--jwks", str(export.jwks))
    assert code == 0, out
    assert out == {
        "ok": True,
        "chain": export.chain,
        "entries": N,
        "first_seq": 1,
        "last_seq": N,
        "head_hash": export.lines[-2]["hash"],
        "signature_verified": True,
    }
    code, out = verify(export.path, "--jwks", str(export.jwks))  # the issue-5 spelling
    assert (code, out["signature_verified"]) == (0, True)


def test_intact_export_verifies_with_pem(export: Export, tmp_path: Path) -> None:
    pem = tmp_path / "audit.pub.pem"
    pem.write_bytes(
        signing.signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    code, out = verify(export.path, "--key", str(pem))  # the old name still works
    assert (code, out["ok"], out["signature_verified"]) == (0, True, True)


def test_without_key_nothing_is_verified(export: Export) -> None:
    """No key: refused, unless --no-signature-check asks for the chain alone, which says
    UNVERIFIED and exits non-zero even for an intact file."""
    result = cli("audit", "verify", str(export.path))
    assert result.exit_code == 2
    assert "--jwks" in result.stderr and "--no-signature-check" in result.stderr

    result = cli("audit", "verify", str(export.path), "--no-signature-check")
    assert result.exit_code == 3
    out = json.loads(result.stdout)
    assert (out["ok"], out["verdict"], out["signature_verified"]) == (False, "UNVERIFIED", False)
    assert (out["entries"], out["last_seq"]) == (N, N)
    assert "UNVERIFIED" in result.stderr


def test_forged_signature_without_key_is_not_a_pass(export: Export) -> None:
    """A re-hashed chain with a checkpoint signed by anyone: without a key, never exit 0."""
    entries = [dict(o) for o in export.lines[:-1]]
    entries[K - 1]["payload"] = {"i": K, "minutes": 600}
    rehash(entries, K - 1)
    claims = {**_claims(export.lines[-1]), "head_hash": entries[-1]["hash"]}
    token = jwt.encode(claims, _other_key(), algorithm="EdDSA")
    path = export.write([*entries, {"type": "checkpoint", **claims, "jws": token}])
    result = cli("audit", "verify", str(path), "--no-signature-check")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["verdict"] == "UNVERIFIED"
    code, out = verify(path, "--jwks", str(export.jwks))
    assert (code, out["line"]) == (1, N + 1)


def test_jwks_document_is_a_valid_okp_key(export: Export) -> None:
    [jwk] = json.loads(export.jwks.read_text())["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    token = export.lines[-1]["jws"]
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]


# --- tampering -------------------------------------------------------------------------------


def rehash(entries: list[dict[str, Any]], start: int = 0) -> list[dict[str, Any]]:
    """Recompute links and hashes from ``start`` on, as a forger who knows the format would."""
    for i in range(start, len(entries)):
        if i > 0:
            entries[i]["prev_hash"] = entries[i - 1]["hash"]
        entries[i]["hash"] = entry_hash(entries[i])
    return entries


def forged_entry(e: Export, seq: int, prev_hash: str) -> dict[str, Any]:
    forged = dict(e.lines[seq - 1], seq=seq, prev_hash=prev_hash, payload={"forged": True})
    forged["hash"] = entry_hash(forged)
    return forged


def _edit_payload(e: Export) -> list[dict[str, Any]]:
    objs = e.lines.copy()
    objs[K - 1] = {**objs[K - 1], "payload": {**objs[K - 1]["payload"], "minutes": 90}}
    return objs


def _edit_hash(e: Export) -> list[dict[str, Any]]:
    objs = e.lines.copy()
    objs[K - 1] = {**objs[K - 1], "hash": hashlib.sha256(b"x").hexdigest()}
    return objs


def _edit_and_rehash_entry(e: Export) -> list[dict[str, Any]]:
    objs = [dict(o) for o in e.lines]
    objs[K - 1]["payload"] = {"i": K, "minutes": 90}
    objs[K - 1]["hash"] = entry_hash(objs[K - 1])
    return objs


def _drop_middle(e: Export) -> list[dict[str, Any]]:
    return e.lines[: K - 1] + e.lines[K:]


def _drop_first(e: Export) -> list[dict[str, Any]]:
    return e.lines[1:]


def _insert_forged_wrong_link(e: Export) -> list[dict[str, Any]]:
    return [*e.lines[: K - 1], forged_entry(e, K, "f" * 64), *e.lines[K - 1 :]]


def _insert_forged_right_link(e: Export) -> list[dict[str, Any]]:
    return [*e.lines[: K - 1], forged_entry(e, K, e.lines[K - 2]["hash"]), *e.lines[K - 1 :]]


def _swap(e: Export) -> list[dict[str, Any]]:
    objs = e.lines.copy()
    objs[K - 1], objs[K] = objs[K], objs[K - 1]
    return objs


def _drop_last_entry(e: Export) -> list[dict[str, Any]]:
    return [*e.lines[:-2], e.lines[-1]]


def _truncate_with_checkpoint(e: Export) -> list[dict[str, Any]]:
    return e.lines[:-3]


def _only_checkpoint(e: Export) -> list[dict[str, Any]]:
    return [e.lines[-1]]


def _checkpoint_seq_edited(e: Export) -> list[dict[str, Any]]:
    return [*e.lines[:-1], {**e.lines[-1], "seq": N + 5}]


def _drop_last_and_fix_checkpoint(e: Export) -> list[dict[str, Any]]:
    """Drop the last entry and make the checkpoint line agree; only the signature tells."""
    cp = {**e.lines[-1], "seq": N - 1, "head_hash": e.lines[-3]["hash"]}
    return [*e.lines[:-2], cp]


def _drop_first_and_fix_checkpoint(e: Export) -> list[dict[str, Any]]:
    return [*e.lines[1:-1], {**e.lines[-1], "first_seq": 2}]


def _content_after_checkpoint(e: Export) -> list[dict[str, Any]]:
    return [*e.lines, e.lines[0]]


def _checkpoint_moved_up(e: Export) -> list[dict[str, Any]]:
    return [*e.lines[: K - 1], e.lines[-1], *e.lines[K - 1 : -1]]


def _extra_field(e: Export) -> list[dict[str, Any]]:
    """A field the hash does not cover, shown to whoever reads the line."""
    objs = e.lines.copy()
    objs[K - 1] = {**objs[K - 1], "note": "身份已核验"}
    return objs


def _entry_type_edited(e: Export) -> list[dict[str, Any]]:
    objs = e.lines.copy()
    objs[K - 1] = {**objs[K - 1], "type": "comment"}
    return objs


def _entry_relabelled_as_checkpoint(e: Export) -> list[dict[str, Any]]:
    objs = e.lines.copy()
    objs[K - 1] = {**objs[K - 1], "type": "checkpoint"}
    return objs


def _rehashed_to_the_head(e: Export) -> list[dict[str, Any]]:
    """Entry K edited and every hash after it recomputed; the old checkpoint kept."""
    entries = [dict(o) for o in e.lines[:-1]]
    entries[K - 1]["payload"] = {"i": K, "minutes": 600}
    return [*rehash(entries, K - 1), e.lines[-1]]


def _checkpoint_extra_field(e: Export) -> list[dict[str, Any]]:
    return [*e.lines[:-1], {**e.lines[-1], "note": "verified by the regulator"}]


# (tamper, expected line, expected seq): the first bad line of the tampered file.
TAMPERS: dict[str, tuple[Callable[[Export], list[dict[str, Any]]], int, int | None]] = {
    "edited payload": (_edit_payload, K, K),
    "edited hash": (_edit_hash, K, K),
    # The edited entry's own hash is fine now; the next entry's link is not.
    "edited entry with recomputed hash": (_edit_and_rehash_entry, K + 1, K + 1),
    "dropped middle entry": (_drop_middle, K, K + 1),
    "dropped first entry": (_drop_first, 1, 2),
    "inserted forged entry, wrong link": (_insert_forged_wrong_link, K, K),
    # Linked correctly, so the forgery only shows at the genuine entry with the same seq.
    "inserted forged entry, right link": (_insert_forged_right_link, K + 1, K),
    "swapped entries": (_swap, K, K + 1),
    "dropped last entry": (_drop_last_entry, N, N - 1),
    "truncated incl. checkpoint": (_truncate_with_checkpoint, N - 1, None),
    "only the checkpoint left": (_only_checkpoint, 1, None),
    "checkpoint seq edited": (_checkpoint_seq_edited, N + 1, N),
    "dropped last entry, checkpoint line fixed": (_drop_last_and_fix_checkpoint, N, None),
    "dropped first entry, checkpoint line fixed": (_drop_first_and_fix_checkpoint, N, None),
    "content after the checkpoint": (_content_after_checkpoint, N + 2, None),
    "checkpoint moved up": (_checkpoint_moved_up, K + 1, None),
    "field not covered by the hash": (_extra_field, K, K),
    "entry type edited": (_entry_type_edited, K, K),
    "entry relabelled as a checkpoint": (_entry_relabelled_as_checkpoint, K, K),
    "chain re-hashed to the head, old checkpoint": (_rehashed_to_the_head, N + 1, N),
    "checkpoint field not covered by the signature": (_checkpoint_extra_field, N + 1, None),
}

#: Words the error must hold, where the kind of tampering must be named right.
TAMPER_WORDS = {
    "field not covered by the hash": "note",
    "entry relabelled as a checkpoint": "relabelled",
    "chain re-hashed to the head, old checkpoint": "head hash mismatch",
    "dropped last entry": "dropped",
    "checkpoint field not covered by the signature": "note",
}


@pytest.mark.parametrize("kind", list(TAMPERS))
def test_tampering_is_found_at_the_first_bad_line(export: Export, kind: str) -> None:
    tamper, line, seq = TAMPERS[kind]
    path = export.write(tamper(export))
    code, out = verify(path, "--jwks", str(export.jwks))
    assert code == 1, out
    assert (out["ok"], out["line"], out["seq"]) == (False, line, seq), out
    assert TAMPER_WORDS.get(kind, "") in out["error"]


@pytest.mark.parametrize(
    ("find", "replace", "key"),
    [
        # A fake action before the real one: Python keeps the last, other readers the first.
        (b'{"action":', b'{"action":"identity.verified","action":', "action"),
        (b'"payload":{', b'"payload":{"minutes":600,', "minutes"),
        (b',"type":"entry"}', b',"type":"entry","type":"entry"}', "type"),
    ],
)
def test_duplicate_key_is_refused_at_its_line(
    export: Export, find: bytes, replace: bytes, key: str
) -> None:
    raw = export.path.read_bytes().splitlines(keepends=True)
    assert find in raw[K - 1]
    raw[K - 1] = raw[K - 1].replace(find, replace, 1)
    bad = export.path.with_name("dup.ndjson")
    bad.write_bytes(b"".join(raw))
    code, out = verify(bad, "--jwks", str(export.jwks))
    assert (code, out["line"]) == (1, K), out
    assert f"duplicate key {key!r}" in out["error"]


def test_duplicate_key_in_the_checkpoint(export: Export) -> None:
    raw = export.path.read_bytes().splitlines(keepends=True)
    raw[-1] = raw[-1].replace(b'{"chain":', b'{"chain":"inst:other","chain":', 1)
    bad = export.path.with_name("dup.ndjson")
    bad.write_bytes(b"".join(raw))
    code, out = verify(bad, "--jwks", str(export.jwks))
    assert (code, out["line"]) == (1, N + 1), out
    assert "duplicate key 'chain'" in out["error"]


def test_file_cut_mid_line(export: Export) -> None:
    raw = export.path.read_bytes().splitlines(keepends=True)
    cut = export.path.with_name("cut.ndjson")
    cut.write_bytes(b"".join(raw[:14]) + raw[14][: len(raw[14]) // 2])
    code, out = verify(cut, "--jwks", str(export.jwks))
    assert (code, out["line"], out["seq"]) == (1, 15, None)
    assert "truncated" in out["error"]
    # Cut inside the checkpoint line.
    cut.write_bytes(b"".join(raw[:-1]) + raw[-1][:40])
    code, out = verify(cut, "--jwks", str(export.jwks))
    assert (code, out["line"]) == (1, N + 1)


def test_bytes_that_are_not_utf8(export: Export) -> None:
    raw = export.path.read_bytes().splitlines(keepends=True)
    raw[K - 1] = raw[K - 1].replace("电工".encode(), b"\xff\xfe")
    bad = export.path.with_name("bad.ndjson")
    bad.write_bytes(b"".join(raw))
    code, out = verify(bad, "--jwks", str(export.jwks))
    assert (code, out["line"]) == (1, K)


def test_nan_in_payload(export: Export) -> None:
    raw = export.path.read_bytes().splitlines(keepends=True)
    raw[K - 1] = raw[K - 1].replace(b'"minutes":45', b'"minutes":NaN')
    bad = export.path.with_name("bad.ndjson")
    bad.write_bytes(b"".join(raw))
    code, out = verify(bad, "--jwks", str(export.jwks))
    assert (code, out["line"], out["seq"]) == (1, K, K)


def test_blank_lines_do_not_shift_positions(export: Export) -> None:
    objs = _edit_payload(export)
    path = export.write(objs)
    path.write_bytes(b"\n" + path.read_bytes().replace(b"\n", b"\n\n", 2))
    code, out = verify(path, "--jwks", str(export.jwks))
    # One leading blank line and two doubled newlines before line K: the entry moved down 3.
    assert (code, out["line"], out["seq"]) == (1, K + 3, K)


def _other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _claims(cp: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cp.items() if k not in ("type", "jws")}


def test_checkpoint_signed_by_another_key(export: Export) -> None:
    """A forger rewrites history consistently from entry K and signs with their own key."""
    entries = [dict(o) for o in export.lines[:-1]]
    entries[K - 1]["payload"] = {"i": K, "minutes": 600}
    rehash(entries, K - 1)
    claims = {**_claims(export.lines[-1]), "head_hash": entries[-1]["hash"]}
    kid = json.loads(export.jwks.read_text())["keys"][0]["kid"]
    for headers in ({"kid": kid}, {"kid": "forger"}, {}):
        token = jwt.encode(claims, _other_key(), algorithm="EdDSA", headers=headers)
        path = export.write([*entries, {"type": "checkpoint", **claims, "jws": token}])
        code, out = verify(path, "--jwks", str(export.jwks))
        assert (code, out["ok"], out["line"]) == (1, False, N + 1), out
        assert "signature invalid" in out["error"]


def test_genuine_file_against_the_wrong_key(export: Export, tmp_path: Path) -> None:
    other = tmp_path / "other.jwks"
    other.write_text(json.dumps({"keys": [signing.public_jwk(_other_key().public_key())]}))
    code, out = verify(export.path, "--key", str(other))
    assert (code, out["line"]) == (1, N + 1)
    assert "signature invalid" in out["error"]


def test_unsigned_or_garbled_checkpoint(export: Export) -> None:
    for jws in ("", "not.a.token", export.lines[-1]["jws"][:-4] + "AAAA"):
        path = export.write([*export.lines[:-1], {**export.lines[-1], "jws": jws}])
        code, out = verify(path, "--jwks", str(export.jwks))
        assert (code, out["line"]) == (1, N + 1), jws


# --- partial exports -------------------------------------------------------------------------


def _window(export: Export, engine: Engine, since_seq: int) -> Path:
    """What a ``since`` export returns: the entries from ``since_seq`` on, signed."""
    with Session(engine) as s:
        first = s.execute(
            select(AuditEntry).where(AuditEntry.chain == export.chain, AuditEntry.seq == since_seq)  # type: ignore[arg-type]
        ).scalar_one()
        objs = list(audit.iter_export(s, export.chain, since=first.time))
    return export.write(objs, name="window.ndjson")


def test_partial_export_checked_against_the_entry_before(export: Export, engine: Engine) -> None:
    path = _window(export, engine, K + 1)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [o["seq"] for o in lines[:-1]] == list(range(K + 1, N + 1))
    assert lines[-1]["first_seq"] == K + 1
    before = export.lines[K - 1]["hash"]  # entry K, the one before the window

    code, out = verify(path, "--jwks", str(export.jwks), "--prev-hash", before)
    assert code == 0, out
    assert (out["first_seq"], out["last_seq"], out["entries"]) == (K + 1, N, N - K)
    assert out["signature_verified"] is True

    # Without the hash before it, the window verifies but says its start was not linked.
    result = cli("audit", "verify", str(path), "--jwks", str(export.jwks))
    assert result.exit_code == 0
    assert f"starts at seq {K + 1}" in result.stderr

    # The wrong hash before it.
    code, out = verify(path, "--jwks", str(export.jwks), "--prev-hash", "a" * 64)
    assert (code, out["line"], out["seq"]) == (1, 1, K + 1)

    # The window's first entry dropped: its link to the entry before breaks...
    short = export.write(lines[1:], name="short.ndjson")
    code, out = verify(short, "--jwks", str(export.jwks), "--prev-hash", before)
    assert (code, out["line"], out["seq"]) == (1, 1, K + 2)
    # ...and without --prev-hash the signed start seq still tells.
    code, out = verify(short, "--jwks", str(export.jwks))
    assert (code, out["line"], out["seq"]) == (1, 1, K + 2)


def test_full_export_cut_to_a_window_is_not_a_window(export: Export) -> None:
    """Entries cut from the start of a full export, even with the right hash before them."""
    path = export.write(export.lines[K:])
    code, out = verify(path, "--jwks", str(export.jwks), "--prev-hash", export.lines[K - 1]["hash"])
    assert (code, out["line"], out["seq"]) == (1, 1, K + 1)


# --- CSV exports -----------------------------------------------------------------------------


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    out = path.with_name("tampered.csv")
    with out.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return out


@pytest.fixture
def csv_export(export: Export) -> Path:
    path = export.path.with_name("export.csv")
    r = cli("audit", "export", "--institution", "SZ001", "--format", "csv", "-o", str(path))
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    return path


def test_csv_export_verifies_like_the_ndjson_one(export: Export, csv_export: Path) -> None:
    assert csv_export.read_bytes().startswith(",".join(export_mod.CSV_COLUMNS).encode() + b"\r\n")
    assert verify_mod.CSV_COLUMNS == export_mod.CSV_COLUMNS
    code, out = verify(csv_export, "--jwks", str(export.jwks))
    assert code == 0, out
    assert out == verify(export.path, "--jwks", str(export.jwks))[1]
    assert (out["entries"], out["signature_verified"]) == (N, True)
    result = cli("audit", "verify", str(csv_export), "--no-signature-check")
    assert (result.exit_code, json.loads(result.stdout)["verdict"]) == (3, "UNVERIFIED")


def _csv_edit(col: str, value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[K][export_mod.CSV_COLUMNS.index(col)] = value

    return edit


def _csv_rehash_to_head(rows: list[list[str]]) -> None:
    entries = [
        {**dict(zip(export_mod.CSV_COLUMNS, r, strict=True)), "seq": int(r[2])} for r in rows[1:-1]
    ]
    for e in entries:
        e["payload"] = json.loads(e["payload"])
    entries[K - 1]["payload"] = {"i": K, "minutes": 600}
    rehash(entries, K - 1)
    for r, e in zip(rows[1:-1], entries, strict=True):
        r[7:10] = [canonical(e["payload"]).decode(), e["prev_hash"], e["hash"]]


def _csv_checkpoint_column(rows: list[list[str]]) -> None:
    rows[-1][2] = str(N + 5)  # the seq shown differs from the signed one


# (tamper, expected line, expected seq, words in the error); line K + 1 holds entry K.
CSV_TAMPERS: dict[str, tuple[Callable[[list[list[str]]], None], int, int | None, str]] = {
    "edited payload": (_csv_edit("payload", '{"i":7,"minutes":90}'), K + 1, K, "edited"),
    "edited actor": (_csv_edit("actor", "user:someone-else"), K + 1, K, "edited"),
    "duplicate key in payload": (
        _csv_edit("payload", '{"i":7,"i":8}'),
        K + 1,
        K,
        "duplicate key 'i'",
    ),
    "payload not JSON": (_csv_edit("payload", "{"), K + 1, K, "not JSON"),
    "seq not an ASCII integer": (_csv_edit("seq", "٧"), K + 1, None, "integer"),
    "signature on an entry row": (_csv_edit("jws", "x.y.z"), K + 1, K, "jws"),
    "entry relabelled": (_csv_edit("type", "note"), K + 1, K, "neither"),
    "entry relabelled as a checkpoint": (_csv_edit("type", "checkpoint"), K + 1, None, ""),
    "extra column": (lambda rows: rows[K].append("身份已核验"), K + 1, None, "columns"),
    "dropped row": (lambda rows: rows.pop(K), K + 1, K + 1, "dropped"),
    "re-hashed to the head, old checkpoint": (
        _csv_rehash_to_head,
        N + 2,
        N,
        "head hash mismatch",
    ),
    "checkpoint column differs from its claims": (_csv_checkpoint_column, N + 2, None, "seq"),
    "header changed": (lambda rows: rows[0].append("note"), 1, None, "header"),
}


@pytest.mark.parametrize("kind", list(CSV_TAMPERS))
def test_csv_tampering_is_found_at_its_line(export: Export, csv_export: Path, kind: str) -> None:
    tamper, line, seq, words = CSV_TAMPERS[kind]
    rows = _csv_rows(csv_export)
    tamper(rows)
    code, out = verify(_write_csv(csv_export, rows), "--jwks", str(export.jwks))
    assert (code, out["ok"], out["line"], out["seq"]) == (1, False, line, seq), out
    assert words in out["error"]


def test_csv_file_cut_mid_row(export: Export, csv_export: Path) -> None:
    raw = csv_export.read_bytes()
    cut = csv_export.with_name("cut.csv")
    cut.write_bytes(raw[: len(raw) // 2])
    code, out = verify(cut, "--jwks", str(export.jwks))
    assert (code, out["ok"]) == (1, False)
    assert out["line"] is not None and out["error"]


def test_duplicate_key_in_a_line_hashed_as_written(export: Export) -> None:
    """A forger hashes the line with the duplicate key as written and re-hashes the chain after
    it: the lines' bytes match their hashes, the head does not match the signed one — and the
    line naming a key twice is still the one reported."""
    fake = b'{"action":"identity.verified",'
    entries = [dict(o) for o in export.lines[:-1]]
    hashed = {k: entries[K - 1][k] for k in ENTRY_FIELDS}
    forged_hash = hashlib.sha256(fake + canonical(hashed)[1:]).hexdigest()
    entries[K - 1]["hash"] = forged_hash
    entries[K]["prev_hash"] = forged_hash
    entries[K]["hash"] = entry_hash(entries[K])
    rehash(entries, K + 1)
    lines = [canonical(o) + b"\n" for o in [*entries, export.lines[-1]]]
    lines[K - 1] = fake + lines[K - 1][1:]
    path = export.path.with_name("forged.ndjson")
    path.write_bytes(b"".join(lines))
    assert hashlib.sha256(fake + canonical(hashed)[1:]).hexdigest() == forged_hash
    for args in (("--jwks", str(export.jwks)), ("--no-signature-check",)):
        code, out = verify(path, *args)
        assert (code, out["line"]) == (1, K), out
        assert "duplicate key 'action'" in out["error"]

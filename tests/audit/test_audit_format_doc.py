"""docs/audit-format.md's worked example is what the code produces, byte for byte.

The example is rebuilt here with the real code (``audit.append`` on a database, the streaming
NDJSON and CSV exports, a window export) and signed with the document's published example key
(RFC 8032 test vector 1); every block of the document marked ``<!-- example:NAME -->`` must
equal the block built here, and the document's NDJSON and CSV must verify with the verifier.
Set ``SKILLTRACE_WRITE_AUDIT_EXAMPLE=FILE`` to write the blocks out (when the format changes).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from app.audit import export, signing
from app.audit import service as audit
from app.audit.chain import ENTRY_FIELDS, canonical
from app.audit.verify import verify_export
from app.db import transaction

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-format.md"
#: RFC 8032 §7.1 test vector 1: a published key, for the example only.
EXAMPLE_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
CHAIN = "inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f"
ENTRIES: list[dict[str, Any]] = [
    {
        "actor": "user:3f1a9c2e-8b7d-4e6f-a5c4-1b2d3e4f5a6b",
        "action": "enrollment.created",
        "subject": "enrollment:6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        "payload": {"course": "c0ffee00-1234-4abc-8def-0123456789ab"},
    },
    {
        "actor": "user:3f1a9c2e-8b7d-4e6f-a5c4-1b2d3e4f5a6b",
        "action": "study.session_started",
        "subject": "study_session:5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        "payload": {
            "checkin_event": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
            "ended_sessions": [],
            "enrollment": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
        },
    },
    {
        "actor": "user:1d2c3b4a-5f6e-4d8c-9b0a-1f2e3d4c5b6a",
        "action": "certificate.revoked",
        "subject": "certificate:SZ001-2026-000001",
        "payload": {
            "certificate": "77aa88bb-99cc-4ddd-8eee-ffaa00bb11cc",
            "reason": "证书信息有误",
        },
    },
]
TIMES = [datetime(2026, 1, 5, 1, 0, s, 250000 * s, tzinfo=UTC) for s in (0, 1, 2)]


def example_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(EXAMPLE_SEED))


def build(engine: Engine, clock: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setattr(signing, "signing_key", example_key)
    for when, e in zip(TIMES, ENTRIES, strict=True):
        clock.set(when)
        with transaction(engine) as s:
            audit.append(s, chain=CHAIN, **e)
    with transaction(engine, reading=True) as s:
        ndjson = b"".join(export.iter_export_bytes(s, CHAIN)).decode()
        csv_text = b"".join(export.iter_export_bytes(s, CHAIN, fmt="csv")).decode()
        window = b"".join(export.iter_export_bytes(s, CHAIN, since=TIMES[1])).decode()
    lines = [json.loads(line) for line in ndjson.splitlines()]
    first = lines[0]
    hashed = canonical({k: first[k] for k in ENTRY_FIELDS}).decode()
    jws = lines[-1]["jws"]
    header_b64, claims_b64, _ = jws.split(".")
    return {
        "jwks": json.dumps(signing.jwks(), indent=2),
        "ndjson": ndjson,
        "hashed-1": hashed,
        "sha256-1": hashlib.sha256(hashed.encode()).hexdigest(),
        "jws-header": json.dumps(jwt.get_unverified_header(jws), ensure_ascii=False),
        "jws-signing-input": f"{header_b64}.{claims_b64}",
        "jws-claims": _b64json(claims_b64),
        "csv": csv_text.replace("\r\n", "\n"),
        "window": window,
    }


def _b64json(part: str) -> str:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def doc_blocks() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    found = re.findall(r"<!-- example:([\w-]+) -->\n```[\w-]*\n(.*?)```", text, re.S)
    return dict(found)


def test_the_worked_example_is_what_the_code_produces(
    engine: Engine, clock: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    built = build(engine, clock, monkeypatch)
    out = os.environ.get("SKILLTRACE_WRITE_AUDIT_EXAMPLE")
    if out:
        Path(out).write_text(json.dumps(built, ensure_ascii=False, indent=1), encoding="utf-8")
    blocks = doc_blocks()
    assert set(blocks) == set(built)
    for name, body in built.items():
        want = body if body.endswith("\n") else body + "\n"
        assert blocks[name] == want, name
    # the document's exports verify, signature included, with the document's JWKS
    keys = tmp_path / "jwks.json"
    keys.write_text(blocks["jwks"])
    for name in ("ndjson", "window"):
        result = verify_export(io.BytesIO(blocks[name].encode()), keys)
        assert result.ok and result.checkpoint_verified, name
    csv_bytes = blocks["csv"].replace("\n", "\r\n").encode()
    assert verify_export(io.BytesIO(csv_bytes), keys).checkpoint_verified
    # and the hash shown is the SHA-256 of the hashed form shown
    assert (
        hashlib.sha256(blocks["hashed-1"].rstrip("\n").encode()).hexdigest() + "\n"
        == (blocks["sha256-1"])
    )


def test_one_name_for_the_verifiers_key_option() -> None:
    """README, the format document, the OpenAPI text and the CLI's own messages say ``--jwks``."""
    from app.main import create_app

    root = DOC.parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    verify_lines = [line for line in readme.splitlines() if "audit verify" in line]
    assert verify_lines and all("--key" not in line for line in verify_lines)
    assert any("--jwks" in line for line in verify_lines)
    assert "--jwks" in DOC.read_text(encoding="utf-8")
    op = create_app().openapi()["paths"]["/api/v1/audit/export"]["get"]
    assert "--jwks" in op["description"] and "--key" not in op["description"]

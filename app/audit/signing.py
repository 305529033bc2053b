"""Ed25519 key for audit checkpoints: load or create, sign, publish as JWKS, verify offline.

Checkpoints are compact JWS (``alg: EdDSA``) with the key's RFC 7638 thumbprint as ``kid``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.config import Settings, get_settings
from app.keys import load_or_create_private_key

KEY_FILE = "audit-ed25519.pem"


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64u(raw)}
    thumb = json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()
    return {**jwk, "kid": _b64u(hashlib.sha256(thumb).digest()), "use": "sig", "alg": "EdDSA"}


def _load_or_create(settings: Settings) -> Ed25519PrivateKey:
    key = load_or_create_private_key(
        settings.audit_signing_key_pem,
        settings.data_dir / "keys" / KEY_FILE,
        Ed25519PrivateKey.generate,
        setting="SKILLTRACE_AUDIT_SIGNING_KEY_PEM" if settings.storage == "s3" else "",
    )
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the audit signing key must be an Ed25519 private key")
    return key


@lru_cache(maxsize=4)
def _signing_key(data_dir: str, pem: str) -> Ed25519PrivateKey:
    return _load_or_create(get_settings())


def signing_key() -> Ed25519PrivateKey:
    s = get_settings()
    return _signing_key(str(s.data_dir.resolve()), s.audit_signing_key_pem)


def sign_checkpoint(claims: dict[str, Any]) -> str:
    key = signing_key()
    kid = public_jwk(key.public_key())["kid"]
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": "JWT"})


def jwks() -> dict[str, Any]:
    return {"keys": [public_jwk(signing_key().public_key())]}


def load_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """Read a PEM public key or a JWKS document; returns keys by kid."""
    text = path.read_text()
    keys: dict[str, Ed25519PublicKey] = {}
    if "BEGIN PUBLIC KEY" in text:
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        keys[public_jwk(key)["kid"]] = key
        return keys
    doc = json.loads(text)
    for jwk in doc.get("keys", [doc]):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
            key = Ed25519PublicKey.from_public_bytes(raw)
            keys[jwk.get("kid") or public_jwk(key)["kid"]] = key
    if not keys:
        raise ValueError("no Ed25519 key found")
    return keys


def verify_checkpoint(token: str, keys: dict[str, Ed25519PublicKey]) -> dict[str, Any]:
    """Verify a checkpoint JWS with the given public keys; raises jwt.InvalidTokenError."""
    kid = jwt.get_unverified_header(token).get("kid")
    key = keys.get(kid) if kid else None
    if key is None:
        if len(keys) != 1:
            raise jwt.InvalidTokenError(f"no public key with kid {kid!r}")
        key = next(iter(keys.values()))
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["EdDSA"])
    return claims

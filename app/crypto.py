"""Field encryption and blind indexes for personal data (ID numbers, face templates).

Keys are derived from ``SKILLTRACE_SECRET_KEY`` with HKDF-SHA256, one per purpose, so the ID
number key never equals the token key. Ciphertexts are AES-256-GCM with a random 96-bit nonce
and the purpose bound as associated data; they carry a version prefix so keys can rotate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import get_settings

_VERSION = "v1"


@lru_cache(maxsize=64)
def _derive(secret: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"skilltrace", info=purpose.encode()
    ).derive(secret.encode())


def derive_key(purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the configured secret."""
    return _derive(get_settings().secret_key, purpose)


def encrypt(purpose: str, plaintext: bytes) -> str:
    key = derive_key(f"enc:{purpose}")
    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, plaintext, purpose.encode())
    return f"{_VERSION}.{base64.urlsafe_b64encode(nonce + ct).decode()}"


def decrypt(purpose: str, token: str) -> bytes:
    version, _, body = token.partition(".")
    if version != _VERSION:
        raise ValueError(f"unknown ciphertext version {version!r}")
    raw = base64.urlsafe_b64decode(body)
    key = derive_key(f"enc:{purpose}")
    return AESGCM(key).decrypt(raw[:12], raw[12:], purpose.encode())


def blind_index(purpose: str, value: str) -> str:
    """Deterministic keyed hash for uniqueness checks on encrypted values."""
    key = derive_key(f"idx:{purpose}")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

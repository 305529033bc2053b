"""Private signing keys: given in settings, or generated once into the data directory.

App nodes that keep their files in a bucket (``SKILLTRACE_STORAGE=s3``) share no data
directory: a key generated into one node's would differ from the next node's, and what one node
signed (audit checkpoints, certificate credentials, claim exports) would not verify against the
key another node publishes. On such nodes a key is therefore never generated: it comes from its
setting (the same PEM on every node), or from a key file a one-node install already had before
it moved to a bucket (the first node keeps working; a second node refuses to start, in one line,
until the PEM is configured).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

#: The size of the RSA key that signs certificate credentials and claim exports.
CREDENTIAL_KEY_BITS = 3072


class KeyNotConfigured(RuntimeError):
    """A node that shares no data dir has no configured signing key (an operator's problem:
    the message names the setting)."""


def load_or_create_private_key(
    pem: str,
    path: Path,
    generate: Callable[[], PrivateKeyTypes],
    *,
    setting: str = "",
) -> PrivateKeyTypes:
    """The key from ``pem`` if set, else from ``path``, creating it there on first use.

    ``setting`` (the variable that gives the PEM) forbids the creation: the key must then come
    from the setting or an existing file, else :class:`KeyNotConfigured` names the setting.

    Creation is atomic: the key is written to a temporary file and hard-linked into place, so
    two workers starting at once agree on one key and nobody reads a half-written file.
    """
    if pem:
        return serialization.load_pem_private_key(pem.encode(), None)
    if not path.exists():
        if setting:
            raise KeyNotConfigured(
                f"{setting} is not set: with SKILLTRACE_STORAGE=s3 the app nodes share no data "
                f"dir, so every node needs the same key from configuration (none at {path})"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        data = private_pem(generate()).encode()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another worker won the race: use its key
        finally:
            os.unlink(tmp)
    return serialization.load_pem_private_key(path.read_bytes(), None)


def private_pem(key: PrivateKeyTypes) -> str:
    """A private key as unencrypted PKCS#8 PEM: what a key file holds and what a
    ``SKILLTRACE_*_SIGNING_KEY_PEM`` setting gives."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def new_node_keys() -> dict[str, str]:
    """Fresh signing keys for a set of app nodes, as the settings that give them (the audit
    checkpoints' Ed25519 key, the credentials' RSA key of :data:`CREDENTIAL_KEY_BITS`): the
    same values go to every node."""
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    return {
        "SKILLTRACE_AUDIT_SIGNING_KEY_PEM": private_pem(ed25519.Ed25519PrivateKey.generate()),
        "SKILLTRACE_CREDENTIAL_SIGNING_KEY_PEM": private_pem(
            rsa.generate_private_key(public_exponent=65537, key_size=CREDENTIAL_KEY_BITS)
        ),
    }

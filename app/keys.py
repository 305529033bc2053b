"""Private signing keys: given in settings, or generated once into the data directory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def load_or_create_private_key(
    pem: str, path: Path, generate: Callable[[], PrivateKeyTypes]
) -> PrivateKeyTypes:
    """The key from ``pem`` if set, else from ``path``, creating it there on first use.

    Creation is atomic: the key is written to a temporary file and hard-linked into place, so
    two workers starting at once agree on one key and nobody reads a half-written file.
    """
    if pem:
        return serialization.load_pem_private_key(pem.encode(), None)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
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

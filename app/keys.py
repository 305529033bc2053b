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

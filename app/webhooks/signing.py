"""Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric ``v1``).

Every request carries ``webhook-id`` (the event's id, the same on every retry: consumers
deduplicate by it), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`` under the secret's 32
random bytes. Right after a secret rotation the header carries two signatures, space separated
(new secret first), so a consumer can switch secrets without losing a delivery.

The HMAC comes from the ``standardwebhooks`` package (the specification's reference library);
tests check it against the specification's published example and an independent HMAC.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

from app.crypto import decrypt, encrypt

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
_PURPOSE = "webhook_secret"


def new_secret() -> str:
    """``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def seal(secret: str) -> str:
    """The secret as stored: AES-GCM ciphertext bound to its purpose."""
    return encrypt(_PURPOSE, secret.encode("ascii"))


def unseal(sealed: str) -> str:
    return decrypt(_PURPOSE, sealed).decode("ascii")


def message_id(event_id: object) -> str:
    """The ``webhook-id`` of an event (``msg_`` + its UUID in hex)."""
    return f"msg_{getattr(event_id, 'hex', event_id)}"


def sign(secret: str, msg_id: str, timestamp: datetime, body: bytes) -> str:
    """``v1,<base64 signature>`` of one request."""
    # The library reads the datetime as UTC whatever its zone: hand it UTC.
    when = timestamp.astimezone(UTC)
    return Webhook(secret).sign(msg_id=msg_id, timestamp=when, data=body.decode("utf-8"))


def headers(
    msg_id: str, timestamp: datetime, body: bytes, secrets_: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every given secret (newest first)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
    }

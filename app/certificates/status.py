"""Revocation a verifier checks offline: W3C Bitstring Status List v1.0 (statusPurpose
``revocation``).

Every credential carries a ``credentialStatus`` entry naming a list and an index in it
(:func:`app.certificates.credential.status_entry`). The lists belong to the issuing
institution: list ``year * 100 + n`` holds that year's certificates ``n * SIZE + 1`` …
``(n + 1) * SIZE`` by serial number, so the index is allocated under the serial counter's lock at
issue time and stored on the certificate. Each list is ``SIZE`` bits (16 KiB uncompressed, the
specification's minimum for herd privacy); bit ``i`` (the most significant bit of byte 0 being
bit 0) is 1 when the certificate at index ``i`` is revoked.

The bitstring is read from the certificates' own status when the list is served, so the
revocation's transaction is the one that flips the bit: a list can never disagree with the
certificates. The list is served as a signed VC-JWT with the credential key
(``/institutions/{id}/status-lists/{list}``).
"""

from __future__ import annotations

import base64
import gzip
import uuid
from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.certificates import credential
from app.certificates.exceptions import StatusListNotFound
from app.certificates.models import Certificate, CertificateStatus

#: Bits per list: 131,072 = 16 KiB, the Bitstring Status List minimum (herd privacy).
SIZE = 131_072
#: How long a verifier may cache a list (seconds): a revocation shows within this time.
TTL_SECONDS = 300


def allocate(year: int, seq: int) -> tuple[int, int]:
    """(list, index) of the ``seq``-th certificate of ``year`` at one institution."""
    block, index = divmod(seq - 1, SIZE)
    return year * 100 + block, index


def encode(revoked: set[int]) -> str:
    """``encodedList``: multibase ``u`` + base64url (no padding) of the GZIP'd bitstring."""
    bits = bytearray(SIZE // 8)
    for i in revoked:
        bits[i // 8] |= 0x80 >> (i % 8)
    packed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def decode(encoded: str) -> bytes:
    """The bitstring of an ``encodedList`` (the verifier's side, for tests and tools)."""
    data = encoded.removeprefix("u")
    return gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))


def is_set(bitstring: bytes, index: int) -> bool:
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def list_credential(session: Session, institution_id: uuid.UUID, status_list: int) -> str:
    """The signed ``BitstringStatusListCredential`` (VC-JWT) of one list; 404 if no
    certificate of the institution is on it."""
    on_list = (
        col(Certificate.institution_id) == institution_id,
        col(Certificate.status_list) == status_list,
    )
    if session.exec(select(Certificate.id).where(*on_list).limit(1)).first() is None:
        raise StatusListNotFound()
    revoked = session.exec(
        select(Certificate.status_index).where(
            *on_list, col(Certificate.status) == CertificateStatus.revoked
        )
    ).all()
    url = credential.status_list_url(institution_id, status_list)
    now = clock.now()
    doc: dict[str, Any] = {
        "@context": [credential.VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": credential.issuer_id(institution_id),
        "validFrom": credential.iso_seconds(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode({i for i in revoked if i is not None}),
            "ttl": TTL_SECONDS * 1000,
        },
    }
    return credential.sign(doc)

"""The institution's seal (公章) on its certificates.

Staff upload a scan or photo of the seal. It is checked before any pixel is decoded (size,
signature, declared pixels: the same gate as a face frame, :func:`app.attendance.face.read_header`),
then normalised: the paper turns transparent, so the seal prints *over* the issue date as a
stamped one does; the image is cropped to the ink and scaled to at most ``OUT_SIDE`` pixels.
The result is stored in the database by its sha256 (every app node reads it, nothing is written
to disk), placed in the institution's certificate settings, and copied onto each certificate at
issue: a later seal never changes a certificate already issued. Seal images are never deleted.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings

import numpy as np
from PIL import Image, ImageOps
from sqlmodel import Session

from app import clock
from app.accounts.exceptions import InstitutionNotFound
from app.accounts.models import Institution
from app.accounts.principal import Principal
from app.attendance.exceptions import ImageTooLarge, NotAnImage
from app.attendance.face import DecodeLimits, read_header
from app.audit import service as audit
from app.certificates.exceptions import InvalidSealImage, SealImageTooLarge, SealNotFound
from app.certificates.models import Certificate, CertificateSettings, SealImage
from app.certificates.service import get_settings_for, require_staff_of

MAX_BYTES = 2 * 1024 * 1024
MAX_SIDE = 4000
#: Long side of the stored seal: 600 px is ~380 dpi at the 40 mm it prints at.
OUT_SIDE = 600
#: Paper: a pixel whose darkest channel is at least this light is fully transparent …
PAPER = 235
#: … and one this much darker is fully opaque (a soft edge in between keeps the ink's rim).
RAMP = 45
#: Ink (alpha above this) must cover a box at least this many pixels on each side.
MIN_INK_SIDE = 40


def normalise(data: bytes) -> tuple[bytes, int, int]:
    """A seal upload → (PNG bytes with a transparent background, width, height).

    Raises :class:`SealImageTooLarge` (bytes or declared pixels) and :class:`InvalidSealImage`
    (not a JPEG/PNG, corrupt, animated, or nothing but paper in it).
    """
    if len(data) > MAX_BYTES:
        raise SealImageTooLarge()
    limits = DecodeLimits(max_bytes=MAX_BYTES, max_pixels=MAX_SIDE * MAX_SIDE)
    try:
        header = read_header(data, limits)
    except ImageTooLarge:
        raise SealImageTooLarge() from None
    except NotAnImage:
        raise InvalidSealImage() from None
    if max(header.width, header.height) > MAX_SIDE:
        raise SealImageTooLarge()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                upright = ImageOps.exif_transpose(im)
                rgba = np.array(upright.convert("RGBA"))
    except (OSError, ValueError, Image.DecompressionBombWarning):
        raise InvalidSealImage() from None
    lightness = rgba[..., :3].min(axis=2).astype(np.int32)
    paper_alpha = np.clip((PAPER - lightness) * 255 // RAMP, 0, 255)
    rgba[..., 3] = np.minimum(rgba[..., 3], paper_alpha).astype(np.uint8)
    ys, xs = np.nonzero(rgba[..., 3] > 32)
    if len(xs) == 0:
        raise InvalidSealImage("No seal found: the image is blank or all background.")
    left, right, top, bottom = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    if min(right - left, bottom - top) < MIN_INK_SIDE:
        raise InvalidSealImage("The seal in the image is too small; scan it larger.")
    seal = Image.fromarray(rgba[top:bottom, left:right], mode="RGBA")
    seal.thumbnail((OUT_SIDE, OUT_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    seal.save(out, format="PNG", optimize=True)
    return out.getvalue(), seal.width, seal.height


def set_seal(
    session: Session, principal: Principal, institution_id: uuid.UUID, data: bytes
) -> CertificateSettings:
    """Staff of the institution upload its seal; certificates issued from now on carry it."""
    require_staff_of(principal, institution_id)
    if session.get(Institution, institution_id) is None:
        raise InstitutionNotFound()
    png, width, height = normalise(data)
    digest = hashlib.sha256(png).hexdigest()
    if session.get(SealImage, digest) is None:
        session.add(
            SealImage(
                sha256=digest,
                institution_id=institution_id,
                png=png,
                width=width,
                height=height,
                created_by=str(principal.actor),
            )
        )
    return _put(session, principal, institution_id, digest, uploaded=hashlib.sha256(data))


def clear_seal(
    session: Session, principal: Principal, institution_id: uuid.UUID
) -> CertificateSettings:
    """Certificates issued from now on carry no seal image (issued ones keep theirs)."""
    require_staff_of(principal, institution_id)
    if session.get(Institution, institution_id) is None:
        raise InstitutionNotFound()
    return _put(session, principal, institution_id, None, uploaded=None)


def _put(
    session: Session,
    principal: Principal,
    institution_id: uuid.UUID,
    digest: str | None,
    *,
    uploaded: hashlib._Hash | None,
) -> CertificateSettings:
    found = session.get(CertificateSettings, institution_id, with_for_update=True)
    row = found or CertificateSettings(institution_id=institution_id, updated_by="")
    previous = row.seal_sha256
    row.seal_sha256 = digest
    row.updated_at = clock.now()
    row.updated_by = str(principal.actor)
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="certificate_settings.seal_changed",
        subject=f"institution:{institution_id}",
        payload={
            "seal_sha256": digest,
            "previous_seal_sha256": previous,
            "upload_sha256": uploaded.hexdigest() if uploaded else None,
        },
        institution_id=institution_id,
    )
    return row


def current_seal(session: Session, principal: Principal, institution_id: uuid.UUID) -> SealImage:
    """The seal in force, for the institution's staff and the regulators who see it."""
    settings = get_settings_for(session, principal, institution_id)
    if settings is None or settings.seal_sha256 is None:
        raise SealNotFound()
    found = session.get(SealImage, settings.seal_sha256)
    if found is None:  # the foreign key makes this unreachable; say so rather than 500
        raise SealNotFound()
    return found


def seal_of(session: Session, cert: Certificate) -> bytes | None:
    """The seal a certificate was issued with (PNG), for its document."""
    if cert.seal_sha256 is None:
        return None
    found = session.get(SealImage, cert.seal_sha256)
    return None if found is None else found.png

"""The learner's photo on their certificates (issue 18 item 12): optional, the learner's own
choice, off by default, and withdrawable.

**Where the photo comes from.** The face crop kept as evidence when the learner enrolled their
face (the active template's enrolment event). Nothing new is captured.

**How it fits the retention rules.** Evidence crops are deleted after
``SKILLTRACE_EVIDENCE_RETENTION_DAYS`` (``skilltrace purge-evidence``); their hashes stay in the
audit. Turning the photo on copies the enrolment crop, byte for byte, into
:class:`~app.certificates.models.CertificatePhoto` (in the database: every node reads it, as
with the seal). That copy is not evidence: it has its own purpose and lifetime — kept as long as
the learner's consent lasts, so it survives the evidence purge only for a learner who asked for
it. Withdrawing deletes the copy's bytes at once; the row (hash, source event, times) stays,
because the audit entries refer to it. Its hash is the enrolment event's ``evidence_sha256``, so
the audit ties the photo to the face check it came from.

**Which PDFs show it.** Certificate PDFs are rendered when they are asked for; each one shows
the learner's photo while the consent holds (for every certificate of theirs, issued before or
after), and none once it is withdrawn. The signed credential never carries a photo.
"""

from __future__ import annotations

import io
import uuid

from PIL import Image
from sqlmodel import Session, col, select

from app import clock
from app.accounts import users
from app.accounts.exceptions import InsufficientRole
from app.accounts.models import Role, User
from app.attendance import review
from app.attendance.exceptions import EvidencePurged
from app.attendance.models import AttendanceEvent
from app.attendance.templates import active_template
from app.audit import service as audit
from app.audit.service import Actor
from app.certificates.exceptions import CertificatePhotoNotFound, CertificatePhotoUnavailable
from app.certificates.models import Certificate, CertificatePhoto

#: The printed photo's shape: a 一寸 photo, 25 × 35 mm (width : height = 5 : 7).
PORTRAIT = (5, 7)


def current(session: Session, user_id: uuid.UUID) -> CertificatePhoto | None:
    """The photo the learner consents to now (None: off, the default, or withdrawn)."""
    return session.exec(
        select(CertificatePhoto)
        .where(
            col(CertificatePhoto.user_id) == user_id,
            col(CertificatePhoto.withdrawn_at).is_(None),
        )
        .order_by(col(CertificatePhoto.granted_at).desc())
    ).first()


def _lock(session: Session, user: User) -> User:
    """The learner's row, locked: two requests at once cannot both turn the photo on."""
    learner = users.locked(session, user)
    if learner.role is not Role.learner:
        raise InsufficientRole("Only a learner chooses a photo for their own certificates.")
    return learner


def grant(session: Session, user: User) -> CertificatePhoto:
    """Show the learner's enrolment photo on their certificates (audited). Already on: the same
    photo, nothing recorded again."""
    learner = _lock(session, user)
    found = current(session, learner.id)
    if found is not None:
        return found
    template = active_template(session, learner.id)
    event = (
        session.get(AttendanceEvent, template.enrol_event_id)
        if template is not None and template.enrol_event_id is not None
        else None
    )
    if event is None:
        raise CertificatePhotoUnavailable()
    try:
        data = review.stored_crop(event)
    except EvidencePurged:
        raise CertificatePhotoUnavailable() from None
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
    assert event.evidence_sha256 is not None  # noqa: S101 - stored_crop checked the bytes by it
    photo = CertificatePhoto(
        user_id=learner.id,
        sha256=event.evidence_sha256,
        source_event_id=event.id,
        jpeg=data,
        width=width,
        height=height,
        granted_at=clock.now(),
    )
    session.add(photo)
    session.flush()
    audit.append(
        session,
        actor=Actor.user(learner.id),
        action="certificate_photo.granted",
        subject=f"user:{learner.id}",
        payload={
            "certificate_photo_id": str(photo.id),
            "sha256": photo.sha256,
            "source_event_id": str(event.id),
        },
        institution_id=learner.institution_id,
    )
    return photo


def withdraw(session: Session, user: User) -> CertificatePhoto | None:
    """Stop showing the photo and delete the kept copy's bytes (audited; the row stays). Already
    off: nothing to do, None."""
    learner = _lock(session, user)
    found = current(session, learner.id)
    if found is None:
        return None
    found.jpeg = None
    found.withdrawn_at = clock.now()
    session.add(found)
    session.flush()
    audit.append(
        session,
        actor=Actor.user(learner.id),
        action="certificate_photo.withdrawn",
        subject=f"user:{learner.id}",
        payload={"certificate_photo_id": str(found.id), "sha256": found.sha256},
        institution_id=learner.institution_id,
    )
    return found


def set_choice(session: Session, user: User, *, enabled: bool) -> CertificatePhoto | None:
    """The learner's choice, from the API or their consent page: on (the photo) or off (None)."""
    if enabled:
        return grant(session, user)
    withdraw(session, user)
    return None


def own_photo(session: Session, user: User) -> CertificatePhoto:
    """The kept photo, for the learner to see what their certificates show."""
    found = current(session, user.id)
    if found is None or found.jpeg is None:
        raise CertificatePhotoNotFound()
    return found


def portrait_png(jpeg: bytes) -> bytes:
    """The crop cut to the printed photo's 5:7 shape around its centre (the face is centred in
    the crop), as PNG: lossless, so printing does not compress it a second time."""
    with Image.open(io.BytesIO(jpeg)) as im:
        rgb = im.convert("RGB")
    w, h = rgb.size
    pw, ph = PORTRAIT
    if w * ph > h * pw:  # wider than 5:7: trim the sides
        cw, ch = h * pw // ph, h
    else:  # taller: trim top and bottom
        cw, ch = w, w * ph // pw
    left, top = (w - cw) // 2, (h - ch) // 2
    out = io.BytesIO()
    rgb.crop((left, top, left + cw, top + ch)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def photo_of(session: Session, cert: Certificate) -> bytes | None:
    """The photo for this certificate's PDF now (PNG), or None when its learner has not
    consented (or has withdrawn)."""
    found = current(session, cert.user_id)
    if found is None or found.jpeg is None:
        return None
    return portrait_png(found.jpeg)

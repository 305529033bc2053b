"""The learner's optional photo on their certificates (issue 18 item 12): the learner's own choice
(API and consent page), off by default, audited, withdrawable; a copy of the enrolment crop kept
past the evidence retention period only for a learner who opted in, its bytes deleted on
withdrawal; printed clear of the text and the seal."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pypdf
from PIL import Image
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.attendance.models import AttendanceEvent, Purpose
from app.attendance.review import purge_evidence
from app.audit.models import AuditEntry
from app.certificates import pdf
from app.certificates.models import CertificatePhoto
from app.certificates.seal import normalise
from app.config import get_settings
from app.db import transaction
from app.storage import evidence_store
from tests.factories import (
    course_row,
    csrf_of,
    enrollment_row,
    face_learner,
    login,
    make_institution,
    make_learner,
    make_user,
    reload,
    seal_scan,
    sign_in,
)

URL = "/api/v1/me/certificate-photo"


def _certificate(client: Any, engine: Any, inst: Any, learner: Any, h: dict[str, str]) -> str:
    course = course_row(engine, inst)
    enrollment = enrollment_row(engine, learner, course, minutes=125, quiz=88, rollcalls=(9, 10))
    r = client.post(f"/api/v1/enrollments/{enrollment.id}/certificate", headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["serial"])


def _images(pdf_bytes: bytes) -> list[Image.Image]:
    page = pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages[0]
    return [Image.open(io.BytesIO(i.data)) for i in page.images]


def _photos(client: Any, serial: str, h: dict[str, str]) -> list[Image.Image]:
    """The PDF's images other than its QR code (black and white, square): the photo."""
    r = client.get(f"/certificates/{serial}.pdf", headers=h)
    assert r.status_code == 200, r.text
    images = _images(r.content)
    assert sum(1 for im in images if im.mode in ("1", "L", "P")) == 1  # the QR code
    return [im for im in images if im.mode == "RGB"]


def _enrol_event(engine: Any, learner: Any) -> AttendanceEvent:
    with Session(engine) as s:
        return s.exec(
            select(AttendanceEvent).where(
                col(AttendanceEvent.user_id) == learner.id,
                col(AttendanceEvent.purpose) == Purpose.enrol,
            )
        ).one()


def _entries(engine: Any, learner: Any) -> list[tuple[str, dict[str, Any]]]:
    with Session(engine) as s:
        rows = s.exec(
            select(AuditEntry)
            .where(
                col(AuditEntry.subject) == f"user:{learner.id}",
                col(AuditEntry.action).startswith("certificate_photo."),
            )
            .order_by(col(AuditEntry.seq))
        ).all()
    return [(e.action, json.loads(e.payload)) for e in rows]


def test_the_learner_turns_the_photo_on_and_off(client: Any, engine: Any) -> None:
    inst = make_institution(engine)
    learner, h = face_learner(client, engine, inst)
    serial = _certificate(client, engine, inst, learner, h)

    # Off by default: no photo kept, none printed.
    assert client.get(URL, headers=h).json() == {
        "enabled": False,
        "sha256": None,
        "source_event_id": None,
        "granted_at": None,
        "image_url": None,
    }
    assert _photos(client, serial, h) == []
    assert client.get(f"{URL}/image", headers=h).json()["code"] == "certificate_photo_not_found"

    # On: a copy of the enrolment crop, addressed by the crop's own hash.
    event = _enrol_event(engine, learner)
    r = client.put(URL, json={"enabled": True}, headers=h)
    assert r.status_code == 200, r.text
    on = r.json()
    assert on["enabled"] is True and on["sha256"] == event.evidence_sha256
    assert on["source_event_id"] == str(event.id) and on["image_url"] == f"{URL}/image"
    image = client.get(f"{URL}/image", headers=h)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(image.content).hexdigest() == event.evidence_sha256
    [printed] = _photos(client, serial, h)
    assert abs(printed.width / printed.height - 5 / 7) < 0.02  # cut to a 25 × 35 mm photo
    # Asking again changes nothing and records nothing more.
    assert client.put(URL, json={"enabled": True}, headers=h).json() == on
    assert [a for a, _ in _entries(engine, learner)] == ["certificate_photo.granted"]

    # Off: the copy's bytes are deleted, the row and its hash stay for the audit.
    r = client.put(URL, json={"enabled": False}, headers=h)
    assert r.status_code == 200 and r.json()["enabled"] is False
    with Session(engine) as s:
        [row] = s.exec(select(CertificatePhoto)).all()
    assert row.jpeg is None and row.withdrawn_at is not None
    assert row.sha256 == event.evidence_sha256 and row.source_event_id == event.id
    assert _photos(client, serial, h) == []
    assert client.get(f"{URL}/image", headers=h).status_code == 404
    assert client.put(URL, json={"enabled": False}, headers=h).json()["enabled"] is False
    entries = _entries(engine, learner)
    assert [a for a, _ in entries] == ["certificate_photo.granted", "certificate_photo.withdrawn"]
    assert all(p["sha256"] == event.evidence_sha256 for _, p in entries)
    assert entries[0][1]["source_event_id"] == str(event.id)

    # On again: a new copy, a new entry; certificates issued before and after both show it.
    assert client.put(URL, json={"enabled": True}, headers=h).json()["enabled"] is True
    later = _certificate(client, engine, inst, learner, h)
    assert len(_photos(client, serial, h)) == len(_photos(client, later, h)) == 1
    staff = login(client, make_user(engine, Role.staff, inst).username)
    assert len(_photos(client, serial, staff)) == 1  # the institution's copy of the PDF too
    assert len(_entries(engine, learner)) == 3


def test_the_photo_outlives_evidence_expiry_only_when_consented(
    client: Any, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    learner, h = face_learner(client, engine, inst)
    serial = _certificate(client, engine, inst, learner, h)
    assert client.put(URL, json={"enabled": True}, headers=h).status_code == 200

    clock.advance(days=get_settings().evidence_retention_days + 1)
    with transaction(engine) as s:
        assert purge_evidence(s) == 1  # the enrolment crop: the evidence rule is unchanged
    event = _enrol_event(engine, learner)
    assert event.evidence_purged_at is not None and event.evidence_path is not None
    assert evidence_store().stat(event.evidence_path) is None  # the crop itself is gone
    h = login(client, learner.username)  # months later: a new sign-in

    # The consented copy outlives the evidence: the certificate still shows the photo ...
    assert len(_photos(client, serial, h)) == 1
    assert client.get(f"{URL}/image", headers=h).status_code == 200
    # ... until it is withdrawn; then the purged crop cannot bring it back.
    assert client.put(URL, json={"enabled": False}, headers=h).status_code == 200
    r = client.put(URL, json={"enabled": True}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "certificate_photo_unavailable"
    assert client.get(URL, headers=h).json()["enabled"] is False
    assert _photos(client, serial, h) == []


def test_only_the_learner_chooses_and_only_with_an_enrolment_photo(
    client: Any, engine: Any
) -> None:
    inst = make_institution(engine)
    never_enrolled = login(client, make_learner(engine, inst).username)
    r = client.put(URL, json={"enabled": True}, headers=never_enrolled, params={"lang": "zh"})
    assert r.status_code == 409 and r.json()["code"] == "certificate_photo_unavailable"
    for role in (Role.staff, Role.regulator):
        h = login(client, make_user(engine, role, inst if role is Role.staff else None).username)
        assert client.put(URL, json={"enabled": True}, headers=h).status_code == 403
        assert client.get(f"{URL}/image", headers=h).status_code == 403
    assert client.put(URL, json={"enabled": "sometimes"}, headers=never_enrolled).status_code == 422
    assert client.get(URL).status_code == 401


def _placements(pdf_bytes: bytes) -> tuple[list[tuple[float, ...]], list[tuple[float, ...]]]:
    """(image boxes, text boxes) on the page, in PDF points (origin bottom left)."""
    page = pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages[0]
    images: list[tuple[float, ...]] = []
    texts: list[tuple[float, ...]] = []
    cm: list[Any] = []

    def before(op: bytes, args: list[Any], ctm: Any, tm: Any) -> None:
        if op == b"cm":
            cm[:] = [float(a) for a in args]
        if op == b"Do":
            w, _, _, h, x, y = cm
            images.append((x, y, x + w, y + h))

    def text(t: str, ctm: Any, tm: Any, font: Any, size: float) -> None:
        t = t.replace("\x00", "").strip()  # fpdf2's CID text reads back with NULs
        if t:
            x, y = float(tm[4]), float(tm[5])
            # Generous boxes: full-width glyphs one em wide, any other 0.6 em (Noto Sans's
            # widest Latin letters are narrower).
            width = sum(size if ord(c) >= 0x2E80 else 0.6 * size for c in t)
            texts.append((x, y - 0.2 * size, x + width, y + size))

    page.extract_text(visitor_operand_before=before, visitor_text=text)
    return images, texts


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_photo_sits_clear_of_the_text_and_the_seal(client: Any, engine: Any) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst, real_name="欧阳建国")
    serial = _certificate(client, engine, inst, learner, login(client, learner.username))
    crop = io.BytesIO()
    Image.new("RGB", (150, 160), (180, 140, 120)).save(crop, format="JPEG")
    from app.certificates.photo import portrait_png

    seal, _, _ = normalise(seal_scan())
    body = pdf.render(
        reload(engine, serial),
        institution_name="北京市朝阳区鲁班职业技能培训学校（民办非企业单位）",
        seal_png=seal,
        photo_png=portrait_png(crop.getvalue()),
    )
    images, texts = _placements(body)
    mm = 72 / 25.4
    x, y, w, h = pdf.PHOTO_BOX
    page_h = 297 * mm
    photo = (x * mm, page_h - (y + h) * mm, (x + w) * mm, page_h - y * mm)
    assert any(all(abs(a - b) < 0.5 for a, b in zip(box, photo, strict=True)) for box in images)
    others = [b for b in images if not all(abs(a - c) < 0.5 for a, c in zip(b, photo, strict=True))]
    assert len(others) == 2  # the seal and the QR code
    assert not any(_overlap(photo, b) for b in others)
    assert len(texts) > 20 and not any(_overlap(photo, t) for t in texts), [
        t for t in texts if _overlap(photo, t)
    ]
    inner_frame = (13 * mm, 13 * mm, 197 * mm, page_h - 13 * mm)
    assert inner_frame[0] < photo[0] and photo[2] < inner_frame[2]
    assert inner_frame[1] < photo[1] and photo[3] < inner_frame[3]


def test_the_consent_page_sets_the_photo(client: Any, engine: Any) -> None:
    inst = make_institution(engine)
    learner, h = face_learner(client, engine, inst)
    serial = _certificate(client, engine, inst, learner, h)
    sign_in(client, learner.username)
    # The certificate page says whether the PDF carries the photo and where to change it.
    cert_page = client.get(f"/my/certificates/{serial}")
    assert 'data-certificate-photo="off"' in cert_page.text
    assert 'href="/consent#certificate-photo"' in cert_page.text
    page = client.get("/consent")
    assert page.status_code == 200 and 'data-certificate-photo="off"' in page.text
    r = client.post(
        "/consent/certificate-photo",
        data={"decision": "on", "csrf": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert r.status_code == 200 and 'data-certificate-photo="on"' in r.text
    assert "已开启证书照片" in r.text
    preview = client.get("/my/certificate-photo.jpg")
    assert preview.status_code == 200
    assert (
        hashlib.sha256(preview.content).hexdigest() == _enrol_event(engine, learner).evidence_sha256
    )
    assert client.get(URL, headers=h).json()["enabled"] is True  # the page and the API agree
    assert 'data-certificate-photo="on"' in client.get(f"/my/certificates/{serial}").text

    refused = client.post("/consent/certificate-photo", data={"decision": "off", "csrf": "forged"})
    assert refused.status_code in (400, 403)
    assert client.get(URL, headers=h).json()["enabled"] is True
    r = client.post(
        "/consent/certificate-photo",
        data={"decision": "off", "csrf": csrf_of(r.text)},
        follow_redirects=True,
    )
    assert r.status_code == 200 and 'data-certificate-photo="off"' in r.text
    assert client.get("/my/certificate-photo.jpg").status_code == 404

    # A learner without an enrolment photo is told why, on the page.
    other = make_learner(engine, inst)
    sign_in(client, other.username)
    page = client.get("/consent")
    r = client.post(
        "/consent/certificate-photo", data={"decision": "on", "csrf": csrf_of(page.text)}
    )
    assert r.status_code == 409 and 'id="certificate-photo-error"' in r.text
    assert "人脸采集" in r.text

"""The institution's seal on its certificates (issue 18 item 12): uploaded by staff, normalised
to a transparent PNG, stamped over the issue date, frozen on each certificate at issue."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pypdf
from PIL import Image
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.certificates.models import Certificate, SealImage
from tests.factories import (
    course_row,
    enrollment_row,
    login,
    make_institution,
    make_learner,
    make_user,
    seal_scan,
)
from tests.hostile_images import png_bomb


def _url(inst: Any) -> str:
    return f"/api/v1/institutions/{inst.id}/certificate-settings/seal"


def _upload(client: Any, inst: Any, headers: dict[str, str], data: bytes, name: str = "seal.png"):  # type: ignore[no-untyped-def]
    return client.put(_url(inst), files={"file": (name, data, "image/png")}, headers=headers)


def _issue(client: Any, engine: Any, inst: Any, course: Any) -> tuple[str, dict[str, str]]:
    learner = make_learner(engine, inst)
    enrollment = enrollment_row(engine, learner, course, minutes=125, quiz=88, rollcalls=(9, 10))
    h = login(client, learner.username)
    r = client.post(f"/api/v1/enrollments/{enrollment.id}/certificate", headers=h)
    assert r.status_code == 201, r.text
    return r.json()["serial"], h


def _images(pdf_bytes: bytes) -> list[Image.Image]:
    page = pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages[0]
    return [Image.open(io.BytesIO(i.data)) for i in page.images]


def test_the_seal_is_normalised_to_a_transparent_png(client: Any, engine: Any) -> None:
    inst = make_institution(engine)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    r = _upload(client, inst, staff, seal_scan(fmt="JPEG"), "seal.jpg")
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["seal_sha256"]) == 64 and body["seal_url"] == _url(inst)

    got = client.get(_url(inst), headers=staff)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    seal = np.array(Image.open(io.BytesIO(got.content)))
    assert seal.shape[2] == 4 and max(seal.shape[:2]) <= 600
    # Cropped to the ink: the ring touches the edges; the paper is gone, the ink stays red.
    assert seal[0, :, 3].max() == 255 and seal[:, 0, 3].max() == 255
    assert seal[5, 5, 3] == 0 and seal[seal.shape[0] // 2, 5, 3] == 255
    ink = seal[seal[..., 3] == 255][:, :3].astype(int)
    assert (ink[:, 0] - ink[:, 1]).mean() > 120  # red

    assert (
        client.get(f"/api/v1/institutions/{inst.id}/certificate-settings", headers=staff).json()[
            "seal_sha256"
        ]
        == body["seal_sha256"]
    )
    with Session(engine) as s:
        stored = s.get(SealImage, body["seal_sha256"])
        assert stored is not None and stored.institution_id == inst.id
        entry = s.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "certificate_settings.seal_changed")
        ).one()
    payload = json.loads(entry.payload)
    assert payload["seal_sha256"] == body["seal_sha256"]
    assert payload["previous_seal_sha256"] is None


def test_certificates_carry_the_seal_in_force_at_issue(client: Any, engine: Any) -> None:
    inst = make_institution(engine)
    course = course_row(engine, inst)
    staff = login(client, make_user(engine, Role.staff, inst).username)

    unsealed, h0 = _issue(client, engine, inst, course)
    assert len(_images(client.get(f"/certificates/{unsealed}.pdf", headers=h0).content)) == 1

    first = _upload(client, inst, staff, seal_scan()).json()["seal_sha256"]
    sealed, h1 = _issue(client, engine, inst, course)
    before = client.get(f"/certificates/{sealed}.pdf", headers=h1).content
    images = _images(before)
    assert len(images) == 2  # the QR code and the seal
    assert any(im.mode == "RGBA" for im in images), [im.mode for im in images]

    # A new seal (and then none) changes certificates issued later, never this one.
    second = _upload(client, inst, staff, seal_scan(ring=40, colour=(180, 20, 20))).json()
    assert second["seal_sha256"] != first
    assert client.delete(_url(inst), headers=staff).json()["seal_sha256"] is None
    assert client.get(_url(inst), headers=staff).json()["code"] == "seal_not_found"
    assert client.get(f"/certificates/{sealed}.pdf", headers=h1).content == before
    later, h2 = _issue(client, engine, inst, course)
    assert len(_images(client.get(f"/certificates/{later}.pdf", headers=h2).content)) == 1
    with Session(engine) as s:
        by_serial = {c.serial: c.seal_sha256 for c in s.exec(select(Certificate)).all()}
        assert s.get(SealImage, first) is not None  # kept: the certificate refers to it
    assert by_serial == {unsealed: None, sealed: first, later: None}


def test_bad_seal_uploads_are_refused_in_words(client: Any, engine: Any) -> None:
    inst = make_institution(engine)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    cases = [
        (b"%PDF-1.7 not a picture", 422, "invalid_seal_image"),
        (seal_scan()[:2000], 422, "invalid_seal_image"),  # truncated
        (png_bomb(20_000, 20_000), 413, "seal_image_too_large"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 10), 413, "seal_image_too_large"),
    ]
    blank = io.BytesIO()
    Image.new("RGB", (800, 800), (250, 250, 248)).save(blank, format="PNG")
    cases.append((blank.getvalue(), 422, "invalid_seal_image"))
    for data, status, code in cases:
        r = _upload(client, inst, staff, data)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    r = _upload(client, inst, {**staff, "Accept-Language": "zh-CN"}, blank.getvalue())
    assert "No seal found" in r.json()["detail"] or "印章" in r.json()["message_zh"]
    with Session(engine) as s:
        assert s.exec(select(SealImage)).all() == []


def test_only_the_institutions_staff_set_its_seal(client: Any, engine: Any) -> None:
    inst, other = make_institution(engine), make_institution(engine)
    foreign = login(client, make_user(engine, Role.staff, other).username)
    regulator = login(client, make_user(engine, Role.regulator).username)
    learner = login(client, make_learner(engine, inst).username)
    for h in (foreign, regulator, learner):
        assert _upload(client, inst, h, seal_scan()).status_code == 403
        assert client.delete(_url(inst), headers=h).status_code == 403
    staff = login(client, make_user(engine, Role.staff, inst).username)
    assert _upload(client, inst, staff, seal_scan()).status_code == 200
    assert client.get(_url(inst), headers=regulator).status_code == 200
    assert client.get(_url(inst), headers=foreign).status_code == 403


def test_staff_set_the_seal_on_the_settings_page(client: Any, engine: Any) -> None:
    from tests.web.staff_world import sign_in

    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    csrf = sign_in(client, staff.username)
    page = client.get("/staff/certificates/settings")
    assert page.status_code == 200 and "尚未上传印章" in page.text
    assert 'href="/staff/certificates/settings"' in page.text  # in the staff navigation

    bad = client.post(
        "/staff/certificates/settings/seal",
        data={"csrf": csrf},
        files={"file": ("seal.png", b"not a picture", "image/png")},
    )
    assert bad.status_code == 422 and "印章图片无效" in bad.text

    r = client.post(
        "/staff/certificates/settings/seal",
        data={"csrf": csrf},
        files={"file": ("seal.jpg", seal_scan(fmt="JPEG"), "image/jpeg")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/staff/certificates/settings")
    assert "印章已保存" in page.text and 'id="seal-image"' in page.text
    image = client.get("/staff/certificates/settings/seal.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    api = login(client, staff.username)
    assert client.get(_url(inst), headers=api).content == image.content  # the API's image
    csrf = sign_in(client, staff.username)

    # Without the form's CSRF value nothing changes.
    refused = client.post("/staff/certificates/settings/seal/remove", data={"csrf": "forged"})
    assert refused.status_code in (400, 403)
    assert client.get("/staff/certificates/settings/seal.png").status_code == 200

    r = client.post(
        "/staff/certificates/settings/seal/remove", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "尚未上传印章" in client.get("/staff/certificates/settings").text

    r = client.post(
        "/staff/certificates/settings",
        data={"csrf": csrf, "auto_issue": "on"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'id="auto-issue" checked' in client.get("/staff/certificates/settings").text


def test_the_settings_page_is_for_an_institutions_staff(client: Any, engine: Any) -> None:
    from tests.web.staff_world import sign_in

    inst = make_institution(engine)
    sign_in(client, make_learner(engine, inst).username)
    assert client.get("/staff/certificates/settings").status_code == 403
    sign_in(client, make_user(engine, Role.regulator).username)
    assert client.get("/staff/certificates/settings").status_code == 403
    client.cookies.clear()
    r = client.get("/staff/certificates/settings", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

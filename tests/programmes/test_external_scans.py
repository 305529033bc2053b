"""Hostile and careless scans of external certificates (issue 16 item 5): a scan is one whole
PDF, JPEG or PNG — a picture signature in front of other bytes, a truncated upload or a
decompression bomb is refused with 422 ``invalid_scan`` and nothing is recorded; two
recordings of one certificate number are one row and a 409, even when both pass the look."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fpdf import FPDF
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.accounts.models import Role
from app.programmes import external
from app.programmes.exceptions import ActiveScan, InvalidScan
from app.programmes.models import ExternalCertificate
from tests.factories import id_number, login, make_institution, make_learner, make_user
from tests.hostile_images import png_bomb, truncated_jpeg
from tests.pdfs import SCAN_PDF, pdf

API = "/api/v1"
PDF = SCAN_PDF


def _picture(fmt: str, size: tuple[int, int] = (620, 877)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (250, 250, 245)).save(buf, fmt)
    return buf.getvalue()


def _setup(client: TestClient, engine: Engine, clock: Any) -> tuple[str, dict[str, str]]:
    clock.set(datetime(2026, 3, 12, 2, tzinfo=UTC))
    inst = make_institution(engine, region="440305")
    learner = make_learner(engine, inst)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    return f"{API}/learners/{learner.id}/external-certificates", staff


def _form(number: str = "S000044030500001") -> dict[str, str]:
    return {
        "kind": "skill_level",
        "number": number,
        "issuer": "深圳市南山区职业技能鉴定所",
        "issued_on": "2026-03-10",
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": "level4",
    }


def _count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(ExternalCertificate)).one())


def _bad_scans() -> dict[str, bytes]:
    jpeg, png = _picture("JPEG"), _picture("PNG")
    return {
        "html_behind_a_jpeg_signature": b"\xff\xd8\xff<html><script>alert(1)</script></html>",
        "html_behind_a_png_signature": b"\x89PNG\r\n\x1a\n<html>hello</html>",
        "truncated_jpeg": truncated_jpeg(1200, 1600, keep=4 * 1024),
        "jpeg_cut_in_half": jpeg[: len(jpeg) // 2],
        "png_cut_in_half": png[: len(png) // 2],
        "png_with_a_broken_chunk": png[:40] + bytes([png[40] ^ 0xFF]) + png[41:],
        "png_bomb_100_megapixels": png_bomb(10_000, 10_000),
        "pdf_cut_off": PDF[:-8] + b"\n" + b"0" * 2000,
        "gif": b"GIF89a\x01\x00\x01\x00",
    }


def test_a_scan_that_is_not_one_whole_file_is_refused(
    storage: str, client: TestClient, engine: Engine, clock: Any
) -> None:
    url, staff = _setup(client, engine, clock)
    for name, scan in _bad_scans().items():
        assert len(scan) <= external.MAX_SCAN_BYTES, name
        files = {"scan": ("scan", scan, "image/jpeg")}
        r = client.post(url, data=_form(), files=files, headers=staff)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_scan"), name
    assert _count(engine) == 0


@pytest.mark.parametrize(
    ("fmt", "media_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("PDF", "pdf")]
)
def test_whole_scans_are_recorded(
    fmt: str, media_type: str, storage: str, client: TestClient, engine: Engine, clock: Any
) -> None:
    url, staff = _setup(client, engine, clock)
    scan = PDF if fmt == "PDF" else _picture(fmt, (2480, 3508))  # A4 at 300 dpi
    r = client.post(url, data=_form(), files={"scan": ("scan", scan, "x/y")}, headers=staff)
    assert r.status_code == 201, r.text
    assert media_type in r.json()["scan_media_type"]


def test_two_recordings_of_one_number_at_once_make_one_row(
    storage: str,
    client: TestClient,
    engine: Engine,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, staff = _setup(client, engine, clock)
    files = {"scan": ("a.pdf", PDF, "application/pdf")}
    assert client.post(url, data=_form(), files=files, headers=staff).status_code == 201
    # The second request looked before the first committed: only the constraint stops it.
    monkeypatch.setattr(external, "_number_taken", lambda *a: False)
    r = client.post(url, data=_form(), files=files, headers=staff)
    assert (r.status_code, r.json()["code"]) == (409, "external_certificate_exists")
    assert _count(engine) == 1


def test_numbers_that_start_like_a_formula_and_dates_before_birth_are_refused(
    storage: str, client: TestClient, engine: Engine, clock: Any
) -> None:
    clock.set(datetime(2026, 3, 12, 2, tzinfo=UTC))
    inst = make_institution(engine, region="440305")
    learner = make_learner(engine, inst, id_number=id_number("19900101", region="440305", seq=1))
    staff = login(client, make_user(engine, Role.staff, inst).username)
    url = f"{API}/learners/{learner.id}/external-certificates"
    files = {"scan": ("a.pdf", PDF, "application/pdf")}
    for number in ('=HYPERLINK("http://x","核验")', "+8613800138000", "@SUM(A1)", "－1+2"):
        r = client.post(url, data=_form(number), files=files, headers=staff)
        assert r.status_code == 422, (number, r.text)
        assert (r.json()["code"], r.json()["field"]) == ("invalid_external_certificate", "number")
    for day in ("0001-01-01", "1989-12-31"):  # the holder was born on 1990-01-01
        r = client.post(url, data={**_form(), "issued_on": day}, files=files, headers=staff)
        assert r.status_code == 422, (day, r.text)
        assert r.json()["field"] == "issued_on"
    r = client.post(
        f"{API}/learners/{learner.id}/groups",
        json={
            "group": "ex_serviceman",
            "evidence_kind": "veteran_card",
            "evidence_number": "=cmd|' /C calc'!A0",
        },
        headers=staff,
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_fact"), r.text
    assert _count(engine) == 0
    ok = client.post(url, data={**_form(), "issued_on": "2008-06-01"}, files=files, headers=staff)
    assert ok.status_code == 201, ok.text


def _attached(scan: bytes) -> bytes:
    """``scan`` with an executable attached, as pypdf's writer attaches files."""
    writer = PdfWriter(clone_from=io.BytesIO(scan))
    writer.add_attachment("证书核验工具.exe", b"MZ\x90\x00" + bytes(60))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _encrypted(scan: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(scan))
    writer.encrypt(user_password=user_password, owner_password="机构", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


JS = b"<< /S /JavaScript /JS (app.launchURL\\('http://x.example/'\\)) >>"
ACTIVE_PDFS = {
    "javascript_on_open": pdf(b"/OpenAction 4 0 R ", objects={4: JS}),
    "javascript_in_the_name_tree": pdf(
        b"/Names << /JavaScript << /Names [(a) 4 0 R] >> >> ", objects={4: JS}
    ),
    "launch_when_the_page_opens": pdf(
        page=b"/AA << /O 4 0 R >> ", objects={4: b"<< /S /Launch /F (cmd.exe) >>"}
    ),
    "remote_file_from_a_link": pdf(
        page=b"/Annots [4 0 R] ",
        objects={4: b"<< /Subtype /Link /Rect [0 0 9 9] /A << /S /GoToR /F (other.pdf) >> >>"},
    ),
    # escaped names in a compressed object stream: invisible to a search of the bytes
    "javascript_packed_and_escaped": pdf(
        b"/OpenAction 4 0 R ", packed={4: b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"}
    ),
    "xfa_form": pdf(
        b"/AcroForm << /Fields [] /XFA 4 0 R >> ",
        objects={4: b"<< /Length 7 >>\nstream\n<xdp/>\n\nendstream"},
    ),
    "attached_executable": _attached(SCAN_PDF),
}


@pytest.mark.parametrize("name", sorted(ACTIVE_PDFS))
def test_pdfs_carrying_scripts_launch_actions_or_files_are_refused(
    name: str, storage: str, client: TestClient, engine: Engine, clock: Any
) -> None:
    url, staff = _setup(client, engine, clock)
    files = {"scan": ("证书.pdf", ACTIVE_PDFS[name], "application/pdf")}
    r = client.post(url, data=_form(), files=files, headers={**staff, "Accept-Language": "zh"})
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (422, "invalid_scan", "scan")
    assert r.json()["message_zh"] == ActiveScan.message_zh  # what to do, in words
    assert "脚本" in r.json()["detail"] and "扫描" in r.json()["detail"]
    assert _count(engine) == 0


def test_a_password_protected_or_unreadable_pdf_is_refused(
    storage: str, client: TestClient, engine: Engine, clock: Any
) -> None:
    url, staff = _setup(client, engine, clock)
    no_catalogue = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    for scan in (_encrypted(SCAN_PDF, "123456"), no_catalogue):
        files = {"scan": ("证书.pdf", scan, "application/pdf")}
        r = client.post(url, data=_form(), files=files, headers=staff)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_scan")
        assert r.json()["message_zh"] == InvalidScan.message_zh
    assert _count(engine) == 0


def _made_by_a_scanner_app() -> bytes:
    """What a phone scanner app exports: a page picture and a text line, by fpdf2."""
    doc = FPDF()
    doc.add_page()
    doc.image(io.BytesIO(_picture("JPEG", (1240, 1754))), x=0, y=0, w=210)
    doc.set_font("helvetica", size=10)
    doc.cell(text="Scanned 2026-03-10")
    return bytes(doc.output())


PLAIN_PDFS = {
    "made_by_a_scanner_app": _made_by_a_scanner_app(),
    # opening at the page, a web link to click, an owner password (opens without one)
    "opens_at_its_page_with_a_link": pdf(
        b"/OpenAction [3 0 R /Fit] ",
        page=b"/Annots [4 0 R] ",
        objects={
            4: b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] "
            b"/A << /S /URI /URI (https://www.mohrss.gov.cn/) >> >>"
        },
    ),
    "owner_password_only": _encrypted(SCAN_PDF, ""),
}


@pytest.mark.parametrize("name", sorted(PLAIN_PDFS))
def test_plain_pdfs_are_recorded(
    name: str, storage: str, client: TestClient, engine: Engine, clock: Any
) -> None:
    url, staff = _setup(client, engine, clock)
    files = {"scan": ("证书.pdf", PLAIN_PDFS[name], "application/pdf")}
    r = client.post(url, data=_form(), files=files, headers=staff)
    assert r.status_code == 201, r.text
    scan = client.get(f"{API}/external-certificates/{r.json()['id']}/scan", headers=staff)
    assert (scan.status_code, scan.content) == (200, PLAIN_PDFS[name])

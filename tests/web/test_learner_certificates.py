"""The learner's certificate page over HTTP (no browser): who may see it, what it says, the PDF
and the signed credential behind its cookie-only links, and the links that lead to it.

The QR code is decoded in the browser journey (tests/web/test_learner_journey.py)."""

from __future__ import annotations

import base64
import re
import urllib.parse
from typing import Any

from fastapi.testclient import TestClient

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.certificates import credential, subsidy
from app.certificates import service as certificates
from app.config import get_settings
from app.db import transaction
from tests.factories import (
    PASSWORD,
    certified,
    course_row,
    enrollment_row,
    make_institution,
    make_learner,
    make_user,
)
from tests.web.conftest import pdf_text


def sign_in(client: TestClient, username: str) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = client.post(
        "/login",
        data={"csrf": csrf.group(1), "username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_the_learner_sees_the_certificate_in_words_with_qr_pdf_and_credential(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine, code="BJDG")
    learner = make_learner(engine, inst, real_name="欧阳娜娜")
    cert = certified(
        engine,
        learner,
        inst,
        title="养老护理员（中级）",
        occupation_name="养老护理员",
        minutes=125,
        quiz=88,
        rollcalls=(9, 10),
    )
    sign_in(client, learner.username)

    r = client.get(f"/my/certificates/{cert.serial}")
    assert r.status_code == 200, r.text
    html = r.text
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert " style=" not in html and "<style" not in html
    for words in (
        cert.serial,
        "欧阳娜娜",  # the learner's own page: the full name (the public page masks it)
        learner.id_number_masked,
        "养老护理员（中级）",
        "养老护理员（6-31-01-03）",
        "四级/中级工",
        "2.1 小时（125 分钟，要求 60 分钟）",
        "88 分（合格线 60 分）",
        "通过 9 / 10 次（90%，要求 80%）",
        "测试培训学校",
        'data-cert-status="valid"',
    ):
        assert words in html, words
    # The verification link, as text to copy and as a link; the QR code is an SVG data: URI.
    url = f"{get_settings().base_url}/certificates/{cert.serial}"
    assert f'value="{url}"' in html and f'href="{url}"' in html
    qr = re.search(r'<img id="qr" src="data:image/svg\+xml;charset=utf-8,([^"]+)"', html)
    assert qr and "<svg" in urllib.parse.unquote(qr.group(1))
    # Subsidy in words: every rule, passed here.
    assert 'data-eligible="1"' in html and "补贴标准 1500.00 元" in html
    assert html.count('data-passed="1"') == len(subsidy.RULES) and 'data-passed="0"' not in html
    # The salt that links the credential to the learner's ID number: shown to them only.
    assert cert.identity_salt in html

    pdf = client.get(f"/my/certificates/{cert.serial}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{cert.serial}.pdf"'
    text = pdf_text(pdf.content)
    assert "欧阳娜娜" in text and cert.serial in text

    jwt = client.get(f"/my/certificates/{cert.serial}.jwt")
    assert jwt.status_code == 200 and jwt.headers["content-type"] == "application/jwt"
    assert jwt.headers["content-disposition"] == f'attachment; filename="{cert.serial}.jwt"'
    claims = credential.verify(jwt.text)
    assert claims["vc"]["credentialSubject"]["training"]["serial"] == cert.serial
    header = jwt.text.split(".")[0]
    assert base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)).startswith(b"{")

    en = client.get(f"/my/certificates/{cert.serial}?lang=en")
    assert "Training certificate" in en.text and "Download PDF" in en.text
    assert "verified minutes" in en.text  # the subsidy rules' own English detail


def test_progress_and_record_link_to_the_learners_certificate_page(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    course = course_row(engine, inst)
    enrollment = enrollment_row(engine, learner, course)
    with transaction(engine) as s:
        serial = certificates.issue(s, Principal.of_user(learner), enrollment.id).serial
    sign_in(client, learner.username)
    for page in (f"/progress/{enrollment.id}", "/record"):
        html = client.get(page).text
        assert f'href="/my/certificates/{serial}"' in html, page
        assert f'href="/certificates/{serial}"' not in html, page


def test_only_the_learner_and_the_institutions_staff_see_it(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst, real_name="司马相如")
    cert = certified(engine, learner, inst)
    paths = [f"/my/certificates/{cert.serial}{ext}" for ext in ("", ".pdf", ".jwt")]

    # Signed out: to the sign-in page, coming back here afterwards.
    for path in paths:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=" + urllib.parse.quote(path, safe="")

    # Another learner, staff of another institution: the not-found page, nothing else.
    other = make_learner(engine, inst)
    stranger_staff = make_user(engine, Role.staff, make_institution(engine))
    for who in (other, stranger_staff):
        client.cookies.clear()
        sign_in(client, who.username)
        for path in paths:
            r = client.get(path)
            assert r.status_code == 404, (who.username, path)
            assert "text/html" in r.headers["content-type"]
            assert "找不到该证书编号对应的证书。" in r.text
            assert cert.learner_name not in r.text and cert.identity_salt not in r.text

    # Staff of the issuing institution: the page and the PDF, without the learner's salt.
    staff = make_user(engine, Role.staff, inst)
    client.cookies.clear()
    sign_in(client, staff.username)
    r = client.get(paths[0])
    assert r.status_code == 200 and cert.serial in r.text
    assert cert.identity_salt not in r.text
    assert client.get(paths[1]).status_code == 200

    # No such serial.
    missing = client.get("/my/certificates/NOPE-2026-000001")
    assert missing.status_code == 404 and "找不到该证书编号对应的证书。" in missing.text


def test_a_revoked_certificate_says_so_with_the_reason(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    staff = make_user(engine, Role.staff, inst)
    cert = certified(engine, learner, inst)
    with transaction(engine) as s:
        certificates.revoke(s, Principal.of_user(staff), cert.serial, "学时记录有误")
    sign_in(client, learner.username)
    html = client.get(f"/my/certificates/{cert.serial}").text
    assert 'data-cert-status="revoked"' in html
    assert re.search(r"此证书已于 \d{4}-\d\d-\d\d 撤销。原因：学时记录有误", html)
    assert 'data-eligible="0"' in html
    assert re.search(r'data-rule="not_revoked" data-passed="0"', html)

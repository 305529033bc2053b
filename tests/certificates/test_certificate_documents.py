"""The PDF (Chinese name as text, a QR code that decodes to the verification page), the signed
credential (checked with an independent JOSE library and only the published JWKS), and who may
fetch the PDF."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pypdf
import pytest
import zxingcpp
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from PIL import Image

from app.accounts.models import Role
from app.certificates import pdf
from app.certificates.models import Certificate
from app.config import get_settings
from app.courses.models import SessionState, StudySession
from app.crypto import decrypt
from app.db import transaction
from tests.factories import (
    course_row,
    enrollment_row,
    id_number,
    login,
    make_institution,
    make_learner,
    make_user,
)


def _issued(client: Any, engine: Any, **learner_kw: Any) -> tuple[Any, Any, dict[str, Any]]:
    inst = make_institution(engine, code="SHJN")
    learner = make_learner(engine, inst, **learner_kw)
    course = course_row(engine, inst, title="养老护理员（中级）", occupation_name="养老护理员")
    enrollment = enrollment_row(engine, learner, course, minutes=125, quiz=88, rollcalls=(9, 10))
    h = login(client, learner.username)
    r = client.post(f"/api/v1/enrollments/{enrollment.id}/certificate", headers=h)
    assert r.status_code == 201, r.text
    return inst, learner, {**r.json(), "headers": h}


def _text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    # pypdf puts NULs and spaces between the two-byte CID glyphs; the characters are right.
    return re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in reader.pages))


def _qr_codes(data: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    found = []
    for page in reader.pages:
        for image in page.images:
            found += [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))]
    return found


def test_pdf_shows_the_chinese_name_and_a_qr_to_the_verification_page(
    client: Any, engine: Any, clock: Any
) -> None:
    _, learner, issued = _issued(client, engine, real_name="欧阳娜娜")
    r = client.get(f"/certificates/{issued['serial']}.pdf", headers=issued["headers"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    text = _text(r.content)
    assert "欧阳娜娜" in text
    assert learner.id_number_masked in text
    for expected in (
        "养老护理员（中级）",
        "四级/中级工",
        "2.1小时",
        "88分",
        "90%",
        "SHJN-2026-000001",
    ):
        assert expected in text, expected
    assert "测试培训学校" in text and "2026-01-05" in text
    url = f"{get_settings().base_url}/certificates/SHJN-2026-000001"
    assert _qr_codes(r.content) == [url] == [issued["verify_url"]]
    assert decrypt("id_number", learner.id_number_enc).decode() not in text  # masked only


def test_font_is_embedded(client: Any, engine: Any, clock: Any) -> None:
    _, _, issued = _issued(client, engine)
    data = client.get(f"/certificates/{issued['serial']}.pdf", headers=issued["headers"]).content
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = reader.pages[0]["/Resources"]["/Font"]  # type: ignore[index]
    names = [str(f.get_object()["/BaseFont"]) for f in fonts.values()]
    assert any("NotoSansSC" in n for n in names), names
    assert pdf.font_path().is_file()


def test_who_may_fetch_the_pdf(client: Any, engine: Any, clock: Any) -> None:
    inst, _, issued = _issued(client, engine)
    url = f"/certificates/{issued['serial']}.pdf"
    assert client.get(url).status_code == 401
    staff = login(client, make_user(engine, Role.staff, inst).username)
    assert client.get(url, headers=staff).status_code == 200
    regulator = login(client, make_user(engine, Role.regulator).username)
    assert client.get(url, headers=regulator).status_code == 200
    other = make_institution(engine)
    foreign = login(client, make_user(engine, Role.staff, other).username)
    assert client.get(url, headers=foreign).status_code == 404
    stranger = login(client, make_learner(engine, inst).username)
    assert client.get(url, headers=stranger).status_code == 404
    assert client.get("/certificates/NOPE-2026-000001.pdf", headers=staff).status_code == 404


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def test_credential_verifies_with_only_the_jwks(client: Any, engine: Any, clock: Any) -> None:
    number = id_number(birth="19850412", seq=321)
    _, learner, issued = _issued(client, engine, id_number=number)
    token = issued["credential_jwt"]
    jwks = client.get("/.well-known/jwks.json").json()
    assert {k["kty"] for k in jwks["keys"]} == {"OKP", "RSA"}
    header = json.loads(_b64(token.split(".")[0]))
    assert header["alg"] == "RS256" and header["kid"] in {k["kid"] for k in jwks["keys"]}

    keys = KeySet.import_key_set(jwks)
    claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
    vc = claims["vc"]
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert "https://www.w3.org/ns/credentials/v2" in vc["@context"]
    assert vc["issuer"]["type"] == ["Profile"] and vc["issuer"]["name"] == "测试培训学校"
    assert vc["validFrom"].startswith("2026-01-05T01:00:00")
    assert claims["iss"] == vc["issuer"]["id"] and claims["jti"] == vc["id"]
    subject = vc["credentialSubject"]
    achievement = subject["achievement"]
    assert {"id", "type", "name", "description", "criteria"} <= set(achievement)
    assert achievement["type"] == ["Achievement"]
    training = subject["training"]
    assert training["serial"] == issued["serial"]
    assert training["verifiedHours"] == 2.1 and training["level"] == "level4"
    assert training["occupationName"] == "养老护理员"
    # The learner: a salted SHA-256 of the ID number, which itself appears nowhere.
    [ident] = subject["identifier"]
    assert ident["hashed"] is True and ident["identityType"] == "nationalIdentityNumber"
    assert "salt" not in ident  # an ID number is too guessable to publish its salt
    mine = client.get(f"/api/v1/certificates/{issued['serial']}", headers=issued["headers"]).json()
    expected = hashlib.sha256((number + mine["identity_salt"]).encode()).hexdigest()
    assert ident["identityHash"] == f"sha256${expected}"
    assert number not in json.dumps(claims, ensure_ascii=False)
    assert learner.id_number_enc and decrypt("id_number", learner.id_number_enc).decode() == number


@pytest.mark.parametrize("part", [0, 1, 2])
def test_credential_fails_after_one_byte_changes(
    client: Any, engine: Any, clock: Any, part: int
) -> None:
    _, _, issued = _issued(client, engine)
    keys = KeySet.import_key_set(client.get("/.well-known/jwks.json").json())
    segments = issued["credential_jwt"].split(".")
    raw = bytearray(_b64(segments[part]))
    raw[len(raw) // 2] ^= 0x01
    segments[part] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    # A changed header names no key or another algorithm; a changed payload or signature fails
    # the signature check: every way, the token is refused.
    with pytest.raises((JoseError, ValueError)):
        jwt.decode(".".join(segments), keys, algorithms=["RS256"])


def test_pdf_shows_the_training_period_minutes_and_a_signature_line(
    client: Any, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst, real_name="欧阳娜娜")
    course = course_row(engine, inst, title="电工（初级）", required_minutes=30)
    enrollment = enrollment_row(engine, learner, course, minutes=45)
    first = datetime(2026, 1, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    with transaction(engine) as s:
        for start in (first, first + timedelta(days=2, hours=15)):  # the 5th, 00:30 in Shanghai
            s.add(
                StudySession(
                    enrollment_id=enrollment.id,
                    user_id=learner.id,
                    state=SessionState.ended,
                    checkin_event_id=uuid.uuid4(),
                    started_at=start,
                    segment_started_at=start,
                    ended_at=start + timedelta(minutes=30),
                )
            )
    h = login(client, learner.username)
    issued = client.post(f"/api/v1/enrollments/{enrollment.id}/certificate", headers=h).json()
    text = _text(client.get(f"/certificates/{issued['serial']}.pdf", headers=h).content)
    assert "培训期间Trainingperiod2026-01-02至2026-01-05" in text
    assert "45分钟" in text and "0.8小时" not in text and "0.0小时" not in text
    assert "负责人签字" in text and "盖章" in text


def test_the_statement_has_no_stray_spaces_around_the_institution() -> None:
    cert = Certificate(
        learner_name="欧阳娜娜",
        id_number_masked="110101********1234",
        course_title="电工（初级）",
    )
    text = pdf.statement(cert, "上海示范职业培训学校")
    assert "参加上海示范职业培训学校组织的“电工（初级）”" in text


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(0, "0 分钟"), (59, "59 分钟"), (60, "1.0 小时（60 分钟）"), (125, "2.1 小时（125 分钟）")],
)
def test_durations_under_an_hour_are_minutes(minutes: int, shown: str) -> None:
    assert pdf.duration_zh(minutes) == shown

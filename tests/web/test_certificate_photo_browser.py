"""The certificate photo in Chromium (issue 18 item 12): a learner with an enrolled face turns
the photo on from the consent page, sees its preview, downloads a certificate PDF that carries it,
and turns it off again; screenshots at 1280 and 360 px (var/screenshots/certificate-photo-*),
no sideways scrolling at 360 px, no CSP violation."""

from __future__ import annotations

import io

import pypdf
import pytest
from sqlalchemy.engine import Engine

from app.accounts import service as accounts
from app.attendance import service as attendance
from app.db import transaction
from tests.face_data import blink_burst
from tests.factories import (
    PASSWORD,
    course_row,
    enrollment_row,
    id_number,
    issue,
    make_institution,
)
from tests.web.conftest import SCREENSHOTS, Browsing, Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def _pdf_images(data: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(data)).pages[0].images)


def test_the_learner_sets_the_certificate_photo_in_the_browser(
    browsing: Browsing,
    blink_challenges: None,  # the enrolment below sends a blink burst: ask for a blink
    engine: Engine,
) -> None:
    inst = make_institution(engine, name="深圳市宝安区技工培训学校")
    with transaction(engine) as session:
        learner = accounts.register_learner(
            session,
            username="photo-learner",
            password=PASSWORD,
            real_name="欧阳娜娜",
            id_number=id_number(seq=77),
            institution_id=inst.id,
        )
        accounts.set_biometric_consent(session, learner, granted=True)
        challenge = attendance.create_challenge(session, learner)
        attendance.enrol(session, learner, challenge_id=challenge.id, frames=blink_burst("a"))
    course = course_row(engine, inst, title="养老护理员（四级）职业技能提升培训")
    cert = issue(engine, learner, enrollment_row(engine, learner, course, minutes=125, quiz=90))

    page, base = browsing.page, browsing.base
    browsing.sign_in("photo-learner")
    pdf_url = f"{base}/my/certificates/{cert.serial}.pdf"
    shots = Shots(page, "certificate-photo")

    page.goto(f"{base}/consent#certificate-photo")
    page.wait_for_selector("#certificate-photo-none")
    assert _pdf_images(page.request.get(pdf_url).body()) == 1  # the QR code only
    shots("off")

    page.click("#certificate-photo-on")
    page.wait_for_selector("#certificate-photo-image")
    page.wait_for_function(
        "document.querySelector('#certificate-photo-image').complete && "
        "document.querySelector('#certificate-photo-image').naturalWidth > 0"
    )
    assert "已开启证书照片" in page.inner_text("body")
    shots("on")
    body = page.request.get(pdf_url).body()
    assert _pdf_images(body) == 2  # the QR code and the photo
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "certificate-photo.pdf").write_bytes(body)
    # The certificate page says so, and links to the setting.
    page.goto(f"{base}/my/certificates/{cert.serial}")
    page.wait_for_selector("#certificate-photo-hint[data-certificate-photo=on]")
    shots("certificate-page")
    page.click("#certificate-photo-hint a")
    page.wait_for_selector("#certificate-photo-off")

    page.click("#certificate-photo-off")
    page.wait_for_selector("#certificate-photo-none")
    assert "已关闭证书照片" in page.inner_text("body")
    assert _pdf_images(page.request.get(pdf_url).body()) == 1

    assert all(w <= 360 for w in shots.scroll_widths.values()), shots.scroll_widths
    assert browsing.csp_violations() == []

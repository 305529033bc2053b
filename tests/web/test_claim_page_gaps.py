"""What the claim pages lacked (issue 17): staff claim rejected lines again from the batch page
(a correction is a new line naming the old one, both linked both ways); a regulator downloads
the signed export with full ID numbers from the batch page, giving the reason the audit needs;
each line names its programme and the standard version its amount comes from, as the API does.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import KeySet

from app.accounts.models import Role
from tests.factories import (
    audit_log,
    certified,
    id_number,
    login,
    make_institution,
    make_learner,
    make_user,
)
from tests.web.staff_world import sign_in

API = "/api/v1"
NUMBERS = (id_number("19880214", "440306", 31), id_number("19950630", "110105", 47))


def _world(engine: Any, clock: Any) -> dict[str, Any]:
    inst = make_institution(engine, "SZN018", region="440305", name="南山职业技能培训学校")
    clock.set(datetime(2026, 2, 10, 2, tzinfo=UTC))
    certs = [
        certified(
            engine,
            make_learner(engine, inst, real_name=name, id_number=number),
            inst,
            subsidy_fen=150_000,
        )
        for name, number in zip(("王小明", "李华"), NUMBERS, strict=True)
    ]
    clock.set(datetime(2026, 4, 2, 1, tzinfo=UTC))
    return {
        "inst": inst,
        "certs": certs,
        "staff": make_user(engine, Role.staff, inst),
        "reg": make_user(engine, Role.regulator, jurisdiction="440300"),
        "other": make_user(engine, Role.regulator, jurisdiction="440100"),
    }


def _file(client: TestClient, staff: Any) -> str:
    csrf = sign_in(client, staff.username)
    r = client.post(
        "/staff/claims/batches",
        data={"csrf": csrf, "period": "quarter", "year": "2026", "quarter": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).rsplit("/", 1)[-1]


def _lines(html: str) -> list[str]:
    return re.findall(r'data-line="([0-9a-f-]{36})"', html)


def _review(client: TestClient, csrf: str, line_id: str, decision: str, reason: str = "") -> None:
    r = client.post(
        f"/regulator/claims/lines/{line_id}/review",
        data={"csrf": csrf, "decision": decision, "reason": reason},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_staff_claim_a_rejected_line_again_from_the_batch_page(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = _world(engine, clock)
    batch_id = _file(client, w["staff"])
    assert 'id="corrections-form"' not in client.get(f"/staff/claims/batches/{batch_id}").text
    csrf = sign_in(client, w["reg"].username)
    first, second = _lines(client.get(f"/regulator/claims/{batch_id}").text)
    _review(client, csrf, first, "rejected", "随机点名记录缺失，请补充后重新申报")
    _review(client, csrf, second, "approved")

    csrf = sign_in(client, w["staff"].username)
    page = client.get(f"/staff/claims/batches/{batch_id}")
    form = page.text[page.text.index('id="corrections-form"') :]
    assert f'value="{first}"' in form and f'value="{second}"' not in form  # only the rejected
    # without a reason: refused next to the form, what was chosen kept, nothing filed
    bare = client.post(
        f"/staff/claims/batches/{batch_id}/corrections",
        data={"csrf": csrf, "line_ids": [first], "reason": ""},
    )
    assert bare.status_code == 422 and 'id="corrections-error"' in bare.text
    r = client.post(
        f"/staff/claims/batches/{batch_id}/corrections",
        data={"csrf": csrf, "line_ids": [first], "reason": "已补充随机点名记录"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    new_batch = str(r.headers["location"]).rsplit("/", 1)[-1]
    assert new_batch != batch_id

    h = login(client, w["staff"].username)
    new = client.get(f"{API}/claim-batches/{new_batch}", headers=h).json()
    old = client.get(f"{API}/claim-batches/{batch_id}", headers=h).json()
    assert new["period_kind"] == "correction" and len(new["lines"]) == 1
    line = new["lines"][0]
    assert line["corrects_line_id"] == first and line["revision"] == 2
    assert line["corrects"] == {
        "line_id": first,
        "batch_id": batch_id,
        "batch_reference": old["reference"],
        "no": 1,
    }
    assert old["lines"][0]["corrected_by"]["line_id"] == line["id"]
    assert old["lines"][0]["decision"] == "rejected"  # the old line is as it was

    sign_in(client, w["staff"].username)
    new_page = client.get(f"/staff/claims/batches/{new_batch}").text
    assert "更正申报" in new_page and f"/staff/claims/batches/{batch_id}#line-{first}" in new_page
    old_page = client.get(f"/staff/claims/batches/{batch_id}").text
    assert f"/staff/claims/batches/{new_batch}#line-{line['id']}" in old_page
    assert 'id="corrections-form"' not in old_page  # nothing left to correct
    # the regulator sees the same link on the correction
    sign_in(client, w["reg"].username)
    assert (
        f"/regulator/claims/{batch_id}#line-{first}"
        in client.get(f"/regulator/claims/{new_batch}").text
    )


def test_regulator_downloads_the_signed_export_from_the_batch_page(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = _world(engine, clock)
    batch_id = _file(client, w["staff"])
    assert 'id="export-form"' not in client.get(f"/staff/claims/batches/{batch_id}").text
    csrf = sign_in(client, w["reg"].username)
    page = client.get(f"/regulator/claims/{batch_id}").text
    assert 'id="export-form"' in page and f'action="/regulator/claims/{batch_id}/export"' in page
    url = f"/regulator/claims/{batch_id}/export"
    # the reason is required: refused next to the form, nothing exported
    bare = client.post(url, data={"csrf": csrf, "format": "jsonl", "reason": " "})
    assert bare.status_code == 422 and 'id="export-error"' in bare.text
    why = "报送市社保基金支付科办理拨付（深人社函〔2026〕41号）"
    jwks = client.get("/.well-known/jwks.json").json()
    for fmt in ("jsonl", "xlsx"):
        r = client.post(url, data={"csrf": csrf, "format": fmt, "reason": why})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/zip"
        z = zipfile.ZipFile(io.BytesIO(r.content))
        (data_name,) = [n for n in z.namelist() if n.endswith(f".{fmt}")]
        content = z.read(data_name)
        token = z.read(f"{data_name}.jws").decode()
        digest = hashlib.sha256(content).hexdigest()
        assert z.read(f"{data_name}.sha256").decode() == f"{digest}  {data_name}\n"
        # what the receiving office does: the file, the detached JWS, the JWKS alone
        jws.deserialize_compact(
            token, KeySet.import_key_set(jwks), algorithms=["RS256"], payload=content
        )
        if fmt == "jsonl":
            assert all(number.encode() in content for number in NUMBERS)  # full ID numbers
    exports = [p for _, p in audit_log(engine, action="claim.exported")]
    assert [p["reason"] for p in exports] == [why, why]
    assert [p["format"] for p in exports] == ["jsonl", "xlsx"]
    assert all(p["full_id_numbers"] for p in exports)

    # staff have no such form, and another jurisdiction's regulator gets the not-found page
    csrf = sign_in(client, w["other"].username)
    assert (
        client.post(url, data={"csrf": csrf, "format": "jsonl", "reason": why}).status_code == 404
    )
    csrf = sign_in(client, w["staff"].username)
    assert (
        client.post(url, data={"csrf": csrf, "format": "jsonl", "reason": why}).status_code == 403
    )
    assert len(audit_log(engine, action="claim.exported")) == 2


def test_each_line_names_its_programme_and_standard_version(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = _world(engine, clock)
    batch_id = _file(client, w["staff"])
    body = client.get(
        f"{API}/claim-batches/{batch_id}", headers=login(client, w["staff"].username)
    ).json()
    for line, cert in zip(body["lines"], w["certs"], strict=True):
        assert line["standard_version_id"] == str(cert.subsidy_standard_id)
        assert line["standard_version"] == cert.subsidy_standard_version == 1
        assert line["programme_kind"] == "employment_skills"
        assert line["programme_name"] == "就业技能培训"
        assert line["standard_region_code"] == cert.subsidy_region_code
    sign_in(client, w["staff"].username)
    html = client.get(f"/staff/claims/batches/{batch_id}").text
    shown = re.findall(r'<p class="hint wrap programme">(.*?)</p>', html)
    assert len(shown) == 2
    assert all("就业技能培训" in x and "第 1 版" in x for x in shown)


def test_the_evidence_page_says_each_face_check_in_words(
    client: TestClient, engine: Any, clock: Any
) -> None:
    """The regulator reads a line's face checks as what they were for, how they came out and
    why, in the words the learner and staff pages use — not the stored codes."""
    from app.attendance.models import Outcome, Purpose, ReviewStatus
    from app.db import transaction
    from tests.factories import attendance_verdict

    w = _world(engine, clock)
    cert = w["certs"][0]
    with transaction(engine) as s:
        learner = s.get(type(w["staff"]), cert.user_id)
        clock.set(cert.issued_at)
        failed = attendance_verdict(
            s, learner, Outcome.failed, w["inst"], reason_code="face_mismatch"
        )
        failed.purpose = Purpose.checkin
        held = attendance_verdict(
            s,
            learner,
            Outcome.review,
            w["inst"],
            reason_code="uncertain_match",
            median_distance="0.45",
        )
        held.review_status = ReviewStatus.approved
        s.add_all([failed, held])
    clock.set(datetime(2026, 4, 2, 1, tzinfo=UTC))
    batch_id = _file(client, w["staff"])
    sign_in(client, w["reg"].username)
    line_id = _lines(client.get(f"/regulator/claims/{batch_id}").text)[0]
    page = client.get(f"/regulator/claims/lines/{line_id}/evidence")
    assert page.status_code == 200, page.text[:500]
    summary = page.text[
        page.text.index('id="evidence-summary"') : page.text.index('id="evidence-faces"')
    ]
    assert "（有效）" in summary and "valid" not in summary
    faces = page.text[
        page.text.index('id="evidence-faces"') : page.text.index('id="evidence-rollcalls"')
    ]
    for words in (
        "签到",
        "随机点名",
        "未通过",
        "待人工审核",
        "审核通过",
        "人脸与报名时采集的不一致",
    ):
        assert words in faces, words
    for code in (
        "face_mismatch",
        "uncertain_match",
        ">checkin<",
        ">rollcall<",
        ">failed",
        ">review",
    ):
        assert code not in faces, code
    english = client.get(f"/regulator/claims/lines/{line_id}/evidence?lang=en").text
    faces = english[english.index('id="evidence-faces"') : english.index('id="evidence-rollcalls"')]
    assert "The face is not the one enrolled." in faces and "face_mismatch" not in faces

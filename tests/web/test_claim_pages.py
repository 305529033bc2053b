"""The claim batch pages over HTTP (issue 17): staff file a quarter from the page and answer an
evidence request; a regulator reviews line by line (one rejected with a reason), approves the
batch, records the payment after the notice; another jurisdiction's regulator is refused; a form
without its CSRF value is refused; and the page shows what the API shows for the same batch."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from app.accounts.models import Role
from tests.factories import certified, login, make_institution, make_learner, make_user
from tests.web.staff_world import sign_in

API = "/api/v1"


def _world(engine: Any, clock: Any) -> dict[str, Any]:
    inst = make_institution(engine, "SZN017", region="440305", name="南山职业技能培训学校")
    clock.set(datetime(2026, 2, 10, 2, tzinfo=UTC))
    certs = [
        certified(engine, make_learner(engine, inst, real_name=name), inst, subsidy_fen=fen)
        for name, fen in (("王小明", 150_000), ("李华", 180_000))
    ]
    clock.set(datetime(2026, 4, 2, 1, tzinfo=UTC))
    return {
        "inst": inst,
        "certs": certs,
        "staff": make_user(engine, Role.staff, inst),
        "reg": make_user(engine, Role.regulator, jurisdiction="440300"),  # 深圳市
        "other": make_user(engine, Role.regulator, jurisdiction="440100"),  # 广州市
    }


def _file(client: TestClient, staff: Any) -> str:
    csrf = sign_in(client, staff.username)
    page = client.get("/staff/claims/batches")
    assert page.status_code == 200 and 'action="/staff/claims/batches"' in page.text
    r = client.post(
        "/staff/claims/batches",
        data={"csrf": csrf, "period": "quarter", "year": "2026", "quarter": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/staff/claims/batches/([0-9a-f-]{36})", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


def _recoveries(client: TestClient) -> str:
    page = client.get("/regulator/claims")
    assert page.status_code == 200
    return page.text


def _lines(html: str) -> list[tuple[str, str]]:
    """(line id, decision) of every line article on a batch page, in order."""
    return re.findall(r'data-line="([0-9a-f-]{36})" data-decision="([a-z_]*)"', html)


def test_staff_file_a_quarter_and_regulator_reviews_and_approves(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = _world(engine, clock)
    batch_id = _file(client, w["staff"])
    page = client.get(f"/staff/claims/batches/{batch_id}")
    assert page.status_code == 200
    assert "王小明" in page.text and "李华" in page.text and "审核中" in page.text
    assert [d for _, d in _lines(page.text)] == ["", ""]
    listing = client.get("/staff/claims/batches")
    assert f"/staff/claims/batches/{batch_id}" in listing.text
    assert 'href="/staff/claims/batches" aria-current="page"' in listing.text  # nav
    # the old export page links to the batches and keeps exporting
    assert 'href="/staff/claims/batches"' in client.get("/staff/claims?year=2026&quarter=1").text
    assert client.get("/staff/claims/download?year=2026&quarter=1&format=csv").status_code == 200

    # the same quarter again: refused in words next to the form, nothing filed twice
    csrf = str(client.cookies.get("st_csrf") or "")
    again = client.post(
        "/staff/claims/batches",
        data={"csrf": csrf, "period": "quarter", "year": "2026", "quarter": "1"},
    )
    assert again.status_code in (409, 422), again.text
    assert 'id="file-error"' in again.text

    csrf = sign_in(client, w["reg"].username)
    listing = client.get("/regulator/claims?status=filed")
    assert listing.status_code == 200 and f"/regulator/claims/{batch_id}" in listing.text
    assert 'href="/regulator/claims" aria-current="page"' in listing.text  # nav
    assert "南山职业技能培训学校" in listing.text
    assert f"/regulator/claims/{batch_id}" not in client.get("/regulator/claims?status=paid").text
    page = client.get(f"/regulator/claims/{batch_id}")
    (first, _), (second, _) = _lines(page.text)

    # approving before every line is decided is refused next to the approve button
    early = client.post(f"/regulator/claims/{batch_id}/approve", data={"csrf": csrf})
    assert early.status_code == 409 and 'id="approve-error"' in early.text

    # rejecting without a reason is refused next to that line's form
    bare = client.post(
        f"/regulator/claims/lines/{first}/review", data={"csrf": csrf, "decision": "rejected"}
    )
    assert bare.status_code == 422 and 'role="alert"' in bare.text
    r = client.post(
        f"/regulator/claims/lines/{first}/review",
        data={"csrf": csrf, "decision": "rejected", "reason": "同一职业同一等级已享受过补贴"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/regulator/claims/lines/{second}/review",
        data={"csrf": csrf, "decision": "approved"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/regulator/claims/{batch_id}")
    assert dict(_lines(page.text)) == {first: "rejected", second: "approved"}
    assert "同一职业同一等级已享受过补贴" in page.text and "审核意见已保存" in page.text
    evidence = client.get(f"/regulator/claims/lines/{second}/evidence")
    assert evidence.status_code == 200 and "人脸核验" in evidence.text

    r = client.post(
        f"/regulator/claims/{batch_id}/approve", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    page = client.get(f"/regulator/claims/{batch_id}")
    assert 'data-status="approved"' in page.text and 'id="payment-form"' in page.text
    # stale forms (another tab, the back button): refused in words, though their forms are gone
    again = client.post(f"/regulator/claims/{batch_id}/approve", data={"csrf": csrf})
    assert again.status_code == 409 and 'id="approve-error"' in again.text
    late = client.post(
        f"/regulator/claims/lines/{second}/review", data={"csrf": csrf, "decision": "rejected"}
    )
    assert late.status_code == 409 and 'class="error" role="alert"' in late.text, late.text
    assert client.get("/notices").text.count("王小明") == 0  # rejected: not in the notice

    # payment during the notice is refused in words; after it, recorded
    approved = int(re.findall(r'data-approved-fen="(\d+)"', page.text)[0])
    assert approved > 0
    amount = f"{approved // 100}.{approved % 100:02d}"
    paid = {"csrf": csrf, "amount_yuan": amount, "paid_on": "2026-05-10", "reference": "SZ-1"}
    during = client.post(f"/regulator/claims/{batch_id}/payments", data=paid)
    assert during.status_code == 409 and 'id="payment-error"' in during.text
    clock.set(datetime(2026, 5, 12, 1, tzinfo=UTC))
    paid["csrf"] = sign_in(client, w["reg"].username)  # the notice outlasts a sign-in
    r = client.post(f"/regulator/claims/{batch_id}/payments", data=paid, follow_redirects=False)
    assert r.headers.get("location") == f"/regulator/claims/{batch_id}", r.text
    assert 'data-status="paid"' in client.get(f"/regulator/claims/{batch_id}").text
    twice = client.post(f"/regulator/claims/{batch_id}/payments", data=paid)
    assert twice.status_code == 409 and 'id="payment-error"' in twice.text

    # a finding on the paid line opens a recovery, settled from the batches page
    r = client.post(
        f"/regulator/claims/lines/{second}/findings",
        data={"csrf": paid["csrf"], "reason": "抽查发现代刷学时"},
        follow_redirects=False,
    )
    assert r.headers.get("location") == "/regulator/claims#recoveries", r.text
    (recovery,) = re.findall(
        r'data-recovery="([0-9a-f-]{36})" data-status="open"', _recoveries(client)
    )
    settle = f"/regulator/claims/recoveries/{recovery}/settle"
    odd = client.post(settle, data={"csrf": paid["csrf"], "outcome": "paid", "reference": "SZ-R1"})
    assert odd.status_code == 422 and 'role="alert"' in odd.text and 'value="SZ-R1"' in odd.text
    assert f'data-recovery="{recovery}" data-status="open"' in odd.text
    done = {"csrf": paid["csrf"], "outcome": "recovered", "reference": "SZ-R1"}
    r = client.post(settle, data=done, follow_redirects=False)
    assert r.headers.get("location") == "/regulator/claims#recoveries", r.text
    assert f'data-recovery="{recovery}" data-status="recovered"' in _recoveries(client)
    again = client.post(settle, data=done)  # the same form once more: refused, not settled twice
    assert again.status_code == 409, again.text
    (said,) = re.findall(r'class="error" role="alert">([^<]+)<', again.text)  # on the settled row
    assert said == "该追回事项已办结。", said


def test_the_page_shows_what_the_api_shows(client: TestClient, engine: Any, clock: Any) -> None:
    w = _world(engine, clock)
    batch_id = _file(client, w["staff"])
    for user, url in ((w["staff"], f"/staff/claims/batches/{batch_id}"),):
        sign_in(client, user.username)
        html = client.get(url).text
        api = client.get(f"{API}/claim-batches/{batch_id}", headers=login(client, user.username))
        body = api.json()
        sign_in(client, user.username)
        html = client.get(url).text
        assert [x for x, _ in _lines(html)] == [line["id"] for line in body["lines"]]
        assert f'data-total-fen="{body["total_fen"]}"' in html
        assert f'data-approved-fen="{body["approved_fen"]}"' in html
        assert body["lines_hash"] in html and body["reference"] in html
    sign_in(client, w["reg"].username)
    html = client.get(f"/regulator/claims/{batch_id}").text
    body = client.get(
        f"{API}/claim-batches/{batch_id}", headers=login(client, w["reg"].username)
    ).json()
    assert [x for x, _ in _lines(html)] == [line["id"] for line in body["lines"]]


def test_other_jurisdiction_learners_and_staff_are_refused(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = _world(engine, clock)
    batch_id = _file(client, w["staff"])
    line_id = _lines(client.get(f"/staff/claims/batches/{batch_id}").text)[0][0]
    # staff may not use the regulator pages
    assert client.get("/regulator/claims").status_code == 403
    csrf = sign_in(client, w["other"].username)
    assert client.get(f"/regulator/claims/{batch_id}").status_code == 404
    assert client.get(f"/regulator/claims/lines/{line_id}/evidence").status_code == 404
    assert batch_id not in client.get("/regulator/claims").text
    r = client.post(
        f"/regulator/claims/lines/{line_id}/review", data={"csrf": csrf, "decision": "approved"}
    )
    assert r.status_code == 404
    assert (
        client.post(f"/regulator/claims/{batch_id}/approve", data={"csrf": csrf}).status_code == 404
    )
    # another institution's staff cannot see the batch
    stranger = make_user(engine, Role.staff, make_institution(engine, "GZX001", region="440106"))
    sign_in(client, stranger.username)
    assert client.get(f"/staff/claims/batches/{batch_id}").status_code == 404
    # nothing changed
    sign_in(client, w["staff"].username)
    assert [d for _, d in _lines(client.get(f"/staff/claims/batches/{batch_id}").text)] == ["", ""]


def test_forms_without_csrf_are_refused(client: TestClient, engine: Any, clock: Any) -> None:
    w = _world(engine, clock)
    sign_in(client, w["staff"].username)
    r = client.post(
        "/staff/claims/batches", data={"period": "quarter", "year": "2026", "quarter": "1"}
    )
    assert r.status_code == 403
    assert "/staff/claims/batches/" not in client.get("/staff/claims/batches").text
    batch_id = _file(client, w["staff"])
    line_id = _lines(client.get(f"/staff/claims/batches/{batch_id}").text)[0][0]
    sign_in(client, w["reg"].username)
    r = client.post(
        f"/regulator/claims/lines/{line_id}/review",
        data={"csrf": "forged", "decision": "approved"},
    )
    assert r.status_code == 403
    assert _lines(client.get(f"/regulator/claims/{batch_id}").text)[0][1] == ""


def test_evidence_request_answered_from_the_staff_page(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = _world(engine, clock)
    batch_id = _file(client, w["staff"])
    csrf = sign_in(client, w["reg"].username)
    line_id = _lines(client.get(f"/regulator/claims/{batch_id}").text)[0][0]
    r = client.post(
        f"/regulator/claims/lines/{line_id}/review",
        data={"csrf": csrf, "decision": "evidence_requested", "reason": "请补充线下实操签到表"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    csrf = sign_in(client, w["staff"].username)
    page = client.get(f"/staff/claims/batches/{batch_id}")
    assert (
        "请补充线下实操签到表" in page.text
        and f"/staff/claims/lines/{line_id}/evidence" in page.text
    )
    r = client.post(
        f"/staff/claims/lines/{line_id}/evidence",
        data={"csrf": csrf, "note": "签到表已上传至档案系统，编号 QD-2026-031"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/staff/claims/batches/{batch_id}")
    assert dict(_lines(page.text))[line_id] == "evidence_provided"
    assert "补充材料已提交" in page.text

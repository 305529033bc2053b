"""The regulator dashboard over HTTP, on both databases: who sees which institution's figures,
the fraud evidence links and who may follow them, the audit export (the API's bytes), and the
certificate lookup with its subsidy evaluation.

The data set is crafted directly (tests/factories.py; events with real LFW crops as
evidence files, as the service stores them): two institutions, enrolments in two months,
certificates (one revoked), a frame shared by two learners of A and a day over the cap in B.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.accounts.principal import Principal
from app.certificates import subsidy
from app.reports import statistics
from tests.factories import (
    login,
    sign_in,
)
from tests.web.regulator_world import World, crop_of


@pytest.fixture
def world(engine: Engine, clock: Any) -> World:
    return World(engine, clock)


def charts_of(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S)
    assert m, "no chart data on the page"
    return {c["id"]: c for c in json.loads(m.group(1))["charts"]}


def table_of(page: str, table_id: str) -> list[list[str]]:
    m = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    assert m, table_id
    body = m.group(1).split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [html.unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)] for r in rows
    ]


def links_of(page: str, cls: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'<a href="([^"]+)" class="{cls}"', page)]


def href_of(page: str, ident: str) -> str:
    m = re.search(rf'id="{ident}" href="([^"]+)"', page)
    assert m, ident
    return html.unescape(m.group(1))


def section(page: str, ident: str) -> str:
    start = page.index(f'id="{ident}"')
    return page[start : page.index("</article>", start)]


# ---------------------------------------------------------------- who sees what


def test_regulators_land_on_the_dashboard_and_see_every_institution(
    client: TestClient, world: World
) -> None:
    r = sign_in(client, world.regulator.username)
    assert r.status_code == 303 and r.headers["location"] == "/regulator"
    page = client.get("/regulator")
    assert page.status_code == 200
    text = page.text
    # the strict CSP of every page: the charts come from a file and a JSON block only
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert " style=" not in text and "<style" not in text
    assert re.search(r"<script(?![^>]*(src=|application/json))", text) is None
    assert '<script src="/static/vendor/chartjs-4.4.7/chart.umd.js" defer></script>' in text
    assert 'href="/regulator" aria-current="page"' in text  # the regulator's nav
    charts = charts_of(text)
    assert set(charts) == {
        "chart-period",
        "chart-subsidy",
        "chart-group",
        "chart-institution",
        "chart-region",
    }
    inst = charts["chart-institution"]
    assert inst["labels"] == ["北城职业技能培训学校（NORTH01）", "南郊家政服务培训中心（SOUTH02）"]
    # by region: one institution in each district here, so the same figures under region names
    region = charts["chart-region"]
    assert region["labels"] == ["广东省广州市天河区", "广东省深圳市南山区"]
    assert [d["data"] for d in region["datasets"]] == [d["data"] for d in inst["datasets"]]
    # the same figures as the API's summary, folded by institution and by period
    api = client.get(
        "/api/v1/reports/summary", headers=login(client, world.regulator.username)
    ).json()
    by_inst: dict[str, list[int]] = {}
    for row in api["rows"]:
        key = f"{row['institution_name']}（{row['institution_code']}）"
        acc = by_inst.setdefault(key, [0, 0, 0])
        for i, k in enumerate(("enrolled", "trained", "qualified")):
            acc[i] += row[k]
    assert [d["data"] for d in inst["datasets"]] == [
        [by_inst[label][i] for label in inst["labels"]] for i in range(3)
    ]
    assert by_inst["北城职业技能培训学校（NORTH01）"] == [2, 2, 1]
    assert by_inst["南郊家政服务培训中心（SOUTH02）"] == [2, 1, 1]
    period = charts["chart-period"]
    assert period["labels"] == ["2026-01", "2026-02"]
    assert [d["data"] for d in period["datasets"]] == [[2, 2], [2, 1], [2, 0]]
    subsidy = charts["chart-subsidy"]
    # January: A's certificate (1500 yuan); B's has a day over the cap but passed attendance.
    assert subsidy["datasets"][0]["data"] == [2500.0, 0.0]
    # each chart's table holds the same figures
    for cid, chart in charts.items():
        rows = table_of(text, f"{cid}-table")
        assert [r[0] for r in rows] == chart["labels"]
        for j, d in enumerate(chart["datasets"]):
            shown = [float(r[j + 1]) for r in rows]
            assert shown == [float(v) for v in d["data"]], cid
    totals = dict(re.findall(r'<dd data-key="(\w+)">([^<]*)</dd>', text))
    assert totals["enrolled"] == str(api["totals"]["enrolled"]) == "4"
    assert totals["subsidy_amount_fen"] == "2500.00"  # yuan, from fen
    # the regulator's filter lists both institutions; one of them narrows everything
    assert f'<option value="{world.a.id}"' in text and f'<option value="{world.b.id}"' in text
    one = client.get(f"/regulator?institution_id={world.b.id}&period=quarter")
    assert one.status_code == 200
    charts = charts_of(one.text)
    assert charts["chart-institution"]["labels"] == ["南郊家政服务培训中心（SOUTH02）"]
    assert charts["chart-period"]["labels"] == ["2026-Q1"]
    en = client.get("/regulator?lang=en")
    assert "Regulator dashboard" in en.text and "Suspected fraud" in en.text


def test_staff_see_their_own_institution_only(client: TestClient, world: World) -> None:
    r = sign_in(client, world.staff_a.username)
    assert r.headers["location"] == "/staff/review"  # staff still land on their queue
    page = client.get("/regulator")
    assert page.status_code == 200
    assert 'href="/regulator"' in page.text  # the staff nav links the report
    charts = charts_of(page.text)
    assert charts["chart-institution"]["labels"] == ["北城职业技能培训学校（NORTH01）"]
    assert "南郊" not in page.text and f'value="{world.b.id}"' not in page.text
    assert f'<option value="{world.a.id}"' not in page.text  # no institution filter at all
    # their own institution's shared frame is listed; B's day over the cap is not
    assert 'data-findings="1"' in section(page.text, "ind-shared_frame")
    assert 'data-findings="0"' in section(page.text, "ind-over_daily_cap")
    assert client.get(f"/regulator?institution_id={world.a.id}").status_code == 200
    other = client.get(f"/regulator?institution_id={world.b.id}")
    assert other.status_code == 403 and "南郊" not in other.text


def test_learners_are_refused_and_anonymous_callers_sent_to_sign_in(
    client: TestClient, world: World
) -> None:
    for path in (
        "/regulator",
        "/regulator/certificates",
        f"/regulator/learners/{world.a1.id}",
        "/regulator/audit/export",
        "/regulator/audit/checkpoint",
    ):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=%2Fregulator"), path
    assert client.get(f"/regulator/evidence/{world.ev1}.jpg").status_code == 401
    sign_in(client, world.a2.username)  # a learner: not even another learner's file
    for path in (
        "/regulator",
        f"/regulator/certificates?serial={world.cert_valid}",
        f"/regulator/learners/{world.a1.id}",
        f"/regulator/audit/export?institution_id={world.a.id}",
    ):
        r = client.get(path)
        assert r.status_code == 403, path
        assert "此页面供监管部门和培训机构工作人员使用" in r.text
        assert "周建国" not in r.text
    assert client.get(f"/regulator/evidence/{world.ev1}.jpg").status_code == 404


def test_bad_filters_are_refused_in_words(client: TestClient, world: World) -> None:
    sign_in(client, world.regulator.username)
    r = client.get("/regulator?since=2026-13-01")
    assert r.status_code == 422 and "日期格式应为 YYYY-MM-DD" in r.text
    r = client.get("/regulator?since=2026-02-01&until=2026-02-01")
    assert r.status_code == 422 and "起始时间必须早于结束时间" in r.text
    r = client.get("/regulator?institution_id=nope")
    assert r.status_code == 422 and "请选择列表中的培训机构" in r.text
    r = client.get(f"/regulator?institution_id={uuid.uuid4()}")
    assert r.status_code == 404 and "找不到该培训机构" in r.text


# ---------------------------------------------------------------- fraud evidence


def test_fraud_evidence_links_resolve_and_stay_within_the_institution(
    client: TestClient, world: World
) -> None:
    sign_in(client, world.regulator.username)
    page = client.get("/regulator").text
    frame = section(page, "ind-shared_frame")
    assert "2 名学员提交了完全相同的画面" in frame
    assert "周建国" in frame and "吴秀兰" in frame
    cap = section(page, "ind-over_daily_cap")
    assert "2026-01-12 记入 540 分钟，超过每日上限 480 分钟" in cap
    links = links_of(frame, "evidence-link") + links_of(cap, "evidence-link")
    crops = [h for h in links if h.endswith(".jpg")]
    assert sorted(crops) == sorted(f"/regulator/evidence/{e}.jpg" for e in (world.ev1, world.ev2))
    files = [h for h in links if h.startswith("/regulator/learners/")]
    assert f"/regulator/learners/{world.b1.id}#en-{world.b1_enrollment}" in files
    assert f"/regulator/learners/{world.a1.id}#ev-{world.ev1}" in files
    for href in crops:
        r = client.get(href)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.content == crop_of("Adrien_Brody")
        assert "no-store" in r.headers["cache-control"]
    for href in files + links_of(frame, "subject"):
        r = client.get(href.split("#")[0])
        assert r.status_code == 200, href
        assert f'id="{href.split("#")[1]}"' in r.text if "#" in href else True
    learner_page = client.get(f"/regulator/learners/{world.b1.id}").text
    assert "郑春花" in learner_page and "超过每日上限" in learner_page
    # Staff of B: neither A's crops nor A's learners; their own learner's file opens.
    sign_in(client, world.staff_b.username)
    for href in crops:
        assert client.get(href).status_code == 404
    r = client.get(f"/regulator/learners/{world.a1.id}")
    assert r.status_code == 404 and "周建国" not in r.text
    assert client.get(f"/regulator/learners/{world.b1.id}").status_code == 200
    # Staff of A: their own crops and learners.
    sign_in(client, world.staff_a.username)
    assert client.get(crops[0]).status_code == 200
    assert client.get(f"/regulator/learners/{world.a2.id}").status_code == 200
    assert client.get(f"/regulator/learners/{world.b1.id}").status_code == 404
    assert client.get(f"/regulator/learners/{uuid.uuid4()}").status_code == 404


# ---------------------------------------------------------------- audit export


def _api_bytes(client: TestClient, headers: dict[str, str], **params: str) -> bytes:
    r = client.get("/api/v1/audit/export", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.content


def test_the_export_route_streams_the_apis_bytes(client: TestClient, world: World) -> None:
    bearer = login(client, world.regulator.username)
    sign_in(client, world.regulator.username)
    page = client.get(f"/regulator?institution_id={world.a.id}&since=2026-01-01").text
    ndjson_href = href_of(page, "export-ndjson")
    assert ndjson_href.startswith("/regulator/audit/export?")
    assert f"institution_id={world.a.id}" in ndjson_href and "since=2026-01-01" in ndjson_href
    since = "2025-12-31T16:00:00+00:00"  # 1 January 2026 00:00 in Shanghai
    for fmt in ("ndjson", "csv"):
        mine = client.get(ndjson_href.replace("format=ndjson", f"format={fmt}"))
        assert mine.status_code == 200
        assert mine.headers["content-disposition"].startswith("attachment; filename=")
        assert mine.headers["content-disposition"].endswith(f'.{fmt}"')
        theirs = _api_bytes(client, bearer, institution_id=str(world.a.id), since=since, format=fmt)
        assert mine.content == theirs
        assert (
            mine.headers["content-type"]
            == client.get(
                "/api/v1/audit/export",
                params={"institution_id": str(world.a.id), "format": fmt},
                headers=bearer,
            ).headers["content-type"]
        )
    lines = mine.content.decode().splitlines()  # the CSV: ends with the checkpoint row
    assert lines[-1].startswith("checkpoint,")
    whole = client.get(f"/regulator/audit/export?institution_id={world.a.id}&format=ndjson")
    assert whole.content == _api_bytes(client, bearer, institution_id=str(world.a.id))
    entries = [json.loads(x) for x in whole.content.splitlines()]
    assert entries[-1]["type"] == "checkpoint" and len(entries) > 2
    assert {e["type"] for e in entries[:-1]} == {"entry"}
    # The platform chain without an institution, as the API.
    platform = client.get("/regulator/audit/export")
    assert platform.content == _api_bytes(client, bearer)
    # The checkpoint download is the API's checkpoint.
    cp = client.get(f"/regulator/audit/checkpoint?institution_id={world.a.id}")
    assert cp.status_code == 200 and "attachment" in cp.headers["content-disposition"]
    api_cp = client.get(
        "/api/v1/audit/checkpoint", params={"institution_id": str(world.a.id)}, headers=bearer
    ).json()
    assert cp.json() == api_cp
    assert client.get("/regulator/audit/export?since=garbage").status_code == 422
    assert client.get("/regulator/audit/export?since=2026-02-01&until=2026-01-01").status_code == (
        422
    )


def test_staff_export_their_own_chain_only(client: TestClient, world: World) -> None:
    bearer = login(client, world.staff_a.username)
    sign_in(client, world.staff_a.username)
    page = client.get("/regulator").text
    href = href_of(page, "export-csv")
    assert f"institution_id={world.a.id}" in href
    mine = client.get(href)
    assert mine.status_code == 200
    assert mine.content == _api_bytes(client, bearer, institution_id=str(world.a.id), format="csv")
    r = client.get(f"/regulator/audit/export?institution_id={world.b.id}")
    assert r.status_code == 403 and "checkpoint" not in r.text
    assert client.get(f"/regulator/audit/checkpoint?institution_id={world.b.id}").status_code == (
        403
    )


# ---------------------------------------------------------------- certificate lookup


def test_certificate_lookup_valid_revoked_and_unknown(client: TestClient, world: World) -> None:
    sign_in(client, world.regulator.username)
    r = client.get(f"/regulator/certificates?serial={world.cert_valid}")
    assert r.status_code == 200
    assert 'id="cert-result" data-status="valid"' in r.text and "证书有效" in r.text
    assert 'data-eligible="true"' in r.text and "补贴金额 1500.00 元" in r.text
    rules = dict(re.findall(r'data-rule="(\w+)" data-passed="(\w+)"', r.text))
    assert rules == dict.fromkeys(subsidy.RULES, "true")  # the programme's rules included
    r = client.get(f"/regulator/certificates?serial={world.cert_revoked}")
    assert r.status_code == 200 and 'data-status="revoked"' in r.text
    assert "冒名顶替" in r.text and 'data-eligible="false"' in r.text
    rules = dict(re.findall(r'data-rule="(\w+)" data-passed="(\w+)"', r.text))
    assert rules["not_revoked"] == "false" and "证书未撤销" in r.text
    r = client.get("/regulator/certificates?serial=NOPE-2026-000001")
    assert r.status_code == 404 and 'data-status="not_found"' in r.text
    assert "NOPE-2026-000001" in r.text
    empty = client.get("/regulator/certificates")
    assert empty.status_code == 200 and "cert-result" not in empty.text
    en = client.get(f"/regulator/certificates?serial={world.cert_revoked}&lang=en")
    assert "Certificate not revoked" in en.text and "Subsidy evaluation" in en.text
    # Staff: the subsidy evaluation of their own certificates only.
    sign_in(client, world.staff_a.username)
    assert (
        'data-eligible="true"'
        in client.get(f"/regulator/certificates?serial={world.cert_valid}").text
    )
    sign_in(client, world.staff_b.username)
    r = client.get(f"/regulator/certificates?serial={world.cert_valid}")
    assert r.status_code == 200 and 'data-status="valid"' in r.text
    assert 'id="subsidy-hidden"' in r.text and "data-rule=" not in r.text


def test_every_dashboard_word_has_an_english_translation() -> None:
    from app.web import regulator
    from app.web.i18n import translations

    en = translations("en")

    words = [
        *regulator.COUNT_NAMES.values(),
        *regulator.INDICATOR_EXPLANATIONS.values(),
        *regulator.FINDING_TEXTS.values(),
        *regulator.EVIDENCE_KINDS.values(),
        *regulator.PURPOSES.values(),
        *regulator.OUTCOMES.values(),
        *regulator.RULE_NAMES.values(),
        *regulator.TEXTS.values(),
        *regulator.CHART_TITLES.values(),
    ]
    missing = [w for w in words if re.search(r"[\u4e00-\u9fff]", w) and en.gettext(w) == w]
    assert not missing, missing
    # formats keep their placeholders in English
    for w in words:
        assert en.gettext(w).count("%s") == w.count("%s"), w


def test_summary_fold_sums_rows(world: World, engine: Engine) -> None:
    from sqlmodel import Session

    from app.reports import dashboard

    with Session(engine) as s:
        summary = statistics.summary(s, Principal.of_user(world.regulator))
    lines = dashboard.fold(summary, key=lambda r: r.period)
    assert [ln.key for ln in lines] == ["2026-01", "2026-02"]
    total = {k: sum(ln.counts[k] for ln in lines) for k in statistics.COUNTS}
    assert total == summary.totals.model_dump(exclude={"employment_rate"})

"""Employment outcomes and the monthly/quarterly/annual reports: on a crafted year the annual
figures are the sum of the quarters, the employment rate is the hand count, and the XLSX report
carries the same totals with its charts."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import load_workbook

from app.accounts.models import Role
from tests.factories import certified, login, make_institution, make_learner, make_user

API = "/api/v1"
#: (month of issue, outcome or None, revoked): 2026, one learner each.
CRAFTED = [
    (2, ("employed", "深圳市华强电气安装有限公司"), False),  # Q1
    (3, ("unknown", None), False),  # Q1
    (5, ("self_employed", "个体工商户：小李家电维修"), False),  # Q2
    (8, ("employed", "广州地铁运营有限公司"), False),  # Q3
    (9, None, False),  # Q3: no outcome recorded
    (11, ("employed", "珠海格力电器股份有限公司"), True),  # Q4: revoked, counts nowhere
]
COUNTED = (
    "enrolled",
    "trained",
    "qualified",
    "certificates_revoked",
    "subsidy_eligible",
    "subsidy_amount_fen",
    "outcomes_recorded",
    "employed",
)


def test_annual_is_the_sum_of_quarters_and_the_rate_is_the_hand_count(
    client: Any, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    certs = []
    for i, (month, _, _) in enumerate(CRAFTED):
        clock.set(datetime(2026, month, 10, 3, tzinfo=UTC))
        learner = make_learner(engine, inst, real_name=f"学员{i}")
        certs.append(certified(engine, learner, inst, occupation_code="6-31-01-03"))
    clock.set(datetime(2026, 12, 2, 3, tzinfo=UTC))  # before real time: tokens carry iat
    hs = login(client, make_user(engine, Role.staff, inst).username)
    hr = login(client, make_user(engine, Role.regulator).username)
    for cert, (_, outcome, revoked) in zip(certs, CRAFTED, strict=True):
        if outcome is not None:
            status, employer = outcome
            r = client.put(
                f"{API}/enrollments/{cert.enrollment_id}/outcome",
                json={"status": status, "on": "2026-12-01", "employer": employer},
                headers=hs,
            )
            assert r.status_code == 200, r.text
        if revoked:
            r = client.post(
                f"{API}/certificates/{cert.serial}/revoke", json={"reason": "虚假培训"}, headers=hs
            )
            assert r.status_code == 200
    # an employed outcome needs an employer or a social-insurance check; regulators cannot record
    bad = client.put(
        f"{API}/enrollments/{certs[0].enrollment_id}/outcome",
        json={"status": "employed", "on": "2026-12-01"},
        headers=hs,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_outcome"
    denied = client.put(
        f"{API}/enrollments/{certs[0].enrollment_id}/outcome",
        json={"status": "unknown", "on": "2026-12-01"},
        headers=hr,
    )
    assert denied.status_code == 403

    def summary(period: str) -> dict[str, Any]:
        r = client.get(
            f"{API}/reports/summary",
            params={"period": period, "institution_id": str(inst.id)},
            headers=hr,
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    quarters, year = summary("quarter"), summary("year")
    per_quarter: dict[str, dict[str, int]] = {}
    for row in quarters["rows"]:
        acc = per_quarter.setdefault(row["period"], dict.fromkeys(COUNTED, 0))
        for k in COUNTED:
            acc[k] += row[k]
    assert sorted(per_quarter) == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    (annual,) = {row["period"] for row in year["rows"]}
    assert annual == "2026"
    for k in COUNTED:
        assert year["totals"][k] == sum(q[k] for q in per_quarter.values()), k
        assert year["totals"][k] == quarters["totals"][k], k
    # the hand count: 5 valid certificates, 4 with an outcome, 3 of them in work
    assert (year["totals"]["qualified"], year["totals"]["certificates_revoked"]) == (5, 1)
    assert year["totals"]["outcomes_recorded"] == 4
    assert year["totals"]["employed"] == 3
    assert year["totals"]["employment_rate"] == 0.6
    assert [per_quarter[q]["employed"] for q in sorted(per_quarter)] == [1, 1, 1, 0]

    # the annual report as XLSX: the same totals, two charts
    r = client.get(
        f"{API}/reports/summary/download",
        params={"period": "year", "institution_id": str(inst.id)},
        headers=hr,
    )
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert rows[0][:7] == ("2026", 6, 6, 5, 4, 3, 0.6)
    assert rows[-1][0] == "合计 Total" and rows[-1][5] == 3
    assert len(ws._charts) == 2
    q = load_workbook(
        io.BytesIO(
            client.get(
                f"{API}/reports/summary/download",
                params={"period": "quarter", "institution_id": str(inst.id)},
                headers=hs,
            ).content
        )
    ).worksheets[0]
    quarter_rows = list(q.iter_rows(min_row=3, max_row=6, values_only=True))
    assert [x[0] for x in quarter_rows] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert sum(x[5] for x in quarter_rows) == rows[0][5]
    assert date(2026, 12, 1) <= clock.now().date()

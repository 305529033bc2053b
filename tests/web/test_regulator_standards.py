"""The subsidy standards pages over HTTP, on both databases: the regulator's catalogue (add a
version, confirm a proposal, withdraw; refusals in words; another jurisdiction sees nothing and
acts on nothing; CSRF) lists what ``GET /api/v1/subsidy-standards`` returns for the same caller;
staff read what their courses' certificates would carry today."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import Role, User
from app.audit.service import Actor
from app.db import transaction
from app.programmes import regions, standards
from app.programmes.exceptions import InvalidStandard
from app.programmes.models import StandardStatus, SubsidyStandard
from tests.factories import csrf_of, login, make_course, make_institution, make_user
from tests.web.staff_world import sign_in

PAGE = "/regulator/standards"
ELECTRICIAN = {"occupation_code": "6-31-01-03", "occupation_name": "电工", "level": "level4"}


@pytest.fixture
def places(engine: Engine, clock: Any) -> dict[str, User]:
    clock.set(datetime(2026, 3, 2, 2, tzinfo=UTC))
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    return {
        "shenzhen": make_user(engine, Role.regulator, jurisdiction="440300"),
        "nanshan": make_user(engine, Role.regulator, jurisdiction="440305"),
        "guangzhou": make_user(engine, Role.regulator, jurisdiction="440100"),
    }


def _form(**kw: str) -> dict[str, str]:
    return {
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": "level4",
        "programme_kind": "employment_skills",
        "certificate_kind": "training_certificate",
        "amount_yuan": "1500",
        "uplift_percent": "0",
        "effective_from": "2026-01-01",
        **kw,
    }


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="standard-([0-9a-f-]{36})"', page)


def _proposal(engine: Engine) -> SubsidyStandard:
    with transaction(engine) as s:  # what migration 0024 makes of a course's old amount
        row = SubsidyStandard(
            region_code="440300",
            **ELECTRICIAN,
            certificate_kind="training_certificate",
            programme_kind="employment_skills",
            amount_fen=99_000,
            effective_from=date(2026, 1, 1),
            version=1,
            status=StandardStatus.proposed,
            created_by="system:migration",
        )
        s.add(row)
    return row


def test_a_regulator_adds_and_confirms_standards_from_the_page(
    client: TestClient, engine: Engine, places: dict[str, User]
) -> None:
    proposal = _proposal(engine)
    csrf = sign_in(client, places["shenzhen"].username)
    page = client.get(PAGE)
    assert page.status_code == 200 and 'href="/regulator/standards"' in page.text
    assert _rows(page.text) == [str(proposal.id)] and "待确认" in page.text
    # add: 1,580.50 yuan typed, stored as fen by the domain's conversion
    r = client.post(
        PAGE,
        data={"csrf": csrf, **_form(level="level3", amount_yuan="1,580.50", region_code="440300")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(PAGE)
    assert "补贴标准已保存并生效" in page.text and "1580.50" in page.text
    with Session(engine) as s:
        [added] = [
            x
            for x in standards.visible(s, _principal(s, places["shenzhen"]))
            if x.level == "level3"
        ]
    assert (added.amount_fen, added.status, added.version) == (158_050, StandardStatus.in_force, 1)
    # confirm the proposal from a date
    r = client.post(
        f"{PAGE}/{proposal.id}/confirm",
        data={"csrf": csrf, "effective_from": "2026-04-01"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(PAGE, params={"status": "in_force"})
    assert "补贴标准已确认生效" in page.text
    assert set(_rows(page.text)) == {str(proposal.id), str(added.id)}
    with Session(engine) as s:
        got = s.get(SubsidyStandard, proposal.id)
        assert got is not None and got.status is StandardStatus.in_force
        assert got.effective_from == date(2026, 4, 1)
    # confirming it again is refused in words next to its row
    r = client.post(
        f"{PAGE}/{proposal.id}/confirm", data={"csrf": csrf, "effective_from": "2026-05-01"}
    )
    assert r.status_code == 409 and f'id="error-{proposal.id}"' in r.text
    # withdraw the added one, with a reason
    r = client.post(
        f"{PAGE}/{added.id}/withdraw",
        data={"csrf": csrf, "reason": "政策文件废止"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(PAGE, params={"status": "withdrawn"})
    assert _rows(page.text) == [str(added.id)] and "已撤回" in page.text


def _principal(s: Session, user: User) -> Any:
    from app.accounts.principal import Principal

    fresh = s.get(User, user.id)
    assert fresh is not None
    return Principal.of_user(fresh)


def test_refusals_are_shown_in_words_next_to_the_form(
    client: TestClient, places: dict[str, User]
) -> None:
    csrf = sign_in(client, places["shenzhen"].username)
    assert (
        client.post(PAGE, data={"csrf": csrf, **_form()}, follow_redirects=False).status_code == 303
    )
    sign_in(client, places["nanshan"].username)
    csrf = csrf_of(client.get(PAGE).text)
    # a county amount above the prefecture's cap
    r = client.post(PAGE, data={"csrf": csrf, **_form(amount_yuan="1800", region_code="440305")})
    assert r.status_code == 422 and 'id="add-error"' in r.text
    assert "补贴标准高于上级地区规定的上限" in r.text
    assert 'value="1800"' in r.text  # the form keeps what was typed
    # an invalid occupation code, and an amount that is not yuan
    r = client.post(PAGE, data={"csrf": csrf, **_form(occupation_code="63101", amount_yuan="100")})
    assert r.status_code == 422 and "职业编码无效" in r.text
    r = client.post(PAGE, data={"csrf": csrf, **_form(amount_yuan="十元")})
    assert r.status_code == 422 and "补贴标准填写有误" in r.text
    # a bad filter is said in words too
    r = client.get(PAGE, params={"occupation_code": "abc"})
    assert r.status_code == 422 and 'id="filter-error"' in r.text
    # below the cap it is saved
    r = client.post(
        PAGE,
        data={"csrf": csrf, **_form(amount_yuan="1200", region_code="440305")},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_another_jurisdiction_cannot_see_or_act(
    client: TestClient, engine: Engine, places: dict[str, User]
) -> None:
    proposal = _proposal(engine)
    csrf = sign_in(client, places["guangzhou"].username)
    page = client.get(PAGE)
    assert page.status_code == 200 and _rows(page.text) == []
    for action, data in (
        ("confirm", {"effective_from": "2026-04-01"}),
        ("withdraw", {"reason": "无"}),
    ):
        r = client.post(f"{PAGE}/{proposal.id}/{action}", data={"csrf": csrf, **data})
        assert r.status_code == 404, r.text
    r = client.post(PAGE, data={"csrf": csrf, **_form(region_code="440305")})
    assert r.status_code == 403 and 'id="add-error"' in r.text
    with Session(engine) as s:
        got = s.get(SubsidyStandard, proposal.id)
        assert got is not None and got.status is StandardStatus.proposed
    # the county regulator reads the prefecture's standard but cannot act on it
    csrf = sign_in(client, places["nanshan"].username)
    page = client.get(PAGE)
    assert _rows(page.text) == [str(proposal.id)] and "上级地区标准（只读）" in page.text
    r = client.post(f"{PAGE}/{proposal.id}/withdraw", data={"csrf": csrf, "reason": "越权"})
    assert r.status_code == 404
    # staff and learners are not regulators
    inst = make_institution(engine, region="440305")
    staff = make_user(engine, Role.staff, inst)
    sign_in(client, staff.username)
    assert client.get(PAGE).status_code == 403


def test_posts_without_the_csrf_field_are_refused(
    client: TestClient, engine: Engine, places: dict[str, User]
) -> None:
    proposal = _proposal(engine)
    sign_in(client, places["shenzhen"].username)
    for url, data in (
        (PAGE, _form()),
        (f"{PAGE}/{proposal.id}/confirm", {"effective_from": "2026-04-01"}),
        (f"{PAGE}/{proposal.id}/withdraw", {"reason": "无"}),
    ):
        assert client.post(url, data=data).status_code == 403
        assert client.post(url, data={"csrf": "forged", **data}).status_code == 403
    with Session(engine) as s:
        assert len(standards.visible(s, _principal(s, places["shenzhen"]))) == 1


def test_the_page_lists_what_the_api_returns(
    client: TestClient, engine: Engine, places: dict[str, User]
) -> None:
    _proposal(engine)
    for who, amount, start in (
        ("shenzhen", "1500", "2026-01-01"),
        ("shenzhen", "1600", "2026-07-01"),
        ("nanshan", "1400", "2026-02-01"),
    ):
        csrf = sign_in(client, places[who].username)
        region = "440300" if who == "shenzhen" else "440305"
        r = client.post(
            PAGE,
            data={
                "csrf": csrf,
                **_form(amount_yuan=amount, effective_from=start, region_code=region),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    for who in ("shenzhen", "nanshan", "guangzhou"):
        api = client.get(
            "/api/v1/subsidy-standards", headers=login(client, places[who].username)
        ).json()
        sign_in(client, places[who].username)
        page = client.get(PAGE).text
        assert _rows(page) == [row["id"] for row in api], who
        for row in api:
            assert f'data-amount-fen="{row["amount_fen"]}"' in page
    assert len(api) == 0  # guangzhou's jurisdiction has none


def test_staff_read_what_their_courses_certificates_would_carry(
    client: TestClient, engine: Engine, places: dict[str, User]
) -> None:
    inst = make_institution(engine, region="440305")
    staff = make_user(engine, Role.staff, inst)
    paid = make_course(
        engine, inst, staff=staff, title="低压电工实操", subsidy_fen=0, **ELECTRICIAN
    )
    unpaid = make_course(
        engine,
        inst,
        staff=staff,
        title="中式烹调",
        occupation_code="4-03-02-01",
        occupation_name="中式烹调师",
        level="level4",
        subsidy_fen=0,
    )
    csrf = sign_in(client, places["shenzhen"].username)
    client.post(PAGE, data={"csrf": csrf, **_form(amount_yuan="1300")}, follow_redirects=False)
    sign_in(client, staff.username)
    page = client.get("/staff/standards")
    assert page.status_code == 200 and 'href="/staff/standards"' in page.text
    assert "广东省深圳市南山区" in page.text
    assert re.search(rf'id="course-{paid.id}" data-amount-fen="130000"', page.text)
    assert re.search(rf'id="course-{unpaid.id}" data-amount-fen="0"', page.text)
    assert "无生效标准，不予补贴" in page.text
    # a regulator is not staff
    sign_in(client, places["shenzhen"].username)
    assert client.get("/staff/standards").status_code == 403


@pytest.mark.parametrize(
    ("raw", "fen"), [("1500", 150_000), ("1,580.5", 158_050), ("１２.０５", 1_205), (" 0.01 ", 1)]
)
def test_yuan_typed_on_the_page_becomes_fen(raw: str, fen: int) -> None:
    assert standards.fen_of_yuan(raw) == fen


@pytest.mark.parametrize("raw", ["", "十元", "1.234", "-5", "1e3", "12345678"])
def test_amounts_that_are_not_yuan_are_refused(raw: str) -> None:
    with pytest.raises(InvalidStandard):
        standards.fen_of_yuan(raw)


RULE_FIELDS = (
    "target_groups",
    "min_age",
    "max_age",
    "retirement_rule",
    "residence_kinds",
    "max_per_year",
    "programme_kind",
    "certificate_kind",
    "uplift_percent",
)


def test_the_page_sets_the_programme_rules_the_api_sets(
    client: TestClient, places: dict[str, User]
) -> None:
    """Who a programme is for — target groups, ages, the retirement rule, the residence kinds,
    the yearly limit, the certificate kind, whether it pays individuals — is set from the page
    as from the API, with the same refusals in words."""
    user = places["shenzhen"].username
    body = {
        **ELECTRICIAN,
        "region_code": "440300",
        "programme_kind": "insured_upgrading",
        "certificate_kind": "skill_level",
        "amount_fen": 150_000,
        "effective_from": "2026-01-01",
        "target_groups": ["unemployed", "migrant_worker"],
        "min_age": 18,
        "max_age": 60,
        "retirement_rule": "statutory",
        "residence_kinds": ["household", "resident"],
        "max_per_year": 2,
    }
    api = client.post("/api/v1/subsidy-standards", json=body, headers=login(client, user))
    assert api.status_code == 201, api.text
    csrf = sign_in(client, user)
    form = {
        **_form(
            level="level3",
            region_code="440300",
            programme_kind="insured_upgrading",
            certificate_kind="skill_level",
            min_age="18",
            max_age="60",
            retirement_rule="statutory",
            max_per_year="2",
        ),
        "target_groups": ["migrant_worker", "unemployed"],
        "residence_kinds": ["resident", "household"],
    }
    r = client.post(PAGE, data={"csrf": csrf, **form}, follow_redirects=False)
    assert r.status_code == 303, r.text
    rows = client.get("/api/v1/subsidy-standards", headers=login(client, user)).json()
    by_level = {row["level"]: row for row in rows}
    assert {k: by_level["level3"][k] for k in RULE_FIELDS} == {
        k: api.json()[k] for k in RULE_FIELDS
    }
    assert by_level["level3"]["target_groups"] == ["migrant_worker", "unemployed"]
    csrf = sign_in(client, user)
    page = client.get(PAGE).text
    row = page[page.index(f'id="standard-{by_level["level3"]["id"]}"') :]
    row = row[: row.index("</tr>")]
    for words in (
        "人员类别：农民工、失业人员",
        "年龄：18–60 周岁",
        "法定退休年龄",
        "户籍地、常住地",
        "每人每年最多 2 次",
        "补贴发给个人",
    ):
        assert words in row, words
    # refusals in words next to the form, what was chosen kept
    for bad, words in (
        ({"min_age": "60", "max_age": "30"}, "补贴标准填写有误"),
        ({"min_age": "十八"}, "补贴标准填写有误"),
        ({"max_per_year": "20"}, "补贴标准填写有误"),
        ({"retirement_rule": "early_bird"}, "补贴标准填写有误"),
        ({"target_groups": ["astronaut"]}, "补贴标准填写有误"),
    ):
        r = client.post(PAGE, data={"csrf": csrf, **form, "level": "level2", **bad})
        assert r.status_code == 422 and 'id="add-error"' in r.text, bad
        assert words in r.text, bad
        assert 'name="residence_kinds" value="resident" checked' in r.text, bad
    assert "level2" not in {
        row["level"]  # nothing refused was saved
        for row in client.get("/api/v1/subsidy-standards", headers=login(client, user)).json()
    }

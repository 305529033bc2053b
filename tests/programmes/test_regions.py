"""Regions (GB/T 2260): codes, the tree, jurisdictions as code prefixes, the CSV loader and
its command, and what a regulator account needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.accounts import service as accounts
from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.cli import app as cli
from app.db import transaction
from app.programmes import regions
from app.programmes.exceptions import (
    InvalidRegionCode,
    InvalidRegionFile,
    JurisdictionRequired,
    RegionNotFound,
)
from app.programmes.models import Region, RegionLevel


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("440305", "440305"),
        ("４４０３０５", "440305"),
        (" 440300 ", "440300"),
        ("000000", "000000"),
    ],
)
def test_valid_codes_are_normalised(raw: str, code: str) -> None:
    assert regions.normalise_code(raw) == code


@pytest.mark.parametrize(
    "raw",
    [
        "",  # nothing
        "44030",  # five digits
        "4403051",  # seven
        "44030a",  # a letter
        "990000",  # no province 99
        "٤٤٠٣٠٥",  # Arabic-Indic digits: not ASCII after NFKC
    ],
)
def test_invalid_codes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidRegionCode):
        regions.normalise_code(raw)


def test_levels_prefixes_and_jurisdictions() -> None:
    assert [regions.level_of(c) for c in ("000000", "440000", "440300", "440305")] == [
        RegionLevel.national,
        RegionLevel.province,
        RegionLevel.prefecture,
        RegionLevel.county,
    ]
    assert [regions.prefix(c) for c in ("000000", "440000", "440300", "440305")] == [
        "",
        "44",
        "4403",
        "440305",
    ]
    assert regions.within("440305", "440300") and regions.within("440305", "440000")
    assert not regions.within("440106", "440300")  # 广州天河 is not in 深圳
    assert not regions.within("450305", "440000")  # 广西 is not in 广东
    assert regions.within(None, "000000") and not regions.within(None, "440000")


def _tree(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as s:
        return {r.code: r.parent_code for r in s.exec(select(Region))}


def test_the_demo_province_loads_as_a_tree(engine: Engine) -> None:
    with transaction(engine) as s:
        result = regions.seed_demo_province(s, actor=Actor.system())
    assert result.added == 42 and result.renamed == 0
    tree = _tree(engine)
    assert tree["440000"] == "000000" and tree["440300"] == "440000"
    assert tree["440305"] == "440300" and tree["441900"] == "440000"  # 东莞: no counties
    with Session(engine) as s:
        assert regions.full_name(s, "440305") == "广东省深圳市南山区"
        assert [r.code for r in regions.chain(s, "440305")] == [
            "440305",
            "440300",
            "440000",
            "000000",
        ]
        assert len(regions.in_jurisdiction(s, "440300")) == 10  # 深圳 and its 9 districts
        labels = dict(regions.labelled(s))
        assert labels["440106"] == "广东省广州市天河区" and labels["000000"] == "全国"
    with transaction(engine) as s:  # loading again changes nothing
        again = regions.seed_demo_province(s, actor=Actor.system())
    assert (again.added, again.renamed, again.unchanged) == (0, 0, 42)


def test_a_csv_adds_renames_and_finds_parents(engine: Engine) -> None:
    text = (
        "\ufeff代码,名称\n"
        "420000,湖北省\n"
        "420100,武汉市\n"
        "420102,江岸区\n"
        "429004,仙桃市\n"  # directly under the province: no prefecture 429000
        "\n"
    )
    with transaction(engine) as s:
        result = regions.load(s, regions.parse_csv(text), source="test", actor=Actor.system())
    assert result.added == 4
    tree = _tree(engine)
    assert tree["420102"] == "420100" and tree["429004"] == "420000"
    with transaction(engine) as s:
        rows = regions.parse_csv("420102,江岸区（新）\n")
        assert regions.load(s, rows, source="rename", actor=Actor.system()).renamed == 1
    with Session(engine) as s:
        assert regions.full_name(s, "420102") == "湖北省武汉市江岸区（新）"
        logged = s.exec(
            select(AuditEntry)
            .where(col(AuditEntry.action) == "regions.loaded")
            .order_by(col(AuditEntry.id))
        ).all()
        assert [json.loads(e.payload)["source"] for e in logged] == ["test", "rename"]
        assert all(e.chain == "platform" for e in logged)


def test_a_bad_file_loads_nothing_and_names_its_lines(engine: Engine) -> None:
    text = "440000,广东省\n44030,深圳\n440300\n990100,无此省\n440300,深圳市\n440300,重复\n"
    with pytest.raises(InvalidRegionFile) as err:
        regions.parse_csv(text)
    detail = err.value.detail
    for n in (2, 3, 4, 6):
        assert f"line {n}:" in detail
    assert "line 1:" not in detail and "line 5:" not in detail
    with transaction(engine) as s, pytest.raises(InvalidRegionFile):  # no province for it
        regions.load(s, regions.parse_csv("510100,成都市\n"), source="x", actor=Actor.system())
    assert "510100" not in _tree(engine)


def test_regulators_need_a_loaded_jurisdiction(engine: Engine) -> None:
    with transaction(engine) as s, pytest.raises(JurisdictionRequired):
        accounts.create_user(
            s, role=Role.regulator, username="jg1", password="Jian-Guan-2026!", actor=Actor.system()
        )
    with transaction(engine) as s, pytest.raises(RegionNotFound):
        accounts.create_user(
            s,
            role=Role.regulator,
            username="jg2",
            password="Jian-Guan-2026!",
            jurisdiction_code="440300",  # not loaded yet
            actor=Actor.system(),
        )
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
        user = accounts.create_user(
            s,
            role=Role.regulator,
            username="jg3",
            password="Jian-Guan-2026!",
            jurisdiction_code="440300",
            actor=Actor.system(),
        )
        assert user.jurisdiction_code == "440300"
        with pytest.raises(InvalidRegionCode):  # an institution is somewhere, not national
            accounts.create_institution(
                s, code="X1", name="某校", region_code="000000", actor=Actor.system()
            )


def test_the_load_regions_command(engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    good = tmp_path / "hb.csv"
    good.write_text("420000,湖北省\n420100,武汉市\n", encoding="utf-8")
    r = runner.invoke(cli, ["load-regions", str(good)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"added": 2, "renamed": 0, "unchanged": 0}
    bad = tmp_path / "bad.csv"
    bad.write_text("42010,武汉\n", encoding="utf-8")
    r = runner.invoke(cli, ["load-regions", str(bad)])
    assert r.exit_code == 1 and "invalid_region_file" in r.output and "line 1" in r.output
    r = runner.invoke(cli, ["load-regions", "--demo"])
    assert r.exit_code == 0 and json.loads(r.stdout)["added"] == 42
    r = runner.invoke(cli, ["load-regions"])
    assert r.exit_code == 1

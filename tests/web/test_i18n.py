"""The Babel catalogues: every Chinese string of the pages is extracted and has its English, the
template and the catalogue are current, placeholders survive translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.web.babel_extract import chinese_literals
from app.web.i18n import LOCALE_DIR, gettext, js_strings, labeller, po_path, translations

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%[sd]|\{[a-z_]*\}")


def _extracted() -> dict[str, list[str]]:
    """msgid → where, exactly as ``make i18n`` would extract it (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def _read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def extracted() -> dict[str, list[str]]:
    found = _extracted()
    assert len(found) > 300, "the extraction found almost nothing: is babel.cfg right?"
    return found


def test_every_chinese_string_has_english(extracted: dict[str, list[str]]) -> None:
    en = _read(po_path("en"))
    untranslated = {
        msgid: where
        for msgid, where in extracted.items()
        if CJK.search(msgid)
        and ((m := en.get(msgid)) is None or not m.string or m.fuzzy or CJK.search(str(m.string)))
    }
    assert not untranslated, f"run `make i18n` and translate: {untranslated}"


def test_the_catalogue_has_nothing_stale(extracted: dict[str, list[str]]) -> None:
    en = _read(po_path("en"))
    stale = [m.id for m in en if m.id and m.id not in extracted]
    assert not stale, f"no longer in the source (run `make i18n`): {stale}"
    assert not list(en.obsolete), "obsolete entries left in the .po"


def test_the_template_is_current(extracted: dict[str, list[str]]) -> None:
    pot = _read(LOCALE_DIR / "messages.pot")
    assert {m.id for m in pot if m.id} == set(extracted), "run `make i18n`"


def test_placeholders_survive_translation() -> None:
    for m in _read(po_path("en")):
        if m.id:
            assert sorted(PLACEHOLDER.findall(str(m.id))) == sorted(
                PLACEHOLDER.findall(str(m.string))
            ), m.id


def test_runtime_lookup_uses_the_catalogue() -> None:
    t = gettext("en")
    assert t("技能培训学习平台") == "Skills Training"
    assert gettext("zh")("技能培训学习平台") == "技能培训学习平台"
    assert t("一句不存在的话") == "一句不存在的话"  # unknown text falls back to the source
    assert translations("en") is translations("en")  # read once
    assert labeller("en")("purpose", "checkin") == "Check-in"
    assert labeller("zh")("outcome", "review") == "待人工审核"
    assert labeller("en")("purpose", "no-such-code") == "no-such-code"
    ui = js_strings("en")["ui"]
    assert not [k for k, v in ui.items() if CJK.search(v)], "a script string lacks English"


def test_the_extractor_skips_docstrings_and_fstring_pieces() -> None:
    source = '''
"""模块说明：不是界面文字。"""
def f(t):
    """函数说明。"""
    x = "界面文字"
    y = f"前缀{x}"
    z = f"{t('证书编号：')}{x}"
    return {"k": "字典里的字"}
'''
    assert sorted(chinese_literals(source)) == [
        (5, "界面文字"),
        (7, "证书编号："),
        (8, "字典里的字"),
    ]

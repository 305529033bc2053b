"""One spelling per identifier, no invisible characters in names (issue 12, items 1 and 5).

Identifiers are normalised (NFKC, spaces dropped, upper-case X) and then matched against ASCII
patterns: a full-width digit in an ID number is the same person, not a second account. Text
shown to others refuses control and format characters and names that show nothing; the API
and the pages answer 422 ``invalid_text`` with the field named.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

import tests.web.staff_world as staff_pages
from app.accounts import idcard
from app.accounts import service as accounts
from app.accounts.exceptions import IdNumberRegistered
from app.accounts.models import Role, User
from app.audit.service import Actor
from app.courses.models import Course
from app.db import transaction
from app.validation import (
    InvalidText,
    check_text,
    digit_string,
    normalise_identifier,
    text_problem,
)
from tests.factories import PASSWORD, id_number, login, make_institution, make_user

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

# ---------------------------------------------------------------- pure rules


def test_id_numbers_normalise_to_one_ascii_spelling() -> None:
    ascii_id = "440305198505120611"
    assert idcard.parse(ascii_id).value == ascii_id
    for spelling in (
        "4403051985０5120611",  # one full-width digit (the attack in the issue)
        ascii_id.translate(FULL_WIDTH),
        " 4403 0519 8505 1206 11\u3000",
    ):
        parsed = idcard.parse(spelling)
        assert parsed.value == ascii_id and parsed.value.isascii()
    with_x = next(id_number(seq=s) for s in range(1000) if id_number(seq=s).endswith("X"))
    assert idcard.parse(with_x.lower()).value == with_x
    assert idcard.parse(with_x[:-1] + "Ｘ").value == with_x  # full-width X


@pytest.mark.parametrize(
    "digits",
    [
        "٤٤٠٣٠٥١٩٨٥٠٥١٢٠٦١١",  # Arabic-Indic digits: \d matches them, int() reads them
        "४४०३०५१९८५०५१२०६११",  # Devanagari
        "4403051985٠5120611",
    ],
)
def test_other_scripts_digits_are_not_id_numbers(digits: str) -> None:
    with pytest.raises(idcard.InvalidIdNumber):
        idcard.parse(digits)


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("123456", "123456"),
        ("１２３ ４５６", "123456"),  # full-width, the ideographic space
        ("6217－0012", "62170012"),  # a full-width hyphen, a separator here
        ("١٢٣٤٥٦", None),  # Arabic-Indic: isdigit() is true
        ("１２３\u200b４５６", None),  # a zero-width space is not whitespace
        ("12a456", None),
        ("=123", None),
        ("", None),
    ],
)
def test_digit_strings_are_ascii_digits(typed: str, digits: str | None) -> None:
    assert digit_string(typed, separators="-") == digits


def test_identifier_normalisation() -> None:
    assert normalise_identifier(" ＳＺ００１ ") == "SZ001"
    assert normalise_identifier("ab\u3000cd\t", upper=True) == "ABCD"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("张三", None),
        ("Zhang San", None),
        ("欧阳\u3000娜娜", None),  # an ideographic space inside a name is fine
        ("张\x00三", "control_character"),
        ("\u202egpj.exe", "control_character"),  # bidi override
        ("张\u200b三", "control_character"),  # zero-width space
        ("\u2066x\u2069", "control_character"),  # bidi isolates
        ("a\u00adb", "control_character"),  # soft hyphen (Cf)
        ("a\U000e0041", "control_character"),  # tag character
        ("a\ud800", "control_character"),  # lone surrogate
        ("a\u2028b", "control_character"),  # line separator
        ("a\nb", "control_character"),  # one-line field
        ("\u200b\u200c\u200d", "control_character"),
        ("\u3164\u3164", "nothing_visible"),  # Hangul fillers
        ("\u2800", "nothing_visible"),  # Braille blank
        ("\u0301\u0301", "nothing_visible"),  # marks alone
        ("", "nothing_visible"),
    ],
)
def test_text_shown_to_others(text: str, reason: str | None) -> None:
    assert text_problem(text) == reason


def test_multiline_text_keeps_line_breaks_only() -> None:
    assert text_problem("第一行\n第二行\r\n\t缩进", multiline=True) is None
    assert text_problem("第一行\n\u202e第二行", multiline=True) == "control_character"
    assert check_text("  正文\n", field="description", multiline=True) == "正文"


# ---------------------------------------------------------------- registration, API and page


def _register(client: TestClient, **over: Any) -> Any:
    body = {
        "username": "zhangsan",
        "password": PASSWORD,
        "real_name": "张三",
        "id_number": "440305198505120611",
    }
    body.update(over)
    return client.post("/api/v1/auth/register", json=body)


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _register_page(client: TestClient, engine: Any, **over: str) -> Any:
    client.cookies.clear()
    page = client.get("/register")
    form = {
        "csrf": _csrf(page.text),
        "username": "lisi",
        "password": PASSWORD,
        "real_name": "李四",
        "id_number": id_number(seq=77),
        "institution": make_institution(engine).code,
        **over,
    }
    return client.post("/register", data=form, follow_redirects=False)


def test_a_full_width_digit_does_not_make_a_second_person(client: TestClient, engine: Any) -> None:
    first = _register(client)
    assert first.status_code == 201, first.text
    again = _register(client, username="zhangsan2", id_number="4403051985０5120611")
    assert again.status_code == 409 and again.json()["code"] == "id_number_registered"
    all_wide = _register(
        client, username="zhangsan3", id_number="440305198505120611".translate(FULL_WIDTH)
    )
    assert all_wide.status_code == 409
    page = _register_page(client, engine, username="zhangsan4", id_number="4403051985０5120611")
    assert page.status_code == 409 and 'data-code="id_number_registered"' in page.text


def test_a_full_width_number_registers_in_ascii(client: TestClient, engine: Any) -> None:
    """Typed with a Chinese input method in full-width mode: accepted, stored normalised."""
    wide = "440305198505120611".translate(FULL_WIDTH)
    page = _register_page(
        client, engine, username="ｗａｎｇｗｕ", id_number=wide, phone="１３８ ０013 8000"
    )
    assert page.status_code == 303, page.text
    with Session(engine) as s:
        user = s.exec(select(User)).one()
    assert user.username == "wangwu"
    assert user.id_number_masked == "440305********0611"
    assert user.phone == "13800138000"
    assert _register(client, username="other", id_number="440305198505120611").status_code == 409
    login(client, "ＷＡＮＧＷＵ")  # the same name, however it is typed


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"username": "用户名三"}, "username"),
        ({"username": "ab\u200bcd"}, "username"),
        ({"phone": "１３８abc"}, "phone"),
    ],
)
def test_page_refuses_identifiers_that_are_not_ascii(
    client: TestClient, engine: Any, over: dict[str, str], field: str
) -> None:
    r = _register_page(client, engine, **over)
    assert r.status_code == 422, r.text
    assert f'data-field="{field}"' in r.text
    with Session(engine) as s:
        assert s.exec(select(User)).first() is None


@pytest.mark.parametrize(
    "name",
    ["张\x00三", "\u202e三张", "\u200b\u200b\u200b", "张\u200d三", "\u3164"],
)
def test_api_refuses_invisible_names(client: TestClient, engine: Any, name: str) -> None:
    r = _register(client, real_name=name)
    assert r.status_code == 422, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["code"] == "invalid_text" and body["field"] == "real_name"
    assert "不可见字符" in body["message_zh"]
    with Session(engine) as s:
        assert s.exec(select(User)).first() is None


def test_page_shows_the_refusal_next_to_the_name(client: TestClient, engine: Any) -> None:
    r = _register_page(client, engine, real_name="\u202e三张")
    assert r.status_code == 422
    err = re.search(r'id="real_name-err"[^>]*data-code="invalid_text">([^<]+)<', r.text)
    assert err and "不可见字符" in err.group(1)
    with Session(engine) as s:
        assert s.exec(select(User)).first() is None


def test_api_key_and_institution_names(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    r = client.post("/api/v1/api-keys", json={"name": "\u202eyek"}, headers=staff)
    assert r.status_code == 422 and r.json()["code"] == "invalid_text"
    with pytest.raises(InvalidText), transaction(engine) as s:
        accounts.create_institution(s, code="ZW1", name="\u200b", actor=Actor.system())
    with transaction(engine) as s:
        wide = accounts.create_institution(s, code="ＺＷ２", name="宽体", actor=Actor.system())
    assert wide.code == "ZW2"


# ---------------------------------------------------------------- courses, API and page


def test_course_texts_refuse_control_characters(client: TestClient, engine: Any) -> None:
    w = staff_pages.World(engine)
    staff = login(client, w.staff.username)
    body = {
        "title": "电工\u202e",
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": "level5",
        "required_minutes": 60,
        "pass_score": 60,
        "subsidy_fen": 0,
    }
    r = client.post("/api/v1/courses", json=body, headers=staff)
    assert r.status_code == 422 and r.json()["code"] == "invalid_text", r.text
    r = client.post(
        "/api/v1/courses", json={**body, "title": "电工", "description": "a\x00b"}, headers=staff
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_text"
    # A full-width occupation code is the same occupation (the subsidy rule compares codes).
    r = client.post(
        "/api/v1/courses",
        json={
            **body,
            "title": "电工",
            "description": "第一行\n第二行",
            "occupation_code": "６-31-01-03",
        },
        headers=staff,
    )
    assert r.status_code == 201, r.text
    assert r.json()["occupation_code"] == "6-31-01-03"

    csrf = staff_pages.sign_in(client, w.staff.username)
    form = {**staff_pages.COURSE_FORM, "csrf": csrf, "title": "\u200b\u200b"}
    page = client.post("/staff/courses/new", data=form)
    assert page.status_code == 422
    err = re.search(r'data-field="title">([^<]+)<', page.text)
    assert err and "不可见字符" in err.group(1)
    with Session(engine) as s:
        titles = [
            c.title for c in s.exec(select(Course).where(col(Course.title) != "低压电工作业"))
        ]
    assert all("\u200b" not in t and "\u202e" not in t for t in titles)


def test_digits_that_int_cannot_read_are_refused_not_a_crash(
    client: TestClient, engine: Any
) -> None:
    """``"፩".isdigit()`` (Ethiopic one) is true but ``int("፩")`` raises: form numbers are
    read ASCII-only after NFKC (full-width digits fold), never a 500."""
    w = staff_pages.World(engine)
    csrf = staff_pages.sign_in(client, w.staff.username)
    r = client.get("/staff/claims", params={"year": "2026", "quarter": "፩"})
    assert r.status_code == 422 and "申领期间有误" in r.text
    base = f"/staff/courses/{w.draft.id}/questions"
    form = {"csrf": csrf, "kind": "single", "stem": "几度？", "option": ["甲", "乙"]}
    r = client.post(base, data={**form, "answer": ["፩"]}, follow_redirects=False)
    assert r.status_code == 422 and 'data-field="answer"' in r.text
    r = client.post(base, data={**form, "answer": ["１"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    with Session(engine) as s:
        from app.courses.models import Question

        q = s.exec(select(Question).where(col(Question.stem) == "几度？")).one()
    assert q.answer == [1]


# ---------------------------------------------------------------- rows stored before the fix


def _as_stored_before(engine: Any, user_id: Any, *, id_number: str, username: str) -> None:
    """Write a user's identifiers as the old code stored them: as typed."""
    from app.crypto import blind_index, encrypt

    with transaction(engine) as s:
        user = s.get(User, user_id)
        assert user is not None
        user.username = username
        user.id_number_enc = encrypt("id_number", id_number.encode())
        user.id_number_index = blind_index("id_number", id_number)
        user.id_number_masked = idcard.mask(id_number)
        s.add(user)


def test_renormalise_rewrites_old_rows_and_reports_clashes(engine: Any) -> None:
    from typer.testing import CliRunner

    from app.accounts.repair import renormalise
    from app.audit.models import AuditEntry
    from app.cli import app as cli
    from app.crypto import blind_index
    from tests.factories import make_learner

    inst = make_institution(engine)
    old = make_learner(engine, inst, id_number=id_number(seq=11))
    wide = "4403051985０5120611"
    _as_stored_before(engine, old.id, id_number=wide, username="ｏｌｄ１")
    twin = make_learner(engine, inst, id_number=id_number(seq=12))
    _as_stored_before(
        engine, twin.id, id_number=id_number(seq=21).translate(FULL_WIDTH), username="twin"
    )
    ascii_twin = make_learner(engine, inst, id_number=id_number(seq=21))  # registered since

    with transaction(engine) as s:
        dry = renormalise(s, actor=Actor.system(), dry_run=True)
    assert dry.id_numbers_fixed == [old.id] and dry.usernames_fixed == [old.id]
    result = CliRunner().invoke(cli, ["renormalise-identifiers"])
    assert result.exit_code == 1, result.output  # the clash needs a person
    assert str(twin.id) in result.output and str(ascii_twin.id) in result.output
    with Session(engine) as s:
        fixed = s.get(User, old.id)
        assert fixed is not None and fixed.username == "old1"
        assert fixed.id_number_masked == "440305********0611"
        actions = [
            e.action
            for e in s.exec(select(AuditEntry).where(col(AuditEntry.subject) == f"user:{old.id}"))
        ]
        left = s.get(User, twin.id)
        assert left is not None  # left as it was, for a person to decide
        assert left.id_number_index == blind_index(
            "id_number", id_number(seq=21).translate(FULL_WIDTH)
        )
    assert {"learner.id_number_normalised", "user.username_normalised"} <= set(actions)
    # The normalised number now meets the duplicate check.
    with pytest.raises(IdNumberRegistered), transaction(engine) as s:
        accounts.register_learner(
            s, username="again", password=PASSWORD, real_name="张三", id_number="440305198505120611"
        )

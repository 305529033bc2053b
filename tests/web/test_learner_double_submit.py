"""The learner-side and public forms sent twice — one after the other with the page's old
cookies (a reload of the POST, the back button and send again) and both at once (a double
click) — do one thing: the second answers as the first did, and nothing is recorded, sent or
counted twice. Registration (with a class invite code too), activation, a password changed, a
reset code asked for and used, consent given and withdrawn, the institution chosen, a class code
joined on /my, an objection to a public notice."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.accounts import activation, idcard, notify
from app.accounts.models import ConsentRecord, User
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.claims.models import NoticeObjection
from app.courses import invites
from app.courses.models import Enrollment
from app.db import transaction
from tests.claims.notice_world import batch_in_notice
from tests.factories import (
    PASSWORD,
    course_row,
    csrf_of,
    filed_class,
    id_number,
    make_institution,
    make_learner,
)
from tests.web.staff_world import sign_in

NEW = "Another-pass-9381"


def _count(engine: Any, model: Any, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def _audited(engine: Any, action: str) -> int:
    return _count(engine, AuditEntry, col(AuditEntry.action) == action)


def _one_after_the_other(client: TestClient, post: Callable[[], Any]) -> list[Any]:
    """Sent, then sent again with the cookies the page had (the first may have changed them:
    a sign-in turns the CSRF token over)."""
    jar = dict(client.cookies.items())
    first = post()
    client.cookies.clear()
    for name, value in jar.items():
        client.cookies.set(name, value)
    return [first, post()]


def _at_once(client: TestClient, post: Callable[[], Any]) -> list[Any]:
    gate = threading.Barrier(2, timeout=60)
    out: list[Any] = [None, None]

    def run(i: int) -> None:
        gate.wait()
        out[i] = post()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


TWICE = {"one_after_the_other": _one_after_the_other, "at_once": _at_once}


@pytest.fixture(params=sorted(TWICE))
def twice(request: pytest.FixtureRequest, client: TestClient) -> Callable[..., list[Any]]:
    send = TWICE[request.param]

    def go(url: str, data: dict[str, Any]) -> list[Any]:
        return send(client, lambda: client.post(url, data=data, follow_redirects=False))

    return go


def _same_answer(responses: list[Any], location: str) -> None:
    assert [(r.status_code, r.headers.get("location")) for r in responses] == [
        (303, location),
        (303, location),
    ], [r.text[:300] for r in responses]


def _registration(client: TestClient, username: str, seq: int, **where: str) -> dict[str, str]:
    """The registration form filled in, into the institution or class ``where`` names."""
    return {
        "csrf": csrf_of(client.get("/register").text),
        "username": username,
        "password": PASSWORD,
        "real_name": "张三",
        "id_number": id_number(seq=seq),
        **where,
    }


def test_a_registration_sent_twice_is_one_account_and_signs_in(
    client: TestClient, engine: Any, twice: Any
) -> None:
    inst = make_institution(engine)
    form = _registration(client, "zhangsan8", 555, institution=inst.code)
    responses = twice("/register", form)
    _same_answer(responses, "/consent")
    assert all("st_session" in r.headers.get("set-cookie", "") for r in responses)
    assert _count(engine, User, col(User.username) == "zhangsan8") == 1
    assert _audited(engine, "learner.registered") == 1
    # another password is not the same registration: the name is taken
    form["csrf"] = csrf_of(client.get("/register").text)
    again = client.post("/register", data={**form, "password": NEW}, follow_redirects=False)
    assert again.status_code == 409 and "该用户名已被使用" in again.text


def test_a_registration_with_a_class_code_sent_twice_is_one_enrolment(
    client: TestClient, engine: Any, twice: Any
) -> None:
    inst = make_institution(engine)
    klass = filed_class(engine, course_row(engine, inst))
    code = invites.shown(klass.invite_code or "")
    form = _registration(client, "wangfang8", 556, institution_code=code)
    _same_answer(twice("/register", form), "/consent")
    assert _count(engine, Enrollment, col(Enrollment.class_id) == klass.id) == 1
    assert _audited(engine, "learner.registered") == 1


def test_a_class_code_joined_twice_on_my_page_is_one_enrolment(
    client: TestClient, engine: Any, twice: Any
) -> None:
    inst = make_institution(engine)
    klass = filed_class(engine, course_row(engine, inst))
    learner = make_learner(engine, inst)
    csrf = sign_in(client, learner.username)
    code = invites.shown(klass.invite_code or "")
    responses = twice("/my/join", {"csrf": csrf, "code": code})
    _same_answer(responses, "/my")
    # The one that came second says she is in the class (a notice), not "already enrolled".
    flashes = sorted(r.cookies.get("st_flash") for r in responses)
    assert flashes == ["class_already_joined", "class_joined"], flashes
    assert _count(engine, Enrollment, col(Enrollment.user_id) == learner.id) == 1


def test_an_activation_sent_twice_activates_once_and_says_so(
    client: TestClient, engine: Any, twice: Any
) -> None:
    inst = make_institution(engine)
    person = id_number(seq=777)
    with transaction(engine) as s:
        user = activation.create_pending_learner(
            s,
            real_name="李建国",
            id_number=idcard.parse(person),
            phone=None,
            group=None,
            institution_id=inst.id,
            actor=Actor.system(),
            via="test",
        )
        code = activation.issue_code(s, user, actor=Actor.system())
    form = {
        "csrf": csrf_of(client.get("/activate").text),
        "id_number": person,
        "activation_code": code,
        "username": "lijianguo8",
        "password": PASSWORD,
    }
    responses = twice("/activate", form)
    _same_answer(responses, "/login")
    assert all(r.cookies.get("st_flash") == "activated" for r in responses)
    assert _audited(engine, "learner.activated") == 1
    # the used code with another password is refused as any wrong code is
    r = client.post("/activate", data={**form, "password": NEW}, follow_redirects=False)
    assert r.status_code == 400


def test_a_password_change_sent_twice_changes_it_once(
    client: TestClient, engine: Any, twice: Any
) -> None:
    learner = make_learner(engine)
    form = {
        "csrf": csrf_of(client.get("/password/change").text),
        "username": learner.username,
        "current_password": PASSWORD,
        "new_password": NEW,
        "new_password_again": NEW,
    }
    _same_answer(twice("/password/change", form), "/my")
    assert _audited(engine, "password.changed") == 1
    assert _audited(engine, "auth.login_failed") == 0
    # the old password no longer signs in; a wrong one still fails as before
    wrong = {**form, "current_password": "not-the-password", "new_password": "Third-pass-4471"}
    wrong["csrf"] = csrf_of(client.get("/password/change").text)
    wrong["new_password_again"] = wrong["new_password"]
    assert client.post("/password/change", data=wrong).status_code == 401


def test_a_reset_code_asked_for_twice_is_one_code_and_used_twice_resets_once(
    client: TestClient, engine: Any, twice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[notify.Message] = []
    monkeypatch.setattr(notify, "deliver", sent.append)
    learner = make_learner(engine, phone="13800138000")
    csrf = csrf_of(client.get("/password/forgot").text)
    ask = {"csrf": csrf, "login": learner.username, "channel": "sms"}
    assert [r.status_code for r in twice("/password/forgot", ask)] == [200, 200]
    assert len(sent) == 1 and _audited(engine, "password.reset_code_sent") == 1
    m = re.search(r"验证码为 (\d{6})", sent[0].text)
    assert m
    reset = {**ask, "code": m.group(1), "new_password": NEW, "new_password_again": NEW}
    responses = twice("/password/reset", reset)
    _same_answer(responses, "/login")
    assert all(r.cookies.get("st_flash") == "password_reset_done" for r in responses)
    assert _audited(engine, "password.reset_by_code") == 1
    # the used code with another password is refused as a wrong code
    other = {**reset, "new_password": "Third-pass-4471", "new_password_again": "Third-pass-4471"}
    assert client.post("/password/reset", data=other).status_code == 400


@pytest.mark.parametrize(("decision", "location"), [("grant", "/face"), ("withdraw", "/consent")])
def test_consent_sent_twice_is_one_record(
    client: TestClient, engine: Any, twice: Any, decision: str, location: str
) -> None:
    learner = make_learner(engine, make_institution(engine))
    sign_in(client, learner.username)
    csrf = csrf_of(client.get("/consent").text)
    if decision == "withdraw":
        client.post("/consent", data={"csrf": csrf, "decision": "grant"})
    before = _count(engine, ConsentRecord)
    _same_answer(twice("/consent", {"csrf": csrf, "decision": decision}), location)
    assert _count(engine, ConsentRecord) == before + 1


def test_an_institution_chosen_twice_is_one_choice(
    client: TestClient, engine: Any, twice: Any
) -> None:
    inst, other = make_institution(engine), make_institution(engine)
    learner = make_learner(engine)
    sign_in(client, learner.username)
    csrf = csrf_of(client.get("/institution").text)
    _same_answer(twice("/institution", {"csrf": csrf, "institution": inst.code}), "/my")
    assert _audited(engine, "learner.institution_chosen") == 1
    # another institution afterwards is still refused in words
    r = client.post("/institution", data={"csrf": csrf, "institution": other.code})
    assert r.status_code == 409 and "您已属于一个培训机构" in r.text


def test_an_objection_sent_twice_is_received_once(
    client: TestClient, engine: Any, twice: Any, clock: Any
) -> None:
    batch_id = batch_in_notice(engine, clock)
    form = {
        "csrf": csrf_of(client.get("/notices").text),
        "text": "王*明 未参加线下实操。",
        "contact": "13800138000",
    }
    _same_answer(twice(f"/notices/{batch_id}/objections", form), "/notices")
    assert _count(engine, NoticeObjection) == 1
    assert _audited(engine, "claim.objection_received") == 1
    # other words, or the same words from someone else (another contact), are another objection
    client.post(f"/notices/{batch_id}/objections", data={**form, "contact": "李四 139"})
    client.post(f"/notices/{batch_id}/objections", data={**form, "text": "名单与实际不符。"})
    assert _count(engine, NoticeObjection) == 3


def test_an_objection_through_the_api_sent_twice_is_the_same_objection(
    client: TestClient, engine: Any, clock: Any
) -> None:
    batch_id = batch_in_notice(engine, clock)
    url = f"/api/v1/notices/{batch_id}/objections"
    first, again = (client.post(url, json={"text": "该班学员名单与实际不符。"}) for _ in range(2))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert _count(engine, NoticeObjection) == 1

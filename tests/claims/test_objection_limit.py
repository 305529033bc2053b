"""Objections to a public notice (公示异议) are open to anyone, so one client address may lodge
only so many per window (``SKILLTRACE_OBJECTION_IP_MAX``): past it the API and the page answer
429 ``rate_limited`` with ``Retry-After``, and nothing more reaches the regulator's queue; a
refused (invalid) objection does not count, and the next window accepts again."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from app.claims.models import NoticeObjection
from app.config import get_settings
from tests.claims.notice_world import batch_in_notice
from tests.factories import csrf_of

API = "/api/v1"


def _received(engine: Any) -> int:
    with Session(engine) as s:
        return len(s.exec(select(NoticeObjection)).all())


def test_one_address_lodges_a_bounded_number_of_objections(
    client: Any, engine: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLTRACE_OBJECTION_IP_MAX", "2")
    monkeypatch.setenv("SKILLTRACE_OBJECTION_IP_WINDOW_S", "600")
    get_settings.cache_clear()
    batch_id = batch_in_notice(engine, clock)
    url = f"{API}/notices/{batch_id}/objections"
    # a refused objection (no text) is not counted
    assert client.post(url, json={"text": "  "}).status_code == 422
    for text in ("王*明 未参加线下实操。", "该班学员名单与实际不符。"):
        assert client.post(url, json={"text": text}).status_code == 201
    over = client.post(url, json={"text": "第三条异议"})
    assert (over.status_code, over.json()["code"]) == (429, "rate_limited"), over.text
    assert 0 < int(over.headers["Retry-After"]) <= 600
    # the page refuses alike, in words
    page = client.get("/notices")
    r = client.post(
        f"/notices/{batch_id}/objections",
        data={"csrf": csrf_of(page.text), "text": "页面上的第三条异议"},
    )
    assert r.status_code == 429 and "尝试次数过多" in r.text
    assert 0 < int(r.headers["Retry-After"]) <= 600
    assert _received(engine) == 2
    # the next window accepts again
    clock.advance(seconds=601)
    assert client.post(url, json={"text": "新窗口中的异议"}).status_code == 201
    assert _received(engine) == 3
    get_settings.cache_clear()

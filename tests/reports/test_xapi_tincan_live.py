"""The `tincan` client against a live server (uvicorn in a thread): about, retrieve_statement,
query_statements and more_statements, as a partner's LRS reader would call them."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import tincan  # type: ignore[import-untyped]
from fastapi.testclient import TestClient

from app.config import get_settings
from app.reports import xapi
from tests.reports.xapi_world import fetch_all


@pytest.fixture
def server(app_env: str) -> Iterator[str]:
    """The app under uvicorn in a thread, on the test database (as tests/web's live_server)."""
    import uvicorn

    from app.main import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:  # a condition, not a fixed wait
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=15)


def test_tincan_reads_the_lrs_over_http(
    world: dict[str, Any], client: TestClient, server: str
) -> None:
    expected = fetch_all(client, world["regulator"])
    lrs = tincan.RemoteLRS(
        endpoint=f"{server}/xapi/",
        version="1.0.3",
        auth=world["regulator"]["Authorization"],
    )
    about = lrs.about()
    assert about.success, about.data
    assert "1.0.3" in [str(v) for v in about.content.version]

    first = expected[0]
    one = lrs.retrieve_statement(first["id"])
    assert one.success, one.data
    assert str(one.content.id) == first["id"]
    assert one.content.verb.id == first["verb"]["id"]
    assert one.content.actor.account.name == first["actor"]["account"]["name"]

    voided = xapi.statement_id("attendance_event", world["voided_checkin"])
    assert lrs.retrieve_statement(voided).response.status == 404
    got = lrs.retrieve_voided_statement(voided)
    assert got.success and str(got.content.id) == voided

    # query_statements with a tincan Agent and booleans as Python sends them ("True")
    learner = first["actor"]["account"]["name"]
    agent = tincan.Agent(
        account=tincan.AgentAccount(home_page=get_settings().base_url, name=learner)
    )
    page = lrs.query_statements({"agent": agent, "limit": 2, "ascending": True})
    assert page.success, page.data
    ids = [str(s.id) for s in page.content.statements]
    while page.content.more:
        page = lrs.more_statements(page.content)
        assert page.success, page.data
        assert page.content.statements  # never an empty trailing page
        ids += [str(s.id) for s in page.content.statements]
    mine = [s["id"] for s in expected if s["actor"]["account"]["name"] == learner]
    assert ids == mine[::-1]

    # since/until as tincan sends a datetime (str(datetime): a space, not "T")
    middle = expected[len(expected) // 2]
    since = tincan.Statement.from_json(json.dumps(middle)).stored
    later = lrs.query_statements({"since": since, "limit": 0})
    assert later.success, later.data
    assert [str(s.id) for s in later.content.statements] == [
        s["id"] for s in expected if s["stored"] > middle["stored"]
    ]

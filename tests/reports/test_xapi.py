"""`GET /xapi/statements`: statements from stored facts, parsed by `tincan`, paged with `more`."""

from __future__ import annotations

import json
from typing import Any

import pytest
import tincan  # type: ignore[import-untyped]
from fastapi.testclient import TestClient

from app.config import get_settings
from app.reports import xapi
from tests.reports.xapi_world import URL, V, fetch_all


def test_statements_parse_with_tincan_and_are_correct(
    world: dict[str, Any], client: TestClient
) -> None:
    stmts = fetch_all(client, world["regulator"])
    assert stmts
    for st in stmts:
        parsed = tincan.Statement.from_json(json.dumps(st))
        assert str(parsed.id) == st["id"]
        assert parsed.version == "1.0.3"
    verbs = [s["verb"]["id"].rsplit("/", 1)[1] for s in stmts]
    # per learner: check-in + passed roll-call attended, failed + missed failed, quiz 40 failed,
    # quiz 80 passed, completed; the reviewed roll-call (in institution a) attended or failed
    assert verbs.count("completed") == 3  # learner 1's certificate was revoked: voided
    assert verbs.count("passed") == 4
    assert verbs.count("voided") == 2
    assert verbs.count("attended") == 4 * 2 + 2  # reviews approved for learners 0 and 2
    assert verbs.count("failed") == 4 * 3 + 1
    # actors are pseudonyms, never ID numbers or names
    base = get_settings().base_url
    names = {xapi.pseudonym(u.id) for u in world["learners"]}
    for st in stmts:
        assert st["actor"]["account"]["homePage"] == base
        assert st["actor"]["account"]["name"] in names
        assert "王小明" not in json.dumps(st, ensure_ascii=False)
        if st["verb"]["id"].endswith("voided"):
            assert st["object"]["objectType"] == "StatementRef"
        else:
            assert st["object"]["id"].startswith(f"{base}/courses/")
            assert set(st["object"]["definition"]["name"]) == {"zh-CN", "en-US"}
    # the voided check-in's and completion's own statements are no longer listed, their voiding
    # statements are (a review reversal and a certificate revocation)
    checkin = xapi.statement_id("attendance_event", world["voided_checkin"])
    completion = xapi.statement_id("enrollment", world["revoked_enrollment"])
    assert not {checkin, completion} & {s["id"] for s in stmts}
    voiding = [s for s in stmts if s["verb"]["id"].endswith("voided")]
    assert sorted(s["object"]["id"] for s in voiding) == sorted([checkin, completion])
    # newest stored first, and the same facts always give the same statements
    assert [s["stored"] for s in stmts] == sorted((s["stored"] for s in stmts), reverse=True)
    assert fetch_all(client, world["regulator"]) == stmts


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_more_pages_return_every_statement_exactly_once(
    world: dict[str, Any], client: TestClient, limit: int
) -> None:
    everything = fetch_all(client, world["regulator"], limit=500)
    paged = fetch_all(client, world["regulator"], limit=limit)
    assert [s["id"] for s in paged] == [s["id"] for s in everything]
    assert len({s["id"] for s in paged}) == len(paged)


def test_filters(world: dict[str, Any], client: TestClient) -> None:
    learner = world["learners"][1]
    agent = {
        "objectType": "Agent",
        "account": {"homePage": get_settings().base_url, "name": xapi.pseudonym(learner.id)},
    }
    mine = fetch_all(client, world["regulator"], agent=json.dumps(agent), limit=2)
    assert mine and {s["actor"]["account"]["name"] for s in mine} == {xapi.pseudonym(learner.id)}
    passed = fetch_all(client, world["regulator"], verb=xapi.VERBS["passed"]["id"])
    assert len(passed) == 4 and all(s["result"]["success"] for s in passed)
    assert fetch_all(client, world["regulator"], verb="http://example.com/verbs/x") == []
    mbox = {"mbox": "mailto:a@example.com"}
    assert fetch_all(client, world["regulator"], agent=json.dumps(mbox)) == []
    everything = fetch_all(client, world["regulator"])
    middle = everything[len(everything) // 2]["stored"]
    later = fetch_all(client, world["regulator"], since=middle)
    assert later and all(s["stored"] > middle for s in later)
    earlier = fetch_all(client, world["regulator"], until=middle)
    assert earlier and all(s["stored"] <= middle for s in earlier)
    assert len(later) + len(earlier) == len(everything)


def test_access_and_errors(world: dict[str, Any], client: TestClient) -> None:
    everything = fetch_all(client, world["regulator"])
    own = fetch_all(client, world["staff"])
    assert own and len(own) < len(everything)
    b_learner = xapi.pseudonym(world["learners"][3].id)
    assert b_learner not in {s["actor"]["account"]["name"] for s in own}
    assert fetch_all(client, world["key"]) == own
    r = client.get(URL, headers={**world["learner"], **V})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert r.headers["X-Experience-API-Version"] == "1.0.3"
    assert client.get(URL, headers=V).status_code == 401
    bad: list[dict[str, Any]] = [
        {"agent": "{not json"},
        {"agent": "[]"},
        {"cursor": "nope"},
        {"limit": "-1"},
        {"limit": "x"},
        {"since": "yesterday"},
        {"until": "2026-13-01T00:00:00Z"},
        {"registration": "not-a-uuid"},
        {"ascending": "yes"},
        {"format": "full"},
    ]
    for params in bad:
        r = client.get(URL, params=params, headers={**world["regulator"], **V})
        assert (r.status_code, r.json()["code"]) == (400, "invalid_xapi_query"), params
        assert r.headers["X-Experience-API-Version"] == "1.0.3"
        assert "X-Experience-API-Consistent-Through" in r.headers
    # above the server's maximum: the maximum (Communication 2.1.3 lets the LRS return fewer)
    r = client.get(URL, params={"limit": 501}, headers={**world["regulator"], **V})
    assert r.status_code == 200 and len(r.json()["statements"]) <= xapi.MAX_LIMIT
    for version in ("0.95", "1.0garbage", "1.1.0", "2.0.0", ""):
        r = client.get(URL, headers={**world["regulator"], "X-Experience-API-Version": version})
        assert r.status_code == 400, version
    assert client.get(URL, headers=world["regulator"]).status_code == 400  # no version header

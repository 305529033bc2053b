"""A port of the read-only requirements of ADL's LRS conformance suite (xAPI 1.0.3).

Source: github.com/adlnet/lrs-conformance-test-suite, test/v1_0_3 (commit 2ec25f2): every
requirement whose tests only read ``/statements`` or ``/about`` (``GET``/``HEAD``), from
Communication 1.1, 2.1, 2.8, 3.2, 3.3 and Data 2.5. The suite writes its statements first; ours
come from stored facts (the ``world`` fixture), so each requirement is checked on those, with
the same expectations as the suite's ``it(...)`` blocks. ``REQUIREMENTS`` lists them by their
XAPI number (or the suite's section where it has none); each test names the ones it covers, and
``test_every_ported_requirement_has_a_test`` keeps the list and the tests in step.
"""

from __future__ import annotations

import email
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx
from fastapi.testclient import TestClient

from app.config import get_settings
from app.reports import xapi
from tests.reports.xapi_world import URL, V, fetch_all

REQUIREMENTS: dict[str, str] = {
    # Communication 1.1 (HEAD)
    "XAPI-00126": "An LRS accepts HEAD requests (about, statements)",
    "XAPI-00125": "An LRS responds to HEAD as to GET, without the message-body",
    "C1.1-nolength": "HEAD and GET are accepted without Content-Length",
    # Communication 2.1 (Statement resource)
    "XAPI-00139": 'An LRS has a Statement resource at "/statements" (GET)',
    "XAPI-00159": "The Statement resource accepts GET",
    "XAPI-00156": "GET with statementId returns 200 and the single Statement with that id",
    "XAPI-00155": "GET with voidedStatementId returns 200 and the single voided Statement",
    "XAPI-00154": "GET without statementId/voidedStatementId returns 200 and a StatementResult",
    "XAPI-00158": "GET can process statementId",
    "XAPI-00157": "GET can process voidedStatementId",
    "XAPI-00181": "GET can process agent",
    "XAPI-00180": "GET can process verb",
    "XAPI-00179": "GET can process activity",
    "XAPI-00178": "GET can process registration",
    "XAPI-00177": "GET can process related_activities",
    "XAPI-00176": "GET can process related_agents",
    "XAPI-00175": "GET can process since",
    "XAPI-00174": "GET can process until",
    "XAPI-00173": "GET can process limit",
    "C2.1.3-lang": "format=canonical applies Accept-Language to pick the language",
    "XAPI-00168": "format absent: exact",
    "XAPI-00169": "format=canonical",
    "XAPI-00170": "format=exact",
    "XAPI-00171": "format=ids",
    "XAPI-00167": "GET can process attachments",
    "XAPI-00165": "A GET response has a Content-Type header",
    "XAPI-00166": "GET can process ascending",
    "XAPI-00151": "statementId with anything but attachments/format: 400",
    "XAPI-00150": "voidedStatementId with anything but attachments/format: 400",
    "XAPI-00149": "An empty statements property is not an error",
    "XAPI-00153": "X-Experience-API-Consistent-Through on every response, whatever the code",
    "C2.1.3-ct-type": "X-Experience-API-Consistent-Through is an ISO 8601 date and time",
    "XAPI-00161": "attachments missing or false: application/json only",
    "XAPI-00163": "A voided Statement is only returned by voidedStatementId (statementId: 404)",
    "XAPI-00162": "Statements targeting a voided Statement are still returned",
    "XAPI-00164": "The statements returned match the filters of the request",
    # Communication 2.8 (About resource)
    "XAPI-00315": 'An LRS has an About resource at "/about"',
    "XAPI-00319": "GET /about returns 200 and a version property",
    "XAPI-00318": "version is an array of strings",
    "XAPI-00317": 'version contains "1.0.3"',
    "XAPI-00316": 'version values are "0.9", "0.95", "1.0.0" or "1.0.x"',
    "XAPI-00321": "No X-Experience-API-Version header: 400, except on the About resource",
    # Communication 3.2 (error codes)
    "XAPI-00324": "A parameter the LRS does not recognise: 400",
    "XAPI-00325": "A parameter with differing case: 400",
    # Communication 3.3 (versioning)
    "C3.3-header": "Responses carry X-Experience-API-Version, errors included",
    "C3.3-1.0.x": "A version header that is not 1.0.x (say 1.0garbage): 400",
    # Data 2.5 (retrieval of statements)
    "XAPI-00113": "A StatementResult has one statements and one more property",
    "XAPI-00110": "statements is an array of Statements",
    "XAPI-00114": "Results too large for a page continue on further pages",
    "XAPI-00109": "more is absent or empty when everything has been returned",
    "XAPI-00108": "A non-empty more refers to the next page of the same query",
    "XAPI-00111": "A more page follows the rules of the original request",
}

COVERED: set[str] = set()
F = TypeVar("F", bound=Callable[..., Any])


def covers(*ids: str) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        assert set(ids) <= REQUIREMENTS.keys(), set(ids) - REQUIREMENTS.keys()
        COVERED.update(ids)
        return fn

    return mark


ABOUT = "/xapi/about"
FILTER_PARAMS = (
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "ascending",
)


def get(client: TestClient, who: dict[str, str], url: str = URL, **params: Any) -> httpx.Response:
    return client.get(url, params=params, headers={**who, **V})


def _agent(name: str) -> str:
    base = get_settings().base_url
    return json.dumps({"objectType": "Agent", "account": {"homePage": base, "name": name}})


def _iso(value: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _sample(world: dict[str, Any], client: TestClient) -> dict[str, Any]:
    """Values for every filter, taken from a statement the regulator can read."""
    stmts = fetch_all(client, world["regulator"])
    st = next(s for s in stmts if s["verb"]["id"].endswith("/passed"))
    return {
        "all": stmts,
        "statement": st,
        "params": {
            "agent": _agent(st["actor"]["account"]["name"]),
            "verb": st["verb"]["id"],
            "activity": st["object"]["id"],
            "registration": st["context"]["registration"],
            "related_activities": "true",
            "related_agents": "true",
            "since": stmts[-1]["stored"],
            "until": stmts[0]["stored"],
            "limit": "2",
            "ascending": "true",
        },
    }


@covers(
    "XAPI-00139",
    "XAPI-00159",
    "XAPI-00156",
    "XAPI-00155",
    "XAPI-00158",
    "XAPI-00157",
    "XAPI-00165",
    "XAPI-00151",
    "XAPI-00150",
    "XAPI-00163",
)
def test_one_statement_by_statement_id_or_voided_statement_id(
    world: dict[str, Any], client: TestClient
) -> None:
    sample = _sample(world, client)
    st, reg = sample["statement"], world["regulator"]
    r = get(client, reg, statementId=st["id"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json() == st  # a single Statement, not a StatementResult
    # the voided check-in: only by voidedStatementId (Communication 2.1.4)
    voided = xapi.statement_id("attendance_event", world["voided_checkin"])
    assert get(client, reg, statementId=voided).status_code == 404
    r = get(client, reg, voidedStatementId=voided)
    assert r.status_code == 200 and r.json()["id"] == voided
    assert r.json()["verb"]["id"] == xapi.VERBS["attended"]["id"]
    completion = xapi.statement_id("enrollment", world["revoked_enrollment"])
    assert get(client, reg, voidedStatementId=completion).json()["id"] == completion
    assert get(client, reg, voidedStatementId=st["id"]).status_code == 404  # not voided
    # a statement of another institution is not the staff's to read; an unknown id is 404
    other = xapi.pseudonym(world["learners"][3].id)
    theirs = next(s for s in sample["all"] if s["actor"]["account"]["name"] == other)
    assert get(client, world["key"], statementId=theirs["id"]).status_code == 404
    r = get(client, reg, statementId="6b1f3c2e-0000-5000-8000-000000000000")
    assert (r.status_code, r.json()["code"]) == (404, "statement_not_found")
    assert get(client, reg, statementId="not-a-uuid").status_code == 400
    # with anything but format/attachments: 400; with those two: 200
    for key, sid in (("statementId", st["id"]), ("voidedStatementId", voided)):
        for name, value in sample["params"].items():
            r = get(client, reg, **{key: sid, name: value})
            assert (r.status_code, r.json()["code"]) == (400, "invalid_xapi_query"), (key, name)
        assert get(client, reg, **{key: sid, "format": "ids"}).status_code == 200
        assert get(client, reg, **{key: sid, "attachments": "false"}).status_code == 200
    assert get(client, reg, statementId=st["id"], voidedStatementId=voided).status_code == 400


@covers(
    "XAPI-00154",
    "XAPI-00181",
    "XAPI-00180",
    "XAPI-00179",
    "XAPI-00178",
    "XAPI-00177",
    "XAPI-00176",
    "XAPI-00175",
    "XAPI-00174",
    "XAPI-00173",
    "XAPI-00166",
    "XAPI-00164",
    "XAPI-00149",
    "XAPI-00113",
    "XAPI-00110",
    "XAPI-00162",
)
def test_statement_results_for_each_parameter_match_the_filters(
    world: dict[str, Any], client: TestClient
) -> None:
    sample = _sample(world, client)
    everything, st, params = sample["all"], sample["statement"], sample["params"]
    reg = world["regulator"]
    for name, value in [(None, None), *params.items()]:
        r = get(client, reg, **({name: value} if name else {}))
        assert r.status_code == 200, (name, r.text)
        body = r.json()
        assert set(body) == {"statements", "more"}, name
        assert isinstance(body["statements"], list) and isinstance(body["more"], str)
    by_id = {s["id"]: s for s in everything}

    def target(s: dict[str, Any]) -> dict[str, Any]:
        """The statement a voiding statement targets (filters apply to it, Comm. 2.1.4)."""
        if s["object"]["objectType"] != "StatementRef":
            return s
        ref = s["object"]["id"]
        got = get(client, reg, voidedStatementId=ref).json()
        return by_id.get(ref, got)

    name = st["actor"]["account"]["name"]
    mine = fetch_all(client, reg, agent=params["agent"])
    assert mine and all(target(s)["actor"]["account"]["name"] == name for s in mine)
    assert [s["id"] for s in mine] == [
        s["id"] for s in everything if s["actor"]["account"]["name"] == name
    ]
    verbed = fetch_all(client, reg, verb=params["verb"])
    assert verbed and all(target(s)["verb"]["id"] == params["verb"] for s in verbed)
    course = fetch_all(client, reg, activity=params["activity"])
    assert course and all(target(s)["object"]["id"] == params["activity"] for s in course)
    assert fetch_all(client, reg, activity=params["activity"], related_activities="true") == course
    registered = fetch_all(client, reg, registration=params["registration"])
    assert registered and all(
        s["context"]["registration"] == params["registration"] for s in registered
    )
    # related_agents: the authority counts too (every statement is stored by the LRS itself)
    authority = _agent("skilltrace")
    assert fetch_all(client, reg, agent=authority) == []
    assert fetch_all(client, reg, agent=authority, related_agents="true") == everything
    middle = everything[len(everything) // 2]["stored"]
    later = fetch_all(client, reg, since=middle)
    assert later and all(s["stored"] > middle for s in later)
    earlier = fetch_all(client, reg, until=middle)
    assert earlier and all(s["stored"] <= middle for s in earlier)
    assert [s["id"] for s in later + earlier] == [s["id"] for s in everything]
    r = get(client, reg, limit=2)
    assert len(r.json()["statements"]) == 2 and r.json()["statements"] == everything[:2]
    ascending = fetch_all(client, reg, ascending="true")
    assert ascending == everything[::-1]
    assert [s["stored"] for s in everything] == sorted(
        (s["stored"] for s in everything), reverse=True
    )
    # no match: an empty list, not an error
    r = get(client, reg, verb="http://example.com/verbs/never")
    assert r.status_code == 200 and r.json() == {"statements": [], "more": ""}
    # Communication 2.1.4.s1.b2: statements targeting a voided statement are still returned,
    # with since/until/limit applied to them as to any other
    voiding = [s for s in everything if s["verb"]["id"] == xapi.VERBS["voided"]["id"]]
    assert len(voiding) == 2
    for v in voiding:
        assert v["object"]["objectType"] == "StatementRef"
        assert v["id"] in {s["id"] for s in fetch_all(client, reg, until=v["stored"])}
        since = fetch_all(client, reg, since=v["stored"])
        assert v["id"] not in {s["id"] for s in since}
    # a voiding statement matches a filter its target meets (its activity here)
    revoked = get(client, reg, voidedStatementId=voiding[0]["object"]["id"]).json()
    on_course = fetch_all(client, reg, activity=revoked["object"]["id"])
    assert voiding[0]["id"] in {s["id"] for s in on_course}


@covers("C2.1.3-lang", "XAPI-00168", "XAPI-00169", "XAPI-00170", "XAPI-00171")
def test_format_ids_exact_canonical_and_accept_language(
    world: dict[str, Any], client: TestClient
) -> None:
    reg = world["regulator"]
    exact = fetch_all(client, reg)
    assert fetch_all(client, reg, format="exact") == exact
    ids = fetch_all(client, reg, format="ids")
    assert [s["id"] for s in ids] == [s["id"] for s in exact]
    for s in ids:
        assert set(s["verb"]) == {"id"}
        assert set(s["actor"]) == {"objectType", "account"}
        if s["object"]["objectType"] == "Activity":
            assert set(s["object"]) == {"objectType", "id"}
    st = next(s for s in exact if s["object"]["objectType"] == "Activity")
    assert set(st["verb"]["display"]) == {"en-US", "zh-CN"}  # no format: every language

    def canonical(lang: str) -> dict[str, Any]:
        r = client.get(
            URL,
            params={"statementId": st["id"], "format": "canonical"},
            headers={**reg, **V, "Accept-Language": lang},
        )
        assert r.status_code == 200
        body: dict[str, Any] = r.json()
        return body

    for lang, want in (("en-US", "en-US"), ("zh-CN,en;q=0.5", "zh-CN"), ("en-GB", "en-US")):
        got = canonical(lang)
        assert set(got["verb"]["display"]) == {want}, lang
        assert set(got["object"]["definition"]["name"]) == {want}, lang
    r = client.get(
        URL,
        params={"statementId": st["id"]},
        headers={**reg, **V, "Accept-Language": "en-US"},
    )
    assert set(r.json()["verb"]["display"]) == {"en-US", "zh-CN"}  # not canonical: untouched


@covers("XAPI-00167", "XAPI-00161")
def test_attachments_parameter(world: dict[str, Any], client: TestClient) -> None:
    reg = world["regulator"]
    for params in ({}, {"attachments": "false"}):
        r = get(client, reg, **params)
        assert r.headers["content-type"].startswith("application/json"), params
    plain = get(client, reg).json()
    r = get(client, reg, attachments="true")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("multipart/mixed; boundary=")
    raw = f"Content-Type: {r.headers['content-type']}\r\n\r\n".encode() + r.content
    parts = email.message_from_bytes(raw).get_payload()
    assert isinstance(parts, list) and parts[0].get_content_type() == "application/json"
    assert json.loads(parts[0].get_payload(decode=True)) == plain
    sid = plain["statements"][0]["id"]
    r = get(client, reg, statementId=sid, attachments="true")
    assert r.headers["content-type"].startswith("multipart/mixed")


@covers("XAPI-00153", "C2.1.3-ct-type")
def test_consistent_through_on_every_response(world: dict[str, Any], client: TestClient) -> None:
    sample = _sample(world, client)
    reg = world["regulator"]
    cases: list[dict[str, Any]] = [{}, *({k: v} for k, v in sample["params"].items())]
    cases += [{"format": "ids"}, {"attachments": "true"}, {"statementId": "x", "verb": "y"}]
    for params in cases:
        r = get(client, reg, **params)
        assert r.status_code in (200, 400), params
        through = _iso(r.headers["X-Experience-API-Consistent-Through"])
        assert through.tzinfo is not None
    r = client.get(URL)  # no version, no credentials
    assert r.status_code in (400, 401)
    assert _iso(r.headers["X-Experience-API-Consistent-Through"]).tzinfo is not None


@covers("XAPI-00114", "XAPI-00109", "XAPI-00108", "XAPI-00111")
def test_more_pages_are_exact(world: dict[str, Any], client: TestClient) -> None:
    reg = world["regulator"]
    everything = fetch_all(client, reg)
    n = len(everything)
    for limit in (1, 3, n // 2, n - 1, n, n + 1):
        r = get(client, reg, limit=limit)
        pages: list[list[dict[str, Any]]] = []
        while True:
            body = r.json()
            assert set(body) == {"statements", "more"}
            pages.append(body["statements"])
            if not body["more"]:
                break
            assert body["more"].startswith(URL + "?")
            r = client.get(body["more"], headers={**reg, **V})
            assert r.status_code == 200
        assert [s for p in pages for s in p] == everything, limit
        assert all(len(p) == limit for p in pages[:-1]), limit
        assert 0 < len(pages[-1]) <= limit, limit  # never a trailing empty page
    # a filtered query keeps its filter on every page
    verb = xapi.VERBS["failed"]["id"]
    failed = fetch_all(client, reg, verb=verb, limit=2)
    assert failed == [s for s in everything if s["verb"]["id"] == verb]
    asc = fetch_all(client, reg, ascending="true", limit=4)
    assert asc == everything[::-1]


@covers("XAPI-00315", "XAPI-00319", "XAPI-00318", "XAPI-00317", "XAPI-00316", "XAPI-00321")
def test_about_resource(world: dict[str, Any], client: TestClient) -> None:
    r = client.get(ABOUT)  # no version header, no credentials: fine here
    assert r.status_code == 200
    assert r.headers["X-Experience-API-Version"] == "1.0.3"
    version = r.json()["version"]
    assert isinstance(version, list) and all(isinstance(v, str) for v in version)
    assert "1.0.3" in version
    assert all(re.fullmatch(r"0\.9|0\.95|1\.0\.0|1\.0\.\d+", v) for v in version)
    r = client.get(URL, headers=world["regulator"])  # the statements do need the header
    assert r.status_code == 400
    assert re.fullmatch(r"1\.0\.\d+", r.headers["X-Experience-API-Version"])


@covers("XAPI-00126", "XAPI-00125", "C1.1-nolength")
def test_head_requests(world: dict[str, Any], client: TestClient) -> None:
    reg = world["regulator"]
    for url, headers in ((ABOUT, {}), (URL, {**reg, **V})):
        got = client.get(url, headers=headers)
        head = client.head(url, headers=headers)
        assert head.status_code == got.status_code == 200, url
        assert head.content == b"", url
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["X-Experience-API-Version"] == "1.0.3"
        assert "content-length" not in {k.lower() for k in head.request.headers}
    sid = get(client, reg).json()["statements"][0]["id"]
    head = client.head(URL, params={"statementId": sid}, headers={**reg, **V})
    assert head.status_code == 200 and head.content == b""
    head = client.head(URL, params={"statementId": sid, "verb": "x"}, headers={**reg, **V})
    assert head.status_code == 400  # as GET would
    assert client.head(URL, headers=reg).status_code == 400


@covers("C3.3-header", "C3.3-1.0.x")
def test_version_header(world: dict[str, Any], client: TestClient) -> None:
    reg = world["regulator"]
    for version in ("1.0.3", "1.0.0", "1.0.1", "1.0"):
        r = client.get(URL, headers={**reg, "X-Experience-API-Version": version})
        assert r.status_code == 200, version
        assert r.headers["X-Experience-API-Version"] == "1.0.3"
    for version in ("1.0garbage", "0.95", "0.9", "1.1.0", "2.0.0", "1.0.", " "):
        r = client.get(URL, headers={**reg, "X-Experience-API-Version": version})
        assert (r.status_code, r.json()["code"]) == (400, "invalid_xapi_query"), version
        assert r.headers["X-Experience-API-Version"] == "1.0.3"
    # every response carries it, errors included
    assert client.get(URL, headers=V).headers["X-Experience-API-Version"] == "1.0.3"  # 401
    r = client.get(URL, headers={**world["learner"], **V})
    assert r.status_code == 403 and r.headers["X-Experience-API-Version"] == "1.0.3"


@covers("XAPI-00324", "XAPI-00325")
def test_unknown_and_differing_case_parameters(world: dict[str, Any], client: TestClient) -> None:
    reg = world["regulator"]
    sid = get(client, reg).json()["statements"][0]["id"]
    r = get(client, reg, foo="bar")
    assert (r.status_code, r.json()["code"]) == (400, "invalid_xapi_query")
    wrong = {
        "StatementId": sid,
        "VoidedStatementId": sid,
        "Agent": _agent("x"),
        "Verb": xapi.VERBS["passed"]["id"],
        "Activity": "http://example.com/a",
        "Registration": sid,
        "Related_Activities": "true",
        "Related_Agents": "true",
        "Since": "2026-01-01T00:00:00Z",
        "Until": "2026-01-01T00:00:00Z",
        "Limit": "1",
        "Format": "ids",
        "Attachments": "false",
        "Ascending": "true",
    }
    for name, value in wrong.items():
        r = get(client, reg, **{name: value})
        assert (r.status_code, r.json()["code"]) == (400, "invalid_xapi_query"), name
        right = {"StatementId": "statementId", "VoidedStatementId": "voidedStatementId"}
        ok = get(client, reg, **{right.get(name, name.lower()): value})
        assert ok.status_code in (200, 404), name  # the right spelling is understood
    # repeated parameters are ambiguous: refused too
    r = client.get(URL + "?limit=1&limit=2", headers={**reg, **V})
    assert r.status_code == 400


def test_openapi_declares_the_xapi_errors() -> None:
    """A bad parameter is 400 here, never the API's 422: the document says so."""
    from app.main import create_app

    paths = create_app().openapi()["paths"]
    for method in ("get", "head"):
        statements = paths[URL][method]["responses"]
        assert {"200", "400", "401", "403", "404"} <= statements.keys()
        assert "422" not in statements
        assert "200" in paths[ABOUT][method]["responses"]


def test_every_ported_requirement_has_a_test() -> None:
    assert set(REQUIREMENTS) == COVERED
    assert len(REQUIREMENTS) == 52

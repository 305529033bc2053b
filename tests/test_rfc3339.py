"""`since`/`until` take RFC 3339 only (one type, app/rfc3339.py), on every endpoint using them
except /xapi: a number, a bare day where a time is asked, a time without its offset, full-width
digits or an impossible date are refused (422 ``validation_error`` in the API, as every invalid
parameter; the regulator pages' own 422), valid values keep working."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app import rfc3339
from app.accounts.models import Role
from tests.factories import login, make_user, sign_in

NOT_DATE_TIMES = [
    "0.5",  # the reported one: a Unix timestamp to the framework's datetime
    "1700000000",
    "2026-01-05",
    "2026-01-05T08:30:00",  # no offset
    "2026-01-05 08:30:00Z",
    "20260105T083000Z",
    "2026-01-05T08:30Z",
    "２０２６-01-05T08:30:00Z",  # full-width digits
    "2026-02-30T00:00:00Z",
    "2026-01-05T24:00:00Z",
    "2026-01-05T08:30:00+24:00",
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "",
]
DATE_TIMES = {
    "2026-01-05T08:30:00Z": datetime(2026, 1, 5, 8, 30, tzinfo=UTC),
    "2026-01-05t08:30:00.5+08:00": datetime(2026, 1, 5, 0, 30, 0, 500000, tzinfo=UTC),
    "2026-01-05T08:30:00.123456789-00:30": datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=UTC),
}
NOT_DATES = [
    "0",  # 1970-01-01 to the framework's date
    "86400",
    "2026-01-05T00:00:00Z",
    "0.5",
    "1700000000",
    "20260105",
    "2026-W02-1",
    "2026-1-5",
    "2026-02-30",
    "２０２６-01-05",
]


@pytest.mark.parametrize("value", NOT_DATE_TIMES)
def test_parse_datetime_refuses(value: str) -> None:
    with pytest.raises(ValueError):
        rfc3339.parse_datetime(value)


@pytest.mark.parametrize(("value", "expected"), DATE_TIMES.items())
def test_parse_datetime_reads_rfc3339(value: str, expected: datetime) -> None:
    t = rfc3339.parse_datetime(value)
    assert t == expected and t.utcoffset() == timedelta(0)


def test_parse_date() -> None:
    assert rfc3339.parse_date("2026-01-05") == date(2026, 1, 5)
    for value in NOT_DATES:
        with pytest.raises(ValueError):
            rfc3339.parse_date(value)
    assert rfc3339.parse_datetime("2026-01-05T08:30:00+05:45").tzinfo == UTC


@pytest.fixture
def regulator(client: TestClient, engine: Engine) -> dict[str, str]:
    return login(client, make_user(engine, Role.regulator).username)


API_DATE_TIME = ["/api/v1/audit/export", "/api/v1/reports/fraud"]


@pytest.mark.parametrize("url", API_DATE_TIME)
def test_api_refuses_what_is_not_a_date_time(
    client: TestClient, regulator: dict[str, str], url: str
) -> None:
    for param in ("since", "until"):
        for value in NOT_DATE_TIMES:
            r = client.get(url, params={param: value}, headers=regulator)
            assert r.status_code == 422, (param, value, r.status_code, r.text[:200])
            problem = r.json()
            assert problem["code"] == "validation_error"
            assert problem["errors"][0]["loc"] == ["query", param]
    for value in DATE_TIMES:
        r = client.get(url, params={"since": value}, headers=regulator)
        assert r.status_code == 200, (value, r.text[:200])


def test_api_summary_takes_rfc3339_days(client: TestClient, regulator: dict[str, str]) -> None:
    url = "/api/v1/reports/summary"
    for param in ("since", "until"):
        for value in NOT_DATES:
            r = client.get(url, params={param: value}, headers=regulator)
            assert (r.status_code, r.json()["code"]) == (422, "validation_error"), (param, value)
    r = client.get(url, params={"since": "2026-01-01", "until": "2026-02-01"}, headers=regulator)
    assert r.status_code == 200, r.text


def test_openapi_still_says_date_time(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for url, fmt in (
        ("/api/v1/audit/export", "date-time"),
        ("/api/v1/reports/fraud", "date-time"),
        ("/api/v1/reports/summary", "date"),
    ):
        params = {p["name"]: p for p in paths[url]["get"]["parameters"]}
        for name in ("since", "until"):
            schemas = params[name]["schema"].get("anyOf", [params[name]["schema"]])
            assert {"type": "string", "format": fmt} in schemas, (url, name, schemas)


def test_regulator_pages_refuse_what_is_not_rfc3339(client: TestClient, engine: Engine) -> None:
    r = sign_in(client, make_user(engine, Role.regulator).username)
    assert r.status_code == 303, r.text
    for value in ["0.5", "2026-01-05T08:30:00", "20260105T083000Z", "２０２６-01-05T08:30:00Z"]:
        r = client.get("/regulator/audit/export", params={"since": value})
        assert r.status_code == 422, (value, r.status_code)
    for value in ["20260105", "2026-W02-1"]:
        assert client.get("/regulator", params={"since": value}).status_code == 422, value
    r = client.get("/regulator/audit/export", params={"since": "2026-01-05T08:30:00+08:00"})
    assert r.status_code == 200, r.text[:300]

"""Operations endpoints: ``/metrics`` (Prometheus, operators only), ``/readyz`` (database reachable,
migrations current, face workers alive) distinct from ``/healthz``, and JSON logs."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from app.config import Settings, get_settings
from app.db import make_engine
from app.metrics import may_read
from tests.factories import (
    course_row,
    login,
    make_institution,
    make_learner,
    self_enrolled,
    start_session,
)

TOKEN = "ops-token-" + "k" * 24  # noqa: S105 - a test value


@pytest.fixture
def ops_client(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with an operator token (TestClient's client address, "testclient", is no IP)."""
    from app.main import create_app

    monkeypatch.setenv("SKILLTRACE_METRICS_TOKEN", TOKEN)
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c
    get_settings.cache_clear()


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls))


# ---------------------------------------------------------------- who may read /metrics


def test_metrics_are_refused_without_the_token_or_an_allowed_address(
    ops_client: TestClient,
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-xxxxxxxxxxxx"},
        {"X-Forwarded-For": "127.0.0.1"},
    ):
        r = ops_client.get("/metrics", headers=headers)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "not_found"
        assert "skilltrace_" not in r.text


def test_who_may_read_metrics_by_address_and_token() -> None:
    s = Settings(metrics_allow_networks="127.0.0.0/8, 10.20.0.0/16", metrics_token=TOKEN)
    assert may_read(s, "127.0.0.1", None)
    assert may_read(s, "10.20.3.4", None)
    assert not may_read(s, "10.21.3.4", None)
    assert not may_read(s, "::1", None)  # not listed here
    assert not may_read(s, None, None)
    assert may_read(s, "203.0.113.9", f"Bearer {TOKEN}")
    assert may_read(s, "203.0.113.9", f"bearer {TOKEN}")
    assert not may_read(s, "203.0.113.9", f"Bearer {TOKEN}x")
    assert not may_read(s, "203.0.113.9", f"Basic {TOKEN}")
    # No token configured: a presented empty one opens nothing.
    assert not may_read(Settings(metrics_allow_networks=""), "127.0.0.1", "Bearer ")


def test_bad_metrics_settings_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="METRICS_ALLOW_NETWORKS"):
        Settings(metrics_allow_networks="10.0.0.0/8,not-a-net")
    with pytest.raises(ValueError, match="METRICS_TOKEN"):
        Settings(metrics_token="short")  # noqa: S106


# ---------------------------------------------------------------- what /metrics says


def test_metrics_count_heartbeats_and_time_requests_per_route_template(
    ops_client: TestClient, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    course = course_row(engine, inst, heartbeat_interval_s=30)
    enrollment = self_enrolled(engine, learner, course)
    sid = start_session(engine, learner, enrollment, course)
    h = login(ops_client, learner.username)
    before = samples(ops_client)

    for _ in range(3):
        clock.advance(seconds=30)
        r = ops_client.post(f"/api/v1/sessions/{sid}/heartbeat", json={"visible": True}, headers=h)
        assert r.status_code == 200, r.text
    r = ops_client.post(
        f"/api/v1/sessions/{uuid.uuid4()}/heartbeat", json={"visible": True}, headers=h
    )
    assert r.status_code == 404
    ops_client.get("/no/such/page/" + uuid.uuid4().hex)

    after = samples(ops_client)
    route = "/api/v1/sessions/{session_id}/heartbeat"

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("skilltrace_heartbeats_total", credited="yes") == 3
    assert delta("skilltrace_heartbeats_total") == 3  # the refused one is not counted
    hist = "skilltrace_http_request_duration_seconds_count"
    assert delta(hist, route=route, method="POST", status="200") == 3
    assert delta(hist, route=route, method="POST", status="404") == 1
    assert delta(hist, route="unmatched") >= 1
    # Bounded labels: no concrete session id or unknown path ever becomes a label value.
    assert not [k for k in after if str(sid) in str(k) or "/no/such" in str(k)]


def test_metrics_report_queues_face_workers_and_the_database_pool(
    ops_client: TestClient, engine: Any
) -> None:
    found = samples(ops_client)
    assert value(found, "skilltrace_database_up") == 1
    assert ("skilltrace_webhook_deliveries", (("state", "pending"),)) in found
    assert ("skilltrace_rollcalls", (("state", "overdue"),)) in found
    assert value(found, "skilltrace_face_workers", state="configured") == 0  # FACE_WORKERS=0
    assert value(found, "skilltrace_db_pool_connections", state="size") > 0
    assert any(n == "skilltrace_face_analysis_duration_seconds_count" for n, _ in found)


# ---------------------------------------------------------------- /readyz


def test_readyz_reports_the_database_at_its_migration_head(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    db = r.json()["database"]
    assert db["revision"] == db["head"] and re.fullmatch(r"\d{4}", db["head"])


def test_readyz_is_503_when_migrations_are_not_current_and_healthz_stays_200(
    client: TestClient, engine: Any
) -> None:
    with engine.begin() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        r = client.get("/readyz")
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["code"] == "migrations_pending"
        assert (body["revision"], body["head"]) == ("0001", head)
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_cannot_be_reached(
    client: TestClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.main import ops

    unreachable = make_engine(f"sqlite:///{tmp_path}/no/such/dir/x.db", pooled=False)
    monkeypatch.setattr(ops, "get_engine", lambda: unreachable)
    r = client.get("/readyz")
    assert r.status_code == 503, r.text
    assert r.json()["code"] == "database_unavailable"
    assert client.get("/healthz").status_code == 200


def test_readyz_declares_its_refusals_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    ready = paths["/readyz"]["get"]["responses"]["503"]
    codes = ready["content"]["application/problem+json"]["schema"]["properties"]["code"]["enum"]
    assert set(codes) == {"database_unavailable", "migrations_pending", "face_engine_unavailable"}
    assert "404" in paths["/metrics"]["get"]["responses"]


# ---------------------------------------------------------------- JSON logs


def test_json_logs_are_one_object_per_line_with_the_request_id_and_no_secrets() -> None:
    from app.logging import configure_logging, request_id_var

    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_skilltrace", False)]
    configure_logging("INFO", "json")
    try:
        handler = next(h for h in root.handlers if getattr(h, "_skilltrace", False))
        assert isinstance(handler, logging.StreamHandler)
        stream = io.StringIO()
        previous = handler.setStream(stream)
        token = request_id_var.set("req-12345678")
        try:
            logging.getLogger("skilltrace").warning("opened /m/abcd-efgh-jkmn for %s", "王小明")
            try:
                raise RuntimeError("boom")
            except RuntimeError:
                logging.getLogger("skilltrace").exception("failed")
        finally:
            request_id_var.reset(token)
            handler.setStream(previous)  # type: ignore[type-var]
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        configure_logging("WARNING", "text")
        if not ours:  # leave the root logger as the test found it
            for h in [h for h in root.handlers if getattr(h, "_skilltrace", False)]:
                root.removeHandler(h)
    assert lines[0]["message"] == "opened /m/[redacted] for 王小明"
    assert lines[0]["request_id"] == "req-12345678" and lines[0]["level"] == "WARNING"
    assert lines[0]["time"].endswith("+00:00") and lines[0]["logger"] == "skilltrace"
    assert "RuntimeError: boom" in lines[1]["exception"]

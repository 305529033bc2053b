"""Prometheus metrics: what the app counts, the ASGI middleware that times requests, and who may
read ``/metrics``.

Counters and histograms live in this process (``prometheus-client``). Under ``skilltrace serve
--workers N`` (several processes behind one port) ``PROMETHEUS_MULTIPROC_DIR`` is set by the
command and every process writes its samples to files there, so one scrape, whichever process
answers it, reports the sum of all of them. Figures that are read when scraped (face workers,
the webhook outbox, the database pool) come from the process that answers, labelled with its
``pid`` where they are per process (see :func:`register_collector`).

Reading ``/metrics`` is for operators only: a request must come from an address in
``SKILLTRACE_METRICS_ALLOW_NETWORKS`` (default: loopback) or carry ``Authorization: Bearer
<SKILLTRACE_METRICS_TOKEN>``; anything else gets 404, as if there were nothing to find.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
import time
from collections.abc import Callable, Iterable
from functools import lru_cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Latency buckets (seconds) from a heartbeat's milliseconds to a face burst's seconds.
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "skilltrace_http_request_duration_seconds",
    "Time from a request's arrival to its response's last byte, per route template.",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
)
HEARTBEATS = Counter(
    "skilltrace_heartbeats",
    "Study heartbeats committed (their credit is stored).",
    ("credited",),
)
FACE_CHECKS = Counter(
    "skilltrace_face_checks",
    "Face decisions committed, by what they were for and how they ended.",
    ("purpose", "outcome"),
)
FACE_ANALYSIS_SECONDS = Histogram(
    "skilltrace_face_analysis_duration_seconds",
    "Time to analyse one burst of frames (decode, detect, quality, landmarks, embedding).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0),
)

#: Route label of a request no route answered: one value, so a scan cannot grow the series.
STORAGE_SECONDS = Histogram(
    "skilltrace_storage_operation_duration_seconds",
    "Requests to the S3-compatible file store (app/storage_s3.py) by operation (put, read, "
    "stat, range: to the first byte, delete, check) and outcome (ok, missing, error).",
    ("op", "outcome"),
    buckets=LATENCY_BUCKETS,
)
UNMATCHED = "unmatched"


class MetricsMiddleware:
    """Times every HTTP request per route template (``/api/v1/sessions/{session_id}/heartbeat``,
    never the concrete path: bounded label values), with its method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            REQUEST_SECONDS.labels(scope["method"], route_label(scope), str(status)).observe(
                time.perf_counter() - start
            )


def route_label(scope: Scope) -> str:
    """The request's path with each path parameter's value put back as ``{name}``: the route
    template, without asking the router (included routers know only their own part of it).
    Requests no route took are :data:`UNMATCHED`; the label never holds a parameter's value."""
    route = scope.get("route")
    if route is None or "endpoint" not in scope:
        return UNMATCHED
    label: str = scope.get("path", "")
    params: dict[str, object] = scope.get("path_params") or {}
    for name, v in sorted(params.items(), key=lambda kv: -len(str(kv[1]))):
        value = str(v)
        at = label.find(value)
        # Without the regex when the value is found as written (its cost showed in the profile).
        if at >= 0 and label.isascii() and label.lower().find(value.lower()) == at:
            label = label[:at] + "{" + name + "}" + label[at + len(value) :]
            continue
        label, n = re.subn(re.escape(value), "{" + name + "}", label, count=1, flags=re.I)
        if not n:  # converted beyond recognition: the route's own (local) template
            return str(getattr(route, "path", UNMATCHED))
    return label


# ---------------------------------------------------------------- scrape-time figures

_collectors: list[Callable[[], Iterable[Metric]]] = []


class _Callbacks(Collector):
    def collect(self) -> Iterable[Metric]:
        for fn in list(_collectors):
            yield from fn()


_CALLBACKS = _Callbacks()
REGISTRY.register(_CALLBACKS)


def register_collector(fn: Callable[[], Iterable[Metric]]) -> None:
    """Add figures computed when ``/metrics`` is scraped (idempotent for the same function)."""
    if fn not in _collectors:
        _collectors.append(fn)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type: this process's metrics (and its CPU, memory
    and open files), or in multiprocess mode every worker's summed, plus the scrape-time
    figures."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(_CALLBACKS)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# ---------------------------------------------------------------- who may read /metrics


@lru_cache(maxsize=8)
def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(
        ipaddress.ip_network(n.strip(), strict=False) for n in spec.split(",") if n.strip()
    )


def may_read(settings: Settings, client_host: str | None, authorization: str | None) -> bool:
    """Whether a request may read ``/metrics``: the operator's token, or an allowed address."""
    token = settings.metrics_token
    if token and authorization:
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), token.encode()
        ):
            return True
    if not client_host:
        return False
    try:
        address = ipaddress.ip_address(client_host)
    except ValueError:
        return False
    return any(address in net for net in _networks(settings.metrics_allow_networks))

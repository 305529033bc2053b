"""The operators' routes: the public keys (JWKS), liveness and readiness probes, Prometheus
metrics, and the favicon redirect."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict

from app import __version__, metrics, status
from app.api import examples as api_examples
from app.attendance import engine as face_engine
from app.attendance.exceptions import FaceEngineUnavailable
from app.attendance.pool import RETRY_AFTER_S
from app.audit import signing
from app.certificates import credential
from app.config import Settings
from app.db import get_engine
from app.errors import (
    DatabaseUnavailable,
    InternalError,
    MigrationsPending,
    NotFound,
    problem_responses,
)


class FacePoolOut(BaseModel):
    """The face workers, as ``/readyz`` reports them."""

    mode: Literal["processes", "in_process"]
    workers: int  # configured worker processes (0: frames analysed in the request thread)
    alive: int
    pids: list[int]
    in_flight: int  # frames queued or being analysed
    restarts: int  # broken pools replaced since start-up


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str


class DatabaseOut(BaseModel):
    """The database, as ``/readyz`` reports it."""

    kind: str  # sqlite | postgresql
    revision: str | None  # the migration the database is at
    head: str | None  # the migration this version of the code needs


class ReadyOut(BaseModel):
    status: Literal["ready"]
    version: str
    database: DatabaseOut
    face_pool: FacePoolOut

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "version": __version__,
                    "database": {"kind": "postgresql", "revision": "0013", "head": "0013"},
                    "face_pool": {
                        "mode": "processes",
                        "workers": 2,
                        "alive": 2,
                        "pids": [4121, 4122],
                        "in_flight": 3,
                        "restarts": 0,
                    },
                }
            ]
        }
    )


def _face_pool_out(settings: Settings) -> tuple[FacePoolOut, bool]:
    if settings.face_workers == 0:
        return FacePoolOut(
            mode="in_process", workers=0, alive=0, pids=[], in_flight=0, restarts=0
        ), True
    state = face_engine.pool_state()
    if state is None:  # not started (or already stopped)
        return FacePoolOut(
            mode="processes",
            workers=settings.face_workers,
            alive=0,
            pids=[],
            in_flight=0,
            restarts=0,
        ), False
    out = FacePoolOut(
        mode="processes",
        workers=state.workers,
        alive=state.alive,
        pids=list(state.pids),
        in_flight=state.in_flight,
        restarts=state.restarts,
    )
    return out, state.ready


def install_ops_routes(app: FastAPI, settings: Settings) -> None:
    @app.get(
        "/.well-known/jwks.json",
        tags=["audit"],
        responses={
            200: {"content": {"application/json": {"example": api_examples.JWKS}}},
            **problem_responses(InternalError),
        },
    )
    def jwks() -> dict[str, Any]:
        """Public keys for audit checkpoints (EdDSA) and certificate credentials (RS256)."""
        return {"keys": signing.jwks()["keys"] + credential.jwks()["keys"]}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        """Browsers that ask before reading the page's <link rel=icon> get the SVG icon."""
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/healthz", tags=["ops"], responses=problem_responses(InternalError))
    def healthz() -> HealthOut:
        """Liveness probe: the process answers (see ``/readyz`` for the face workers). It reads
        nothing, so its only error is the generic 500 ``internal_error``; a probe that gets no
        answer at all should restart the process."""
        return HealthOut(status="ok", version=__version__)

    @app.get(
        "/readyz",
        tags=["ops"],
        response_model=ReadyOut,
        responses=problem_responses(FaceEngineUnavailable, DatabaseUnavailable, MigrationsPending),
    )
    def readyz() -> ReadyOut:
        """Readiness probe for the balancer: 200 when the database answers, its schema is at
        this version's migration head and every face worker is alive; else 503 with the reason
        (``database_unavailable``, ``migrations_pending``, ``face_engine_unavailable``; a face
        pool found broken is replaced on the spot)."""
        db = status.readiness(get_engine())
        face_pool, ready = _face_pool_out(settings)
        if not ready:
            raise FaceEngineUnavailable(
                f"{face_pool.alive} of {face_pool.workers} face workers are running.",
                retry_after=RETRY_AFTER_S,
                face_pool=face_pool.model_dump(),
            )
        return ReadyOut(
            status="ready",
            version=__version__,
            database=DatabaseOut(kind=db.kind, revision=db.revision, head=db.head),
            face_pool=face_pool,
        )

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=PlainTextResponse,
        responses={
            200: {
                "description": "The Prometheus text exposition format.",
                "content": {
                    "text/plain": {
                        "example": "# HELP skilltrace_heartbeats_total Study heartbeats "
                        "committed.\n# TYPE skilltrace_heartbeats_total counter\n"
                        'skilltrace_heartbeats_total{credited="yes"} 1520.0\n'
                    }
                },
            },
            **problem_responses(NotFound),
        },
    )
    def metrics_endpoint(request: Request) -> Response:
        """Prometheus metrics, for operators: from an address in
        ``SKILLTRACE_METRICS_ALLOW_NETWORKS`` or with ``Authorization: Bearer
        <SKILLTRACE_METRICS_TOKEN>``; anyone else gets 404."""
        client = request.client.host if request.client else None
        if not metrics.may_read(settings, client, request.headers.get("authorization")):
            raise NotFound()
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

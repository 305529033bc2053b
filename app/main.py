"""The application factory."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__, metrics, status
from app.accounts import tokencache
from app.api import audit as audit_api
from app.api import auth as auth_api
from app.api import certificates as certificates_api
from app.api import claims as claims_api
from app.api import classes as classes_api
from app.api import courses as courses_api
from app.api import eligibility as eligibility_api
from app.api import examples as api_examples
from app.api import exchange as exchange_api
from app.api import face as face_api
from app.api import filings as filings_api
from app.api import handoff as handoff_api
from app.api import institutions as institutions_api
from app.api import media as media_api
from app.api import offline as offline_api
from app.api import outcomes as outcomes_api
from app.api import passwords as passwords_api
from app.api import programmes as programmes_api
from app.api import registry as registry_api
from app.api import reports as reports_api
from app.api import study as study_api
from app.api import webhooks as webhooks_api
from app.api import xapi as xapi_api
from app.api.openapi import install_openapi
from app.attendance import engine as face_engine
from app.attendance.exceptions import FaceEngineUnavailable
from app.attendance.pool import RETRY_AFTER_S
from app.audit import signing
from app.certificates import credential
from app.config import Settings, get_settings
from app.db import get_engine
from app.errors import (
    DatabaseUnavailable,
    DomainError,
    InternalError,
    MigrationsPending,
    NotFound,
    problem_responses,
)
from app.exchange.delivery import deliver_forever as deliver_exchange_forever
from app.idempotency.middleware import IdempotencyMiddleware
from app.limits import BodySizeLimitMiddleware
from app.logging import RequestIdMiddleware, configure_logging, request_id_var
from app.metrics import MetricsMiddleware
from app.routes import allowed_methods
from app.validation import InvalidText
from app.web import account as account_web
from app.web import certificates as certificates_web
from app.web import docs as docs_web
from app.web import eligibility as eligibility_web
from app.web import handoff as handoff_web
from app.web import integrations as integrations_web
from app.web import learner as learner_web
from app.web import learner_certificates as learner_certificates_web
from app.web import notices as notices_web
from app.web import offline as offline_web
from app.web import passwords as passwords_web
from app.web import render as render_web
from app.web import review as review_web
from app.web import signup as signup_web
from app.web.admin import audit as admin_audit_web
from app.web.admin import institutions as admin_institutions_web
from app.web.admin import status as admin_status_web
from app.web.admin import users as admin_users_web
from app.web.regulator import claims as regulator_claims_web
from app.web.regulator import dashboard as regulator_dashboard_web
from app.web.regulator import filings as regulator_filings_web
from app.web.regulator import records as regulator_records_web
from app.web.regulator import registry as regulator_registry_web
from app.web.regulator import standards as regulator_standards_web
from app.web.staff import certificates as staff_certificates_web
from app.web.staff import checks as staff_checks_web
from app.web.staff import claim_batches as staff_claim_batches_web
from app.web.staff import claims as staff_claims_web
from app.web.staff import classes as staff_classes_web
from app.web.staff import content as staff_content_web
from app.web.staff import courses as staff_courses_web
from app.web.staff import filings as staff_filings_web
from app.web.staff import learners as staff_learners_web
from app.web.staff import rosters as staff_rosters_web
from app.webhooks.delivery import deliver_forever as deliver_webhooks_forever
from app.wiring import wire

log = logging.getLogger("skilltrace")

PROBLEM = "application/problem+json"
API_PREFIX = "/api/v1"
#: The routes that take a lesson video upload (a larger body limit than everything else).
VIDEO_UPLOADS = (
    r"/api/v1/courses/[0-9a-fA-F-]{36}/lessons/video",
    r"/staff/courses/[0-9a-fA-F-]{36}/lessons/video",
)


def _problem(status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://skilltrace.cn/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
        **extra,
    }
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _lang(request: Request) -> str:
    return request.headers.get("accept-language", "zh-CN").split(",")[0].strip() or "zh-CN"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        body = exc.to_problem(_lang(request))
        return _problem(
            exc.status,
            exc.code,
            exc.title,
            body.pop("detail"),
            **{k: v for k, v in body.items() if k not in ("type", "title", "status", "code")},
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        if errors and all(e["type"] == InvalidText.code for e in errors):
            # Invisible or control characters in a text field: the rule's own code and words.
            return _problem(
                422,
                InvalidText.code,
                InvalidText.title,
                InvalidText.message_zh
                if _lang(request).startswith("zh")
                else InvalidText.message_en,
                errors=errors,
                field=next(p for p in reversed(errors[0]["loc"]) if not p.isdigit()),
                message_zh=InvalidText.message_zh,
            )
        return _problem(
            422,
            "validation_error",
            "Invalid request",
            "The request is not valid.",
            errors=errors,
            message_zh="提交的内容有误，请检查后重试。",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # The framework's "error parsing the body" (not JSON, not multipart): to the client
            # it is one more invalid request, with the same code as every other.
            return _problem(
                422,
                "validation_error",
                "Invalid request",
                f"The request is not valid: {exc.detail}",
                message_zh="提交的内容有误，请检查后重试。",
            )
        codes = {
            404: "not_found",
            405: "method_not_allowed",
            401: "not_authenticated",
            413: "image_too_large",
        }
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        response = _problem(exc.status_code, code, str(exc.detail), str(exc.detail))
        for name, value in (exc.headers or {}).items():  # the framework's own headers
            response.headers.setdefault(name, value)
        if exc.status_code == 405:
            # RFC 9110 §15.5.6: every method the path has (the framework names only those of
            # the first route matching it).
            response.headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
        return response

    @app.exception_handler(Exception)
    async def unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = InternalError()
        return _problem(err.status, err.code, err.title, err.message_en)


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


async def _sweep_forever(interval_s: int) -> None:
    """Mark roll-calls nobody answered as missed, off the event loop, every few seconds."""
    from app.courses.study import sweep_missed_rollcalls
    from app.db import get_engine, transaction

    def sweep() -> int:
        with transaction(get_engine()) as session:
            return sweep_missed_rollcalls(session)

    while True:
        await asyncio.sleep(interval_s)
        try:
            n = await anyio.to_thread.run_sync(sweep)
            if n:
                log.info("marked %d unanswered roll-calls as missed", n)
        except Exception:
            log.exception("roll-call sweep failed; retrying")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    metrics.register_collector(status.metric_families)
    wire()  # the domains' cross-domain reactions (certificates, webhooks, …): app/wiring.py

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        signing.signing_key()  # create the audit key at start-up, not on the first request
        face_engine.start()
        stop_listening = threading.Event()
        tokencache.listen(settings.resolved_database_url, stop_listening)
        sweeper = None
        if settings.rollcall_sweep_interval_s:
            sweeper = asyncio.create_task(_sweep_forever(settings.rollcall_sweep_interval_s))
        webhook_sender = None
        if settings.webhook_delivery_interval_s:
            webhook_sender = asyncio.create_task(
                deliver_webhooks_forever(settings.webhook_delivery_interval_s)
            )
        exchange_sender = None
        if settings.regional_exchange_interval_s and settings.regional_exchange_url:
            exchange_sender = asyncio.create_task(
                deliver_exchange_forever(settings.regional_exchange_interval_s)
            )
        log.info("SkillTrace %s (%s) on %s", __version__, settings.env.value, settings.base_url)
        try:
            yield
        finally:
            stop_listening.set()
            if sweeper is not None:
                sweeper.cancel()
            if webhook_sender is not None:
                webhook_sender.cancel()
            if exchange_sender is not None:
                exchange_sender.cancel()
            # Off the event loop: waits (bounded) for the workers to exit, kills stragglers.
            await anyio.to_thread.run_sync(face_engine.shutdown)

    app = FastAPI(
        title="SkillTrace",
        version=__version__,
        description="Subsidy-eligible online vocational training with face-verified attendance.",
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load their scripts from a CDN (blank offline, and inline
        # script the CSP forbids): /docs is served by app/web/docs.py from vendored files.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(IdempotencyMiddleware)  # innermost: inside the body size limit
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        # Lesson videos: their own limit (plus room for the form around the file).
        larger=[(pattern, settings.video_max_bytes + 1024 * 1024) for pattern in VIDEO_UPLOADS],
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(MetricsMiddleware)  # outermost: times everything, the 413s included
    install_error_handlers(app)
    install_openapi(app)
    # The study routes first: every open page's heartbeat is matched against the routes in
    # order, and no other route shares a study route's method and path.
    for module in (
        study_api,
        auth_api,
        passwords_api,
        institutions_api,
        face_api,
        courses_api,
        classes_api,
        offline_api,
        media_api,
        audit_api,
    ):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(xapi_api.router)
    app.include_router(reports_api.router, prefix=API_PREFIX)
    app.include_router(certificates_api.router, prefix=API_PREFIX)
    app.include_router(claims_api.router, prefix=API_PREFIX)
    app.include_router(exchange_api.router, prefix=API_PREFIX)
    app.include_router(outcomes_api.router, prefix=API_PREFIX)
    app.include_router(programmes_api.router, prefix=API_PREFIX)
    app.include_router(eligibility_api.router, prefix=API_PREFIX)
    app.include_router(filings_api.router, prefix=API_PREFIX)
    app.include_router(registry_api.router, prefix=API_PREFIX)
    app.include_router(notices_web.router)
    app.include_router(certificates_web.router)
    for page in (
        account_web,
        signup_web,
        passwords_web,
        learner_web,
        offline_web,
        review_web,
        regulator_dashboard_web,
        regulator_records_web,
        regulator_claims_web,
        regulator_standards_web,
        regulator_filings_web,
        regulator_registry_web,
        staff_courses_web,
        staff_classes_web,
        staff_filings_web,
        staff_rosters_web,
        staff_content_web,
        staff_learners_web,
        staff_checks_web,
        staff_claims_web,
        staff_claim_batches_web,
        staff_certificates_web,
        eligibility_web,
    ):
        app.include_router(page.router)
    app.include_router(learner_certificates_web.router)
    app.include_router(handoff_api.router, prefix=API_PREFIX)
    app.include_router(handoff_web.router)
    app.include_router(integrations_web.router)
    app.include_router(webhooks_api.router, prefix=API_PREFIX)
    app.include_router(docs_web.router)
    for admin_pages in (admin_status_web, admin_institutions_web, admin_users_web, admin_audit_web):
        app.include_router(admin_pages.router)
    app.mount("/static", StaticFiles(directory=render_web.STATIC_DIR), name="static")

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

    return app

"""The application factory: settings, logging, the domains' wiring, then the middleware, error
handlers, OpenAPI, routers and operators' routes (each in its own module of this package)."""

from __future__ import annotations

from fastapi import FastAPI

from app import __version__, metrics, status
from app.api.openapi import install_openapi
from app.config import Settings, get_settings
from app.logging import configure_logging
from app.main.lifespan import lifespan_of
from app.main.middleware import install_middleware
from app.main.problems import install_error_handlers
from app.main.routers import include_routers
from app.wiring import wire


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    metrics.register_collector(status.metric_families)
    wire()  # the domains' cross-domain reactions (certificates, webhooks, …): app/wiring.py

    app = FastAPI(
        title="SkillTrace",
        version=__version__,
        description="Subsidy-eligible online vocational training with face-verified attendance.",
        lifespan=lifespan_of(settings),
        # FastAPI's own /docs and /redoc load their scripts from a CDN (blank offline, and inline
        # script the CSP forbids): /docs is served by app/web/docs.py from vendored files.
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry hooks, off: the app's metrics are Prometheus (app/metrics.py)
        # and no tracer is configured, yet asking whether one was cost ~40 µs of every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    install_middleware(app, settings)
    install_error_handlers(app)
    install_openapi(app)
    include_routers(app, settings)
    return app

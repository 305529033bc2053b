"""Logging with a request ID on every line, and the middleware that assigns it."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


#: Paths that carry a phone hand-off's code, which is a credential: never written to a log.
_SECRET_PATHS = re.compile(r"(/m/|/api/v1/handoffs/)[^/?#\s\"']+")
#: Loggers that write request paths (uvicorn's access and error logs, the app's own).
_PATH_LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "skilltrace")


def redact(text: str) -> str:
    """``/m/abcd-efgh-jkmn`` → ``/m/[redacted]`` (and the hand-off API's paths)."""
    return _SECRET_PATHS.sub(r"\1[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites a record's message and arguments so no hand-off code reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


_REDACT = RedactSecretsFilter()


def install_redaction() -> None:
    """Attach the redaction to the loggers that write paths (idempotent).

    Logger filters run before any handler (ours, uvicorn's, a test's), and uvicorn's own logging
    configuration keeps them.
    """
    for name in _PATH_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (``SKILLTRACE_LOG_FORMAT=json``), for log collectors: ``time``
    (RFC 3339, UTC, milliseconds), ``level``, ``logger``, ``message``, ``request_id``, ``pid``,
    and ``exception`` (the formatted traceback) when there is one. Messages are redacted like
    the text lines (the filter runs before any formatter)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "pid": record.process,
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Our handler on the root logger (once), its level and its format (``text`` or ``json``)."""
    install_redaction()
    root = logging.getLogger()
    formatter = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    ours = [h for h in root.handlers if getattr(h, "_skilltrace", False)]
    if ours:
        for h in ours:
            h.setFormatter(formatter)
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler._skilltrace = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    handler.addFilter(_REDACT)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)


class RequestIdMiddleware:
    """Takes a sane ``X-Request-ID`` from the caller or makes one; echoes it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

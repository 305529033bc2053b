"""The error handlers: every error the app answers with is an RFC 9457 problem+json body with a
stable ``code`` (domain errors, invalid requests, the framework's own 404/405/413, and a 500 that
logs the unexpected)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import DomainError, InternalError
from app.logging import request_id_var
from app.routes import allowed_methods
from app.validation import InvalidText

log = logging.getLogger("skilltrace")

PROBLEM = "application/problem+json"


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

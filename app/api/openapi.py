"""OpenAPI post-processing: request-validation errors are problem+json like every other error."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.errors import ValidationFailed, problem_responses
from app.idempotency.middleware import document_idempotency

_METHODS = {"get", "post", "put", "patch", "delete"}


def _validation_problem() -> dict[str, Any]:
    return problem_responses(ValidationFailed)[422]


def install_openapi(app: FastAPI) -> None:
    """Document the 422 ``validation_error`` problem on every operation that takes input."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path_item in schema.get("paths", {}).values():
            for method, op in path_item.items():
                if method not in _METHODS:
                    continue
                if not (op.get("parameters") or op.get("requestBody")):
                    continue
                responses = op.setdefault("responses", {})
                existing = responses.get("422", {})
                problem = existing.get("content", {}).get("application/problem+json")
                if problem is None:
                    responses["422"] = _validation_problem()
                    continue
                enum = problem["schema"]["properties"]["code"]["enum"]
                if "validation_error" not in enum:
                    enum.append("validation_error")
                    enum.sort()
                existing["description"] += "; `validation_error`: the request is not valid"
        document_idempotency(schema)  # the optional Idempotency-Key header on POST/PATCH
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

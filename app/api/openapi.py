"""OpenAPI post-processing: request-validation errors are problem+json like every other error,
and every operation documents who may call it (the access rule its guard declares)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from app.accounts.exceptions import InsufficientRole, InvalidToken, MissingScope
from app.accounts.principal import SCOPES
from app.api.deps import Access, CsrfFailed, route_access
from app.api.examples import EXAMPLES, example_for
from app.errors import DomainError, NotAuthenticated, ValidationFailed, problem_responses
from app.idempotency.middleware import document_idempotency
from app.validation import InvalidText

_METHODS = {"get", "head", "post", "put", "patch", "delete"}  # head: the xAPI resources


def _validation_problem() -> dict[str, Any]:
    return problem_responses(ValidationFailed, InvalidText)[422]


#: The two kinds of bearer credential (both sent as ``Authorization: Bearer …``).
SECURITY_SCHEMES: dict[str, Any] = {
    "AccessToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A signed-in user's access token from `POST /api/v1/auth/token` "
        "(browser pages: the session cookie plus the `X-CSRF-Token` header).",
    },
    "ApiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A partner API key of one institution. An operation that API keys may "
        "call lists the one scope the key must carry (`x-api-key-scope`); an operation "
        "without `ApiKey` in its `security` refuses every key with 403 `forbidden`. Scopes: "
        + "; ".join(f"`{name}`: {text}" for name, text in SCOPES.items())
        + ".",
    },
}

_SIGNED_IN_ERRORS: tuple[type[DomainError], ...] = (
    NotAuthenticated,
    InvalidToken,
    InsufficientRole,
    CsrfFailed,
)


def _merge_errors(op: dict[str, Any], errors: tuple[type[DomainError], ...]) -> None:
    """Add the guard's error codes to an operation's documented problem responses."""
    responses = op.setdefault("responses", {})
    for status, entry in problem_responses(*errors).items():
        existing = responses.get(str(status))
        problem = (existing or {}).get("content", {}).get("application/problem+json")
        if problem is None:
            responses[str(status)] = entry
            continue
        enum = problem["schema"]["properties"]["code"]["enum"]
        for err in errors:
            if err.status == status and err.code not in enum:
                enum.append(err.code)
                existing["description"] += f"; `{err.code}`: {err.message_en}"
        enum.sort()


def _document_access(op: dict[str, Any], access: Access) -> None:
    op["x-access"] = access.kind
    if access.kind == "public":
        op["security"] = []
        return
    errors = _SIGNED_IN_ERRORS
    op["security"] = [{"AccessToken": []}]
    if access.scope is not None:
        op["security"].append({"ApiKey": [access.scope.value]})
        op["x-api-key-scope"] = access.scope.value
        errors = (*errors, MissingScope)
        note = f"API keys need the `{access.scope.value}` scope."
    else:
        note = "Signed-in users only; API keys are refused."
    op["description"] = (op.get("description", "") + f"\n\n**Access:** {note}").strip()
    _merge_errors(op, errors)


def access_by_operation(app: FastAPI) -> dict[tuple[str, str], Access]:
    """``(path, method)`` → the access rule declared by each API route's guard."""
    out: dict[tuple[str, str], Access] = {}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        rules = route_access(route.dependant)
        if len(rules) == 1:
            (rule,) = rules
            for method in route.methods or ():
                out[(str(route.path_format), method.lower())] = rule
    return out


def install_openapi(app: FastAPI) -> None:
    """Document the 422 ``validation_error`` problem on every operation that takes input."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path, path_item in schema.get("paths", {}).items():
            for method, op in path_item.items():
                if method not in _METHODS:
                    continue
                if path.startswith("/xapi/"):
                    # xAPI reads its parameters itself: a bad one is 400 (Communication 3.2).
                    op.get("responses", {}).pop("422", None)
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
                for err in (ValidationFailed, InvalidText):
                    if err.code not in enum:
                        enum.append(err.code)
                        existing["description"] += f"; `{err.code}`: {err.message_en}"
                enum.sort()
        document_idempotency(schema)  # the optional Idempotency-Key header on POST/PATCH
        access = access_by_operation(app)
        for path, path_item in schema.get("paths", {}).items():
            for method, op in path_item.items():
                if method in _METHODS and (path, method) in access:
                    _document_access(op, access[(path, method)])
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        add_examples(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error_classes() -> dict[str, type[DomainError]]:
    """Every error code the services can raise → (the first) class raising it."""
    out: dict[str, type[DomainError]] = {}
    todo: list[type[DomainError]] = [DomainError]
    while todo:
        cls = todo.pop(0)
        out.setdefault(cls.code, cls)
        todo.extend(cls.__subclasses__())
    return out


def _problem_examples(codes: list[str]) -> dict[str, Any]:
    """One named example per documented ``code``: the body the service really sends."""
    classes = _error_classes()
    out: dict[str, Any] = {}
    for code in codes:
        cls = classes.get(code)
        if cls is None:
            continue
        body = cls().to_problem("en")
        out[code] = {"summary": cls.message_en, "value": body}
    return out


def add_examples(schema: dict[str, Any]) -> None:
    """Give every component schema and every problem response a realistic example.

    Component examples come from :mod:`app.api.examples` (or the model's own
    ``json_schema_extra``); problem+json responses get one example per error code, built by
    the error class itself, so an example can never drift from what the API sends.
    """
    components = schema.get("components", {}).get("schemas", {})
    for name, component in components.items():
        example = example_for(name, component)
        if example is not None:
            component["examples"] = [example]
        else:  # the model's own: FastAPI dropped its null members (exclude_none)
            for own in component.get("examples", []):
                _restore_nulls(own, component, components)
    for path_item in schema.get("paths", {}).values():
        for method, op in path_item.items():
            if method not in _METHODS:
                continue
            for response in op.get("responses", {}).values():
                _list_example(response.get("content", {}).get("application/json"), components)
                media = response.get("content", {}).get("application/problem+json")
                if media is None or "examples" in media:
                    continue
                codes = media.get("schema", {}).get("properties", {}).get("code", {}).get("enum")
                if codes:
                    media["examples"] = _problem_examples(codes)


def _list_example(media: dict[str, Any] | None, components: dict[str, Any]) -> None:
    """A JSON array of a component gets a one-item list of that component's example."""
    if media is None or "example" in media or "examples" in media:
        return
    body = media.get("schema", {})
    ref = body.get("items", {}).get("$ref", "") if body.get("type") == "array" else ""
    name = ref.rsplit("/", 1)[-1]
    if name in EXAMPLES or components.get(name, {}).get("examples"):
        media["example"] = [components[name]["examples"][0]]


def _nullable(prop: dict[str, Any]) -> bool:
    return any(alt.get("type") == "null" for alt in prop.get("anyOf", [])) or (
        prop.get("type") == "null"
    )


def _restore_nulls(example: Any, schema: dict[str, Any], components: dict[str, Any]) -> None:
    """Put back the ``null`` members of a model's own example: FastAPI builds the document with
    ``exclude_none``, which drops them, and a required nullable member then goes missing."""
    ref = schema.get("$ref", "")
    if ref:
        schema = components.get(ref.rsplit("/", 1)[-1], {})
    if isinstance(example, list):
        for item in example:
            _restore_nulls(item, schema.get("items", {}), components)
        return
    if not isinstance(example, dict):
        return
    props = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in example and _nullable(props.get(key, {})):
            example[key] = None
    for key, value in example.items():
        prop = props.get(key, {})
        for alt in [prop, *prop.get("anyOf", [])]:
            if "$ref" in alt or alt.get("type") in ("object", "array"):
                _restore_nulls(value, alt, components)

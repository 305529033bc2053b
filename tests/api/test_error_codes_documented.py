"""Every error code the services can raise is in the OpenAPI document (issue 18 item 10: "every
endpoint declares its error codes"; partners code against the ``code``).

Each :class:`~app.errors.DomainError` subclass anywhere in ``app`` must appear in at least one
operation's documented problem responses, unless it is listed below: a base class whose
subclasses carry the codes, or a refusal only the administrator's pages or the command line can
meet (no API operation reaches it). A new error raised on an API route and declared nowhere fails
here; so does an entry below that has become documented or is gone.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import app
from app.errors import DomainError
from app.main import create_app

NOT_ON_THE_API = {
    # Bases: never raised themselves; their subclasses have their own codes.
    "conflict": "app.errors.Conflict",
    "face_rejected": "app.attendance.exceptions.FaceRejected",
    "not_ready": "app.errors.ServiceNotReady",
    # The administrator's pages and the CLI (app/accounts/administration.py, app/cli/).
    "cannot_lock_self": "app.accounts.exceptions.CannotLockSelf",
    "reason_required": "app.accounts.exceptions.ReasonRequired",
    "institution_code_taken": "app.accounts.exceptions.InstitutionCodeTaken",
    "jurisdiction_required": "app.programmes.exceptions.JurisdictionRequired",
    "invalid_region_file": "app.programmes.exceptions.InvalidRegionFile",
}


def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _error_classes() -> dict[str, set[str]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if not module.name.endswith("__main__"):  # running it would start the CLI
            importlib.import_module(module.name)
    codes: dict[str, set[str]] = {}
    for cls in _subclasses(DomainError):
        codes.setdefault(cls.code, set()).add(f"{cls.__module__}.{cls.__qualname__}")
    return codes


def _documented(spec: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for item in spec["paths"].values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for response in op.get("responses", {}).values():
                media = response.get("content", {}).get("application/problem+json")
                if media is not None:
                    found |= set(media["schema"]["properties"]["code"]["enum"])
    return found


def test_every_error_code_is_documented_on_some_operation() -> None:
    codes = _error_classes()
    documented = _documented(create_app().openapi())
    assert len(codes) > 150 and len(documented) > 150
    undocumented = {
        code: sorted(names)
        for code, names in codes.items()
        if code not in documented and code not in NOT_ON_THE_API
    }
    assert undocumented == {}, "raised by services, declared by no operation"
    stale = {
        code: where
        for code, where in NOT_ON_THE_API.items()
        if code in documented or where not in codes.get(code, set())
    }
    assert stale == {}, "listed as not on the API, but documented or gone"

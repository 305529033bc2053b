"""Realistic examples for the OpenAPI document: one per component schema, keyed by its name.

Partners read these first, and schemathesis replays them (its ``examples`` phase), so each one is
a value the API would really send or accept: Chinese names, GB 11643 ID numbers whose check
character is right, real occupation codes of 《中华人民共和国职业分类大典》(2022), times in
Asia/Shanghai. ``tests/api/test_openapi_examples.py`` validates every example against its schema
and counts the operations and schemas left without one.

A schema may instead carry its own example (``json_schema_extra={"examples": [...]}``); this
module only fills in schemas that have none.

The package's modules: :mod:`~app.api.examples.values` (ids and values the examples share);
:mod:`~app.api.examples.components`, :mod:`~app.api.examples.study` (face checks and study) and
:mod:`~app.api.examples.classes` (one example per component schema, keyed by its name);
:mod:`~app.api.examples.documents` (bodies that are not a component schema). Callers import this
package: ``from app.api import examples``.
"""

from __future__ import annotations

import copy
from typing import Any

from app.api.examples.classes import CLASSES
from app.api.examples.components import COMPONENTS
from app.api.examples.documents import (
    AUDIT_CSV,
    AUDIT_NDJSON,
    CLAIMS_CSV,
    JWKS,
    XAPI_RESULT,
    XAPI_STATEMENT,
)
from app.api.examples.study import STUDY

__all__ = [
    "AUDIT_CSV",
    "AUDIT_NDJSON",
    "CLAIMS_CSV",
    "EXAMPLES",
    "JWKS",
    "XAPI_RESULT",
    "XAPI_STATEMENT",
    "example_for",
]

#: Every component schema's example, keyed by the schema's name.
EXAMPLES: dict[str, Any] = {**COMPONENTS, **STUDY, **CLASSES}


def example_for(name: str, schema: dict[str, Any]) -> Any | None:
    """The example for component ``name``: its own, this package's, or an enum's first value."""
    if "examples" in schema or "example" in schema:
        return None
    if name in EXAMPLES:
        return copy.deepcopy(EXAMPLES[name])
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    return None

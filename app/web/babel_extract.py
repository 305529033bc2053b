"""Babel extractor for the page modules: every Chinese string literal is a message id.

The page handlers keep their words in plain dicts and constants (flash messages, chart titles,
indicator explanations, the scripts' strings), Chinese being the source language. Rather than
wrap each in a marker, this extractor takes every string constant in ``app/web/*.py`` that
contains a CJK character, except docstrings. ``babel.cfg`` maps it; ``make i18n`` runs it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import IO, Any

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are docstrings (or bare string statements)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for stmt in body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                out.add(id(stmt.value))
    return out


def _in_fstring(tree: ast.AST) -> set[int]:
    """The literal pieces of f-strings (a call inside one, ``t("…")``, is still extracted)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.update(id(v) for v in node.values if isinstance(v, ast.Constant))
    return out


def chinese_literals(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every CJK string constant that is not a docstring or f-string part."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _in_fstring(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and CJK.search(node.value)
        ):
            yield node.lineno, node.value


def extract_cjk(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel's extractor protocol: (lineno, funcname, message, comments)."""
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    for lineno, text in sorted(chinese_literals(source)):
        yield lineno, None, text, []

"""The ``format`` parameter: ``ids``, ``exact`` or ``canonical`` (the language maps narrowed to
the ``Accept-Language`` the caller prefers)."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "formatted",
]


def _pick_language(names: dict[str, str], accept: str | None) -> dict[str, str]:
    """One entry of a language map: the best by ``Accept-Language`` (exact tag, then the same
    primary language), else the first (Communication 2.1.3 ``canonical``)."""
    wanted: list[tuple[float, str]] = []
    for part in (accept or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            wanted.append((q, tag.lower()))
    wanted.sort(key=lambda w: -w[0])
    lowered = {k.lower(): k for k in names}
    for _, tag in wanted:
        if tag in lowered:
            return {lowered[tag]: names[lowered[tag]]}
    for _, tag in wanted:
        for low, key in lowered.items():
            if low.split("-")[0] == tag.split("-")[0]:
                return {key: names[key]}
    first = next(iter(names))
    return {first: names[first]}


def formatted(st: dict[str, Any], fmt: str, accept_language: str | None = None) -> dict[str, Any]:
    """A statement in the requested ``format``: ``exact`` as stored; ``ids`` with agents reduced
    to their identifier and verbs and activities to their ``id``; ``canonical`` with every
    language map reduced to one language (by ``Accept-Language``)."""
    if fmt == "exact":
        return st
    out: dict[str, Any] = json.loads(json.dumps(st))
    if fmt == "ids":
        out["verb"] = {"id": st["verb"]["id"]}
        if st["object"].get("objectType") == "Activity":
            out["object"] = {"objectType": "Activity", "id": st["object"]["id"]}
        for who in ("actor", "authority"):
            if who in out:
                out[who] = {"objectType": "Agent", "account": out[who]["account"]}
        return out
    if "display" in out["verb"]:
        out["verb"]["display"] = _pick_language(out["verb"]["display"], accept_language)
    definition = out["object"].get("definition")
    if definition:
        for key in ("name", "description"):
            if key in definition:
                definition[key] = _pick_language(definition[key], accept_language)
    return out

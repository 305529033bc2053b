"""The start-up log line of the 1:N face index says how many templates it loaded, and an empty
index says why it is empty (a new platform, or the demo, whose face decisions are simulated
without anyone's face), so it does not read as a fault."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main.lifespan import templates_loaded
from tests.attendance.index_world import add_template, face
from tests.factories import make_learner


class _Seen(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.loaded = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        self.lines.append(line)
        if line.startswith("face index loaded:"):
            self.loaded.set()


def _loaded_line(monkeypatch: pytest.MonkeyPatch) -> str:
    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("SKILLTRACE_FACE_INDEX_REFRESH_INTERVAL_S", "3600")
    get_settings.cache_clear()
    seen = _Seen()
    log = logging.getLogger("skilltrace")
    log.addHandler(seen)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        with TestClient(create_app()):
            assert seen.loaded.wait(120), seen.lines
    finally:
        log.removeHandler(seen)
        log.setLevel(level)
    (line,) = [x for x in seen.lines if x.startswith("face index loaded:")]
    return line


def test_an_empty_index_says_why(app_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    line = _loaded_line(monkeypatch)
    assert line.startswith("face index loaded: 0 templates: no enrolled faces yet in "), line


def test_a_loaded_index_counts_its_templates(
    app_env: str, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(8)
    for _ in range(2):
        add_template(engine, make_learner(engine).id, face(rng))
    assert _loaded_line(monkeypatch).startswith("face index loaded: 2 templates in "), (
        templates_loaded(2)
    )

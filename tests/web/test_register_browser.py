"""The registration page in Chromium: a refusal about the ID number disappears once the number
is edited, and a number typed with full-width digits is read the way the server reads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factories import PASSWORD, id_number, make_institution, make_learner
from tests.web.conftest import Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def test_stale_id_error_clears_when_the_number_is_edited(
    live_server: str, launch_browser: Callable[[Path], Any], engine: Any, tmp_path: Path
) -> None:
    taken = id_number(seq=7)
    make_learner(engine, make_institution(engine), id_number=taken)
    page = launch_browser(tmp_path / "none.mjpeg").new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/register")
    page.fill("input[name=real_name]", "李四")
    page.fill("#id_number", taken)
    page.fill("input[name=username]", "lisi_reg")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    error = page.locator("#register-error")
    error.wait_for()
    assert error.get_attribute("data-code") == "id_number_registered"
    Shots(page, "register")("id-taken")

    # Editing the number hides the refusal that was about the old number.
    page.fill("#id_number", "")
    page.type("#id_number", id_number(seq=8).translate(FULL_WIDTH))
    error.wait_for(state="hidden")
    page.locator("#id_number").blur()
    hint = page.locator("#id_hint")
    page.wait_for_function("document.getElementById('id_hint').dataset.kind === 'ok'")
    assert "格式正确" in hint.inner_text()

"""/docs works offline: Swagger UI from vendored files (checksums as the vendor README says),
under the pages' strict CSP, and in Chromium it renders every operation of /openapi.json with
no request leaving the server, no console error and no CSP violation."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Shots

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"


def vendored_checksums() -> dict[str, str]:
    """`| `path` | … | `sha256` | …` rows of static/vendor/README.md."""
    table = (VENDOR / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([^`]+)` \|.*?\| `([0-9a-f]{64})` \|", table, re.M))


def test_vendored_files_match_their_checksums() -> None:
    sums = vendored_checksums()
    assert any(path.startswith("swagger-ui-") for path in sums), sums
    for path, digest in sums.items():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == digest, path
    listed = set(sums)
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk - {"README.md"} == listed, "every vendored file has its row"


def test_docs_page_is_same_origin_under_the_csp(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "<script>" not in r.text  # no inline script
    assets = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    # The CDN pages FastAPI would serve are gone rather than blank.
    assert client.get("/redoc").status_code == 404
    assert client.get("/favicon.ico", follow_redirects=False).headers["location"] == (
        "/static/favicon.svg"
    )


@pytest.mark.browser
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_docs_renders_offline_in_chromium(
    live_server: str, launch_browser: Callable[[Path], Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from app.main import create_app

    browser = launch_browser(tmp_path / "no-camera.mjpeg")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    errors: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock-summary-path")
    # Every operation reached Swagger UI (it renders only the blocks near the viewport, so
    # the DOM's .opblock count is no measure), and the last tag's last operation shows.
    spec = create_app().openapi()
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert page.evaluate("window.ui.specSelectors.operations().size") == operations
    last = list(spec["paths"].values())[-1]
    summary = next(iter(last.values()))["summary"]
    page.keyboard.press("End")
    expect(page.get_by_text(summary, exact=True).first).to_be_visible(timeout=30_000)
    assert page.locator(".info .title").inner_text().startswith("SkillTrace")
    Shots(page, "docs")("swagger-ui")
    assert page.evaluate("window.__csp") == []
    assert outside == [] and errors == [], (outside, errors)

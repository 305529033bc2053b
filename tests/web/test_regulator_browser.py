"""The regulator dashboard in Chromium: a regulator signs in and lands on it, every chart drew
(pixels on its canvas, and the Chart.js datasets equal the table beside it), no console error
or CSP violation, no horizontal page overflow at 360 px; screenshots at 1280 and 360 px.

The data set is the HTTP tests' (tests/web/test_regulator.py): two institutions, enrolments in
two months, certificates (one revoked), a shared frame and a day over the cap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.certificates.subsidy import RULES
from tests.factories import PASSWORD
from tests.web.conftest import WATCH_CSP, Shots
from tests.web.fakecam import lfw_photo, still_of
from tests.web.regulator_world import World

CHARTS = ("chart-period", "chart-subsidy", "chart-group", "chart-institution")

#: Per dataset, the canvas pixels of its colour (bars, and the legend's 12 px box), and the
#: share of painted pixels: a chart that drew only its axes has no pixel of its bar colours.
PAINTED = """
(id) => {
  const canvas = document.getElementById(id);
  const chart = window.Chart.getChart(canvas);
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const colours = chart.data.datasets.map((d) => rgb(d.backgroundColor));
  const counts = colours.map(() => 0);
  let painted = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    painted++;
    colours.forEach(([r, g, b], k) => {
      const near = [r, g, b].every((c, j) => Math.abs(data[i + j] - c) < 6);
      if (near && data[i + 3] === 255) counts[k]++;
    });
  }
  return { painted, counts, width: canvas.width, height: canvas.height };
}
"""

#: Every dataset with a value above zero has its bars on the canvas (well beyond the legend box).
BARS_DRAWN = f"""
(id) => {{
  const chart = window.Chart.getChart(document.getElementById(id));
  if (!chart) return false;
  const p = ({PAINTED})(id);
  return chart.data.datasets.every((d, k) => !d.data.some((v) => v > 0) || p.counts[k] > 600);
}}
"""

#: The datasets Chart.js holds for a canvas, and the figures of the table beside it.
DATASETS = """
(id) => {
  const chart = window.Chart.getChart(document.getElementById(id));
  const rows = [...document.querySelectorAll(`#${id}-table tbody tr`)];
  return {
    labels: chart.data.labels.map((l) => (Array.isArray(l) ? l.join("") : l)),
    datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data.map(Number) })),
    rowLabels: rows.map((r) => r.querySelector("th").textContent.trim()),
    columns: [...document.querySelectorAll(`#${id}-table thead th`)].slice(1)
      .map((th) => th.textContent.trim()),
    cells: rows.map((r) => [...r.querySelectorAll("td")].map((td) => Number(td.textContent))),
  };
}
"""


def _check_charts(page: Any) -> None:
    page.wait_for_function("document.documentElement.dataset.charts === 'ready'")
    for cid in CHARTS:
        # Wait out the animation: each dataset's colour covers its bars.
        page.wait_for_function(f"({BARS_DRAWN})('{cid}')", polling=100, timeout=10_000)
        pixels = page.evaluate(PAINTED, cid)
        assert pixels["width"] > 0 and all(n > 600 for n in pixels["counts"][:1]), (cid, pixels)
        got = page.evaluate(DATASETS, cid)
        assert got["labels"] == got["rowLabels"], cid
        assert [d["label"] for d in got["datasets"]] == got["columns"], cid
        for j, d in enumerate(got["datasets"]):
            assert d["data"] == [row[j] for row in got["cells"]], (cid, d["label"])


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_dashboard_draws_its_charts_at_desktop_and_phone_width(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Engine,
    clock: Any,
    tmp_path: Path,
) -> None:
    world = World(engine, clock)
    from app import clock as clock_mod

    clock_mod.set_clock(clock_mod.Clock())  # the data is built; the server runs on real time
    browser = launch_browser(still_of(tmp_path / "cam.mjpeg", lfw_photo("Adrien_Brody"), 1))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", world.regulator.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/regulator")
    assert page.evaluate("typeof window.Chart") == "function"  # the vendored UMD build
    _check_charts(page)
    # the figures the crafted data must show
    period = page.evaluate(DATASETS, "chart-period")
    assert period["labels"] == ["2026-01", "2026-02"]
    assert [d["data"] for d in period["datasets"]] == [[2, 2], [2, 1], [2, 0]]
    assert page.evaluate(DATASETS, "chart-subsidy")["datasets"][0]["data"] == [2500, 0]
    assert page.locator("#ind-shared_frame .evidence-link").count() >= 2
    shots = Shots(page, "regulator")
    shots("dashboard", phone=False)

    # Phone width: the charts resize, the page itself never scrolls sideways.
    page.set_viewport_size({"width": 360, "height": 740})
    page.wait_for_function(
        "document.getElementById('chart-period').getBoundingClientRect().width <= 340"
    )
    _check_charts(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=shots_path("regulator-dashboard-phone.png"), full_page=True)

    # An evidence crop opens from the fraud list; the learner's file and a certificate lookup.
    page.set_viewport_size({"width": 1280, "height": 900})
    crop = page.locator("#ind-shared_frame a.evidence-link[href$='.jpg']").first
    href = crop.get_attribute("href")
    assert href is not None
    r = page.request.get(f"{live_server}{href}")
    assert r.status == 200 and r.headers["content-type"] == "image/jpeg"
    page.locator("#ind-shared_frame a.subject").first.click()
    page.wait_for_url("**/regulator/learners/**")
    page.locator("img.thumb").first.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=page.locator("img.thumb").first.element_handle(),
    )
    Shots(page, "regulator")("learner-file")
    assert fits(page, 1280) and fits(page, 360)

    page.goto(f"{live_server}/regulator#lookup")
    page.fill("#lookup input[name=serial]", world.cert_valid)
    page.click("#lookup button[type=submit]")
    page.wait_for_url("**/regulator/certificates?serial=*")
    assert page.locator("#subsidy-verdict").get_attribute("data-eligible") == "true"
    assert page.locator("#subsidy-rules li").count() == len(RULES)
    Shots(page, "regulator")("certificate")
    assert fits(page, 1280) and fits(page, 360)

    assert page.evaluate("window.__csp") == []
    assert not errors, errors
    assert not failed, failed


def fits(page: Any, width: int) -> bool:
    """At this viewport width, the page does not scroll sideways (tables scroll in their box)."""
    page.set_viewport_size({"width": width, "height": 740})
    page.wait_for_function(f"window.innerWidth === {width}")
    return bool(page.evaluate("document.documentElement.scrollWidth") <= width)


def shots_path(name: str) -> Path:
    from tests.web.conftest import SCREENSHOTS

    return SCREENSHOTS / name

"""report.html opened in a real headless Chromium: the plots render, no script errors, and the
page asks for nothing beyond its own file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serenity.analytics import summarize_run
from tests.conftest import skip_missing_service

from .conftest import INSTRUMENT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Return Debian's Chromium driven by Playwright (headless, offline)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_missing_service("the report browser test needs playwright (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        skip_missing_service(
            f"the report browser test needs Chromium at {CHROMIUM} (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def open_report(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """Open ``path``; return the page, its console errors and page errors, and the URLs asked."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(
        "[...document.querySelectorAll('.js-plotly-plot')]"
        ".every(d => d.querySelector('svg.main-svg .scatterlayer .trace'))",
        timeout=30_000,
    )
    return page, errors, requests


def test_the_report_renders_every_plot_without_errors(browser: Any, tiny_run: Path) -> None:
    summarize_run(tiny_run, ticks=240, wall_seconds=1.0, benchmark=INSTRUMENT)

    page, errors, requests = open_report(browser, tiny_run / "report.html")
    plots = page.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot')].map(d => ({"
        " traces: d.querySelectorAll('.scatterlayer .trace').length,"
        " points: d.querySelectorAll('.scatterlayer path.point').length,"
        " lines: d.querySelectorAll('.scatterlayer path.js-line').length}))"
    )
    summary = page.inner_text("table.summary")
    page.close()

    assert errors == []
    assert requests == [(tiny_run / "report.html").as_uri()]
    assert len(plots) == 3  # equity and drawdown, price with fills, the bands channel
    assert plots[0]["traces"] == 2 and plots[0]["lines"] >= 2
    assert plots[1]["traces"] == 3 and plots[1]["points"] == 2  # the buy and the sell
    assert plots[2]["traces"] == 3
    assert "net P&L" in summary and "vs buy and hold" in summary

"""report.html: one self-contained page with the summary, the plots and the config."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from serenity.analytics import RunWriter, build_report, summarize_run

from .conftest import INSTRUMENT, T0, fill_kwargs


def test_the_report_holds_summary_plots_and_config_and_loads_nothing(tiny_run: Path) -> None:
    summarize_run(tiny_run, ticks=240, wall_seconds=1.0, title="Tiny <run>")

    page = (tiny_run / "report.html").read_text()

    assert page.startswith("<!DOCTYPE html>") and "<title>Tiny &lt;run&gt;</title>" in page
    assert len(re.findall(r'class="plotly-graph-div"', page)) == 3  # equity, price, bands
    assert page.count("Plotly.newPlot(") == 3
    assert len(re.findall(r"plotly\.js v\d", page)) == 1  # inlined once
    assert not re.search(r"<script[^>]*\bsrc=", page) and not re.search(r"<link[^>]*href=", page)
    assert "cdn.plot.ly/plotly" not in page.split("</script>", 1)[1]  # nothing after the bundle
    for text in (
        "Equity and drawdown",
        f"{INSTRUMENT}: price, entries and exits",
        "Capture channel: bands",
        '<th>net P&amp;L</th><td class="value">2.00</td>',
        '<th>win rate</th><td class="value">100.00%</td>',
        '<th>ticks per second</th><td class="value">240.00</td>',
        "strategy: {name: tiny, params: {window: 3}}",
        '"name":"buys"',
        '"name":"sells"',
    ):
        assert text in page, text


def test_a_running_run_without_summary_still_gets_a_report(tmp_path: Path) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=100.0, config="x: '<script>alert(1)'")
    for i in range(3):
        out.pnl(T0 + i, realised=float(i), unrealised=0.0, fees=0.0)
        out.capture("notes", T0 + i, text=f"note {i}", level=i)
    out.flush()

    path = build_report(tmp_path / "run")
    out.close()
    page = path.read_text()

    assert "&lt;script&gt;alert(1)" in page and "<script>alert" not in page
    assert "Not plotted (not numbers): text." in page
    assert '<th>net P&amp;L</th><td class="value">2.00</td>' in page


def test_many_fills_are_thinned_and_the_page_says_so(tmp_path: Path) -> None:
    with RunWriter(tmp_path / "run", starting_capital=1_000.0) as out:
        for i in range(40):
            side = "BUY" if i % 2 == 0 else "SELL"
            out.fill(T0 + i, i, **fill_kwargs(i, side, 1.0, 100.0 + i, 0.0))
            out.mark(T0 + i, INSTRUMENT, price=100.0 + i)
            out.pnl(T0 + i, realised=0.0, unrealised=0.0, fees=0.0)

    page = build_report(tmp_path / "run", max_markers=10, max_points=10).read_text()

    assert "40 fills; one in every 4 is marked." in page
    assert "The run recorded no config." in page


def test_thinning_keeps_each_buckets_last_value_or_its_lowest() -> None:
    from serenity.analytics.report import _thin

    ts = np.arange(100, dtype="int64")
    values = np.arange(100, dtype="float64")
    values[55], values[59] = -5.0, np.nan

    t_last, last = _thin(ts, values, 10)
    t_low, low = _thin(ts, values, 10, how="min")

    assert t_last.tolist() == [9, 19, 29, 39, 49, 59, 69, 79, 89, 99]
    assert np.isnan(last[5]) and last[6] == 69.0
    assert t_low.tolist() == [0, 10, 20, 30, 40, 55, 60, 70, 80, 90] and low[5] == -5.0

"""Run outputs, statistics and reports, for the algo engine and the investment backtester.

A run writes its orders, fills, positions, equity curve, marks and capture channels with
:class:`RunWriter` as it goes (Parquet, flat memory, readable while running and after a
crash). :func:`summarize_run` then computes :class:`RunStatistics` into ``summary.json`` and
builds the self-contained ``report.html``; :class:`RunOutputs` reads it all back as pandas.
:mod:`serenity.analytics.runs` records runs in the database's ``strategy_run`` table.
"""

from __future__ import annotations

from serenity.analytics.benchmark import (
    BenchmarkComparison,
    buy_and_hold_returns,
    compare_with_benchmark,
)
from serenity.analytics.reader import SUMMARY_FILE, RunOutputs
from serenity.analytics.report import REPORT_FILE, build_report
from serenity.analytics.schema import TABLES, Column, TableSpec
from serenity.analytics.statistics import (
    FREQUENCIES,
    MIN_PERIODS,
    RoundTrip,
    RunStatistics,
    choose_frequency,
    compute_statistics,
    equity_curve,
    exposure_intervals,
    fill_roles,
    max_drawdown,
    period_returns,
    periods_per_year,
    round_trips,
    starting_capital,
)
from serenity.analytics.summary import run_statistics, summarize_run, write_summary
from serenity.analytics.writer import CAPTURE_DIR, CONFIG_FILE, RunWriter, seal_run

__all__ = [
    "CAPTURE_DIR",
    "CONFIG_FILE",
    "FREQUENCIES",
    "MIN_PERIODS",
    "REPORT_FILE",
    "SUMMARY_FILE",
    "TABLES",
    "BenchmarkComparison",
    "Column",
    "RoundTrip",
    "RunOutputs",
    "RunStatistics",
    "RunWriter",
    "TableSpec",
    "build_report",
    "buy_and_hold_returns",
    "choose_frequency",
    "compare_with_benchmark",
    "compute_statistics",
    "equity_curve",
    "exposure_intervals",
    "fill_roles",
    "max_drawdown",
    "period_returns",
    "periods_per_year",
    "round_trips",
    "run_statistics",
    "seal_run",
    "starting_capital",
    "summarize_run",
    "write_summary",
]

"""Finish a run's analytics: statistics into ``summary.json``, then ``report.html``."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from serenity.analytics.benchmark import buy_and_hold_returns, compare_with_benchmark
from serenity.analytics.reader import SUMMARY_FILE, RunOutputs
from serenity.analytics.report import build_report
from serenity.analytics.statistics import (
    RunStatistics,
    compute_statistics,
    equity_curve,
    period_returns,
)

__all__ = ["run_statistics", "summarize_run", "write_summary"]

log = logging.getLogger(__name__)


def run_statistics(
    outputs: RunOutputs,
    *,
    ticks: int = 0,
    wall_seconds: float = 0.0,
    ticks_per_second: float | None = None,
    frequency: str | None = None,
    days_per_year: float = 365.0,
    benchmark: str | None = None,
) -> RunStatistics:
    """Return the statistics of a run folder's outputs.

    Parameters
    ----------
    outputs
        The run's outputs.
    ticks, wall_seconds, ticks_per_second
        The engine's counts (the outputs do not hold them).
    frequency, days_per_year
        As for :func:`~serenity.analytics.compute_statistics`.
    benchmark
        An instrument of ``marks.parquet`` to compare with, bought at its first mark and
        held (:func:`~serenity.analytics.buy_and_hold_returns`).

    Raises
    ------
    DataError
        When the folder lacks a table, or ``benchmark`` has no marks.
    """
    pnl = outputs.pnl
    fills = outputs.table("fills", ["ts", "account", "instrument", "side", "qty", "price", "fee"])
    orders = outputs.table("orders", ["order_id"])
    stats = compute_statistics(
        pnl,
        fills,
        orders=int(orders["order_id"].nunique()),
        ticks=ticks,
        wall_seconds=wall_seconds,
        ticks_per_second=ticks_per_second,
        frequency=frequency,
        days_per_year=days_per_year,
    )
    if benchmark is None or stats.return_frequency is None or stats.periods_per_year is None:
        return stats
    returns = period_returns(
        equity_curve(pnl), frequency=stats.return_frequency, initial=stats.starting_capital
    )
    held = buy_and_hold_returns(outputs.marks, benchmark, frequency=stats.return_frequency)
    comparison = compare_with_benchmark(
        returns, held, periods_per_year=stats.periods_per_year, name=f"buy and hold {benchmark}"
    )
    return dataclasses.replace(stats, benchmark=comparison)


def write_summary(folder: str | Path, statistics: RunStatistics) -> Path:
    """Write ``summary.json`` (the statistics as JSON, None as null) and return its path."""
    path = Path(folder) / SUMMARY_FILE
    text = json.dumps(statistics.to_dict(), indent=2, allow_nan=False)
    path.write_text(text + "\n")
    return path


def summarize_run(
    folder: str | Path,
    *,
    ticks: int = 0,
    wall_seconds: float = 0.0,
    ticks_per_second: float | None = None,
    frequency: str | None = None,
    days_per_year: float = 365.0,
    benchmark: str | None = None,
    report: bool = True,
    title: str | None = None,
) -> RunStatistics:
    """Compute a finished run's statistics, write ``summary.json`` and ``report.html``.

    Call it after :meth:`RunWriter.close <serenity.analytics.RunWriter.close>`. The
    parameters are those of :func:`run_statistics`, plus ``report`` (False skips the HTML)
    and the report's ``title``.
    """
    outputs = RunOutputs(folder)
    stats = run_statistics(
        outputs,
        ticks=ticks,
        wall_seconds=wall_seconds,
        ticks_per_second=ticks_per_second,
        frequency=frequency,
        days_per_year=days_per_year,
        benchmark=benchmark,
    )
    write_summary(outputs.folder, stats)
    if report:
        build_report(outputs.folder, title=title)
    extra: dict[str, Any] = {"folder": str(outputs.folder), "net_pnl": stats.net_pnl}
    log.info("run.summarized", extra=extra)
    return stats

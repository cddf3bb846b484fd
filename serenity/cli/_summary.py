"""The headline a backtest command prints: where the run is, its figures, its risk ratios,
and its report."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def num(value: float | None, spec: str) -> str:
    """Return ``value`` formatted with ``spec``, or ``-`` when there is none."""
    return "-" if value is None else format(value, spec)


def headline(result: Any, figures: Iterable[str], notes: Iterable[str] = ()) -> str:
    """Return a run's headline: its folder (and run id), ``figures``, its Sharpe, Sortino and
    maximum drawdown, ``notes``, and its report."""
    s = result.statistics
    lines = [
        f"run       {result.folder}" + (f"  (run {result.run_id})" if result.run_id else ""),
        *figures,
        f"Sharpe    {num(s.sharpe, '.2f')}   Sortino {num(s.sortino, '.2f')}   "
        f"max drawdown {num(s.max_drawdown, '.2%')}",
        *notes,
        f"report    {result.folder / 'report.html'}",
    ]
    return "\n".join(lines)

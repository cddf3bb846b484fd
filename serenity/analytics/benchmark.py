"""Compare a run with a benchmark, such as buying and holding one instrument.

The benchmark's returns are taken over the same UTC bars as the run's
(:func:`~serenity.analytics.period_returns`), and only bars both have are compared.
**beta** = cov(r, b) / var(b); **alpha** = (1 + mean(r - beta × b))^P - 1, annualised over
P periods a year (empyrical's convention); **correlation** is Pearson's;
**total_return** and **benchmark_return** compound each series over the compared bars, and
**excess_return** is their difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from serenity.analytics.statistics import period_returns
from serenity.errors import DataError

__all__ = ["BenchmarkComparison", "buy_and_hold_returns", "compare_with_benchmark"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchmarkComparison:
    """How a run did against a benchmark over the bars both have; None means undefined."""

    name: str
    periods: int
    total_return: float | None
    benchmark_return: float | None
    excess_return: float | None
    alpha: float | None
    beta: float | None
    correlation: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready values."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def buy_and_hold_returns(marks: pd.DataFrame, instrument: str, *, frequency: str) -> pd.Series:
    """Return the bar returns of buying ``instrument`` at its first mark and holding it.

    Parameters
    ----------
    marks
        The ``marks`` table (``ts``, ``instrument``, ``price``), or any frame with those
        columns (e.g. daily closes of an equity).
    instrument
        The instrument to hold.
    frequency
        ``1D``, ``1h`` or ``1min``, as for the run's returns.

    Raises
    ------
    DataError
        When ``marks`` has no price of ``instrument``.
    """
    rows = marks[marks["instrument"] == instrument]
    if rows.empty:
        known = sorted(set(marks["instrument"].astype(str)))
        raise DataError(f"no marks of {instrument!r} for a buy-and-hold benchmark; have {known}")
    rows = rows.sort_values("ts", kind="stable").drop_duplicates("ts", keep="last")
    prices = pd.Series(
        rows["price"].to_numpy(dtype="float64"), index=pd.Index(rows["ts"].to_numpy("int64"))
    )
    return period_returns(prices, frequency=frequency, initial=float(prices.iloc[0]))


def compare_with_benchmark(
    returns: pd.Series,
    benchmark: pd.Series,
    *,
    periods_per_year: float,
    name: str = "benchmark",
) -> BenchmarkComparison:
    """Return alpha, beta, correlation and relative return of ``returns`` against ``benchmark``.

    Parameters
    ----------
    returns, benchmark
        Period returns indexed by bar (as :func:`~serenity.analytics.period_returns` gives);
        only bars in both are used.
    periods_per_year
        Bars in a year, to annualise alpha.
    name
        What the benchmark is, e.g. ``"buy and hold BTC-USD@coinbase"``.
    """
    joined = pd.concat([returns.rename("r"), benchmark.rename("b")], axis=1, join="inner")
    joined = joined.dropna()
    r = joined["r"].to_numpy(dtype="float64")
    b = joined["b"].to_numpy(dtype="float64")
    total = _compound(r)
    bench = _compound(b)
    beta = alpha = correlation = None
    if r.size >= 2:
        var_b = float(np.mean((b - b.mean()) ** 2))
        if var_b > 0:
            beta = float(np.mean((r - r.mean()) * (b - b.mean()))) / var_b
            try:
                alpha = _finite((1.0 + float(np.mean(r - beta * b))) ** periods_per_year - 1.0)
            except OverflowError:
                alpha = None
            std_r = float(np.std(r))
            if std_r > 0:
                correlation = float(np.corrcoef(r, b)[0, 1])
    return BenchmarkComparison(
        name=name,
        periods=int(r.size),
        total_return=total,
        benchmark_return=bench,
        excess_return=None if total is None or bench is None else total - bench,
        alpha=alpha,
        beta=_finite(beta),
        correlation=_finite(correlation),
    )


def _compound(r: np.ndarray) -> float | None:
    return _finite(float(np.prod(1.0 + r)) - 1.0) if r.size else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None

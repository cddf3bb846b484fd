"""One grid point's backtest: the unit of work a Dask worker runs.

A :class:`PointTask` holds plain values only (the config as a mapping, the window, the
tick store URL or price file, the output folder), so it pickles to any worker. A worker
needs Serenity installed and read access to the data and the output folder: a local path
on one machine, a shared path or ``azure://`` for the tick store on a cluster (with the
connection string in the workers' environment).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["ALGO", "INVEST", "PointTask", "run_point"]

log = logging.getLogger(__name__)

ALGO: Final = "algo"
"""A tick-by-tick config of :mod:`serenity.algo`."""
INVEST: Final = "invest"
"""A close-on-close config of :mod:`serenity.strategy`."""


@dataclass(frozen=True, slots=True)
class PointTask:
    """Everything one grid point's backtest needs.

    Attributes
    ----------
    index
        The point's number in the grid.
    point
        Its values by grid key.
    kind
        :data:`ALGO` or :data:`INVEST`.
    config
        The config with the point's values set, module and file paths absolute.
    start_ns, end_ns
        The window.
    store
        The tick store URL, or None.
    prices
        The price file (investment configs), or None.
    out
        The point's run folder.
    report
        Write the point's ``report.html``.
    """

    index: int
    point: Mapping[str, Any]
    kind: str
    config: Mapping[str, Any]
    start_ns: int
    end_ns: int
    store: str | None
    prices: str | None
    out: str
    report: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)


def run_point(task: PointTask) -> dict[str, Any]:
    """Run one point's backtest and return its statistics, or the error that stopped it.

    Returns
    -------
    dict
        ``index``, ``statistics`` (the run's :class:`~serenity.analytics.RunStatistics`
        as a dict, or None), ``folder``, ``error`` (``"Type: message"`` or None) and
        ``wall_s``.
    """
    started = time.perf_counter()
    try:
        if task.kind == ALGO:
            from serenity.algo import backtest as algo_backtest

            algo = algo_backtest(
                dict(task.config),
                start=task.start_ns,
                end=task.end_ns,
                store=task.store,
                out=task.out,
                record=False,
                report=task.report,
            )
            statistics = algo.statistics.to_dict()
        else:
            from serenity.strategy import backtest as invest_backtest

            invest = invest_backtest(
                dict(task.config),
                start=task.start_ns,
                end=task.end_ns,
                prices=task.prices,
                store=task.store,
                out=task.out,
                record=False,
                report=task.report,
                benchmark=task.extra.get("benchmark"),
            )
            statistics = invest.statistics.to_dict()
        error = None
    except Exception as exc:  # a failed point is reported, the sweep goes on
        log.info(
            "sweep.point.failed",
            extra={"point": task.index, "error": f"{type(exc).__name__}: {exc}"},
        )
        statistics = None
        error = f"{type(exc).__name__}: {exc}"
    return {
        "index": task.index,
        "statistics": statistics,
        "folder": task.out,
        "error": error,
        "wall_s": time.perf_counter() - started,
    }

"""Parameter sweeps: one backtest per grid point, each a task on a Dask cluster.

:func:`run` sweeps an algo engine config (:mod:`serenity.algo`) or an investment config
(:mod:`serenity.strategy`) over a grid such as ``window=10,20,40`` × ``num_std=1.5,2,2.5``,
on a local ``dask.distributed`` cluster, an existing one, or serially, and returns one row
of statistics per point, best first; ``serenity sweep run`` is its command.
"""

from __future__ import annotations

from serenity.sweep.grid import apply_point, grid_points, key_path, parse_grid, point_label
from serenity.sweep.report import SWEEP_PAGE, build_sweep_page
from serenity.sweep.runner import LOWER_IS_BETTER, METRICS, RESULTS_FILE, run
from serenity.sweep.task import ALGO, INVEST, PointTask, run_point

__all__ = [
    "ALGO",
    "INVEST",
    "LOWER_IS_BETTER",
    "METRICS",
    "RESULTS_FILE",
    "SWEEP_PAGE",
    "PointTask",
    "apply_point",
    "build_sweep_page",
    "grid_points",
    "key_path",
    "parse_grid",
    "point_label",
    "run",
    "run_point",
]

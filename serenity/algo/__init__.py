"""The algo engine: one strategy API for backtest, paper and live trading.

A :class:`Strategy` builds its tau graph in ``init`` from a :class:`StrategyContext` (market
data, an order factory, ``submit``/``cancel``/``replace``, positions, P&L, ``capture`` for
extra output channels) and runs unchanged in every :class:`Mode`. :func:`load_config` reads a
YAML run configuration; :func:`backtest` replays the tick store through the exchange
simulator, the order manager, positions and P&L and writes the run's outputs (Parquet,
``summary.json``, ``report.html``); :func:`rerun` reproduces a run on the data as it was.
:func:`run_live` runs a config on the venues' live feeds, on simulated fills (paper) or
through a venue's order connector (live, registered with :func:`register_placer`).
"""

from __future__ import annotations

from serenity.algo.backtest import BacktestResult, backtest, compare_runs, rerun
from serenity.algo.config import AlgoConfig, StrategySpec, load_config, parse_instrument
from serenity.algo.context import StrategyContext
from serenity.algo.engine import AlgoEngine
from serenity.algo.live import LiveResult, LiveRun, run_live, run_live_sync
from serenity.algo.loader import load_strategy_class
from serenity.algo.placers import PlacerContext, register_placer
from serenity.algo.strategy import Mode, Strategy

__all__ = [
    "AlgoConfig",
    "AlgoEngine",
    "BacktestResult",
    "LiveResult",
    "LiveRun",
    "Mode",
    "PlacerContext",
    "Strategy",
    "StrategyContext",
    "StrategySpec",
    "backtest",
    "compare_runs",
    "load_config",
    "load_strategy_class",
    "parse_instrument",
    "register_placer",
    "rerun",
    "run_live",
    "run_live_sync",
]

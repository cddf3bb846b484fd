"""``serenity sweep``: backtest a config at every point of a parameter grid, on Dask."""

from __future__ import annotations

import sys
from typing import Any

from serenity.cli._args import (
    hide_progress,
    instant,
    optional_text,
    repeatable,
    switch,
    text,
    texts,
)

__all__ = ["SweepCommands"]

_PRINTED = ("total_return", "sharpe", "max_drawdown", "fills")


class SweepCommands:
    """Sweep strategy params: one backtest per grid point, each a task on a Dask cluster."""

    @repeatable("grid")
    def run(
        self,
        config: str,
        start: str,
        end: str,
        grid: Any = None,
        store: str | None = None,
        prices: str | None = None,
        scheduler: str | None = None,
        workers: int = 2,
        out: str | None = None,
        metric: str = "sharpe",
        noreports: bool = False,
    ) -> None:
        """Backtest CONFIG at every point of the grid and print the results, best first.

        Each point is one backtest (the algo engine's or an investment one, whichever the
        config is) run as a Dask task: on a local cluster of ``--workers`` processes, or on
        the cluster whose scheduler is at ``--scheduler``; its workers read the tick store
        by URL. Writes every point's outputs, ``results.parquet`` and ``sweep.html`` (a
        heatmap for a two-parameter grid) under ``--out``. A failed point is listed with
        its error; the others finish.

        Parameters
        ----------
        config
            An algo or investment YAML config, or the name of an example
            (``reference_bbands``, ``equal_weight``, ...).
        start
            First instant, ``YYYY-MM-DD`` (UTC midnight) or ISO-8601 with a zone.
        end
            End of the window (excluded), same forms.
        grid
            ``KEY=V1,V2,...``, given once per parameter. A bare key is a strategy param
            (``window``); a dotted path is a config key from the root (``costs.bps``,
            ``.capital``).
        store
            Tick store URL the workers read; default ``$SERENITY_TICKSTORE``, else
            ``file://$SERENITY_HOME/demo/ticks`` (for algo configs and crypto universes).
        prices
            A price file for investment configs (overrides the config's ``prices``).
        scheduler
            Address of a running Dask scheduler, e.g. ``tcp://10.0.0.5:8786``; without it a
            local cluster is started.
        workers
            Processes of the local cluster (one thread each); 0 runs the points one after
            the other in this process.
        out
            The sweep folder; default ``$SERENITY_HOME/sweeps/<strategy>/<sweep id>``.
        metric
            The statistic to sort by: ``sharpe`` (default), ``total_return``,
            ``max_drawdown``, ``sortino``, ``benchmark.alpha``, ...
        noreports
            Skip each point's ``report.html`` (statistics and tables are still written).

        Examples
        --------
        serenity sweep run reference_bbands --start 2024-01-02 --end 2024-01-03 \\
            --grid window=10,20,40 --grid num_std=1.5,2,2.5
        serenity sweep run equal_weight --start 2024-01-01 --end 2025-01-01 \\
            --grid cash_buffer=0,0.02,0.05 --metric total_return
        serenity sweep run bbands1.yaml --start 2024-01-02 --end 2024-01-09 \\
            --grid window=10,20 --scheduler tcp://10.0.0.5:8786
        """
        import logging

        import distributed  # noqa: F401  # its import sets its loggers' levels: quiet them after
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        from serenity.errors import ConfigError
        from serenity.sweep import run

        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            logging.getLogger("distributed").setLevel(logging.WARNING)

        specs = texts(grid, flag="--grid")
        if not specs:
            raise ConfigError("give at least one --grid KEY=V1,V2,... (e.g. window=10,20,40)")
        if isinstance(workers, bool) or not isinstance(workers, int):
            raise ConfigError(f"--workers needs a whole number, was {workers!r}")
        path = _config(config)
        off: dict[str, Any] = {"disable": True} if hide_progress() else {}
        with (
            logging_redirect_tqdm(),
            tqdm(file=sys.stderr, unit="point", desc="sweep", **off) as bar,
        ):

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            table = run(
                path,
                specs,
                start=instant(start, flag="--start"),
                end=instant(end, flag="--end"),
                store=_store(path, store, prices),
                prices=optional_text(prices, flag="--prices"),
                scheduler=optional_text(scheduler, flag="--scheduler"),
                workers=workers,
                out=optional_text(out, flag="--out"),
                metric=text(metric, flag="--metric"),
                reports=not switch(noreports, flag="--noreports"),
                progress=advance,
            )
        print(_printed(table))


def _config(value: object) -> Any:
    """Return the config file given, or the bundled example (algo or investment) so named."""
    from serenity.cli.backtest import _config as algo_example
    from serenity.errors import ConfigError

    try:
        return algo_example(value)
    except ConfigError:
        from serenity.cli.invest import invest_config

        return invest_config(value)


def _store(config: Any, store: object, prices: object) -> str | None:
    """Return the tick store: the one given, else the default one for configs that read it."""
    import yaml

    given = optional_text(store, flag="--store")
    if given is not None:
        return given
    loaded = yaml.safe_load(config.read_text()) if hasattr(config, "read_text") else {}
    if not isinstance(loaded, dict):
        return None
    if "universe" in loaded:  # an investment config: a price file, unless it trades crypto
        if prices is not None or loaded.get("prices") or loaded.get("store"):
            return None
        universe = loaded.get("universe")
        if not (isinstance(universe, list) and all(":" in str(u) for u in universe)):
            return None
    from serenity.cli.backtest import _store as default_store

    return default_store(None)


def _printed(table: Any) -> str:
    import pandas as pd

    metric = table.attrs.get("metric", "sharpe")
    params = [c for c in table.columns[1 : table.columns.get_loc(metric)]]
    shown = ["point", *params, metric, *(c for c in _PRINTED if c != metric), "error"]
    frame = table[[c for c in dict.fromkeys(shown) if c in table.columns]].copy()
    frame["error"] = frame["error"].map(lambda e: "" if not isinstance(e, str) else e[:60])
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        body = frame.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")
    failed = int(table["error"].notna().sum())
    lines = [body, ""]
    if failed:
        lines.append(f"{failed} of {len(table)} points failed (their errors are above)")
    folder = table.attrs.get("folder", "")
    lines += [
        f"results   {folder}/results.parquet",
        f"page      {folder}/sweep.html",
        f"points    {folder}/points/",
    ]
    return "\n".join(lines)

"""Run a parameter sweep: one backtest per grid point, each a task on a Dask cluster.

:func:`run` takes an algo config or an investment config, a grid and a window; each point
is a :class:`~serenity.sweep.task.PointTask` run by a worker of a ``dask.distributed``
cluster: a :class:`~dask.distributed.LocalCluster` (processes, one thread each) started for
the sweep, an existing cluster at a scheduler address, a client of the caller's, or, with
``workers=0``, this process one point after the other. Every point's outputs go under the
sweep folder (``points/<n>_<label>``), with ``results.parquet`` (one row per point, best
first by the metric) and ``sweep.html``. A point that fails is a row with its error; the
others finish. A point's results equal a serial run of the same config: the backtests are
deterministic and share nothing.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml

from serenity.analytics import RunStatistics
from serenity.analytics.benchmark import BenchmarkComparison
from serenity.errors import ConfigError
from serenity.sweep.grid import apply_point, grid_points, key_path, parse_grid, point_label
from serenity.sweep.report import build_sweep_page
from serenity.sweep.task import ALGO, INVEST, PointTask, run_point

if TYPE_CHECKING:
    from dask.distributed import Client

__all__ = ["LOWER_IS_BETTER", "METRICS", "RESULTS_FILE", "run"]

log = logging.getLogger(__name__)

RESULTS_FILE: Final = "results.parquet"
"""The results table's file name inside a sweep folder."""
_NOT_METRICS: Final = {"currency", "return_frequency", "benchmark", "start_ns", "end_ns"}
METRICS: Final = tuple(
    [n for n in RunStatistics.__dataclass_fields__ if n not in _NOT_METRICS]
    + [f"benchmark.{n}" for n in BenchmarkComparison.__dataclass_fields__ if n != "name"]
)
"""The statistics a sweep can be sorted by."""
LOWER_IS_BETTER: Final = frozenset({"volatility", "fees", "turnover", "wall_seconds"})
"""Metrics sorted smallest first; every other one is sorted largest first."""
_CONNECT_TIMEOUT: Final = "15s"


def run(
    config: str | Path | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]] | Iterable[str],
    client: Client | None = None,
    *,
    start: dt.datetime | dt.date | int | str,
    end: dt.datetime | dt.date | int | str,
    store: str | None = None,
    prices: str | Path | None = None,
    out: str | Path | None = None,
    metric: str = "sharpe",
    scheduler: str | None = None,
    workers: int = 2,
    reports: bool = True,
    benchmark: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Backtest ``config`` at every point of ``grid`` and return the results, best first.

    Parameters
    ----------
    config
        An algo engine config or an investment config: a YAML file, YAML text or a mapping.
    grid
        ``{key: [values]}``, or specs such as ``["window=10,20,40", "num_std=1.5,2"]``.
        A bare key is a strategy param, a dotted path a config key from the root
        (:mod:`serenity.sweep.grid`).
    client
        A ``dask.distributed.Client`` to run on (yours stays open).
    start, end
        The window, as for :func:`serenity.algo.backtest` and
        :func:`serenity.strategy.backtest`.
    store
        The tick store URL the workers read (required for algo configs).
    prices
        A price file for investment configs (overrides the config's ``prices``).
    out
        The sweep folder; ``$SERENITY_HOME/sweeps/<strategy>/<sweep id>`` by default.
    metric
        The statistic to sort by (:data:`METRICS`), e.g. ``sharpe``, ``total_return``,
        ``max_drawdown``, ``benchmark.alpha``.
    scheduler
        The address of a running Dask scheduler (``tcp://10.0.0.5:8786``), used when no
        ``client`` is given.
    workers
        Workers of the local cluster started when neither ``client`` nor ``scheduler`` is
        given (processes with one thread each); 0 runs the points in this process.
    reports
        Write each point's ``report.html``.
    benchmark
        A symbol to compare each investment run with.
    progress
        Called as ``progress(points_finished, points)`` as points finish.

    Returns
    -------
    pandas.DataFrame
        One row per point: ``point``, the grid keys, the statistics (benchmark ones as
        ``benchmark.<name>``), ``error``, ``folder`` and ``wall_s``; sorted by ``metric``
        (failed points last). ``attrs["folder"]`` is the sweep folder.

    Raises
    ------
    ConfigError
        For a bad config, grid, metric, data source or scheduler address.
    """
    mapping, base = _read(config)
    kind = INVEST if "universe" in mapping else ALGO
    values = parse_grid(grid)
    points = grid_points(values)
    _check_metric(metric)
    clash = sorted(set(values) & ({"point", "error", "folder", "wall_s"} | set(METRICS)))
    if clash:
        raise ConfigError(f"grid keys {clash} clash with result columns; use a dotted path")
    mapping = _absolute(mapping, base, kind)
    _check(mapping, kind, values, points[0], base)
    start_ns, end_ns = _instant(start, "--start"), _instant(end, "--end")
    price_file = None if prices is None else str(Path(prices).expanduser().resolve())
    if kind == ALGO and store is None:
        raise ConfigError("an algo sweep needs a tick store URL (--store) the workers can read")
    if workers < 0 or isinstance(workers, bool):
        raise ConfigError(f"--workers must be >= 0, was {workers!r}")
    name = _name(mapping)
    folder = Path(out).expanduser() if out is not None else _default_folder(name)
    if (folder / RESULTS_FILE).exists():
        raise ConfigError(f"{folder} already holds a sweep ({RESULTS_FILE}); choose another --out")
    (folder / "points").mkdir(parents=True, exist_ok=True)
    tasks = [
        PointTask(
            index=i,
            point=point,
            kind=kind,
            config=apply_point(mapping, point),
            start_ns=start_ns,
            end_ns=end_ns,
            store=store,
            prices=price_file,
            out=str((folder / "points" / _folder_name(i, point)).resolve()),
            report=reports,
            extra={"benchmark": benchmark} if benchmark else {},
        )
        for i, point in enumerate(points)
    ]
    (folder / "sweep.yaml").write_text(
        yaml.safe_dump(
            {
                "config": mapping,
                "grid": values,
                "start_ns": start_ns,
                "end_ns": end_ns,
                "store": store,
                "prices": price_file,
                "metric": metric,
            },
            sort_keys=False,
        )
    )
    log.info("sweep.start", extra={"strategy": name, "points": len(tasks), "kind": kind})
    results = _execute(tasks, client, scheduler, workers, progress)
    table = _table(tasks, results, list(values), metric)
    _write_parquet(table, folder / RESULTS_FILE)
    build_sweep_page(
        folder,
        table,
        params=list(values),
        metric=metric,
        title=f"Sweep of {name}: {len(tasks)} points by {metric}",
    )
    table.attrs["folder"] = str(folder)
    table.attrs["metric"] = metric
    failed = int(table["error"].notna().sum())
    log.info("sweep.done", extra={"strategy": name, "points": len(tasks), "failed": failed})
    return table


# --- the work -------------------------------------------------------------------------------


def _execute(
    tasks: list[PointTask],
    client: Client | None,
    scheduler: str | None,
    workers: int,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    total = len(tasks)
    results: list[dict[str, Any]] = []

    def finished(result: dict[str, Any]) -> None:
        results.append(result)
        if progress is not None:
            progress(len(results), total)

    if client is None and scheduler is None and workers == 0:
        for task in tasks:
            finished(run_point(task))
        return results
    from dask.distributed import Client, LocalCluster, as_completed

    owned: list[Any] = []
    try:
        if client is None and scheduler is not None:
            try:
                client = Client(scheduler, timeout=_CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError) as exc:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {scheduler!r}: {exc}"
                ) from exc
            owned.append(client)
        elif client is None:
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,  # a closing worker's heartbeat races the scheduler
            )
            owned.append(cluster)
            client = Client(cluster)  # type: ignore[no-untyped-call]
            owned.append(client)
        token = uuid.uuid4().hex[:8]
        futures = {
            client.submit(
                run_point, task, key=f"serenity-sweep-{token}-{task.index}", pure=False
            ): task
            for task in tasks
        }
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # the task itself was lost (a worker died, ...)
                result = {
                    "index": task.index,
                    "statistics": None,
                    "folder": task.out,
                    "error": f"{type(exc).__name__}: {exc}",
                    "wall_s": None,
                }
            finished(result)
    finally:
        for owned_object in reversed(owned):
            owned_object.close()
    return results


def _table(
    tasks: list[PointTask], results: list[dict[str, Any]], params: list[str], metric: str
) -> pd.DataFrame:
    by_index = {r["index"]: r for r in results}
    rows = []
    for task in tasks:
        result = by_index[task.index]
        row: dict[str, Any] = {"point": task.index, **task.point}
        for name, value in (result["statistics"] or {}).items():
            if isinstance(value, Mapping):
                row.update({f"{name}.{k}": v for k, v in value.items() if k != "name"})
            else:
                row[name] = value
        row.update(error=result["error"], folder=result["folder"], wall_s=result["wall_s"])
        rows.append(row)
    table = pd.DataFrame(rows)
    if metric not in table.columns:
        table[metric] = np.nan
    table[metric] = pd.to_numeric(table[metric], errors="coerce")
    ordered = table.sort_values(
        [metric, "point"],
        ascending=[metric in LOWER_IS_BETTER, True],
        na_position="last",
        kind="stable",
    )
    head = ["point", *params, metric]
    rest = [c for c in ordered.columns if c not in head]
    return ordered[head + rest].reset_index(drop=True)


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    frame = table.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            try:
                pa.array(frame[column])
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                frame[column] = frame[column].map(lambda v: None if v is None else str(v))
    frame.to_parquet(path, index=False)


# --- checks and paths -----------------------------------------------------------------------


def _read(config: str | Path | Mapping[str, Any]) -> tuple[dict[str, Any], Path | None]:
    if isinstance(config, Mapping):
        return dict(config), None
    text = str(config)
    if isinstance(config, Path) or ("\n" not in text and text.endswith((".yaml", ".yml"))):
        path = Path(config).expanduser()
        try:
            loaded = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read config {str(path)!r}: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        base: Path | None = path.resolve().parent
    else:
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"<config>: not valid YAML: {exc}") from None
        base = None
    if not isinstance(loaded, Mapping):
        raise ConfigError("a sweep's config must be a mapping (an algo or investment config)")
    return dict(loaded), base


def _absolute(mapping: dict[str, Any], base: Path | None, kind: str) -> dict[str, Any]:
    """Return the config with strategy module files and the price file as absolute paths,
    so that a worker anywhere finds them."""
    out = copy.deepcopy(mapping)
    specs = [out.get("strategy")] + list(out.get("strategies") or [])
    for spec in specs:
        if isinstance(spec, dict) and isinstance(spec.get("module"), str):
            module = spec["module"]
            if module.endswith(".py") or "/" in module:
                path = Path(module).expanduser()
                if not path.is_absolute() and base is not None and (base / path).is_file():
                    path = base / path
                spec["module"] = str(path.resolve())
    if kind == INVEST and isinstance(out.get("prices"), str):
        path = Path(out["prices"]).expanduser()
        out["prices"] = str((base / path if base and not path.is_absolute() else path).resolve())
    return out


def _check(
    mapping: dict[str, Any],
    kind: str,
    grid: Mapping[str, Sequence[Any]],
    first: Mapping[str, Any],
    base: Path | None,
) -> None:
    """Refuse a grid the config cannot take, before any worker starts: the config with the
    first point must load, and bare keys must be params of the strategy."""
    for key in grid:
        key_path(mapping, key)
    trial = apply_point(mapping, first)
    if kind == ALGO:
        from serenity.algo import load_config

        load_config(trial)
    else:
        from serenity.strategy import load_invest_config

        load_invest_config(trial)
    bare = [k for k in grid if "." not in k]
    spec = mapping.get("strategy") or (mapping.get("strategies") or [{}])[0]
    if not bare or not isinstance(spec, Mapping) or "module" not in spec or "class" not in spec:
        return
    from serenity.algo.loader import load_strategy_class

    if kind == ALGO:
        cls: type[Any] = load_strategy_class(str(spec["module"]), str(spec["class"]), base=base)
    else:
        from serenity.strategy import InvestmentStrategy

        cls = load_strategy_class(
            str(spec["module"]), str(spec["class"]), base=base, kind=InvestmentStrategy
        )
    params = getattr(cls, "Params", None)
    if params is None:
        return
    import dataclasses
    import difflib

    fields = [f.name for f in dataclasses.fields(params)]
    for key in bare:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"grid key {key!r} is not a param of {cls.__name__} (params: "
                f"{', '.join(fields)}){hint}"
            )


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        import difflib

        close = difflib.get_close_matches(metric, METRICS, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConfigError(f"unknown metric {metric!r}; {hint}metrics: {', '.join(METRICS)}")


def _instant(value: dt.datetime | dt.date | int | str, flag: str) -> int:
    from serenity.marketdata.tickstore.args import to_ns

    return to_ns(value, what=flag)


def _name(mapping: Mapping[str, Any]) -> str:
    spec = mapping.get("strategy")
    if isinstance(spec, Mapping) and spec.get("name"):
        return str(spec["name"])
    names = [s.get("name", "?") for s in mapping.get("strategies") or [] if isinstance(s, Mapping)]
    return "+".join(str(n) for n in names) or "sweep"


def _default_folder(name: str) -> Path:
    from serenity.db.settings import serenity_home

    key = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    return serenity_home() / "sweeps" / name / key


def _folder_name(index: int, point: Mapping[str, Any]) -> str:
    label = re.sub(r"[^A-Za-z0-9_.=,-]+", "_", point_label(point))[:80]
    return f"{index:03d}_{label}"

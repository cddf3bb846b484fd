"""Backtests: the tick store replayed through the simulator, order manager, positions and
P&L, with every output written as the run goes, and reruns that reproduce a run exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from serenity._version import __version__
from serenity.algo._runs import (
    RUN_FILE,
    RunRecord,
    check_window,
    default_run_folder,
    new_run_key,
    open_run_database,
    utc,
    write_run_file,
)
from serenity.algo.config import AlgoConfig, load_config
from serenity.algo.engine import AlgoEngine
from serenity.algo.strategy import Mode
from serenity.analytics import RunOutputs, RunStatistics, RunWriter, summarize_run
from serenity.errors import ConfigError, SerenityError, UnknownSymbolError
from serenity.exchange.product import Product
from serenity.marketdata.historic import HistoricMarketdataService
from serenity.marketdata.service import MarketdataService
from serenity.marketdata.tickstore import Tickstore
from serenity.model import InstrumentId, RunKind
from serenity.tau import HistoricNetworkScheduler, RunStats, format_ns
from serenity.tau.event import RepeatingTimer

__all__ = ["BacktestResult", "RUN_FILE", "backtest", "compare_runs", "rerun"]

log = logging.getLogger(__name__)

_COMPARED: Final = ("orders", "fills", "positions", "pnl", "marks")
# Ids that differ by design between a run and its rerun (each run has its own order prefix).
_RUN_IDS: Final = ("cl_ord_id", "exec_id")

MarketdataFactory = Callable[[HistoricNetworkScheduler], MarketdataService]


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """What a backtest did and where its outputs are.

    Attributes
    ----------
    folder
        The run folder (orders, fills, positions, pnl, marks, capture, summary, report).
    run_id
        The run's ``strategy_run`` id, when it was recorded in a database.
    stats
        The scheduler's counts, including which nodes ran rows per event and why.
    statistics
        The run's statistics (also in ``summary.json``).
    ticks
        Market-data events replayed.
    wall_s
        Wall-clock seconds the replay took.
    """

    folder: Path
    run_id: int | None
    stats: RunStats
    statistics: RunStatistics
    ticks: int
    wall_s: float

    @property
    def outputs(self) -> RunOutputs:
        """Return the run's outputs as pandas frames."""
        return RunOutputs(self.folder)


def backtest(
    config: AlgoConfig | str | Path | Mapping[str, Any],
    *,
    start: dt.datetime | int | str,
    end: dt.datetime | int | str,
    store: str | None = None,
    marketdata: MarketdataFactory | None = None,
    out: str | Path | None = None,
    as_of: dt.datetime | int | str | None = None,
    db_url: str | None = None,
    record: bool | None = None,
    products: Mapping[InstrumentId, Product] | None = None,
    batch: bool = True,
    report: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Backtest a strategy config over ``[start, end)`` and write its outputs.

    Parameters
    ----------
    config
        The run configuration (a file, YAML text, a mapping or an :class:`AlgoConfig`).
    start, end
        The window: aware datetimes, int ns, or ISO text (UTC when no zone is given).
    store
        The tick store URL (``file:///data/ticks``, ``azure://container``) to replay trades
        (``<VENUE>_TRADES``) and, where stored, books (``<VENUE>_BOOKS``) from.
    marketdata
        Instead of a store: a factory of a market-data service on the run's scheduler
        (e.g. a :class:`~serenity.marketdata.historic.TableMarketdataService`).
    out
        The run folder; ``$SERENITY_HOME/runs/<strategy>/<run id>`` by default.
    as_of
        Replay the store as it was known at this time (its bitemporal reads); now by
        default. The run records it with the versions it read, so :func:`rerun` reproduces it.
    db_url
        Record the run in this database's ``strategy_run`` table and read instrument
        listings from it; the default database when ``record`` is True.
    record
        Record the run in the database: True requires it, False skips it, None (default)
        records when the database exists and is migrated.
    products
        Instrument listings; read from the database when omitted and it has them.
    batch
        Let batch kernels take rows as slices (the default); False runs every row per event,
        for debugging. Results are identical.
    report
        Write ``report.html``.
    progress
        Called as ``progress(simulated_ns_done, events_so_far)`` a few hundred times.

    Raises
    ------
    ConfigError
        For a bad config, window or store, or a database that is required but missing.
    UnknownSymbolError
        When the store lacks an instrument's trades.
    """
    cfg = config if isinstance(config, AlgoConfig) else load_config(config)
    start_ns = _instant(start, "start")
    end_ns = _instant(end, "end")
    check_window(start_ns, end_ns)
    if (store is None) == (marketdata is None):
        raise ConfigError("give a tick store URL (--store) or a market-data factory, one of them")
    as_of_ns = _instant(as_of, "as_of") if as_of is not None else time.time_ns()
    engine_db = open_run_database(db_url, record)
    if products is None:
        products = _products(engine_db, cfg.instruments)
    run_key = new_run_key()
    folder = Path(out) if out is not None else default_run_folder(cfg.name, run_key)
    # The scheduler ends just before ``end``: the window is half-open, like tick-store reads.
    scheduler = HistoricNetworkScheduler(start_ns, end_ns - 1, batch=batch)
    versions: dict[str, Any] = {"as_of": format_ns(as_of_ns), "tables": {}}
    if marketdata is not None:
        md = marketdata(scheduler)
        versions["source"] = "in-memory"
    else:
        assert store is not None
        md = _store_marketdata(scheduler, cfg, store, as_of_ns, versions)
    writer = RunWriter(
        folder,
        starting_capital=float(cfg.capital),
        currency=cfg.currency,
        config=cfg.text or cfg.as_dict(),
    )
    run_file = {
        "run_key": run_key,
        "kind": str(RunKind.BACKTEST),
        "strategy": cfg.name,
        "start": format_ns(start_ns),
        "end": format_ns(end_ns),
        "start_ns": start_ns,
        "end_ns": end_ns,
        "store": store,
        "as_of": format_ns(as_of_ns),
        "as_of_ns": as_of_ns,
        "batch": batch,
        "config_dir": str(cfg.source.parent.resolve()) if cfg.source is not None else None,
        "data_versions": versions,
        "serenity": __version__,
    }
    write_run_file(folder, run_file)
    run_record = RunRecord(engine_db)
    run_id = run_record.start(
        kind=RunKind.BACKTEST,
        strategy=cfg.name,
        config=cfg.as_dict(),
        window_start=utc(start_ns),
        window_end=utc(end_ns),
        output_uri=str(folder.resolve()),
        data_versions=versions,
    )
    if run_id is not None:
        run_file["run_id"] = run_id
        write_run_file(folder, run_file)
    try:
        prefix = f"r{run_id}-" if run_id is not None else "bt-"
        algo = AlgoEngine(
            cfg,
            scheduler,
            md,
            mode=Mode.BACKTEST,
            products=products,
            writer=writer,
            order_prefix=prefix,
        )
        scheduler.at_start(algo.start)
        scheduler.at_end(algo.stop)
        if engine_db is not None and run_id is not None:
            _book(scheduler, algo, engine_db, run_id, products, folder, run_file)
        if progress is not None:
            _progress(scheduler, progress, start_ns, end_ns)
        wall = time.perf_counter()
        stats = scheduler.run()
        wall = time.perf_counter() - wall
        algo.final_snapshot()
        writer.close()
    except BaseException as exc:
        writer.close()
        run_record.fail(f"{type(exc).__name__}: {exc}")
        raise
    ticks = stats.events - stats.timers
    statistics = summarize_run(
        folder,
        ticks=ticks,
        wall_seconds=wall,
        ticks_per_second=ticks / wall if wall > 0 else None,
        report=report,
        title=f"{cfg.name} backtest {format_ns(start_ns)[:10]} to {format_ns(end_ns)[:10]}",
    )
    run_record.finish(statistics)
    log.info(
        "backtest.done",
        extra={
            "strategy": cfg.name,
            "ticks": ticks,
            "wall_s": round(wall, 3),
            "folder": str(folder),
        },
    )
    return BacktestResult(folder, run_id, stats, statistics, ticks, wall)


def rerun(
    run: str | Path | int, *, out: str | Path | None = None, db_url: str | None = None
) -> tuple[BacktestResult, list[str]]:
    """Run a recorded backtest again, on the data as it was then, and compare the outputs.

    Parameters
    ----------
    run
        The run folder, or its ``strategy_run`` id.
    out
        Where the new run's outputs go (default: a sibling folder).

    Returns
    -------
    The new run and the differences found (empty when the outputs match exactly).

    Raises
    ------
    ConfigError
        When the run cannot be found or was not a stored-data backtest.
    """
    folder = _run_folder(run, db_url)
    try:
        recorded = json.loads((folder / RUN_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{folder} is not a backtest run folder (no readable {RUN_FILE})"
        ) from exc
    if not recorded.get("store"):
        raise ConfigError(
            f"run {folder} replayed in-memory data; only stored-data runs can be rerun"
        )
    cfg = load_config((folder / "config.yaml").read_text())
    if recorded.get("config_dir"):
        # Relative strategy modules resolve against the original config's folder.
        cfg = dataclasses.replace(cfg, source=Path(recorded["config_dir"]) / "config.yaml")
    new_out = (
        Path(out)
        if out is not None
        else folder.with_name(folder.name + "-rerun-" + uuid.uuid4().hex[:4])
    )
    result = backtest(
        cfg,
        start=int(recorded["start_ns"]),
        end=int(recorded["end_ns"]),
        store=recorded["store"],
        out=new_out,
        as_of=int(recorded["as_of_ns"]),
        db_url=db_url,
        batch=bool(recorded.get("batch", True)),
    )
    return result, compare_runs(folder, result.folder)


def compare_runs(a: str | Path, b: str | Path) -> list[str]:
    """Return how two runs' outputs differ (orders, fills, positions, P&L, marks), or [].

    Client order ids and exec ids are left out: each recorded run has its own order prefix.
    """
    left, right = RunOutputs(a), RunOutputs(b)
    out = []
    for table in _COMPARED:
        x, y = left.table(table), right.table(table)
        x = x.drop(columns=[c for c in _RUN_IDS if c in x.columns])
        y = y.drop(columns=[c for c in _RUN_IDS if c in y.columns])
        if len(x) != len(y):
            out.append(f"{table}: {len(x)} rows vs {len(y)}")
        elif not x.equals(y):
            out.append(f"{table}: same row count, different values")
    return out


# -- helpers ---------------------------------------------------------------------------------


def _instant(value: dt.datetime | int | str, what: str) -> int:
    from serenity.marketdata.tickstore.args import to_ns

    return to_ns(value, what=f"--{what.replace('_', '-')}")


def _products(engine: Any, instruments: tuple[InstrumentId, ...]) -> dict[InstrumentId, Product]:
    if engine is None:
        return {}
    from serenity.db.products import load_products

    found = load_products(engine, instruments)
    missing = [str(i) for i in instruments if i not in found]
    if missing:
        log.info("backtest.no_listing", extra={"instruments": ",".join(missing)})
    return found


def _store_marketdata(
    scheduler: HistoricNetworkScheduler,
    cfg: AlgoConfig,
    url: str,
    as_of_ns: int,
    versions: dict[str, Any],
) -> MarketdataService:
    from serenity.marketdata.tickstore import list_tables, open_tickstore

    try:
        tables = set(list_tables(url))
    except SerenityError:
        raise
    except Exception as exc:
        raise ConfigError(f"cannot open the tick store {url!r}: {exc}") from exc
    stores: list[Tickstore] = []
    for venue in sorted({i.venue for i in cfg.instruments}):
        trades = f"{venue.upper()}_TRADES"
        if trades not in tables:
            raise UnknownSymbolError(
                f"the tick store {url} has no {trades} table; tables: {sorted(tables) or 'none'}"
            )
        stores.append(open_tickstore(url, trades))
        books = f"{venue.upper()}_BOOKS"
        if cfg.books is not False and books in tables:
            stores.append(open_tickstore(url, books))
        elif cfg.books:
            raise UnknownSymbolError(f"books: true, but the tick store {url} has no {books} table")
    md = HistoricMarketdataService(scheduler, *stores, as_of=as_of_ns)
    for store in stores:
        by_symbol: dict[str, dict[str, int]] = {}
        for inst in cfg.instruments:
            if store.table.startswith(inst.venue.upper() + "_") and inst.symbol in store.symbols():
                used = store.resolve(inst.symbol, scheduler.start, scheduler.end + 1, as_of_ns)
                by_symbol[inst.symbol] = {v.date.isoformat(): v.version for v in used}
        versions["tables"][store.table] = by_symbol
    return md


def _book(
    scheduler: HistoricNetworkScheduler,
    algo: AlgoEngine,
    engine: Any,
    run_id: int,
    products: Mapping[InstrumentId, Product],
    folder: Path,
    run_file: dict[str, Any],
) -> None:
    """Book the run's orders and fills (and a closing snapshot of positions and marks) into
    the database, when every instrument's listing is there to book against."""
    from serenity.booker import DatabaseTradeBookingService

    missing = [str(i) for i in algo.config.instruments if i not in products]
    if missing:
        log.warning(
            "backtest.not_booked",
            extra={
                "instruments": ",".join(missing),
                "hint": "load the venue's listings with `serenity refdata load` to book runs",
            },
        )
        run_file["booked"] = False
        return
    booker = DatabaseTradeBookingService(
        scheduler, algo.oms, engine, run_id=run_id, journal=folder / "booking.journal"
    )
    scheduler.at_end(
        lambda: booker.snapshot(
            algo.positions, algo.marks, source="backtest", instruments=algo.config.instruments
        )
    )
    run_file["booked"] = True
    write_run_file(folder, run_file)


def _progress(
    scheduler: HistoricNetworkScheduler, report: Callable[[int, int], None], start: int, end: int
) -> None:
    total = end - start
    step = max(total // 200, 60 * 10**9)

    def tick() -> None:
        report(min(scheduler.get_time() - start, total), scheduler.events)

    timer = RepeatingTimer(scheduler, step, start=start + step, name="progress")
    from serenity.tau.event import Do

    Do(scheduler.network, timer, tick, name="progress:report")
    scheduler.at_end(lambda: report(total, scheduler.events))


def _run_folder(run: str | Path | int, db_url: str | None) -> Path:
    if isinstance(run, int) or (isinstance(run, str) and run.isdigit()):
        from serenity.analytics.runs import get_run
        from serenity.db.engine import create_engine_from_url

        record = get_run(create_engine_from_url(db_url), int(run))
        if not record.output_uri:
            raise ConfigError(f"run {run} has no recorded output folder")
        return Path(record.output_uri)
    folder = Path(run).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"no run folder at {str(folder)!r}")
    return folder

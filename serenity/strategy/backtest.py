"""Investment backtests: a config, a window and daily prices in; the run's outputs out.

The outputs are the algo engine's (:mod:`serenity.analytics`): orders, fills, positions,
the equity curve and marks as Parquet, capture channels (``cash`` each session,
``dividends`` and ``splits`` when they happen, and the strategy's own), ``summary.json``
with daily statistics annualised over the calendar's year (252 sessions, 365 for ``24/7``),
a comparison with a benchmark bought and held (dividends reinvested), and ``report.html``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pandas as pd

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
from serenity.algo.loader import load_strategy_class, strategy_params
from serenity.analytics import (
    RunOutputs,
    RunStatistics,
    RunWriter,
    build_report,
    buy_and_hold_returns,
    compare_with_benchmark,
    equity_curve,
    period_returns,
    summarize_run,
    write_summary,
)
from serenity.errors import ConfigError
from serenity.model import RunKind
from serenity.strategy.base import InvestmentStrategy
from serenity.strategy.calendar import Session, TradingCalendar
from serenity.strategy.config import InvestConfig, load_invest_config
from serenity.strategy.engine import InvestEngine
from serenity.strategy.fills import FillSimulator
from serenity.strategy.model import FRACTIONAL, Portfolio, Tradable, Universe
from serenity.strategy.prices import PriceFile, PriceSource, TickstorePrices
from serenity.strategy.pricing import PriceTable
from serenity.tau import format_ns

__all__ = ["RUN_FILE", "InvestResult", "backtest"]

log = logging.getLogger(__name__)

_FREQUENCY: Final = "1D"
_FIRST_DAY: Final = dt.date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class InvestResult:
    """What an investment backtest did and where its outputs are.

    Attributes
    ----------
    folder
        The run folder (orders, fills, positions, pnl, marks, capture, summary, report).
    run_id
        The run's ``strategy_run`` id, when it was recorded in a database.
    statistics
        The run's statistics (also in ``summary.json``).
    sessions
        Sessions run.
    wall_s
        Wall-clock seconds the run took (prices loaded, summary and report excluded).
    """

    folder: Path
    run_id: int | None
    statistics: RunStatistics
    sessions: int
    wall_s: float

    @property
    def outputs(self) -> RunOutputs:
        """Return the run's outputs as pandas frames."""
        return RunOutputs(self.folder)


def backtest(
    config: InvestConfig | str | Path | Mapping[str, Any],
    *,
    start: dt.datetime | dt.date | int | str,
    end: dt.datetime | dt.date | int | str,
    prices: str | Path | PriceSource | None = None,
    store: str | None = None,
    out: str | Path | None = None,
    benchmark: str | None = None,
    report: bool = True,
    record: bool | None = None,
    db_url: str | None = None,
    as_of: dt.datetime | int | str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> InvestResult:
    """Backtest an investment config over the sessions in ``[start, end)``.

    Parameters
    ----------
    config
        The configuration (a file, YAML text, a mapping or an :class:`InvestConfig`).
    start, end
        The window: sessions that open at or after ``start`` and close by ``end`` run.
        Aware datetimes, int ns, or ISO text / days (UTC midnight).
    prices
        A price file (or any :class:`~serenity.strategy.prices.PriceSource`); overrides
        the config's ``prices``.
    store
        A tick store URL for daily bars of ``VENUE:SYMBOL`` tradables; overrides the
        config's ``store``.
    out
        The run folder; ``$SERENITY_HOME/runs/<strategy>/<run id>`` by default.
    benchmark
        A symbol to compare with (bought at the first close and held, dividends
        reinvested); overrides the config's ``benchmark``.
    report
        Write ``report.html``.
    record
        Record the run in the database's ``strategy_run`` table: True requires it, False
        skips it, None (default) records when the database exists and is migrated.
    db_url
        The database; ``$SERENITY_DB_URL`` or the default SQLite file when omitted.
    as_of
        Read the tick store as it was at this instant.
    progress
        Called as ``progress(sessions_done, sessions_total)`` after each session.

    Raises
    ------
    ConfigError
        For a bad config, window or price source.
    UnknownSymbolError
        When the prices lack a tradable or the benchmark.
    DataError
        For a malformed price file.
    """
    from serenity.marketdata.tickstore.args import to_ns

    cfg = config if isinstance(config, InvestConfig) else load_invest_config(config)
    start_ns = to_ns(start, what="--start")
    end_ns = to_ns(end, what="--end")
    check_window(start_ns, end_ns)
    as_of_ns = to_ns(as_of, what="--as-of") if as_of is not None else None
    source = _source(cfg, prices, store, as_of_ns)
    calendar = TradingCalendar(cfg.calendar_name)
    window = calendar.sessions_between(start_ns, end_ns)
    if not window:
        raise ConfigError(
            f"calendar {calendar.name} has no session between {format_ns(start_ns)} and "
            f"{format_ns(end_ns)}"
        )
    universe = _universe(cfg, source)
    marked = list(universe.symbols)
    bench = benchmark if benchmark is not None else cfg.benchmark
    bench_symbol = _benchmark_symbol(bench, universe, source) if bench else None
    if bench_symbol is not None and bench_symbol not in marked:
        marked.append(bench_symbol)
    first = (
        window[0].date - dt.timedelta(days=cfg.warmup_days)
        if isinstance(source, TickstorePrices)
        else _FIRST_DAY
    )
    frame = source.load(marked, first, window[-1].date)
    history_start = min([window[0].date, *frame["date"].head(1).tolist()])
    days = [s.date for s in calendar.sessions(history_start, window[-1].date)]
    table = PriceTable(frame, days, marked)
    rebalance = cfg.rebalance.dates(
        [s.date for s in window], calendar.period_sessions([s.date for s in window])
    )
    cls = load_strategy_class(
        cfg.strategy.module,
        cfg.strategy.class_name,
        base=cfg.source.parent if cfg.source is not None else None,
        kind=InvestmentStrategy,
    )
    params = strategy_params(cls, cfg.strategy.params, where=f"strategy {cfg.name!r}")
    portfolio = Portfolio(cfg.currency, cfg.accounts)

    run_key = new_run_key()
    folder = Path(out) if out is not None else default_run_folder(cfg.name, run_key)
    writer = RunWriter(
        folder,
        starting_capital=float(portfolio.starting_capital),
        currency=portfolio.currency,
        config=cfg.text or cfg.as_dict(),
    )
    run_file: dict[str, Any] = {
        "run_key": run_key,
        "kind": "invest",
        "strategy": cfg.name,
        "start": format_ns(start_ns),
        "end": format_ns(end_ns),
        "calendar": calendar.name,
        "sessions": len(window),
        "prices": source.description,
        "benchmark": bench_symbol,
        "config_dir": str(cfg.source.parent.resolve()) if cfg.source is not None else None,
        "serenity": __version__,
    }
    write_run_file(folder, run_file)
    run_record = RunRecord(open_run_database(db_url, record))
    run_id = run_record.start(
        kind=RunKind.BACKTEST,
        strategy=cfg.name,
        config=cfg.as_dict(),
        window_start=utc(start_ns),
        window_end=utc(end_ns),
        output_uri=str(folder.resolve()),
        data_versions={"prices": source.description},
    )
    engine = InvestEngine(
        strategy=cls(),
        params=params,
        universe=universe,
        portfolio=portfolio,
        table=table,
        sessions=window,
        calendar=calendar,
        rebalance=rebalance,
        fills=FillSimulator(cfg.fills, cfg.costs, max_participation=cfg.max_participation),
        dividends=cfg.dividends,
        writer=writer,
        marked=marked,
        name=cfg.name,
    )
    wall = time.perf_counter()
    try:
        sessions = engine.run(progress)
        writer.close()
    except BaseException as exc:
        writer.close()
        run_record.fail(f"{type(exc).__name__}: {exc}")
        raise
    wall = time.perf_counter() - wall
    per_year = cfg.days_per_year or calendar.days_per_year
    bars = table.count_bars(len(days) - len(window))
    statistics = summarize_run(
        folder,
        ticks=bars,
        wall_seconds=wall,
        frequency=_FREQUENCY,
        days_per_year=per_year,
        report=False,
    )
    if bench_symbol is not None:
        statistics = _with_benchmark(statistics, folder, table, window, bench_symbol)
        write_summary(folder, statistics)
    if report:
        title = f"{cfg.name} investment backtest {window[0].date} to {window[-1].date}"
        build_report(folder, title=title)
    run_record.finish(statistics)
    log.info(
        "invest.backtest.done",
        extra={"strategy": cfg.name, "sessions": sessions, "folder": str(folder)},
    )
    return InvestResult(folder, run_id, statistics, sessions, wall)


def _source(
    cfg: InvestConfig, prices: str | Path | PriceSource | None, store: str | None, as_of: int | None
) -> PriceSource:
    if prices is not None and store is not None:
        raise ConfigError("give a price file (--prices) or a tick store (--store), not both")
    if prices is not None:
        return PriceFile(prices) if isinstance(prices, str | Path) else prices
    if store is not None:
        return TickstorePrices(store, as_of=as_of)
    if cfg.prices is not None:
        return PriceFile(cfg.prices)
    if cfg.store is not None:
        return TickstorePrices(cfg.store, as_of=as_of)
    raise ConfigError(
        f"no prices for {cfg.name}: give a price file (--prices, or `prices:` in the config) "
        "or a tick store (--store, or `store:`)"
    )


def _universe(cfg: InvestConfig, source: PriceSource) -> Universe:
    from serenity.algo.config import parse_instrument

    from_store = isinstance(source, TickstorePrices)
    default_lot = cfg.lot_size or (FRACTIONAL if from_store else Decimal(1))
    specs = cfg.universe
    if specs is None:
        symbols = source.symbols()
        if not symbols:
            raise ConfigError(f"universe `all`, but {source.description} has no symbols")
        return Universe(Tradable(s, cfg.currency, default_lot) for s in symbols)
    tradables = []
    for spec in specs:
        instrument = parse_instrument(spec.symbol) if from_store else None
        tradables.append(
            Tradable(
                str(instrument) if instrument is not None else spec.symbol,
                cfg.currency,
                spec.lot_size or default_lot,
                instrument,
            )
        )
    return Universe(tradables)


def _benchmark_symbol(name: str, universe: Universe, source: PriceSource) -> str:
    found = universe.resolve(name, strict=False)
    if found is not None:
        return found
    if isinstance(source, TickstorePrices):
        from serenity.algo.config import parse_instrument

        return str(parse_instrument(name))
    return name


def _with_benchmark(
    statistics: RunStatistics,
    folder: Path,
    table: PriceTable,
    window: list[Session],
    symbol: str,
) -> RunStatistics:
    if statistics.periods_per_year is None:
        return statistics
    first = table.row(window[0].date)
    index = table.total_return_index(symbol, first, first + len(window) - 1)
    frame = pd.DataFrame(
        {"ts": [s.stamp_ns for s in window], "instrument": symbol, "price": index.to_numpy()}
    ).dropna()
    held = buy_and_hold_returns(frame, symbol, frequency=_FREQUENCY)
    pnl = RunOutputs(folder).pnl
    returns = period_returns(
        equity_curve(pnl), frequency=_FREQUENCY, initial=statistics.starting_capital
    )
    comparison = compare_with_benchmark(
        returns,
        held,
        periods_per_year=statistics.periods_per_year,
        name=f"buy and hold {symbol} (dividends reinvested)",
    )
    return dataclasses.replace(statistics, benchmark=comparison)

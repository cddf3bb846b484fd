"""The demo pipeline: database, reference data, a recording, the tick store and a replay.

:func:`run_demo` builds Serenity's embedded default end to end with no network and no
services, saying what it does as it goes (plain lines on ``out``; progress bars on stderr):

1. migrates the SQLite database ``$SERENITY_HOME/serenity.db`` to the newest revision with
   Alembic, the code behind ``serenity db upgrade``;
2. loads the bundled Coinbase products and currencies with the reference-data loader;
3. starts a local Coinbase (:class:`~serenity.demo.server.DemoCoinbaseServer`) that streams a
   generated trading day of BTC-USD and ETH-USD, and records it with the real
   :class:`~serenity.marketdata.recorder.Recorder` (the Coinbase feedhandler and the journal)
   until the server has sent the whole day and the handler has taken every frame;
4. splays the journal's day into a local tick store;
5. replays the stored trades with :class:`~serenity.marketdata.historic.HistoricMarketdataService`
   through five-minute :class:`~serenity.signal.TimeBars` and
   :class:`~serenity.signal.BollingerBands` (20, 2), and prints the last bars;
6. backtests the example strategy ``bbands1`` (:mod:`serenity.examples.bbands1`) on the day
   it stored, with :func:`serenity.algo.backtest`, records the run in the database, and
   prints its statistics and where its report is.

Re-running is safe: the database is reused (already at head, the reference data reloads as
unchanged), while ``$SERENITY_HOME/demo`` (journal and tick store), which the demo owns and
marks as its own, is made afresh each time, so every run records, stores and replays the
same day from scratch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, Final, TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from serenity.algo import BacktestResult
from serenity.db import migrations
from serenity.db.engine import create_engine_from_url
from serenity.db.refdata import Listing, LoadReport, list_listings, load_catalog
from serenity.db.settings import serenity_home
from serenity.demo._report import (
    BAR_HEADER_BANDS,
    BarRow,
    bar_rows,
    splay_rows,
    table,
)
from serenity.demo.server import DemoCoinbaseServer
from serenity.errors import ConfigError, InvalidValueError
from serenity.exchange import coinbase
from serenity.marketdata.batch import SplayResult, splay_day, table_name
from serenity.marketdata.historic import HistoricMarketdataService
from serenity.marketdata.journal import TRADES
from serenity.marketdata.recorder import RecordConfig, Recorder, RecordSummary
from serenity.marketdata.synthetic import SyntheticMarket
from serenity.marketdata.tickstore import open_tickstore
from serenity.marketdata.tickstore.args import NS_PER_DAY, day_start_ns, to_day
from serenity.model import InstrumentId
from serenity.signal import OHLC, Bands, BollingerBands, TimeBars
from serenity.tau import HistoricNetworkScheduler, Network
from serenity.tau.event import Lambda
from serenity.tau.signal import Map

__all__ = ["DEFAULT_DAY", "DEFAULT_EVENTS", "SYMBOLS", "DemoResult", "run_demo"]

log = logging.getLogger(__name__)

DEFAULT_DAY: Final = dt.date(2024, 1, 2)
"""The generated trading day (UTC)."""
DEFAULT_EVENTS: Final = 150_000
"""Generated events (trades and quote changes) across the products: a busy day's worth."""
SYMBOLS: Final = ("BTC-USD", "ETH-USD")
"""The products streamed, recorded and replayed."""
BAR_WIDTH: Final = dt.timedelta(minutes=5)
BANDS_WINDOW: Final = 20
BANDS_STD: Final = 2.0
SHOWN_BARS: Final = 8

_OPENING: Final = {"BTC-USD": (42_000.0, 0.5, 7), "ETH-USD": (2_350.0, 0.05, 11)}
"""Per product: the opening mid, the generator's price step (a multiple of the product's
``quote_increment``) and the seed."""
_MARKER: Final = ".serenity-demo"
_RECORD_TIMEOUT_S: Final = 300.0
_STEPS: Final = 6

_Say = Callable[[str], object]
"""Prints one line of the narrative."""


@dataclass(slots=True, kw_only=True)
class DemoResult:
    """What a demo run built, for callers and tests.

    Attributes
    ----------
    home
        The Serenity home used.
    db_url
        The SQLite database's URL.
    listings
        The Coinbase listings in the database after the load.
    refdata
        What the reference-data load did.
    recording
        What the recorder took in.
    is_complete
        Whether the recorder took every frame the venue sent before the deadline.
    journal_dir, store_url
        Where the journal and the tick store are.
    stored
        One result per stored (table, symbol, day).
    bars
        Per symbol, every replayed bar with its bands.
    replayed_events
        Events the historic scheduler ran.
    backtest
        The backtest of the example strategy ``bbands1``.
    seconds
        Wall time of the run.
    """

    home: Path
    db_url: str
    listings: list[Listing] = field(default_factory=list)
    refdata: LoadReport | None = None
    recording: RecordSummary = field(default_factory=RecordSummary)
    is_complete: bool = False
    journal_dir: Path = Path()
    store_url: str = ""
    stored: list[SplayResult] = field(default_factory=list)
    bars: dict[str, list[BarRow]] = field(default_factory=dict)
    replayed_events: int = 0
    backtest: BacktestResult | None = None
    seconds: float = 0.0


def run_demo(
    home: str | Path | None = None,
    *,
    day: dt.date = DEFAULT_DAY,
    events: int = DEFAULT_EVENTS,
    quiet: bool = False,
    out: TextIO | None = None,
) -> DemoResult:
    """Run the demo end to end and return what it built.

    Parameters
    ----------
    home
        Serenity's home folder; ``$SERENITY_HOME`` (else ``~/.serenity``) when omitted. The
        database is ``HOME/serenity.db``; the journal and tick store go under ``HOME/demo``.
    day
        The UTC day to generate.
    events
        Generated events (trades and quote changes) across the products, >= 100.
    quiet
        Hide the progress bars (they are also hidden when stderr is not a terminal).
    out
        Where the narrative goes; stdout when omitted.

    Raises
    ------
    ConfigError
        When ``HOME/demo`` exists but was not made by the demo, or the database cannot be
        migrated.
    InvalidValueError
        For fewer than 100 events, or a ``day`` that is not a date.
    """
    if isinstance(events, bool) or not isinstance(events, int) or events < 100:
        raise InvalidValueError(f"events must be an int >= 100, was {events!r}")
    day = to_day(day, what="day")
    started = time.monotonic()
    stream = out or sys.stdout

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    root = (Path(home).expanduser() if home is not None else serenity_home()).absolute()
    result = DemoResult(home=root, db_url=f"sqlite:///{root / 'serenity.db'}")
    hide = quiet or not sys.stderr.isatty()
    say(
        f"serenity demo: a generated Coinbase day ({day}, {events:,} events, "
        f"{' and '.join(SYMBOLS)}) recorded, stored and replayed; no network, no services"
    )
    say(f"      home {root} (the database is reused; demo/ is made afresh)")
    demo_dir = _fresh_demo_dir(root)
    catalog = _bundled("coinbase_products.json"), _bundled("coinbase_currencies.json")
    with logging_redirect_tqdm():
        _migrate(result, say)
        _load_refdata(result, catalog, say)
        markets = _markets(day, events)
        result.journal_dir = demo_dir / "journal"
        asyncio.run(_record(result, markets, catalog, say, hide=hide))
        result.store_url = (demo_dir / "ticks").resolve().as_uri()
        _splay(result, day, say, hide=hide)
        _replay(result, day, say)
        _backtest(result, day, demo_dir, say)
    result.seconds = time.monotonic() - started
    say(f"done in {result.seconds:.1f} s. Look around:")
    say(f"      serenity tickstore ls {result.store_url} --table COINBASE_TRADES")
    say(
        f"      serenity tickstore show {result.store_url} COINBASE_TRADES {SYMBOLS[0]} "
        f"--start {day}T12:00:00Z --end {day}T12:01:00Z"
    )
    say(f"      serenity refdata ls --venue coinbase --db-url {result.db_url}")
    say(f"      serenity runs ls --db-url {result.db_url}")
    if result.backtest is not None:
        say(f"      open {result.backtest.folder / 'report.html'}")
    return result


# -- the steps --------------------------------------------------------------------------------


def _migrate(result: DemoResult, say: _Say) -> None:
    result.home.mkdir(parents=True, exist_ok=True)
    before = migrations.current_revision(result.db_url)
    migrations.upgrade(result.db_url)
    after = migrations.current_revision(result.db_url)
    done = (
        f"already at head {after}"
        if before == after
        else f"migrated {before or 'empty'} -> {after} (head)"
    )
    say(f"[1/{_STEPS}] database {result.db_url}: {done}")


def _load_refdata(result: DemoResult, payloads: tuple[Any, Any], say: _Say) -> None:
    catalog = coinbase.parse_products(*payloads)
    engine = create_engine_from_url(result.db_url)
    try:
        result.refdata = load_catalog(engine, catalog, name=coinbase.NAME)
        result.listings = list_listings(engine, venue=coinbase.VENUE)
    finally:
        engine.dispose()
    symbols = ", ".join(listing.symbol for listing in result.listings)
    say(f"[2/{_STEPS}] reference data (bundled Coinbase products): {result.refdata}")
    say(f"      {len(result.listings)} live listings: {symbols}")


async def _record(
    result: DemoResult,
    markets: Sequence[SyntheticMarket],
    catalog: tuple[Any, Any],
    say: _Say,
    *,
    hide: bool,
) -> None:
    products, currencies = catalog
    async with DemoCoinbaseServer(markets, products=products, currencies=currencies) as server:
        say(
            f"[3/{_STEPS}] recording: a local Coinbase at {server.ws_url} streams the day "
            f"({server.total:,} messages) into the Coinbase feedhandler -> {result.journal_dir}"
        )
        recorder = Recorder(
            RecordConfig(
                venue=coinbase.VENUE,
                symbols=SYMBOLS,
                journal_dir=result.journal_dir,
                ws_url=server.ws_url,
                rest_url=server.rest_url,
            )
        )
        task = asyncio.create_task(recorder.run(), name="demo:recorder")
        off: dict[str, Any] = {"disable": True} if hide else {}
        bar = tqdm(
            total=server.total,
            desc="recording",
            unit="msg",
            unit_scale=True,
            file=sys.stderr,
            **off,
        )
        try:
            with bar:
                result.is_complete = await _until_recorded(server, recorder, task, bar)
        finally:
            recorder.stop()
        result.recording = await task
    for line in result.recording.lines():
        say(f"      {line}")
    if result.is_complete:
        say(f"      the venue sent all {server.total:,} messages; the handler took every frame")
    else:
        say(
            f"      warning: stopped after {_RECORD_TIMEOUT_S:.0f} s with "
            f"{server.market_messages:,} of {server.total:,} messages sent"
        )


async def _until_recorded(
    server: DemoCoinbaseServer, recorder: Recorder, task: asyncio.Task[Any], bar: tqdm[Any]
) -> bool:
    """Wait until the day was sent and the handler took every frame; False at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _RECORD_TIMEOUT_S
    while not task.done():
        handler = recorder.handler
        if handler is not None:
            bar.update(handler.trades + handler.book_updates - bar.n)
            if server.finished.is_set() and handler.connection.frames >= server.frames:
                return True
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return False


def _splay(result: DemoResult, day: dt.date, say: _Say, *, hide: bool) -> None:
    say(f"[4/{_STEPS}] splay: journal day {day} -> tick store {result.store_url}")
    streams = len(SYMBOLS) * 2
    off: dict[str, Any] = {"disable": True} if hide else {}
    with tqdm(total=streams, desc="splay", unit="stream", file=sys.stderr, **off) as bar:

        def advance(stream: str) -> None:
            bar.set_postfix_str(stream)
            bar.update(1)

        result.stored = splay_day(
            result.journal_dir, result.store_url, day, venue=coinbase.VENUE, on_stream=advance
        )
    header = ["table", "symbol", "day", "rows", "version", "", "data quality"]
    say(table(splay_rows(result.stored), header))


def _replay(result: DemoResult, day: dt.date, say: _Say) -> None:
    trades_table = table_name(coinbase.VENUE, TRADES)
    say(
        f"[5/{_STEPS}] replay: {trades_table} through five-minute bars and Bollinger bands "
        f"({BANDS_WINDOW}, {BANDS_STD:g})"
    )
    start = day_start_ns(day)
    scheduler = HistoricNetworkScheduler(start, start + NS_PER_DAY - 1)
    network = scheduler.network
    service = HistoricMarketdataService(scheduler, open_tickstore(result.store_url, trades_table))
    for symbol in SYMBOLS:
        trades = service.get_trades(InstrumentId(coinbase.VENUE, symbol))
        bars = TimeBars(scheduler, trades, BAR_WIDTH, name=f"bars:{symbol}")
        closes = Map(network, bars, _close, name=f"closes:{symbol}")
        bands = BollingerBands(network, closes, BANDS_WINDOW, BANDS_STD, name=f"bb:{symbol}")
        rows = result.bars[symbol] = []
        Lambda(network, [bars, bands], partial(_keep, network, bands, rows), name=f"rows:{symbol}")
    started = time.monotonic()
    result.replayed_events = scheduler.run().events
    seconds = time.monotonic() - started
    for symbol in SYMBOLS:
        rows = result.bars[symbol]
        volume = sum(r.bar.volume for r in rows)
        trades_n = sum(r.bar.trade_count for r in rows)
        say(
            f"      {symbol}: {len(rows)} bars, {trades_n:,} trades, volume {volume:,.3f}; "
            f"the last {min(SHOWN_BARS, len(rows))}:"
        )
        say(table(bar_rows(rows[-SHOWN_BARS:]), BAR_HEADER_BANDS, indent=8))
    say(f"      replayed {result.replayed_events:,} scheduler events in {seconds:.1f} s")


# -- helpers ----------------------------------------------------------------------------------


def _backtest(result: DemoResult, day: dt.date, demo_dir: Path, say: _Say) -> None:
    from importlib.resources import files

    from serenity.algo import backtest, load_config

    config = load_config(Path(str(files("serenity.examples") / "bbands1.yaml")))
    params = ", ".join(f"{k}={v}" for k, v in config.strategies[0].params.items())
    say(f"[6/{_STEPS}] backtest the example strategy bbands1 ({params}) on {day}")
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    run = backtest(
        config,
        start=start,
        end=start + dt.timedelta(days=1),
        store=result.store_url,
        out=demo_dir / "runs" / "bbands1",
        db_url=result.db_url,
        record=True,
    )
    result.backtest = run
    stats = run.statistics
    say(
        f"      {run.ticks:,} ticks in {run.wall_s:.1f} s; {stats.orders} orders, {stats.fills} "
        f"fills, net P&L {stats.net_pnl:,.2f} {stats.currency} after {stats.fees:,.2f} fees"
    )
    say(f"      report {run.folder / 'report.html'} (run {run.run_id} in the database)")


def _close(bar: OHLC) -> float:
    return bar.close


def _keep(network: Network, bands: BollingerBands, rows: list[BarRow], bar: OHLC, _: Any) -> None:
    value: Bands | None = bands.get_value() if network.has_activated(bands) else None
    rows.append(BarRow(bar, value))


def _markets(day: dt.date, events: int) -> list[SyntheticMarket]:
    start = day_start_ns(day)
    each = events // len(SYMBOLS)
    return [
        SyntheticMarket(
            instrument=InstrumentId(coinbase.VENUE, symbol),
            start_ns=start,
            end_ns=start + NS_PER_DAY - 1,
            events=each,
            price=_OPENING[symbol][0],
            tick_size=_OPENING[symbol][1],
            seed=_OPENING[symbol][2],
        )
        for symbol in SYMBOLS
    ]


def _bundled(name: str) -> Any:
    """Return a bundled JSON payload (``serenity/demo/data/<name>``), parsed."""
    return json.loads(resources.files("serenity.demo").joinpath("data", name).read_text())


def _fresh_demo_dir(home: Path) -> Path:
    """Return ``home/demo``, emptied if an earlier demo made it, created and marked.

    Raises
    ------
    ConfigError
        When ``home/demo`` holds files but no demo marker: it is not the demo's to remove.
    """
    demo_dir = home / "demo"
    if demo_dir.exists():
        if not (demo_dir / _MARKER).is_file() and any(demo_dir.iterdir()):
            raise ConfigError(
                f"{demo_dir} exists and was not made by `serenity demo`; move it away or "
                "give another --home"
            )
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True)
    (demo_dir / _MARKER).write_text("made by `serenity demo`; replaced by every run\n")
    return demo_dir

"""Paper and live runs: the venues' feeds through the strategies, on simulated fills
(paper) or a venue's order connector (live), with outputs written as the run goes.

:func:`run_live` (and :func:`run_live_sync`, which also handles SIGINT/SIGTERM) wires one
realtime scheduler to a feedhandler per venue of the config's instruments, the
:class:`~serenity.algo.AlgoEngine` with the :class:`~serenity.trading.ExchangeSimulator`
(paper) or the config's ``placer`` (live, see :mod:`serenity.algo.placers`), a
:class:`~serenity.algo.feed_gate.FeedGate` that starts the strategies once every feed is
LIVE and pauses order entry while one is not, Prometheus metrics, and the run's outputs.
Stopping (a signal, the duration, :meth:`LiveRun.stop`) stops the strategies, cancels the
working orders (``cancel_on_stop``), writes the outputs, ``summary.json`` and
``report.html``, and records the run in ``strategy_run`` when the database exists.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from serenity._version import __version__
from serenity.algo._runs import (
    RunRecorder,
    default_run_folder,
    new_run_key,
    run_error,
    utc,
    write_run_file,
)
from serenity.algo._wind_down import stop_on_signals, stop_strategies, wind_down
from serenity.algo.config import AlgoConfig, load_config
from serenity.algo.engine import AlgoEngine
from serenity.algo.feed_gate import FeedGate
from serenity.algo.live_feeds import (
    FeedSettings,
    describe_feeds,
    endpoint_overrides,
    prepare_feeds,
    symbols_by_venue,
)
from serenity.algo.live_metrics import LiveMetrics, close_metrics_server, serve_metrics
from serenity.algo.placers import (
    PlacerContext,
    RunningPlacer,
    parse_placer_uri,
    require_placer,
    route_placer,
)
from serenity.algo.strategy import Mode
from serenity.analytics import RunOutputs, RunStatistics, RunWriter, summarize_run
from serenity.errors import ConfigError, SerenityError
from serenity.exchange.product import Product
from serenity.marketdata.fh import CHANNELS, FeedHandler, FeedMetrics
from serenity.marketdata.live import FeedHandlerMarketdataService
from serenity.model import InstrumentId, RunKind
from serenity.tau import RealtimeNetworkScheduler, format_ns
from serenity.trading import OrderPlacer, OrderPlacerService

__all__ = ["LiveResult", "LiveRun", "run_live", "run_live_sync"]

log = logging.getLogger(__name__)

_LAG_PERIOD_S: Final = 0.1


@dataclass(frozen=True, slots=True)
class LiveResult:
    """What a paper or live run did and where its outputs are.

    Attributes
    ----------
    folder
        The run folder (orders, fills, positions, pnl, marks, capture, summary, report).
    run_id
        The run's ``strategy_run`` id, when it was recorded in a database.
    mode
        :attr:`~serenity.algo.Mode.PAPER` or :attr:`~serenity.algo.Mode.LIVE`.
    statistics
        The run's statistics (also in ``summary.json``).
    ticks
        Trades and book updates of the run's instruments that reached the strategies.
    wall_s
        Wall-clock seconds from start to the end of the outputs.
    started
        Whether the strategies were started (every feed went LIVE).
    pauses
        How often order entry was paused because a feed left LIVE.
    cancelled
        Working orders cancelled when the run stopped.
    left_working
        Orders still working when the run ended (``cancel_on_stop: false``, or cancels not
        confirmed in time).
    node_errors
        Exceptions raised by graph nodes (logged; each abandoned its cycle) and by the
        strategies' ``stop``.
    """

    folder: Path
    run_id: int | None
    mode: Mode
    statistics: RunStatistics
    ticks: int
    wall_s: float
    started: bool
    pauses: int
    cancelled: int
    left_working: int
    node_errors: int

    @property
    def outputs(self) -> RunOutputs:
        """Return the run's outputs as pandas frames."""
        return RunOutputs(self.folder)


class LiveRun:
    """One paper or live run of a strategy config; ``await run.run()`` runs it.

    The constructor checks the arguments and opens nothing. :meth:`run` refuses a live run
    without an order connector before it connects anywhere, fetches each venue's product
    list, checks the symbols, connects the feeds, and runs until :meth:`stop` (or
    ``duration_s``). :meth:`stop` is safe from a signal handler on the loop thread and
    before :meth:`run`.

    Parameters
    ----------
    config
        The run configuration (a file, YAML text, a mapping or an :class:`AlgoConfig`).
    paper
        Fill orders with the exchange simulator on the live data; otherwise send them to
        the config's ``placer``.
    out
        The run folder; ``$SERENITY_HOME/runs/<strategy>/<run id>`` by default.
    duration_s
        Stop after this many seconds; run until stopped when None.
    metrics_port
        Serve Prometheus metrics on ``metrics_host`` at this port (0: any free port; see
        :attr:`metrics_port` once running); none when None.
    ws_urls, rest_urls
        Endpoints replacing a venue's, by venue (e.g. local test servers).
    environment
        The venues' deployment for market data, ``prod`` or ``testnet``.
    db_url
        Record the run in this database's ``strategy_run`` table; the default database
        when ``record`` is True.
    record
        True requires the database, False skips it, None (default) records when the
        database exists and is migrated.
    stall_timeout_s, heartbeat_s
        Feed liveness: a feed silent for ``stall_timeout_s`` is reconnected (order entry
        pauses meanwhile).
    cancel_timeout_s
        Longest wait, when stopping, for the working orders' cancels to be confirmed.
    flush_interval_s
        How often outputs are flushed to disk while the run goes.
    report
        Write ``report.html`` at the end.

    Raises
    ------
    ConfigError
        For a bad config or argument, or URL overrides for venues the run does not use.
    """

    def __init__(
        self,
        config: AlgoConfig | str | Path | Mapping[str, Any],
        *,
        paper: bool,
        out: str | Path | None = None,
        duration_s: float | None = None,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
        ws_urls: Mapping[str, str] | None = None,
        rest_urls: Mapping[str, str] | None = None,
        environment: str = "prod",
        db_url: str | None = None,
        record: bool | None = None,
        stall_timeout_s: float = 30.0,
        heartbeat_s: float = 10.0,
        cancel_timeout_s: float = 5.0,
        flush_interval_s: float = 1.0,
        report: bool = True,
    ) -> None:
        cfg = config if isinstance(config, AlgoConfig) else load_config(config)
        self.config = cfg
        self.mode = Mode.PAPER if paper else Mode.LIVE
        self.out = Path(out) if out is not None else None
        for name, value in (
            ("duration_s", duration_s),
            ("stall_timeout_s", stall_timeout_s),
            ("heartbeat_s", heartbeat_s),
            ("cancel_timeout_s", cancel_timeout_s),
            ("flush_interval_s", flush_interval_s),
        ):
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ConfigError(f"{name} must be > 0 seconds, was {value!r}")
        if metrics_port is not None and not 0 <= metrics_port <= 65535:
            raise ConfigError(f"metrics port must be 0..65535, was {metrics_port!r}")
        self.duration_s = duration_s
        self.metrics_host = metrics_host
        self.db_url = db_url
        self.record = record
        self.cancel_timeout_s = float(cancel_timeout_s)
        self.flush_interval_s = float(flush_interval_s)
        self.report = report
        self.venues = symbols_by_venue(cfg.instruments)
        self.feed_settings = FeedSettings(
            ws_urls=endpoint_overrides(ws_urls, self.venues, what="ws_urls"),
            rest_urls=endpoint_overrides(rest_urls, self.venues, what="rest_urls"),
            environment=environment,
            channels=("trades",) if cfg.books is False else CHANNELS,
            stall_timeout_s=float(stall_timeout_s),
            heartbeat_s=float(heartbeat_s),
        )
        self.metrics = LiveMetrics()
        self.metrics_port: int | None = None
        self._wanted_port = metrics_port
        self.scheduler: RealtimeNetworkScheduler | None = None
        self.marketdata: FeedHandlerMarketdataService | None = None
        self.handlers: list[FeedHandler] = []
        self.engine: AlgoEngine | None = None
        self.gate: FeedGate | None = None
        self.folder: Path | None = None
        self.run_id: int | None = None
        self.placer: OrderPlacer | None = None
        self._stop_requested = False
        self._stop: asyncio.Event | None = None
        self._wound_down = False
        self._cancelled = 0
        self._stop_errors = 0

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the run to stop: strategies stop, orders are cancelled, outputs are written.

        Call on the loop thread (a signal handler added with ``loop.add_signal_handler`` is).
        """
        self._stop_requested = True
        if self._stop is not None:
            self._stop.set()

    @property
    def is_started(self) -> bool:
        """Return True once the strategies were started."""
        return self.engine is not None and self.engine.started

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> LiveResult:
        """Run until stopped; return what the run did.

        Raises
        ------
        ConfigError
            For a live run without a ``placer`` or an order connector for it (before
            anything connects), or a database that is required but missing.
        UnknownSymbolError
            For a symbol its venue does not list (before connecting).
        VenueError
            When a venue's products cannot be fetched, or it refuses a subscription.
        """
        cfg = self.config
        self._stop = asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        placer_uri = require_placer(cfg.placer) if self.mode is Mode.LIVE else None
        started_ns = time.time_ns()
        wall = time.perf_counter()
        scheduler = RealtimeNetworkScheduler()
        self.scheduler = scheduler
        feeds = await prepare_feeds(
            scheduler,
            cfg.instruments,
            self.feed_settings,
            metrics=FeedMetrics(self.metrics.registry),
        )
        self.handlers = list(feeds.handlers)
        md = self.marketdata = feeds.marketdata
        products = feeds.products
        placers = None
        if placer_uri is not None:
            placers = self._placers(placer_uri, scheduler, md, products)
        gate = FeedGate(
            scheduler.network,
            {venue: md.get_feed_state(venue) for venue in self.venues},
            on_live=self._start_strategies,
        )
        self.gate = gate
        recorder = await RunRecorder.open(self.db_url, self.record)
        run_key = new_run_key()
        folder = self.out if self.out is not None else default_run_folder(cfg.name, run_key)
        self.folder = folder
        server = None
        writer: RunWriter | None = None
        try:
            writer = RunWriter(
                folder,
                starting_capital=float(cfg.capital),
                currency=cfg.currency,
                config=cfg.text or cfg.as_dict(),
                flush_interval_s=self.flush_interval_s,
            )
            run_file = self._run_file(run_key, started_ns, placer_uri)
            write_run_file(folder, run_file)
            self.run_id = await recorder.start(
                kind=RunKind.PAPER if self.mode is Mode.PAPER else RunKind.LIVE,
                strategy=cfg.name,
                config=cfg.as_dict(),
                window_start=utc(started_ns),
                output_uri=str(folder.resolve()),
                data_versions={"source": "live", "feeds": run_file["feeds"]},
            )
            if self.run_id is not None:
                run_file["run_id"] = self.run_id
                write_run_file(folder, run_file)
            engine = AlgoEngine(
                cfg,
                scheduler,
                md,
                mode=self.mode,
                products=products,
                writer=writer,
                placers=placers,
                checks=[gate],
            )
            self.engine = engine
            self.metrics.watch_engine(engine, gate)
            server = self._serve_metrics()
            log.info(
                "algo.run.start",
                extra={
                    "strategy": cfg.name,
                    "mode": str(self.mode),
                    "feeds": ",".join(self.venues),
                    "folder": str(folder),
                },
            )
            await self._run_until_stopped(scheduler, engine, writer, gate)
        except BaseException as exc:
            error = run_error(exc)
            log.error(
                "algo.run.failed",
                extra={"strategy": cfg.name, "error": f"{type(error).__name__}: {error}"},
            )
            try:
                if writer is not None:
                    writer.close()
            except SerenityError:
                log.exception("algo.run.outputs_failed", extra={"folder": str(folder)})
            await recorder.fail(f"{type(error).__name__}: {error}")
            if error is not exc:
                raise error from None
            raise
        finally:
            if server is not None:
                await asyncio.to_thread(close_metrics_server, server)
        writer.close()
        wall = time.perf_counter() - wall
        ticks = self.metrics.tick_count
        try:
            statistics = await asyncio.to_thread(
                summarize_run,
                folder,
                ticks=ticks,
                wall_seconds=wall,
                ticks_per_second=ticks / wall if wall > 0 else None,
                report=self.report,
                title=f"{cfg.name} {self.mode} run from {format_ns(started_ns)[:19]}",
            )
        except BaseException as exc:
            await recorder.fail(f"{type(exc).__name__}: {exc}")
            raise
        await recorder.finish(statistics)
        left = len(engine.oms.working_orders())
        log.info(
            "algo.run.done",
            extra={
                "strategy": cfg.name,
                "mode": str(self.mode),
                "ticks": ticks,
                "wall_s": round(wall, 3),
                "cancelled": self._cancelled,
                "working": left,
                "folder": str(folder),
            },
        )
        return LiveResult(
            folder=folder,
            run_id=self.run_id,
            mode=self.mode,
            statistics=statistics,
            ticks=ticks,
            wall_s=wall,
            started=engine.started,
            pauses=gate.pauses,
            cancelled=self._cancelled,
            left_working=left,
            node_errors=scheduler.error_count + self._stop_errors,
        )

    async def _run_until_stopped(
        self,
        scheduler: RealtimeNetworkScheduler,
        engine: AlgoEngine,
        writer: RunWriter,
        gate: FeedGate,
    ) -> None:
        assert self._stop is not None
        placer = self.placer
        async with asyncio.TaskGroup() as tg:
            tg.create_task(scheduler.run(), name="algo:scheduler")
            for handler in self.handlers:
                tg.create_task(handler.run(), name=f"fh:{handler.venue}")
            if isinstance(placer, RunningPlacer):
                tg.create_task(placer.run(), name="algo:placer")
            chores = [tg.create_task(self._housekeeping(engine, writer), name="algo:outputs")]
            if self.duration_s is not None:
                chores.append(tg.create_task(self._stop_after(self.duration_s), name="duration"))
            log.info("algo.feeds.waiting", extra={"feeds": ",".join(self.venues)})
            try:
                await self._stop.wait()
                log.info("algo.run.stopping", extra={"strategy": self.config.name})
                await self._wind_down(engine, writer)
            finally:
                if not self._wound_down:
                    try:
                        stop_strategies(engine)  # failing: still send the cancels
                    except Exception:
                        log.exception("algo.stop_failed", extra={"strategy": self.config.name})
                gate.close()
                for chore in chores:
                    chore.cancel()
                for handler in self.handlers:
                    handler.stop()
                if isinstance(placer, RunningPlacer):
                    placer.stop()
                scheduler.shutdown()

    def _start_strategies(self) -> None:
        engine = self.engine
        if engine is None or self._stop_requested:
            return
        log.info("algo.strategies.start", extra={"strategy": self.config.name})
        self.metrics.strategies_started.set(1)
        engine.start()

    async def _wind_down(self, engine: AlgoEngine, writer: RunWriter) -> None:
        done = await wind_down(engine, writer, cancel_timeout_s=self.cancel_timeout_s)
        self._cancelled = done.cancelled
        self._stop_errors += int(done.stop_failed)
        self._wound_down = True

    async def _housekeeping(self, engine: AlgoEngine, writer: RunWriter) -> None:
        """Measure the loop's lag; flush the outputs and refresh the P&L gauges."""
        loop = asyncio.get_running_loop()
        next_flush = loop.time() + self.flush_interval_s
        while True:
            before = loop.time()
            await asyncio.sleep(_LAG_PERIOD_S)
            now = loop.time()
            self.metrics.observe_lag(now - before - _LAG_PERIOD_S)
            if now >= next_flush:
                next_flush = now + self.flush_interval_s
                writer.flush()
                self.metrics.observe_pnl(engine.pnl.snapshot())

    async def _stop_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        log.info("algo.run.duration_reached", extra={"seconds": seconds})
        self.stop()

    # -- assembly --------------------------------------------------------------------------

    def _placers(
        self,
        uri: str,
        scheduler: RealtimeNetworkScheduler,
        md: FeedHandlerMarketdataService,
        products: Mapping[InstrumentId, Product],
    ) -> OrderPlacerService:
        venue, instance = parse_placer_uri(uri)
        self.placer, placers = route_placer(
            PlacerContext(
                uri=uri,
                venue=venue,
                instance=instance,
                account=self.config.account,
                scheduler=scheduler,
                marketdata=md,
                products=products,
                rest_url=self.feed_settings.rest_urls.get(venue),
                ws_url=self.feed_settings.ws_urls.get(venue),
            )
        )
        return placers

    def _serve_metrics(self) -> Any:
        if self._wanted_port is None:
            return None
        server = serve_metrics(self.metrics.registry, self.metrics_host, self._wanted_port)
        self.metrics_port = int(server.server_port)
        log.info("algo.metrics", extra={"host": self.metrics_host, "port": self.metrics_port})
        return server

    def _run_file(self, run_key: str, started_ns: int, placer: str | None) -> dict[str, Any]:
        return {
            "run_key": run_key,
            "kind": str(self.mode),
            "strategy": self.config.name,
            "start": format_ns(started_ns),
            "start_ns": started_ns,
            "environment": self.feed_settings.environment,
            "feeds": describe_feeds(self.handlers),
            "placer": placer if placer is not None else "simulator:default",
            "cancel_on_stop": self.config.cancel_on_stop,
            "config_dir": (
                str(self.config.source.parent.resolve()) if self.config.source is not None else None
            ),
            "serenity": __version__,
        }


async def run_live(
    config: AlgoConfig | str | Path | Mapping[str, Any], *, paper: bool, **options: Any
) -> LiveResult:
    """Run ``config`` on live data until stopped or for ``duration_s``; see :class:`LiveRun`
    for the options. Cancel the task (or use :class:`LiveRun` and its ``stop``) to stop it
    early; a cancelled run is recorded as failed.
    """
    return await LiveRun(config, paper=paper, **options).run()


def run_live_sync(
    config: AlgoConfig | str | Path | Mapping[str, Any],
    *,
    paper: bool,
    handle_signals: bool = True,
    **options: Any,
) -> LiveResult:
    """Run ``config`` in a new event loop; SIGINT and SIGTERM stop it cleanly.

    The entry point of ``serenity algo run``: on a signal the strategies stop, working
    orders are cancelled (``cancel_on_stop``), the outputs are written and the result is
    returned. See :class:`LiveRun` for the options.
    """
    run = LiveRun(config, paper=paper, **options)

    async def main() -> LiveResult:
        with stop_on_signals(run.stop, enabled=handle_signals):
            return await run.run()

    return asyncio.run(main())

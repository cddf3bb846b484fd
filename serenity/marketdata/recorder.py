"""Record one venue's trades and books into the journal until stopped or for a duration."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from serenity.db.fetch import fetch_catalog, venue_refdata
from serenity.errors import ConfigError
from serenity.exchange.endpoints import resolve_endpoints
from serenity.marketdata.book import OrderBook
from serenity.marketdata.fh.handler import CHANNELS, FeedConfig, FeedHandler, JournalSink
from serenity.marketdata.fh.metrics import FeedMetrics
from serenity.marketdata.fh.plausibility import DEFAULT_PRICE_BAND
from serenity.marketdata.fh.registry import handler_class
from serenity.marketdata.fh.state import FeedState
from serenity.marketdata.journal import JournalWriter
from serenity.marketdata.quality import DataQualityEvent, RawFrame
from serenity.marketdata.types import BookUpdate, Trade

__all__ = ["RecordConfig", "RecordSummary", "Recorder"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordConfig:
    """What to record, from where, into where.

    Parameters
    ----------
    venue
        ``phemex``, ``coinbase`` or ``binance``.
    symbols
        The venue's symbols.
    journal_dir
        The journal folder.
    ws_url, rest_url
        Endpoints replacing the environment's (e.g. a local server).
    environment
        ``prod`` or ``testnet``.
    channels
        Any of ``trades`` and ``book``.
    duration_s
        Stop after this many seconds; run until stopped when None.
    metrics_port
        Serve Prometheus metrics on this port (on ``metrics_host``) when given.
    stall_timeout_s, heartbeat_s
        Connection liveness settings.
    backoff_max_s
        The longest wait between reconnects (the delays restart from the first once a
        connection delivers).
    price_band
        How many times above or below the market a trade's price may be before it is
        journalled raw as implausible; None for no band.
    backfill
        Fetch the trades a trade-id gap lost from the venue's REST API (Binance, Coinbase); see
        :mod:`~serenity.marketdata.fh.backfill`.

    Raises
    ------
    ConfigError
        For a bad duration, port or empty symbol list.
    """

    venue: str
    symbols: tuple[str, ...]
    journal_dir: Path
    ws_url: str | None = None
    rest_url: str | None = None
    environment: str = "prod"
    channels: tuple[str, ...] = CHANNELS
    duration_s: float | None = None
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    stall_timeout_s: float = 30.0
    heartbeat_s: float = 10.0
    backoff_max_s: float = 30.0
    price_band: float | None = DEFAULT_PRICE_BAND
    backfill: bool = True

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ConfigError(f"{self.venue}: no symbols to record; give --symbols A,B")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ConfigError(f"--duration must be > 0 seconds, was {self.duration_s!r}")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"--metrics-port must be 0..65535, was {self.metrics_port!r}")


@dataclass(slots=True)
class RecordSummary:
    """What a recording took in: counts per (kind, symbol) and the final state."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    parse_errors: int = 0
    state: FeedState = FeedState.INITIALIZING
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """Return a short human-readable table."""
        rows = [
            f"{kind:<12} {symbol:<14} {n:>10,}" for (kind, symbol), n in sorted(self.counts.items())
        ]
        rows.append(f"{'parse errors':<27} {self.parse_errors:>10,}")
        rows.append(f"recorded for {self.seconds:,.1f} s; final state {self.state}")
        return rows


def _sole_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """Return the one error a task group re-wrapped (the handler's, e.g. a refused
    subscription), so callers see a :class:`~serenity.VenueError`, not a group; a group of
    several errors is returned as it is."""
    if len(group.exceptions) == 1:
        inner = group.exceptions[0]
        return _sole_error(inner) if isinstance(inner, BaseExceptionGroup) else inner
    return group


class _CountingSink:
    def __init__(self, summary: RecordSummary) -> None:
        self.summary = summary

    def on_trade(self, trade: Trade) -> None:
        self.summary.counts["trades", trade.instrument.symbol] += 1

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        kind = "snapshots" if update.is_snapshot else "deltas"
        self.summary.counts[kind, update.instrument.symbol] += 1

    def on_quality(self, event: DataQualityEvent) -> None:
        self.summary.counts[str(event.kind), event.symbol] += 1

    def on_raw(self, raw: RawFrame) -> None:
        self.summary.parse_errors += 1


class Recorder:
    """Record one venue into a journal: fetch its products, check the symbols, connect, and
    journal every trade, applied book update, data-quality event and bad frame.

    The constructor opens nothing. ``await recorder.run()`` returns after :meth:`stop` (or
    the configured duration), having flushed and sealed the journal.

    Parameters
    ----------
    config
        What to record.
    """

    def __init__(self, config: RecordConfig) -> None:
        self.config = config
        self.summary = RecordSummary()
        self.handler: FeedHandler | None = None
        self._stop_requested = False

    def stop(self) -> None:
        """Stop recording; safe before :meth:`run` has connected (call on the loop thread)."""
        self._stop_requested = True
        if self.handler is not None:
            self.handler.stop()

    async def run(self) -> RecordSummary:
        """Record until stopped; return the summary.

        Raises
        ------
        UnknownSymbolError
            For a symbol the venue does not list (before connecting).
        VenueError
            When the venue's products cannot be fetched, or it refuses a subscription.
        """
        config = self.config
        recipe = venue_refdata(config.venue)
        endpoints = resolve_endpoints(
            recipe.venue, recipe.endpoints, environment=config.environment, rest_url=config.rest_url
        )
        catalog = await fetch_catalog(
            recipe.venue, base_url=config.rest_url, environment=config.environment
        )
        cls = handler_class(recipe.venue)
        metrics = FeedMetrics(CollectorRegistry())
        server = self._serve_metrics(metrics)
        started = time.monotonic()
        try:
            with JournalWriter(config.journal_dir) as journal:
                handler = cls(
                    FeedConfig(
                        venue=recipe.venue,
                        symbols=config.symbols,
                        ws_url=config.ws_url or endpoints.ws,
                        rest_url=endpoints.rest,
                        channels=config.channels,
                        stall_timeout_s=config.stall_timeout_s,
                        heartbeat_s=config.heartbeat_s,
                        backoff_max_s=config.backoff_max_s,
                        price_band=config.price_band,
                        backfill=config.backfill,
                    ),
                    sinks=[JournalSink(journal), _CountingSink(self.summary)],
                    catalog=catalog,
                    metrics=metrics,
                    on_state=self._on_state,
                )
                self.handler = handler
                if self._stop_requested:
                    handler.stop()
                log.info(
                    "record.start",
                    extra={
                        "venue": recipe.venue,
                        "symbols": ",".join(config.symbols),
                        "journal": str(config.journal_dir),
                    },
                )
                try:
                    async with asyncio.TaskGroup() as tg:
                        flusher = tg.create_task(journal.flush_periodically(), name="journal-flush")
                        timer = (
                            tg.create_task(self._stop_after(config.duration_s), name="duration")
                            if config.duration_s is not None
                            else None
                        )
                        try:
                            await handler.run()
                        finally:
                            flusher.cancel()
                            if timer is not None:
                                timer.cancel()
                except BaseExceptionGroup as group:
                    error = _sole_error(group)
                    if error is group:
                        raise
                    error.__suppress_context__ = True  # keeps its own __cause__
                    raise error from error.__cause__
        finally:
            if server is not None:
                server.shutdown()
            self.summary.seconds = time.monotonic() - started
        log.info(
            "record.stop", extra={"venue": recipe.venue, "seconds": round(self.summary.seconds, 1)}
        )
        return self.summary

    async def _stop_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.stop()

    def _on_state(self, state: FeedState) -> None:
        self.summary.state = state

    def _serve_metrics(self, metrics: FeedMetrics) -> Any:
        port = self.config.metrics_port
        if port is None:
            return None
        server, _thread = start_http_server(
            port, addr=self.config.metrics_host, registry=metrics.registry
        )
        log.info(
            "record.metrics", extra={"host": self.config.metrics_host, "port": server.server_port}
        )
        return server

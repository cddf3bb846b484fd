"""Prometheus metrics of a paper or live run: ticks, orders, fills, rejects, positions, P&L,
order-entry state and event-loop lag."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from serenity.algo.engine import AlgoEngine
from serenity.algo.feed_gate import FeedGate
from serenity.errors import ConfigError
from serenity.marketdata.service import MarketdataService
from serenity.model import ExecType, InstrumentId
from serenity.pnl import PnLSnapshot
from serenity.position import Position
from serenity.tau import Network
from serenity.tau.event import Do
from serenity.trading import ExecutionReport, OrderEvent, OrderManagerService, Reject, RejectSource

__all__ = ["LAG_BUCKETS_S", "LiveMetrics", "close_metrics_server", "serve_metrics"]

LAG_BUCKETS_S: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Event-loop lag histogram buckets, in seconds."""


class LiveMetrics:
    """The metrics of one run, in a registry of their own.

    Counters: ``serenity_algo_ticks_total`` (venue, symbol, kind ``trade`` or ``book``),
    ``serenity_algo_orders_total``, ``serenity_algo_fills_total`` (instrument),
    ``serenity_algo_rejects_total`` (source: validation, risk, venue). Gauges:
    ``serenity_algo_position`` and ``serenity_algo_pnl`` (component realised, unrealised,
    fees, net), ``serenity_algo_working_orders``, ``serenity_algo_order_entry_open`` and
    ``serenity_algo_strategies_started``. Histogram: ``serenity_algo_loop_lag_seconds``,
    how late the event loop wakes a sleeper.

    Parameters
    ----------
    registry
        Where the metrics are registered; a new one when omitted.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = CollectorRegistry() if registry is None else registry
        self.registry = reg
        self.ticks = Counter(
            "serenity_algo_ticks",
            "Market-data events seen by the run.",
            ["venue", "symbol", "kind"],
            registry=reg,
        )
        self.orders = Counter("serenity_algo_orders", "Orders submitted.", registry=reg)
        self.fills = Counter("serenity_algo_fills", "Fills.", ["instrument"], registry=reg)
        self.rejects = Counter(
            "serenity_algo_rejects", "Orders rejected.", ["source"], registry=reg
        )
        self.position = Gauge(
            "serenity_algo_position",
            "Signed position after the latest fill.",
            ["account", "instrument"],
            registry=reg,
        )
        self.pnl = Gauge(
            "serenity_algo_pnl",
            "The account's P&L in its currency.",
            ["account", "currency", "component"],
            registry=reg,
        )
        self.working_orders = Gauge(
            "serenity_algo_working_orders", "Orders working now.", registry=reg
        )
        self.order_entry_open = Gauge(
            "serenity_algo_order_entry_open",
            "1 while every feed is live and orders may go out, else 0.",
            registry=reg,
        )
        self.strategies_started = Gauge(
            "serenity_algo_strategies_started",
            "1 once the strategies were started (every feed live), else 0.",
            registry=reg,
        )
        self.loop_lag = Histogram(
            "serenity_algo_loop_lag_seconds",
            "How late the event loop woke a periodic sleeper.",
            buckets=LAG_BUCKETS_S,
            registry=reg,
        )
        self.tick_count = 0
        self._order_counter = self.orders
        self._fill_counters: dict[InstrumentId, Any] = {}
        self._reject_counters = {
            source: self.rejects.labels(source=str(source)) for source in RejectSource
        }

    def watch_engine(self, engine: AlgoEngine, gate: FeedGate) -> None:
        """Follow a run: its instruments' market data, orders, positions, P&L, and whether
        order entry is open."""
        network = engine.scheduler.network
        self.watch_marketdata(network, engine.marketdata, engine.config.instruments)
        self.watch_orders(network, engine.oms)
        positions = engine.positions.positions
        Do(
            network,
            positions,
            lambda: self.observe_position(positions.get_value()),
            name="metrics:positions",
        )
        pnl = engine.pnl.pnl
        Do(network, pnl, lambda: self.observe_pnl(pnl.get_value()), name="metrics:pnl")
        gate.add_listener(lambda is_open: self.order_entry_open.set(1 if is_open else 0))
        self.order_entry_open.set(1 if gate.is_open else 0)
        self.strategies_started.set(1 if engine.started else 0)

    def watch_marketdata(
        self, network: Network, marketdata: MarketdataService, instruments: Iterable[InstrumentId]
    ) -> None:
        """Count every trade and applied book update of ``instruments``."""
        for inst in instruments:
            for kind, signal in (
                ("trade", marketdata.get_trades(inst)),
                ("book", marketdata.get_order_book_events(inst)),
            ):
                child = self.ticks.labels(venue=inst.venue, symbol=inst.symbol, kind=kind)
                Do(network, signal, self._counter(child), name=f"metrics:{kind}:{inst}")

    def watch_orders(self, network: Network, oms: OrderManagerService) -> None:
        """Count orders, fills and rejects, and track the working orders."""
        events = oms.order_events

        def on_event() -> None:
            self.observe_order_event(events.get_value())
            self.working_orders.set(len(oms.working_orders()))

        Do(network, events, on_event, name="metrics:orders")

    def observe_order_event(self, event: OrderEvent) -> None:
        """Count one order event."""
        if isinstance(event, ExecutionReport):
            if event.exec_type is ExecType.PENDING_NEW:
                self._order_counter.inc()
            elif event.exec_type is ExecType.TRADE:
                child = self._fill_counters.get(event.instrument)
                if child is None:
                    child = self._fill_counters[event.instrument] = self.fills.labels(
                        instrument=str(event.instrument)
                    )
                child.inc()
        elif isinstance(event, Reject):
            if event.source is not RejectSource.VENUE:
                self._order_counter.inc()  # refused before it reached the placer
            self._reject_counters[event.source].inc()

    def observe_position(self, position: Position) -> None:
        """Set the position gauge of ``position``'s account and instrument."""
        self.position.labels(account=position.account, instrument=str(position.instrument)).set(
            float(position.qty)
        )

    def observe_pnl(self, snapshot: PnLSnapshot) -> None:
        """Set the P&L gauges from a snapshot's totals."""
        for total in snapshot.totals:
            for component, value in (
                ("realised", total.realised),
                ("unrealised", total.unrealised),
                ("fees", total.fees),
                ("net", total.net),
            ):
                self.pnl.labels(
                    account=total.account, currency=total.currency, component=component
                ).set(float(value))

    def observe_lag(self, seconds: float) -> None:
        """Record how late the loop woke a sleeper."""
        self.loop_lag.observe(max(seconds, 0.0))

    def _counter(self, child: Any) -> Any:
        def count() -> None:
            child.inc()
            self.tick_count += 1

        return count


def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> Any:
    """Serve ``registry`` over HTTP on ``host:port`` (0: any free port) from a thread of its
    own; return the server (its ``server_port`` is the port taken).

    Raises
    ------
    ConfigError
        When the address cannot be served (the port is taken, the host is not local).
    """
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc}") from exc
    return server


def close_metrics_server(server: Any) -> None:
    """Stop a server of :func:`serve_metrics` and free its port (``shutdown`` waits for its
    poll loop)."""
    server.shutdown()
    server.server_close()

"""The engine every mode shares: strategies wired to the order manager, a placer, positions,
P&L and the run's outputs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from serenity.algo.config import AlgoConfig
from serenity.algo.context import StrategyContext
from serenity.algo.loader import load_strategy_class, strategy_params
from serenity.algo.strategy import Mode, Strategy
from serenity.analytics import RunWriter
from serenity.exchange.product import Product
from serenity.marketdata.service import MarketdataService
from serenity.model import InstrumentId
from serenity.pnl import MarketdataMarkService, PnLService, PnLSnapshot
from serenity.position import Position, PositionService
from serenity.tau import NetworkScheduler
from serenity.tau.event import Do
from serenity.trading import (
    CancelReject,
    ContractSpec,
    ExchangeSimulator,
    ExecutionReport,
    Order,
    OrderError,
    OrderEvent,
    OrderFactory,
    OrderManagerService,
    OrderPlacerService,
    PreTradeCheck,
    PreTradeRisk,
    Reject,
)

__all__ = ["AlgoEngine", "SIMULATOR_URI"]

log = logging.getLogger(__name__)

SIMULATOR_URI = "simulator:default"


class AlgoEngine:
    """Strategies, order entry, positions, P&L and outputs, on one scheduler.

    The engine builds, from a config: the order placers (the
    :class:`~serenity.trading.ExchangeSimulator` in backtest and paper mode, or the placers
    given for live mode), the order manager with the instrument filters and pre-trade risk,
    positions, marks and P&L; loads each strategy class and calls its ``init`` with a
    :class:`~serenity.algo.StrategyContext` of its own. When given a
    :class:`~serenity.analytics.RunWriter`, it records every order event, fill, position
    change, P&L sample and mark, and the strategies' capture channels.

    Parameters
    ----------
    config
        The run configuration.
    scheduler
        Historic for backtests, realtime for paper and live runs.
    marketdata
        Where market data comes from.
    mode
        Backtest, paper or live.
    products
        Instrument listings, for filter checks and contract arithmetic.
    writer
        Where the outputs go; none recorded without one.
    placers
        The order placers for live mode (the simulator is registered otherwise).
    checks
        Pre-trade checks run before the config's risk limits (e.g. a stale-feed pause).
    """

    def __init__(
        self,
        config: AlgoConfig,
        scheduler: NetworkScheduler,
        marketdata: MarketdataService,
        *,
        mode: Mode,
        products: Mapping[InstrumentId, Product] | None = None,
        writer: RunWriter | None = None,
        placers: OrderPlacerService | None = None,
        checks: list[PreTradeCheck] | None = None,
        order_prefix: str | None = None,
    ) -> None:
        self.config = config
        self.scheduler = scheduler
        self.marketdata = marketdata
        self.mode = mode
        self.writer = writer
        products = dict(products or {})
        self.products = products
        self.specs = {
            i: ContractSpec.of(i, products.get(i), default_currency=config.currency)
            for i in config.instruments
        }
        self.marks = MarketdataMarkService(marketdata, config.instruments)
        if placers is None:
            placers = OrderPlacerService()
            self.simulator: ExchangeSimulator | None = ExchangeSimulator(
                scheduler, marketdata, config.instruments, config.simulator, products=products
            )
            placers.register(SIMULATOR_URI, self.simulator)
            placers.route(config.account, SIMULATOR_URI)
        else:
            self.simulator = None
        self.placers = placers
        self.oms = OrderManagerService(
            scheduler,
            placers,
            products=products,
            checks=list(checks or []),
            ref_price=self.marks.mark,
        )
        self.positions = PositionService(
            scheduler, self.oms.fills, specs=self.specs, default_currency=config.currency
        )
        self.oms.checks.append(
            PreTradeRisk(
                config.risk,
                self.oms,
                position=self.positions.qty,
                ref_price=self.marks.mark,
                specs=self.specs,
            )
        )
        self.pnl = PnLService(
            scheduler, self.positions, self.marks, interval=config.pnl_interval_ns
        )
        prefix = (
            order_prefix if order_prefix is not None else ("bt-" if mode is Mode.BACKTEST else None)
        )
        self.order_factory = OrderFactory(config.account, prefix=prefix)
        self.strategies: list[tuple[Strategy, StrategyContext]] = []
        self.started = False
        self.stopped = False
        if writer is not None:
            self._record(writer)
        for spec in config.strategies:
            cls = load_strategy_class(
                spec.module, spec.class_name, base=config.source.parent if config.source else None
            )
            params = strategy_params(cls, spec.params, where=f"strategy {spec.name!r}")
            capture = self._capture_for(spec.name, multi=len(config.strategies) > 1)
            ctx = StrategyContext(self, spec.name, params, capture=capture)
            strategy = cls()
            strategy.init(ctx)
            self.strategies.append((strategy, ctx))
            log.info("algo.strategy.ready", extra={"strategy": spec.name, "mode": str(mode)})

    def submit(self, order: Order) -> Order:
        """Submit ``order`` through the order manager."""
        return self.oms.submit(order)

    def start(self) -> None:
        """Start every strategy (feeds live, or the replay begins)."""
        if self.started:
            return
        self.started = True
        for strategy, ctx in self.strategies:
            log.info("algo.strategy.start", extra={"strategy": ctx.name})
            strategy.start()

    def stop(self) -> None:
        """Stop every strategy, cancel working orders if configured, and sample P&L."""
        if self.stopped:
            return
        self.stopped = True
        for strategy, ctx in self.strategies:
            log.info("algo.strategy.stop", extra={"strategy": ctx.name})
            strategy.stop()
        if self.config.cancel_on_stop:
            self.oms.cancel_all()
        self.pnl.stop()

    def final_snapshot(self) -> PnLSnapshot:
        """Return (and record) the P&L now."""
        snapshot = self.pnl.snapshot()
        if self.writer is not None:
            self._on_pnl(snapshot)
        return snapshot

    # -- outputs ---------------------------------------------------------------------------

    def _capture_for(self, name: str, *, multi: bool) -> Callable[..., None]:
        writer = self.writer

        def capture(channel: str, ts: int, **fields: Any) -> None:
            if writer is not None:
                writer.capture(f"{name}.{channel}" if multi else channel, ts, **fields)

        return capture

    def _record(self, writer: RunWriter) -> None:
        network = self.scheduler.network
        events = self.oms.order_events
        Do(network, events, lambda: self._on_order_event(events.get_value()), name="outputs:orders")
        positions = self.positions.positions
        Do(
            network,
            positions,
            lambda: self._on_position(positions.get_value()),
            name="outputs:positions",
        )
        pnl = self.pnl.pnl
        Do(network, pnl, lambda: self._on_pnl(pnl.get_value()), name="outputs:pnl")

    def _on_order_event(self, event: OrderEvent) -> None:
        writer = self.writer
        assert writer is not None
        order = self.oms.get(event.order_id)
        if order is None:
            return
        inst = str(order.instrument)
        if isinstance(event, ExecutionReport):
            exec_type, status, reason = str(event.exec_type), str(event.status), event.text
        elif isinstance(event, Reject):
            exec_type, status, reason = "rejected", str(order.status), event.reason
        elif isinstance(event, CancelReject):
            exec_type, status, reason = "cancel_rejected", str(order.status), event.reason
        elif isinstance(event, OrderError):
            exec_type, status, reason = "error", str(order.status), event.reason
        else:  # pragma: no cover - OrderEvent is closed
            return
        writer.order(
            event.ts,
            order.order_id,
            cl_ord_id=order.cl_ord_id,
            account=order.account,
            instrument=inst,
            side=order.side.name,
            order_type=str(order.order_type),
            tif=str(order.tif),
            qty=float(order.qty),
            price=None if order.price is None else float(order.price),
            stop_price=None if order.stop_price is None else float(order.stop_price),
            exec_type=exec_type,
            status=status,
            cum_qty=float(order.cum_qty),
            leaves_qty=float(order.leaves_qty),
            reason=reason,
        )
        if isinstance(event, ExecutionReport) and event.is_fill:
            assert event.last_px is not None
            writer.fill(
                event.ts,
                order.order_id,
                cl_ord_id=order.cl_ord_id,
                exec_id=event.exec_id,
                account=order.account,
                instrument=inst,
                side=order.side.name,
                qty=float(event.last_qty),
                price=float(event.last_px),
                fee=float(event.fee),
                fee_currency=event.fee_currency,
                liquidity=(event.liquidity.name if event.liquidity else "TAKER"),
            )

    def _on_position(self, position: Position) -> None:
        writer = self.writer
        assert writer is not None
        valued = self.pnl.value(position)
        writer.position(
            position.ts,
            account=position.account,
            instrument=str(position.instrument),
            qty=float(position.qty),
            avg_price=None if position.avg_price is None else float(position.avg_price),
            realised_pnl=float(position.realised_pnl),
            unrealised_pnl=float(valued.unrealised),
            fees=float(position.fees),
            currency=position.currency,
        )

    def _on_pnl(self, snapshot: PnLSnapshot) -> None:
        writer = self.writer
        assert writer is not None
        ts = snapshot.ts
        total = snapshot.total(self.config.account, self.config.currency)
        if total is None:
            writer.pnl(ts, realised=0.0, unrealised=0.0, fees=0.0)
        else:
            writer.pnl(
                ts,
                realised=float(total.realised),
                unrealised=float(total.unrealised),
                fees=float(total.fees),
            )
        for inst in self.config.instruments:
            price = self.marks.mark(inst)
            if price is not None:
                writer.mark(ts, str(inst), price=price)

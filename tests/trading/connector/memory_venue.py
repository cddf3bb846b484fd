"""An in-memory venue behind :class:`~serenity.trading.connector.VenueConnector`, for the
framework's own tests: the venue's state is a dict, its failures are scripted, and its
private stream is fed by the test (``push``)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from serenity.errors import AuthError, VenueError
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill
from serenity.exchange.product import Product
from serenity.model import (
    ExecType,
    InstrumentId,
    InstrumentStatus,
    InstrumentType,
    Liquidity,
    OrderStatus,
)
from serenity.tau import RealtimeNetworkScheduler
from serenity.trading import OrderManagerService, OrderPlacerService
from serenity.trading.connector import (
    ConnectorSettings,
    ErrorPolicy,
    OutcomeUnknownError,
    PrivateStream,
    RestClient,
    StreamItem,
    VenueConnector,
    VenueSnapshot,
)
from serenity.trading.orders import Order

VENUE = "memvenue"
BTC = InstrumentId(VENUE, "BTCUSD")
PRODUCT = Product(
    venue=VENUE,
    symbol="BTCUSD",
    instrument_type=InstrumentType.CURRENCY_PAIR,
    base="BTC",
    quote="USD",
    status=InstrumentStatus.TRADING,
    tick_size=Decimal("0.5"),
    lot_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
)


class _NoStream:
    def subscriptions(self) -> list[str]:
        return []

    def ping_frame(self) -> str | None:
        return None

    def parse(self, data: str | bytes) -> list[StreamItem]:
        return []


class MemoryConnector(VenueConnector):
    """A connector whose venue is ``self.book`` (open and closed orders by client id)."""

    venue = VENUE

    def __init__(self, scheduler: RealtimeNetworkScheduler, **kwargs: Any) -> None:
        super().__init__(
            account="acct",
            scheduler=scheduler,
            products={BTC: PRODUCT},
            rest=RestClient(VENUE, "http://127.0.0.1:9", errors=ErrorPolicy()),
            settings=ConnectorSettings(query_delay_s=0.01, reconcile_retry_s=0.05),
            **kwargs,
        )
        self.book: dict[str, OrderUpdate] = {}
        self.fills: list[VenueFill] = []
        self.balances: list[VenueBalance] = []
        self.failures: dict[str, list[Exception]] = {}
        self.calls: list[str] = []
        self._ids = itertools.count(100)

    def fail(self, call: str, *errors: Exception) -> None:
        self.failures.setdefault(call, []).extend(errors)

    def _maybe_fail(self, call: str) -> None:
        self.calls.append(call)
        queue = self.failures.get(call)
        if queue:
            raise queue.pop(0)

    # -- the venue's side, driven by tests -------------------------------------------------

    def venue_order(self, cl: str, qty: str = "1", price: str = "100", **kw: Any) -> OrderUpdate:
        from serenity.model import OrderType, Side

        update = OrderUpdate(
            instrument=BTC,
            cl_ord_id=cl,
            venue_order_id=str(next(self._ids)),
            exec_type=ExecType.ORDER_STATUS,
            status=OrderStatus.NEW,
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            qty=Decimal(qty),
            price=Decimal(price),
            cum_qty=Decimal(0),
            ts=time.time_ns(),
            **kw,
        )
        self.book[cl] = update
        return update

    def venue_fill(self, cl: str, qty: str, price: str = "100") -> OrderUpdate:
        """Fill the venue's order ``cl``; return the TRADE update its stream would send."""
        state = self.book[cl]
        cum = state.cum_qty + Decimal(qty)
        status = OrderStatus.FILLED if cum >= state.qty else OrderStatus.PARTIALLY_FILLED
        fill = VenueFill(
            instrument=BTC,
            exec_id=f"t{len(self.fills) + 1}",
            venue_order_id=state.venue_order_id,
            cl_ord_id=cl,
            side=state.side,
            qty=Decimal(qty),
            price=Decimal(price),
            ts=time.time_ns(),
            fee=Decimal("0.01"),
            fee_currency="USD",
            liquidity=Liquidity.MAKER,
        )
        self.fills.append(fill)
        self.book[cl] = replace(state, cum_qty=cum, status=status)
        return replace(self.book[cl], exec_type=ExecType.TRADE, fill=fill, ts=fill.ts)

    def push(self, *items: StreamItem) -> None:
        """Deliver private-stream entries as one message would."""
        for item in items:
            self.on_stream_entry(item)  # type: ignore[arg-type]

    # -- hooks -----------------------------------------------------------------------------

    async def place(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        self._maybe_fail("place")
        state = self.venue_order(order.cl_ord_id, str(order.qty), str(order.price), exec_id=None)
        return [replace(state, exec_type=ExecType.NEW)]

    async def cancel_order(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        self._maybe_fail("cancel")
        state = self.book.get(order.cl_ord_id)
        if state is None or state.status.is_terminal:
            raise VenueError(f"{VENUE}: unknown order", code=-2011)
        self.book[order.cl_ord_id] = replace(state, status=OrderStatus.CANCELED)
        return [replace(self.book[order.cl_ord_id], exec_type=ExecType.CANCELED)]

    async def amend(
        self, order: Order, product: Product, *, price: Decimal | None, qty: Decimal | None
    ) -> Sequence[OrderUpdate]:
        self._maybe_fail("amend")
        state = self.book[order.cl_ord_id]
        new = replace(
            state,
            qty=qty if qty is not None else state.qty,
            price=price if price is not None else state.price,
        )
        self.book[order.cl_ord_id] = new
        return [replace(new, exec_type=ExecType.REPLACED, exec_id=f"amend-{time.time_ns()}")]

    async def query(self, order: Order, product: Product) -> OrderUpdate | None:
        self._maybe_fail("query")
        return self.book.get(order.cl_ord_id)

    async def snapshot(self, *, since_ns: int) -> VenueSnapshot:
        self._maybe_fail("snapshot")
        return VenueSnapshot(
            venue=VENUE,
            ts=time.time_ns(),
            open_orders=[u for u in self.book.values() if not u.status.is_terminal],
            fills=[f for f in self.fills if f.ts >= since_ns],
            balances=list(self.balances),
        )

    def private_stream(self) -> PrivateStream:
        return _NoStream()


def errors() -> dict[str, Exception]:
    """Errors a test may script."""
    return {
        "refused": VenueError(f"{VENUE}: insufficient balance", code=-2010),
        "unknown": OutcomeUnknownError(f"{VENUE}: timed out"),
        "auth": AuthError(f"{VENUE}: bad key"),
    }


def wire(
    connector_kwargs: dict[str, Any] | None = None,
) -> tuple[RealtimeNetworkScheduler, MemoryConnector, OrderManagerService]:
    """Return a scheduler, the connector and an order manager routed to it."""
    scheduler = RealtimeNetworkScheduler()
    connector = MemoryConnector(scheduler, **(connector_kwargs or {}))
    placers = OrderPlacerService()
    placers.register(f"{VENUE}:test", connector)
    oms = OrderManagerService(scheduler, placers, products={BTC: PRODUCT})
    return scheduler, connector, oms

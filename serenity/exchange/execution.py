"""What a venue says about our orders, fills, balances and positions, as plain values.

Each venue package turns its private wire messages (REST answers, private-stream events)
into these values; the order connectors in :mod:`serenity.trading.connector` turn them into
the order manager's execution reports and reconcile with them. They carry the venue's view
in domain terms (``serenity.model`` enums, exact decimals, int ns UTC) and nothing of the
order manager's (no order ids): the connector matches them to orders by client order id.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from serenity.model import (
    ExecType,
    InstrumentId,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

__all__ = ["OrderTerms", "OrderUpdate", "VenueBalance", "VenueFill", "VenuePosition"]


class OrderTerms(Protocol):
    """What a venue's request builders read of an order (``serenity.trading.Order`` has
    it all): the exchange layer builds requests without depending on the trading layer."""

    @property
    def cl_ord_id(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def qty(self) -> Decimal: ...
    @property
    def order_type(self) -> OrderType: ...
    @property
    def price(self) -> Decimal | None: ...
    @property
    def stop_price(self) -> Decimal | None: ...
    @property
    def tif(self) -> TimeInForce: ...
    @property
    def post_only(self) -> bool: ...
    @property
    def reduce_only(self) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueFill:
    """One fill of one of our orders, as the venue reports it.

    Attributes
    ----------
    instrument
        What was traded.
    exec_id
        The venue's unique id of the fill, stable across every way the venue reports it (its
        private stream, its order answer, its trade history), so a fill is applied once.
    venue_order_id, cl_ord_id
        The order filled: the venue's id and our client id (None when the venue's report
        does not carry it, e.g. a trade-history row).
    side, qty, price
        The fill (qty > 0, in the instrument's quantity units).
    fee, fee_currency
        The fee charged for it (positive is a cost, negative a rebate).
    liquidity
        Maker or taker, when the venue says.
    ts
        When it happened, by the venue's clock (int ns, UTC).
    """

    instrument: InstrumentId
    exec_id: str
    venue_order_id: str
    cl_ord_id: str | None
    side: Side
    qty: Decimal
    price: Decimal
    ts: int
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    liquidity: Liquidity | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderUpdate:
    """One of our orders as the venue reports it: a change (an event of its private stream,
    the answer to a request) or its current state (an open-orders entry, a query answer).

    Attributes
    ----------
    instrument
        The order's instrument.
    cl_ord_id
        Our client order id of the order this update concerns.
    venue_order_id
        The venue's id of the order.
    exec_type
        What changed: ``NEW``, ``TRADE`` (with :attr:`fill`), ``CANCELED``, ``REPLACED``,
        ``EXPIRED``, ``REJECTED``, or ``ORDER_STATUS`` for a plain statement of state.
    status
        The order's status after the update.
    side, order_type, tif
        The order's terms (``tif`` None when the venue does not say).
    qty, price, stop_price
        The order's quantity and prices after the update.
    cum_qty
        Filled so far, after the update.
    avg_px
        Average fill price so far, when known.
    ts
        When the venue made the change (or stated the state), int ns UTC.
    exec_id
        The venue's id of this update, when it gives one; the connector derives one that
        is the same however the venue reports the same change otherwise.
    fill
        The fill, for a ``TRADE`` update.
    post_only
        Whether the order is post-only (maker-only).
    text
        The venue's reason for a reject or an expiry, when it gives one.
    """

    instrument: InstrumentId
    cl_ord_id: str
    venue_order_id: str
    exec_type: ExecType
    status: OrderStatus
    side: Side
    order_type: OrderType
    qty: Decimal
    cum_qty: Decimal
    ts: int
    tif: TimeInForce | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    avg_px: Decimal | None = None
    exec_id: str | None = None
    fill: VenueFill | None = None
    post_only: bool = False
    text: str | None = None

    @property
    def leaves_qty(self) -> Decimal:
        """Return the quantity still working (0 once the order is done)."""
        return Decimal(0) if self.status.is_terminal else self.qty - self.cum_qty


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueBalance:
    """How much of one currency an account holds on a venue.

    A margin balance is a balance, not a position: ``total`` is the wallet (or margin)
    balance, ``available`` what new orders may use, ``locked`` what open orders or margin
    hold. Attributes are exact decimals; ``ts`` is the venue's time of the statement.
    """

    venue: str
    currency: str
    total: Decimal
    available: Decimal
    locked: Decimal
    ts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VenuePosition:
    """A derivative position the venue holds for the account (spot has none: its holdings
    are balances).

    ``qty`` is signed (long > 0, short < 0) in contracts; ``entry_price`` is the venue's
    average entry price, None when flat; ``unrealized_pnl`` is in the settlement currency
    when the venue reports it.
    """

    instrument: InstrumentId
    qty: Decimal
    ts: int
    entry_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None

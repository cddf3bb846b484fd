"""Orders: what a strategy asks a venue to do, and the factory that builds them.

Quantities and prices of orders are :class:`~decimal.Decimal`. Orders and their fills happen
at event rate, not tick rate, and they are what gets booked and taxed: exact decimals keep
``cum_qty`` from drifting past ``qty``, make tick- and lot-size checks exact, and reach the
database's ``Numeric(38, 18)`` columns without a conversion. Market data stays float; a float
given to the factory is converted through its shortest repr (``0.1`` becomes ``Decimal("0.1")``).
"""

from __future__ import annotations

import itertools
import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final

from serenity.errors import InvalidValueError
from serenity.model import InstrumentId, OrderStatus, OrderType, Side, TimeInForce

__all__ = [
    "LimitOrder",
    "MarketOrder",
    "Order",
    "OrderFactory",
    "StopLimitOrder",
    "StopOrder",
    "to_decimal",
    "to_side",
]

ZERO: Final = Decimal(0)

_WORKING: Final = frozenset(
    {
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_REPLACE,
    }
)


def to_decimal(value: Decimal | float | int | str, *, what: str) -> Decimal:
    """Return ``value`` as a finite Decimal; a float goes through its shortest repr.

    Raises
    ------
    InvalidValueError
        When ``value`` is not a finite number.
    """
    if isinstance(value, bool):
        raise InvalidValueError(f"{what} must be a number, was {value!r}")
    try:
        if isinstance(value, Decimal):
            out = value
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidValueError(f"{what} must be finite, was {value!r}")
            out = Decimal(repr(value))
        elif isinstance(value, int | str):
            out = Decimal(value)
        else:
            raise InvalidValueError(f"{what} must be a number, was {value!r}")
    except InvalidOperation:
        raise InvalidValueError(f"{what} must be a number, was {value!r}") from None
    if not out.is_finite():
        raise InvalidValueError(f"{what} must be finite, was {value!r}")
    return out


def to_side(side: Side | str) -> Side:
    """Return ``side`` as a :class:`~serenity.model.Side`; names such as "BUY" are accepted.

    Raises
    ------
    InvalidValueError
        For anything but buy or sell.
    """
    if isinstance(side, Side):
        return side
    try:
        return Side(str(side).strip().lower())
    except ValueError:
        raise InvalidValueError(f"side must be BUY or SELL, was {side!r}") from None


@dataclass(slots=True, eq=False, kw_only=True)
class Order:
    """An order and its state as the order manager knows it.

    The request fields (``instrument`` to ``reduce_only``) are set when the order is built;
    the state fields (``order_id`` onwards) belong to the
    :class:`~serenity.trading.OrderManagerService`, which alone changes them: read them,
    don't write them. Orders compare by identity.

    Attributes
    ----------
    cl_ord_id
        Our id for the order, unique per account.
    account
        The trading account the order is for.
    instrument
        What to trade.
    side
        Buy or sell.
    qty
        Quantity, > 0, in the instrument's quantity units (contracts for derivatives).
    order_type
        Market, limit, stop (stop-market) or stop-limit.
    price
        Limit price (limit and stop-limit orders).
    stop_price
        Trigger price (stop and stop-limit orders).
    tif
        Time in force.
    expire_ts
        For GTD orders, when the order expires (int ns, UTC).
    post_only
        Execution instruction: rest only, never take liquidity; refused if it would take.
    reduce_only
        Execution instruction: only reduce a position, never open or increase one.
    order_id
        The order manager's id, set when the order is submitted (0 before).
    status
        Where the order is in its life.
    cum_qty
        Filled so far.
    avg_px
        Average fill price, None before the first fill.
    venue_order_id
        The venue's id once it acknowledged the order.
    reason
        Why the order was rejected, canceled or expired, when it was.
    """

    cl_ord_id: str
    account: str
    instrument: InstrumentId
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    expire_ts: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    order_id: int = 0
    status: OrderStatus = OrderStatus.PENDING_NEW
    cum_qty: Decimal = field(default=ZERO)
    avg_px: Decimal | None = None
    venue_order_id: str | None = None
    created_ts: int = 0
    updated_ts: int = 0
    reason: str | None = None

    def __post_init__(self) -> None:
        where = f"order {self.cl_ord_id!r}"
        if not self.qty > 0:
            raise InvalidValueError(f"{where}: qty must be > 0, was {self.qty}")
        for name in ("price", "stop_price"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InvalidValueError(f"{where}: {name} must be > 0, was {value}")
        needs_price = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        if needs_price and self.price is None:
            raise InvalidValueError(f"{where}: a {self.order_type} order needs a price")
        needs_stop = self.order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
        if needs_stop and self.stop_price is None:
            raise InvalidValueError(f"{where}: a {self.order_type} order needs a stop_price")
        if self.tif is TimeInForce.GTD and self.expire_ts is None:
            raise InvalidValueError(f"{where}: a GTD order needs expire_ts")
        if self.post_only and self.order_type is not OrderType.LIMIT:
            raise InvalidValueError(f"{where}: post_only applies to limit orders only")
        if self.post_only and self.tif in (TimeInForce.IOC, TimeInForce.FOK):
            raise InvalidValueError(f"{where}: post_only cannot be {self.tif}")

    @property
    def leaves_qty(self) -> Decimal:
        """Return the quantity still working (0 once the order is done)."""
        if self.status.is_terminal:
            return ZERO
        return self.qty - self.cum_qty

    @property
    def is_working(self) -> bool:
        """Return True while the venue may still fill the order."""
        return self.status in _WORKING

    @property
    def is_terminal(self) -> bool:
        """Return True once the order can change no more."""
        return self.status.is_terminal

    def __repr__(self) -> str:
        px = f" @{self.price}" if self.price is not None else ""
        stop = f" stop {self.stop_price}" if self.stop_price is not None else ""
        return (
            f"<{type(self).__name__} {self.cl_ord_id} {self.side.name} {self.qty} "
            f"{self.instrument}{px}{stop} {self.status.name} filled {self.cum_qty}>"
        )


@dataclass(slots=True, eq=False, kw_only=True, repr=False)
class MarketOrder(Order):
    """Buy or sell at the best prices available."""


@dataclass(slots=True, eq=False, kw_only=True, repr=False)
class LimitOrder(Order):
    """Buy at ``price`` or lower, sell at ``price`` or higher."""


@dataclass(slots=True, eq=False, kw_only=True, repr=False)
class StopOrder(Order):
    """A market order triggered when the last trade reaches ``stop_price``: at or above it
    for a buy stop, at or below it for a sell stop."""


@dataclass(slots=True, eq=False, kw_only=True, repr=False)
class StopLimitOrder(Order):
    """A limit order at ``price`` triggered as a :class:`StopOrder` is."""


class OrderFactory:
    """Build orders for one account, with client order ids ``<prefix><n>``.

    Parameters
    ----------
    account
        The trading account every order is for.
    prefix
        The start of each ``cl_ord_id``; by default 8 random hex digits and a dash, so ids
        of separate runs never collide at a venue. Backtests pass a fixed prefix so that
        the same run gives the same ids.

    Examples
    --------
    >>> from serenity.model import InstrumentId
    >>> factory = OrderFactory("sim", prefix="bt-")
    >>> btc = InstrumentId("coinbase", "BTC-USD")
    >>> factory.limit(btc, "BUY", 0.5, 42000).cl_ord_id
    'bt-1'
    """

    def __init__(self, account: str, *, prefix: str | None = None) -> None:
        if not account:
            raise InvalidValueError("an order factory needs an account")
        self.account = str(account)
        self.prefix = f"{uuid.uuid4().hex[:8]}-" if prefix is None else str(prefix)
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        """Return the next client order id."""
        return f"{self.prefix}{next(self._ids)}"

    def market(
        self,
        instrument: InstrumentId,
        side: Side | str,
        qty: Decimal | float | int | str,
        *,
        tif: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
    ) -> MarketOrder:
        """Return a market order.

        Raises
        ------
        InvalidValueError
            For a bad side or a quantity that is not a number > 0.
        """
        return MarketOrder(
            cl_ord_id=self.next_id(),
            account=self.account,
            instrument=instrument,
            side=to_side(side),
            qty=to_decimal(qty, what="qty"),
            order_type=OrderType.MARKET,
            tif=TimeInForce(tif),
            reduce_only=bool(reduce_only),
        )

    def limit(
        self,
        instrument: InstrumentId,
        side: Side | str,
        qty: Decimal | float | int | str,
        price: Decimal | float | int | str,
        tif: TimeInForce = TimeInForce.GTC,
        *,
        expire_ts: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> LimitOrder:
        """Return a limit order.

        Raises
        ------
        InvalidValueError
            For a bad side, quantity, price or time in force.
        """
        return LimitOrder(
            cl_ord_id=self.next_id(),
            account=self.account,
            instrument=instrument,
            side=to_side(side),
            qty=to_decimal(qty, what="qty"),
            order_type=OrderType.LIMIT,
            price=to_decimal(price, what="price"),
            tif=TimeInForce(tif),
            expire_ts=expire_ts,
            post_only=bool(post_only),
            reduce_only=bool(reduce_only),
        )

    def stop(
        self,
        instrument: InstrumentId,
        side: Side | str,
        qty: Decimal | float | int | str,
        stop_price: Decimal | float | int | str,
        *,
        tif: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
    ) -> StopOrder:
        """Return a stop-market order.

        Raises
        ------
        InvalidValueError
            For a bad side, quantity or stop price.
        """
        return StopOrder(
            cl_ord_id=self.next_id(),
            account=self.account,
            instrument=instrument,
            side=to_side(side),
            qty=to_decimal(qty, what="qty"),
            order_type=OrderType.STOP_MARKET,
            stop_price=to_decimal(stop_price, what="stop_price"),
            tif=TimeInForce(tif),
            reduce_only=bool(reduce_only),
        )

    def stop_limit(
        self,
        instrument: InstrumentId,
        side: Side | str,
        qty: Decimal | float | int | str,
        stop_price: Decimal | float | int | str,
        price: Decimal | float | int | str,
        *,
        tif: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
    ) -> StopLimitOrder:
        """Return a stop-limit order.

        Raises
        ------
        InvalidValueError
            For a bad side, quantity or price.
        """
        return StopLimitOrder(
            cl_ord_id=self.next_id(),
            account=self.account,
            instrument=instrument,
            side=to_side(side),
            qty=to_decimal(qty, what="qty"),
            order_type=OrderType.STOP_LIMIT,
            stop_price=to_decimal(stop_price, what="stop_price"),
            price=to_decimal(price, what="price"),
            tif=TimeInForce(tif),
            reduce_only=bool(reduce_only),
        )

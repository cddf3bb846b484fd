"""Coinbase Exchange's private wire messages as typed msgspec Structs.

REST answers (Coinbase's "Exchange REST API" reference):

- :class:`CoinbaseOrder`: ``POST /orders``, ``GET /orders/<id>``,
  ``GET /orders/client:<client_oid>`` and each entry of ``GET /orders?status=open``.
  ``status`` is ``pending``, ``received``, ``open``, ``active`` (a stop waiting for its
  trigger), ``done`` (then ``done_reason``: ``filled``, ``canceled``, ``rejected``) or
  ``rejected`` (with ``reject_reason``, e.g. ``post only``).
- :class:`CoinbaseFill`: each entry of ``GET /fills``; ``trade_id`` with ``product_id``
  identifies it, ``liquidity`` is ``M`` (maker), ``T`` (taker) or ``O`` (other).
- :class:`CoinbaseAccount`: each entry of ``GET /accounts``: ``balance`` = ``hold`` +
  ``available`` of one currency.
- :class:`ServerTime`: ``GET /time``.

The ``user`` websocket channel (the ``full`` channel's messages about our own orders), one
event per message, told apart by ``type``: :class:`Received`, :class:`Open`,
:class:`Match`, :class:`Change`, :class:`Activate`, :class:`Done`, and the
:class:`Subscriptions`, :class:`Heartbeat` and :class:`WsError` of every channel.
:func:`decode_user_message` reads one; a ``type`` it does not know is a
:class:`UnknownMessage` (kept, never an error: Coinbase adds types without notice).

Prices, sizes and fees decode straight to :class:`~decimal.Decimal` (exact); times stay the
venue's RFC 3339 text and convert with :func:`serenity.exchange.coinbase.parse_time` (int ns,
all nine digits kept).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import msgspec

from serenity.errors import DataError
from serenity.exchange.coinbase.endpoints import VENUE
from serenity.exchange.coinbase.enums import (
    parse_liquidity,
    parse_order_status,
    parse_order_type,
    parse_side,
    parse_time_in_force,
)
from serenity.exchange.coinbase.marketdata import parse_time
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenueFill
from serenity.model import ExecType, InstrumentId, Liquidity

__all__ = [
    "Activate",
    "Change",
    "CoinbaseAccount",
    "CoinbaseFill",
    "CoinbaseOrder",
    "Done",
    "Heartbeat",
    "Match",
    "Open",
    "Received",
    "ServerTime",
    "Subscriptions",
    "UnknownMessage",
    "UserMessage",
    "WsError",
    "decode_accounts",
    "decode_fills",
    "decode_order",
    "decode_orders",
    "decode_server_time",
    "decode_user_message",
    "fill_exec_id",
    "quote_of",
]

ZERO: Final = Decimal(0)


class CoinbaseOrder(msgspec.Struct, kw_only=True, frozen=True):
    """One order as the REST API states it."""

    id: str
    product_id: str
    side: str
    type: str
    status: str
    created_at: str
    price: Decimal | None = None
    size: Decimal | None = None
    funds: Decimal | None = None
    client_oid: str | None = None
    time_in_force: str | None = None
    post_only: bool = False
    stp: str | None = None
    stop: str | None = None
    stop_price: Decimal | None = None
    done_at: str | None = None
    done_reason: str | None = None
    reject_reason: str | None = None
    fill_fees: Decimal = ZERO
    filled_size: Decimal = ZERO
    executed_value: Decimal = ZERO
    settled: bool = False
    profile_id: str | None = None

    @property
    def avg_px(self) -> Decimal | None:
        """Return the average fill price (``executed_value / filled_size``), None unfilled."""
        if not self.filled_size:
            return None
        return self.executed_value / self.filled_size

    @property
    def client_id(self) -> str:
        """Return the id to know the order by: its ``client_oid``, else Coinbase's ``id``."""
        return self.client_oid or self.id

    def to_order_update(
        self, *, cl_ord_id: str | None = None, exec_type: ExecType = ExecType.ORDER_STATUS
    ) -> OrderUpdate:
        """Return this order's state as an :class:`~serenity.exchange.execution.OrderUpdate`.

        ``cl_ord_id`` defaults to :attr:`client_id`. ``qty`` is ``size``; an order placed
        by ``funds`` (no size) reports its filled size as its quantity once done. A rejected
        order carries its ``reject_reason`` as ``text``.

        Raises
        ------
        DataError
            For an unknown side, type, status or time in force, or a malformed time.
        """
        where = f"order {self.id}"
        status = parse_order_status(
            self.status, self.done_reason, is_filled=self.filled_size > 0, where=where
        )
        qty = self.size if self.size is not None else self.filled_size
        ts = parse_time(self.done_at or self.created_at)
        text = self.reject_reason or (
            f"done: {self.done_reason}" if self.done_reason not in (None, "filled") else None
        )
        return OrderUpdate(
            instrument=InstrumentId(VENUE, self.product_id),
            cl_ord_id=cl_ord_id or self.client_id,
            venue_order_id=self.id,
            exec_type=exec_type,
            status=status,
            side=parse_side(self.side, where=f"{where}.side"),
            order_type=parse_order_type(self.type, self.stop, where=where),
            qty=qty,
            cum_qty=self.filled_size,
            ts=ts,
            tif=(
                parse_time_in_force(self.time_in_force, where=f"{where}.time_in_force")
                if self.time_in_force
                else None
            ),
            price=self.price,
            stop_price=self.stop_price,
            avg_px=self.avg_px,
            post_only=self.post_only,
            text=text,
        )


class CoinbaseFill(msgspec.Struct, kw_only=True, frozen=True):
    """One fill of one of our orders, from ``GET /fills``."""

    trade_id: int
    product_id: str
    order_id: str
    side: str
    price: Decimal
    size: Decimal
    created_at: str
    liquidity: str | None = None
    fee: Decimal = ZERO
    settled: bool = False
    profile_id: str | None = None
    usd_volume: Decimal | None = None

    @property
    def exec_id(self) -> str:
        """Return the fill's id, the same as its ``match`` on the ``user`` channel's."""
        return fill_exec_id(self.product_id, self.trade_id)

    def to_fill(self, *, cl_ord_id: str | None = None) -> VenueFill:
        """Return this fill as a :class:`~serenity.exchange.execution.VenueFill`; the fee is
        in the product's quote currency.

        Raises
        ------
        DataError
            For an unknown side or a malformed time.
        """
        return VenueFill(
            instrument=InstrumentId(VENUE, self.product_id),
            exec_id=self.exec_id,
            venue_order_id=self.order_id,
            cl_ord_id=cl_ord_id,
            side=parse_side(self.side, where=f"fill {self.trade_id}.side"),
            qty=self.size,
            price=self.price,
            ts=parse_time(self.created_at),
            fee=self.fee,
            fee_currency=quote_of(self.product_id),
            liquidity=parse_liquidity(self.liquidity),
        )


class CoinbaseAccount(msgspec.Struct, kw_only=True, frozen=True):
    """One currency's account of a profile, from ``GET /accounts``."""

    id: str
    currency: str
    balance: Decimal
    hold: Decimal
    available: Decimal
    profile_id: str | None = None
    trading_enabled: bool = True

    def to_balance(self, ts: int) -> VenueBalance:
        """Return this account as a :class:`~serenity.exchange.execution.VenueBalance` stated
        at ``ts``: ``balance`` is the total, ``hold`` what open orders lock."""
        return VenueBalance(
            venue=VENUE,
            currency=self.currency,
            total=self.balance,
            available=self.available,
            locked=self.hold,
            ts=ts,
        )


class ServerTime(msgspec.Struct, frozen=True):
    """The API's clock, from ``GET /time``: ``epoch`` in decimal seconds."""

    iso: str
    epoch: float


# -- the user channel ----------------------------------------------------------------------


class _Base(msgspec.Struct, kw_only=True, frozen=True, tag_field="type"):
    """Fields every ``user`` channel order message carries."""


class Received(_Base, tag="received", frozen=True):
    """The matching engine took an order: ``client_oid`` ties it to ours."""

    order_id: str
    product_id: str
    side: str
    time: str
    order_type: str = "limit"
    client_oid: str | None = None
    size: Decimal | None = None
    price: Decimal | None = None
    funds: Decimal | None = None
    sequence: int | None = None


class Open(_Base, tag="open", frozen=True):
    """The order rests on the book with ``remaining_size`` left."""

    order_id: str
    product_id: str
    side: str
    time: str
    price: Decimal | None = None
    remaining_size: Decimal | None = None
    sequence: int | None = None


class Done(_Base, tag="done", frozen=True):
    """The order left the book: ``reason`` ``filled`` or ``canceled``; nothing follows it."""

    order_id: str
    product_id: str
    side: str
    time: str
    reason: str
    price: Decimal | None = None
    remaining_size: Decimal | None = None
    cancel_reason: str | None = None
    sequence: int | None = None


class Match(_Base, tag="match", frozen=True):
    """A trade between a resting (maker) and an incoming (taker) order, one of them ours.

    ``side`` is the **maker**'s side. The authenticated feed adds the ids of whichever side
    is ours (``maker_user_id``/``maker_profile_id`` or ``taker_user_id``/
    ``taker_profile_id``) and its fee rate.
    """

    trade_id: int
    maker_order_id: str
    taker_order_id: str
    product_id: str
    side: str
    price: Decimal
    size: Decimal
    time: str
    sequence: int | None = None
    user_id: str | None = None
    profile_id: str | None = None
    maker_user_id: str | None = None
    maker_profile_id: str | None = None
    taker_user_id: str | None = None
    taker_profile_id: str | None = None
    maker_fee_rate: Decimal | None = None
    taker_fee_rate: Decimal | None = None

    @property
    def exec_id(self) -> str:
        """Return the fill's id, the same as the ``GET /fills`` entry's."""
        return fill_exec_id(self.product_id, self.trade_id)

    def to_fill(self, order_id: str, *, cl_ord_id: str | None = None) -> VenueFill:
        """Return the fill of our order ``order_id`` (the maker or the taker of this match).

        Our side is the maker's ``side`` when we were the maker, else the other one; the fee
        is ``price * size`` times our side's fee rate, in the quote currency (0 when the
        message carries no rate: the ``GET /fills`` entry has the exact fee).

        Raises
        ------
        DataError
            When ``order_id`` is neither the maker's nor the taker's order, or the side is
            unknown.
        """
        maker_side = parse_side(self.side, where=f"match {self.trade_id}.side")
        if order_id == self.maker_order_id:
            side, liquidity, rate = maker_side, Liquidity.MAKER, self.maker_fee_rate
        elif order_id == self.taker_order_id:
            side, liquidity, rate = maker_side.opposite(), Liquidity.TAKER, self.taker_fee_rate
        else:
            raise DataError(f"{VENUE}: match {self.trade_id} is not a fill of order {order_id}")
        return VenueFill(
            instrument=InstrumentId(VENUE, self.product_id),
            exec_id=self.exec_id,
            venue_order_id=order_id,
            cl_ord_id=cl_ord_id,
            side=side,
            qty=self.size,
            price=self.price,
            ts=parse_time(self.time),
            fee=self.price * self.size * rate if rate is not None else ZERO,
            fee_currency=quote_of(self.product_id),
            liquidity=liquidity,
        )


class Change(_Base, tag="change", frozen=True):
    """An order's size (self-trade prevention, ``reason`` ``STP``) or price and size
    (``reason`` ``modify_order``, an amend through FIX) changed."""

    order_id: str
    product_id: str
    side: str
    time: str
    reason: str | None = None
    price: Decimal | None = None
    new_size: Decimal | None = None
    old_size: Decimal | None = None
    new_price: Decimal | None = None
    old_price: Decimal | None = None
    sequence: int | None = None


class Activate(_Base, tag="activate", frozen=True):
    """A stop order was placed; it waits for its trigger. ``timestamp`` is decimal seconds."""

    order_id: str
    product_id: str
    side: str
    timestamp: str
    stop_type: str | None = None
    stop_price: Decimal | None = None
    size: Decimal | None = None
    funds: Decimal | None = None
    user_id: str | None = None
    profile_id: str | None = None


class Subscriptions(_Base, tag="subscriptions", frozen=True):
    """The acknowledgement of a ``subscribe``: the channels now subscribed."""

    channels: list[Any] = msgspec.field(default_factory=list)


class Heartbeat(_Base, tag="heartbeat", frozen=True):
    """Once a second per subscribed product."""

    product_id: str
    time: str
    sequence: int | None = None
    last_trade_id: int | None = None


class WsError(_Base, tag="error", frozen=True):
    """A refused request, e.g. ``Authentication Failed`` for a bad signature."""

    message: str = "error"
    reason: str = ""


class UnknownMessage(msgspec.Struct, frozen=True):
    """A message of a ``type`` this module does not know, kept as parsed JSON."""

    type: str
    body: dict[str, Any]


UserMessage = (
    Received
    | Open
    | Done
    | Match
    | Change
    | Activate
    | Subscriptions
    | Heartbeat
    | WsError
    | UnknownMessage
)
"""Anything :func:`decode_user_message` returns."""

_USER: Final = msgspec.json.Decoder(
    Received | Open | Done | Match | Change | Activate | Subscriptions | Heartbeat | WsError
)
_ORDER: Final = msgspec.json.Decoder(CoinbaseOrder)
_ORDERS: Final = msgspec.json.Decoder(list[msgspec.Raw])
_FILL: Final = msgspec.json.Decoder(CoinbaseFill)
_ACCOUNT: Final = msgspec.json.Decoder(CoinbaseAccount)
_TIME: Final = msgspec.json.Decoder(ServerTime)
_KNOWN_TYPES: Final = frozenset(
    {
        "received",
        "open",
        "done",
        "match",
        "change",
        "activate",
        "subscriptions",
        "heartbeat",
        "error",
    }
)


def fill_exec_id(product_id: str, trade_id: int) -> str:
    """Return the exec id of a fill: ``<product>:<trade_id>`` (trade ids count per product)."""
    return f"{product_id}:{trade_id}"


def quote_of(product_id: str) -> str:
    """Return the quote currency of a product id such as ``BTC-USD``."""
    return product_id.rpartition("-")[2]


def decode_user_message(data: bytes | str) -> UserMessage:
    """Return one ``user`` channel message, typed by its ``type``.

    Raises
    ------
    DataError
        When the frame is not a JSON object with a string ``type``, or a known type lacks
        a field or has a malformed one (the message names the type and the problem).
    """
    try:
        message: UserMessage = _USER.decode(data)
        return message
    except msgspec.ValidationError as exc:
        problem = str(exc)
    except msgspec.DecodeError as exc:
        raise DataError(f"{VENUE}: user channel frame is not JSON: {exc}") from None
    raw = msgspec.json.decode(data)
    kind = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(kind, str):
        raise DataError(f"{VENUE}: user channel message has no string type: {problem}")
    if kind in _KNOWN_TYPES:
        raise DataError(f"{VENUE}: malformed user channel {kind} message: {problem}")
    return UnknownMessage(kind, raw)


def decode_order(data: bytes | str) -> CoinbaseOrder:
    """Return the order in a REST answer.

    Raises
    ------
    DataError
        When the body is not an order, naming the field.
    """
    order: CoinbaseOrder = _decode(_ORDER, data, "order")
    return order


def decode_orders(data: bytes | str) -> tuple[list[CoinbaseOrder], list[DataError]]:
    """Return the orders of a ``GET /orders`` page, and an error for each bad entry.

    One malformed entry does not hide the others: it is returned as a DataError naming its
    index, and every other entry is decoded.

    Raises
    ------
    DataError
        When the body is not a JSON array.
    """
    return _decode_list(_ORDER, data, "orders")


def decode_fills(data: bytes | str) -> tuple[list[CoinbaseFill], list[DataError]]:
    """Return the fills of a ``GET /fills`` page, and an error for each bad entry.

    Raises
    ------
    DataError
        When the body is not a JSON array.
    """
    return _decode_list(_FILL, data, "fills")


def decode_accounts(data: bytes | str) -> tuple[list[CoinbaseAccount], list[DataError]]:
    """Return the accounts of a ``GET /accounts`` answer, and an error for each bad entry.

    Raises
    ------
    DataError
        When the body is not a JSON array.
    """
    return _decode_list(_ACCOUNT, data, "accounts")


def decode_server_time(data: bytes | str) -> ServerTime:
    """Return the API's clock from a ``GET /time`` answer.

    Raises
    ------
    DataError
        When the body lacks ``iso`` or ``epoch``.
    """
    answer: ServerTime = _decode(_TIME, data, "time")
    return answer


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes | str, what: str) -> Any:
    try:
        return decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DataError(f"{VENUE}: malformed {what} answer: {exc}") from None


def _decode_list(
    decoder: msgspec.json.Decoder[Any], data: bytes | str, what: str
) -> tuple[list[Any], list[DataError]]:
    entries: list[msgspec.Raw] = _decode(_ORDERS, data, what)
    good: list[Any] = []
    bad: list[DataError] = []
    for i, raw in enumerate(entries):
        try:
            good.append(decoder.decode(raw))
        except msgspec.ValidationError as exc:
            bad.append(DataError(f"{VENUE}: malformed {what}[{i}]: {exc}"))
    return good, bad

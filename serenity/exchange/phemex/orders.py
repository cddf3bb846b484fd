"""Phemex REST requests built from orders: new, amend, cancel, queries; contracts and spot.

A builder takes an order (anything with the fields of
:class:`~serenity.exchange.execution.OrderTerms`, such as :class:`serenity.trading.Order`) and
the product's :class:`PhemexInstrument`, and returns a :class:`RestCall`: the method, path,
query string and body exactly as they are sent and signed. Prices and quantities are scaled
with the product's own scales; a value finer than the scale allows, or an order Phemex cannot
take, is refused with :class:`InvalidValueError` naming the venue and the problem, before
anything is sent.

Mapping (faithful, one flag each):

* market, limit, stop (stop-market) and stop-limit: ``ordType`` ``Market``, ``Limit``,
  ``Stop``, ``StopLimit``; stops trigger on the last price (``ByLastPrice``);
* GTC, IOC, FOK: ``timeInForce`` ``GoodTillCancel``, ``ImmediateOrCancel``, ``FillOrKill``;
  day and GTD orders are refused (Phemex has neither);
* post-only: ``timeInForce=PostOnly``; reduce-only: ``reduceOnly=true`` (contracts only; a
  spot pair has no position to reduce). The two are never confused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from serenity.errors import InvalidValueError
from serenity.exchange.execution import OrderTerms
from serenity.exchange.phemex import endpoints as ep
from serenity.exchange.phemex.enums import (
    ORDER_TYPES,
    SIDES,
    TRIGGER_BY_LAST_PRICE,
    time_in_force_wire,
)
from serenity.exchange.phemex.refdata import PhemexInstrument, ProductKind
from serenity.exchange.phemex.signing import encode_body, encode_query
from serenity.model.enums import OrderType

__all__ = [
    "MAX_CL_ORD_ID_LEN",
    "OrderSpec",
    "RestCall",
    "account_positions",
    "amend_order",
    "cancel_order",
    "new_order",
    "open_orders",
    "query_order",
    "recent_trades",
    "server_time",
    "spot_wallets",
]

MAX_CL_ORD_ID_LEN: Final = 40
"""``clOrdID`` is at most 40 characters."""
_STOPS: Final = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
_PRICED: Final = (OrderType.LIMIT, OrderType.STOP_LIMIT)


OrderSpec = OrderTerms
"""What a builder reads of an order: :class:`serenity.exchange.execution.OrderTerms` (the
name the Phemex builders knew it by; :class:`serenity.trading.Order` has all of it)."""


@dataclass(frozen=True, slots=True)
class RestCall:
    """One REST request: query ``params`` in order (text values), ``body`` as JSON text."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: str = ""

    @property
    def query(self) -> str:
        """Return the query string as sent and signed, without ``?``."""
        return encode_query(self.params)

    @property
    def route(self) -> ep.Route:
        """Return the request's rate-limit group and weight."""
        return ep.route(self.method, self.path)

    @property
    def target(self) -> str:
        """Return the path with its query string, as requested."""
        return f"{self.path}?{self.query}" if self.query else self.path


def new_order(order: OrderTerms, instrument: PhemexInstrument) -> RestCall:
    """Return the request placing ``order`` on ``instrument``.

    Raises
    ------
    InvalidValueError
        For an order Phemex cannot take (a time in force it lacks, reduce-only on spot, a
        USDT-margined contract), a missing price, or a price or quantity finer than the
        product's scale allows; the message names the venue, the order and the problem.
    """
    where = f"{ep.VENUE}: order {order.cl_ord_id!r} on {instrument.symbol}"
    _check_cl_ord_id(order.cl_ord_id)
    try:
        fields: dict[str, Any] = {
            "symbol": instrument.symbol,
            "clOrdID": order.cl_ord_id,
            "side": SIDES.to_wire(order.side),
        }
        ord_type = ORDER_TYPES.to_wire(order.order_type)
        tif = time_in_force_wire(order.tif, post_only=order.post_only)
        if order.post_only and order.order_type is not OrderType.LIMIT:
            raise InvalidValueError(f"{ep.VENUE}: post-only applies to limit orders only")
        price = _price(order, instrument)
        stop = _stop(order, instrument)
        if instrument.kind is ProductKind.PERPETUAL:
            fields.update(orderQty=_qty(order.qty, instrument), ordType=ord_type)
            if price is not None:
                fields["priceEp"] = price
            if stop is not None:
                fields.update(stopPxEp=stop, triggerType=TRIGGER_BY_LAST_PRICE)
            fields.update(timeInForce=tif, reduceOnly=order.reduce_only)
            return RestCall("POST", ep.CONTRACT_ORDERS_PATH, body=encode_body(fields))
        if instrument.kind is ProductKind.SPOT:
            if order.reduce_only:
                raise InvalidValueError(
                    f"{ep.VENUE}: reduce-only is for contracts; a spot pair has no position "
                    "to reduce"
                )
            fields.update(qtyType="ByBase", baseQtyEv=_qty(order.qty, instrument), ordType=ord_type)
            if price is not None:
                fields["priceEp"] = price
            if stop is not None:
                fields.update(stopPxEp=stop, trigger=TRIGGER_BY_LAST_PRICE)
            fields["timeInForce"] = tif
            return RestCall("POST", ep.SPOT_ORDERS_PATH, body=encode_body(fields))
        raise _unsupported(instrument)
    except InvalidValueError as exc:
        raise InvalidValueError(f"{where}: {_strip(exc)}") from None


def amend_order(
    instrument: PhemexInstrument,
    *,
    venue_order_id: str | None,
    cl_ord_id: str,
    price: Decimal | None,
    qty: Decimal | None,
) -> RestCall:
    """Return the request amending an order's price and/or total quantity.

    The order is named by Phemex's ``orderID`` when known, else by its ``clOrdID``
    (``origClOrdID``).

    Raises
    ------
    InvalidValueError
        When nothing changes, or a value is finer than the product's scale allows.
    """
    where = f"{ep.VENUE}: amend of {cl_ord_id!r} on {instrument.symbol}"
    if price is None and qty is None:
        raise InvalidValueError(f"{where}: give a new price, a new qty, or both")
    try:
        params: list[tuple[str, Any]] = [
            ("symbol", instrument.symbol),
            *_order_ref(venue_order_id, cl_ord_id, by_cl="origClOrdID"),
        ]
        if price is not None:
            params.append(("priceEp", instrument.price_ep(price)))
        if instrument.kind is ProductKind.PERPETUAL:
            if qty is not None:
                params.append(("orderQty", _qty(qty, instrument)))
            return RestCall("PUT", ep.CONTRACT_AMEND_PATH, _text(params))
        if instrument.kind is ProductKind.SPOT:
            if qty is not None:
                params.append(("baseQtyEV", _qty(qty, instrument)))
            return RestCall("PUT", ep.SPOT_ORDERS_PATH, _text(params))
        raise _unsupported(instrument)
    except InvalidValueError as exc:
        raise InvalidValueError(f"{where}: {_strip(exc)}") from None


def cancel_order(
    instrument: PhemexInstrument, *, venue_order_id: str | None, cl_ord_id: str
) -> RestCall:
    """Return the request canceling an order, by ``orderID`` when known, else ``clOrdID``.

    Raises
    ------
    InvalidValueError
        For a USDT-margined contract.
    """
    params = [("symbol", instrument.symbol), *_order_ref(venue_order_id, cl_ord_id)]
    return RestCall("DELETE", _path(instrument, "cancel"), _text(params))


def query_order(instrument: PhemexInstrument, *, cl_ord_id: str) -> RestCall:
    """Return the request reading one order by ``clOrdID`` (open or, for contracts, closed).

    Raises
    ------
    InvalidValueError
        For a USDT-margined contract.
    """
    params = [("symbol", instrument.symbol), ("clOrdID", cl_ord_id)]
    return RestCall("GET", _path(instrument, "query"), _text(params))


def open_orders(instrument: PhemexInstrument) -> RestCall:
    """Return the request listing the open orders of ``instrument``.

    Raises
    ------
    InvalidValueError
        For a USDT-margined contract.
    """
    return RestCall("GET", _path(instrument, "open"), _text({"symbol": instrument.symbol}))


def recent_trades(instrument: PhemexInstrument, *, start_ms: int, limit: int = 200) -> RestCall:
    """Return the request listing the account's executions of ``instrument`` since ``start_ms``.

    Raises
    ------
    InvalidValueError
        For a USDT-margined contract.
    """
    params = {"symbol": instrument.symbol, "start": start_ms, "limit": limit}
    return RestCall("GET", _path(instrument, "trades"), _text(params))


def account_positions(currency: str) -> RestCall:
    """Return the request reading the contract account and positions of ``currency``."""
    return RestCall("GET", ep.ACCOUNT_POSITIONS_PATH, _text({"currency": currency}))


def spot_wallets() -> RestCall:
    """Return the request reading every spot wallet."""
    return RestCall("GET", ep.SPOT_WALLETS_PATH)


def server_time() -> RestCall:
    """Return the request reading Phemex's clock (``data.serverTime``, epoch ms)."""
    return RestCall("GET", ep.SERVER_TIME_PATH)


_PATHS: Final[Mapping[ProductKind, Mapping[str, str]]] = {
    ProductKind.PERPETUAL: {
        "cancel": ep.CONTRACT_CANCEL_PATH,
        "query": ep.CONTRACT_ORDER_QUERY_PATH,
        "open": ep.CONTRACT_OPEN_ORDERS_PATH,
        "trades": ep.CONTRACT_TRADES_PATH,
    },
    ProductKind.SPOT: {
        "cancel": ep.SPOT_ORDERS_PATH,
        "query": ep.SPOT_ORDER_QUERY_PATH,
        "open": ep.SPOT_ORDERS_PATH,
        "trades": ep.SPOT_TRADES_PATH,
    },
}


def _text(params: Mapping[str, Any] | list[tuple[str, Any]]) -> tuple[tuple[str, str], ...]:
    items = params.items() if isinstance(params, Mapping) else params
    return tuple(
        (key, ("true" if value else "false") if isinstance(value, bool) else str(value))
        for key, value in items
        if value is not None
    )


def _path(instrument: PhemexInstrument, what: str) -> str:
    paths = _PATHS.get(instrument.kind)
    if paths is None:
        raise _unsupported(instrument)
    return paths[what]


def _unsupported(instrument: PhemexInstrument) -> InvalidValueError:
    return InvalidValueError(
        f"{ep.VENUE}: {instrument.symbol} is a USDT-margined {instrument.kind} contract, "
        "traded on Phemex's hedged /g-orders API, which this connector does not support; "
        "trade the coin-margined contracts (e.g. BTCUSD) or spot pairs (e.g. sBTCUSDT)"
    )


def _order_ref(
    venue_order_id: str | None, cl_ord_id: str, *, by_cl: str = "clOrdID"
) -> list[tuple[str, str]]:
    if venue_order_id:
        return [("orderID", venue_order_id)]
    return [(by_cl, cl_ord_id)]


def _check_cl_ord_id(cl_ord_id: str) -> None:
    if not cl_ord_id or len(cl_ord_id) > MAX_CL_ORD_ID_LEN:
        raise InvalidValueError(
            f"{ep.VENUE}: clOrdID must be 1 to {MAX_CL_ORD_ID_LEN} characters, was {cl_ord_id!r}"
        )


def _price(order: OrderTerms, instrument: PhemexInstrument) -> int | None:
    if order.order_type not in _PRICED:
        return None
    if order.price is None:
        raise InvalidValueError(f"a {order.order_type} order needs a price")
    return _scaled(order.price, instrument.scales.price_scale, "price")


def _stop(order: OrderTerms, instrument: PhemexInstrument) -> int | None:
    if order.order_type not in _STOPS:
        return None
    if order.stop_price is None:
        raise InvalidValueError(f"a {order.order_type} order needs a stop_price")
    return _scaled(order.stop_price, instrument.scales.price_scale, "stop_price")


def _qty(qty: Decimal, instrument: PhemexInstrument) -> int:
    wire = _scaled(qty, instrument.scales.qty_scale, "qty")
    if wire <= 0:
        raise InvalidValueError(f"qty must be > 0, was {qty}")
    return wire


def _scaled(value: Decimal, power: int, name: str) -> int:
    scaled = Decimal(value).scaleb(power)
    if scaled != scaled.to_integral_value():
        raise InvalidValueError(
            f"{name} {value} has more than {power} decimals (the product's scale); round it "
            "to the product's tick or lot size"
        )
    return int(scaled)


def _strip(exc: InvalidValueError) -> str:
    text = str(exc)
    prefix = f"{ep.VENUE}: "
    return text[len(prefix) :] if text.startswith(prefix) else text

"""Binance spot order-entry requests, built from an order and its instrument's listing.

Quantities go on the instrument's lot grid (rounded down) and prices on its tick grid,
written as plain decimals (:func:`~serenity.exchange.binance.refdata.format_decimal`);
orders that break the filters never get here (the connector checks them first). Every
order carries our client order id as ``newClientOrderId``, which makes a resend of a
request Binance did not execute harmless, and asks for the ``FULL`` answer, so fills on
arrival come back with the acknowledgement.

What Binance spot cannot do is refused before sending (:func:`local_refusal`): reduce-only
orders (spot has no position to reduce), day and good-till-date orders, and client order
ids Binance would not take.
"""

from __future__ import annotations

import hashlib
import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Final

from serenity.exchange.binance import enums
from serenity.exchange.binance.endpoints import VENUE
from serenity.exchange.binance.refdata import format_decimal
from serenity.exchange.execution import OrderTerms
from serenity.exchange.product import Product
from serenity.model import OrderType

__all__ = [
    "CLIENT_ID",
    "amend_params",
    "cancel_params",
    "cancel_replace_params",
    "local_refusal",
    "new_order_params",
    "on_grid",
    "query_params",
    "replacement_client_id",
]

CLIENT_ID: Final = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
"""The client order ids Binance accepts."""
_PRICED: Final = frozenset({"LIMIT", enums.LIMIT_MAKER, "STOP_LOSS_LIMIT"})
_TIMED: Final = frozenset({"LIMIT", "STOP_LOSS_LIMIT"})
_STOPPED: Final = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT"})
Params = list[tuple[str, str]]


def on_grid(value: Decimal, step: Decimal, *, down: bool = False) -> Decimal:
    """Return ``value`` on the grid of ``step`` (nearest, or rounded down)."""
    if step <= 0:
        return value
    units = (value / step).to_integral_value(ROUND_DOWN if down else ROUND_HALF_EVEN)
    return units * step


def local_refusal(order: OrderTerms) -> str | None:
    """Return why Binance spot cannot take ``order`` as it is, or None."""
    if order.reduce_only:
        return f"{VENUE} spot has no reduce-only orders (spot holds no position to reduce)"
    if enums.wire_time_in_force(order.tif) is None:
        return f"{VENUE} spot has no {order.tif} orders; use GTC, IOC or FOK"
    if enums.wire_order_type(order.order_type, post_only=order.post_only) is None:
        return f"{VENUE} spot cannot place a post-only {order.order_type} order"
    if not CLIENT_ID.match(order.cl_ord_id):
        return (
            f"{VENUE} takes client order ids of 1 to 36 characters from A-Z a-z 0-9 . : / _ -, "
            f"was {order.cl_ord_id!r}"
        )
    return None


def _terms(
    order: OrderTerms,
    product: Product,
    qty: Decimal,
    price: Decimal | None,
) -> Params:
    wire_type = enums.wire_order_type(order.order_type, post_only=order.post_only)
    assert wire_type is not None, "local_refusal() refuses what Binance cannot place"
    params: Params = [
        ("symbol", product.symbol),
        ("side", enums.wire_side(order.side)),
        ("type", wire_type),
    ]
    if wire_type in _TIMED:
        tif = enums.wire_time_in_force(order.tif)
        assert tif is not None
        params.append(("timeInForce", tif))
    params.append(("quantity", format_decimal(on_grid(qty, product.lot_size, down=True))))
    if wire_type in _PRICED and price is not None:
        params.append(("price", format_decimal(on_grid(price, product.tick_size))))
    if wire_type in _STOPPED and order.stop_price is not None:
        params.append(("stopPrice", format_decimal(on_grid(order.stop_price, product.tick_size))))
    return params


def new_order_params(order: OrderTerms, product: Product, client_id: str) -> Params:
    """Return the parameters of ``POST /api/v3/order`` for ``order``."""
    return [
        *_terms(order, product, order.qty, order.price),
        ("newClientOrderId", client_id),
        ("newOrderRespType", "FULL"),
    ]


def cancel_params(product: Product, client_id: str) -> Params:
    """Return the parameters of ``DELETE /api/v3/order`` for the order ``client_id``."""
    return [("symbol", product.symbol), ("origClientOrderId", client_id)]


def query_params(product: Product, client_id: str) -> Params:
    """Return the parameters of ``GET /api/v3/order`` for the order ``client_id``."""
    return [("symbol", product.symbol), ("origClientOrderId", client_id)]


def amend_params(product: Product, client_id: str, new_qty: Decimal) -> Params:
    """Return the parameters of ``PUT /api/v3/order/amend/keepPriority``: the order's new
    total quantity (less than before), keeping its client id."""
    return [
        ("symbol", product.symbol),
        ("origClientOrderId", client_id),
        ("newClientOrderId", client_id),
        ("newQty", format_decimal(on_grid(new_qty, product.lot_size, down=True))),
    ]


def cancel_replace_params(
    order: OrderTerms,
    product: Product,
    *,
    cancel_client_id: str,
    new_client_id: str,
    qty: Decimal,
    price: Decimal | None,
) -> Params:
    """Return the parameters of ``POST /api/v3/order/cancelReplace``: cancel the order
    ``cancel_client_id`` and, only if that worked, place ``qty`` (what is left to fill) at
    ``price`` as ``new_client_id``."""
    terms = _terms(order, product, qty, price if price is not None else order.price)
    return [
        *terms[:3],
        ("cancelReplaceMode", "STOP_ON_FAILURE"),
        *terms[3:],
        ("cancelOrigClientOrderId", cancel_client_id),
        ("newClientOrderId", new_client_id),
        ("newOrderRespType", "FULL"),
    ]


def replacement_client_id(cl_ord_id: str, n: int) -> str:
    """Return the client id of the ``n``-th replacement of order ``cl_ord_id`` (Binance's
    cancel-replace gives the new order a new id), within Binance's 36 characters."""
    suffix = f".r{n}"
    if len(cl_ord_id) + len(suffix) <= 36:
        return cl_ord_id + suffix
    digest = hashlib.sha1(cl_ord_id.encode()).hexdigest()[: 36 - len(suffix)]
    return digest + suffix


def is_market(order: OrderTerms) -> bool:
    """Return True for a market order (it has no price on Binance)."""
    return order.order_type is OrderType.MARKET

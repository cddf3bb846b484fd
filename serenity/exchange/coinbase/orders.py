"""Coinbase Exchange order requests, built from an order's terms and its product.

``POST /orders`` takes a JSON body (Coinbase's "Create a new order" reference):

=================  =============================================================
field              from our order
=================  =============================================================
``client_oid``     :func:`client_oid` of the account and ``cl_ord_id``
``product_id``     the instrument's symbol
``side``           ``buy`` / ``sell``
``type``           ``market`` or ``limit`` (a stop order is one of them plus a trigger)
``size``           ``qty`` on the product's ``base_increment``
``price``          limit and stop-limit orders, on the ``quote_increment``
``time_in_force``  limit orders: ``GTC``, ``IOC`` or ``FOK``
``post_only``      limit GTC orders with ``post_only``
``stop``           stop orders: ``entry`` for a buy (triggers at or above ``stop_price``),
                   ``loss`` for a sell (at or below)
``stop_price``     stop orders, on the ``quote_increment``
``stp``            self-trade prevention, when asked for (Coinbase's default is ``dc``)
=================  =============================================================

What Coinbase cannot carry is refused locally (:func:`refusal`), never approximated:
reduce-only (spot has no positions to reduce; it is **not** post-only), a DAY or GTD time
in force (Coinbase's GTT lasts a fixed minute, hour or day), a FOK market order, and a stop
order with a time in force other than GTC.

``client_oid`` must be a version-4 UUID in canonical lowercase form: Coinbase accepts other
strings but then neither processes nor reports them. :func:`client_oid` derives one
deterministically (SHA-256 of the account and ``cl_ord_id``, with the version and variant
bits of a v4 UUID), so a retried request carries the same id and the order is found by it
(``GET /orders/client:<client_oid>``) after a restart.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Final

import msgspec

from serenity.errors import InvalidValueError
from serenity.exchange.coinbase.endpoints import VENUE
from serenity.exchange.coinbase.enums import (
    ORDER_TYPE_SPELLINGS,
    SIDE_SPELLINGS,
    STOP_SPELLINGS,
    TIME_IN_FORCE_SPELLINGS,
    UNSUPPORTED_TIME_IN_FORCE,
    SelfTradePrevention,
)
from serenity.exchange.coinbase.refdata import format_price, format_size
from serenity.exchange.execution import OrderTerms
from serenity.exchange.product import Product
from serenity.model.enums import OrderType, TimeInForce

__all__ = [
    "OPEN_STATUSES",
    "PURGES_UNFILLED_CANCELS",
    "OrderTerms",
    "client_oid",
    "encode_body",
    "fills_query",
    "new_order_body",
    "open_orders_query",
    "refusal",
]

OPEN_STATUSES: Final = ("open", "pending", "active")
"""The ``status`` values that together list every live order (``active``: untriggered stops)."""
PAGE_LIMIT: Final = 100
"""Entries per page of a list query (Coinbase's maximum and default)."""
PURGES_UNFILLED_CANCELS: Final = True
"""Coinbase forgets an order canceled without fills: "If the order had no matches during
its lifetime, its record may be purged. This means the order details is not available with
GET /orders/<id>" ("Cancel an order"); "If the order is canceled, and if the order had no
matches, the response might return the status code 404" ("Get single order"). Orders
with a fill are kept. A working order ends ``done`` with reason ``filled`` or ``canceled``
(there is no expired end: an order whose time in force ran out is canceled), so an
acknowledged order Coinbase no longer knows, with nothing filled, was canceled: by us, on
the venue (the web, another key), or by self-trade prevention."""
_NAMESPACE: Final = b"serenity:coinbase:"


def client_oid(account: str, cl_ord_id: str) -> str:
    """Return the ``client_oid`` of our order ``cl_ord_id`` of ``account``: a v4-form UUID.

    The same inputs always give the same id; different accounts give different ids for the
    same ``cl_ord_id``.

    Examples
    --------
    >>> client_oid("main", "a1b2c3d4-1")
    '199243f8-c0a1-4827-8f1d-1800ee9bbe5e'
    """
    digest = hashlib.sha256(
        _NAMESPACE + str(account).encode() + b"\x00" + str(cl_ord_id).encode()
    ).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def refusal(terms: OrderTerms) -> str | None:
    """Return why Coinbase Exchange cannot carry ``terms`` faithfully, or None when it can."""
    if terms.reduce_only:
        return (
            f"{VENUE}: reduce-only is not supported on Coinbase Exchange spot products "
            "(there is no position to reduce); send a plain order for the quantity to sell"
        )
    reason = UNSUPPORTED_TIME_IN_FORCE.get(terms.tif)
    if reason is not None:
        return f"{VENUE}: time in force {terms.tif.name} is not supported: {reason}"
    if terms.order_type is OrderType.MARKET and terms.tif is TimeInForce.FOK:
        return f"{VENUE}: a market order cannot be FOK on Coinbase Exchange; use a FOK limit"
    is_stop = terms.order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    if is_stop and terms.tif is not TimeInForce.GTC:
        return (
            f"{VENUE}: stop orders rest until triggered on Coinbase Exchange, so they are GTC "
            f"only, was {terms.tif.name}"
        )
    return None


def new_order_body(
    terms: OrderTerms,
    product: Product,
    *,
    account: str,
    stp: SelfTradePrevention | None = None,
) -> dict[str, Any]:
    """Return the ``POST /orders`` body of ``terms`` on ``product``.

    Raises
    ------
    InvalidValueError
        When Coinbase cannot carry the order (:func:`refusal`), or a price or size is off
        the product's increments (the message names which).
    """
    reason = refusal(terms)
    if reason is not None:
        raise InvalidValueError(f"order {terms.cl_ord_id!r}: {reason}")
    kind, is_stop = ORDER_TYPE_SPELLINGS[terms.order_type]
    body: dict[str, Any] = {
        "client_oid": client_oid(account, terms.cl_ord_id),
        "product_id": product.symbol,
        "side": SIDE_SPELLINGS[terms.side],
        "type": kind,
        "size": format_size(product, terms.qty),
    }
    if kind == "limit":
        if terms.price is None:
            raise InvalidValueError(f"order {terms.cl_ord_id!r}: a {kind} order needs a price")
        body["price"] = format_price(product, terms.price)
        body["time_in_force"] = TIME_IN_FORCE_SPELLINGS[terms.tif]
        if terms.post_only:
            body["post_only"] = True
    if is_stop:
        if terms.stop_price is None:
            raise InvalidValueError(f"order {terms.cl_ord_id!r}: a stop order needs a stop_price")
        body["stop"] = STOP_SPELLINGS[terms.side]
        body["stop_price"] = format_price(product, terms.stop_price, what="stop_price")
    if stp is not None:
        body["stp"] = SelfTradePrevention(stp).value
    return body


def encode_body(body: dict[str, Any]) -> bytes:
    """Return ``body`` as the compact JSON bytes that are both sent and signed."""
    return msgspec.json.encode(body)


def open_orders_query(
    product_id: str | None = None, *, after: str | None = None
) -> list[tuple[str, str]]:
    """Return the query of one page of ``GET /orders`` listing every live order.

    ``after`` is the ``CB-AFTER`` cursor of the previous page.
    """
    params = [("status", s) for s in OPEN_STATUSES]
    if product_id is not None:
        params.append(("product_id", product_id))
    params.append(("limit", str(PAGE_LIMIT)))
    if after is not None:
        params.append(("after", after))
    return params


def fills_query(
    *, product_id: str | None = None, order_id: str | None = None, after: str | None = None
) -> list[tuple[str, str]]:
    """Return the query of one page of ``GET /fills`` (Coinbase needs a product or an order).

    Raises
    ------
    InvalidValueError
        When neither ``product_id`` nor ``order_id`` is given.
    """
    if product_id is None and order_id is None:
        raise InvalidValueError(f"{VENUE}: GET /fills needs a product_id or an order_id")
    params = []
    if order_id is not None:
        params.append(("order_id", order_id))
    if product_id is not None:
        params.append(("product_id", product_id))
    params.append(("limit", str(PAGE_LIMIT)))
    if after is not None:
        params.append(("after", after))
    return params

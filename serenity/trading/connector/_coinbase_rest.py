"""What the Coinbase Exchange connector reads over REST, page by page (internal).

Coinbase pages its lists newest first and names the next page in the ``CB-AFTER`` header;
these readers follow it (at most :data:`MAX_PAGES` pages) and log, rather than fail on, an
entry they cannot read. The request costs are those of the connector's
:data:`~serenity.trading.connector.coinbase.RATE_LIMITS`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from serenity.errors import DataError, VenueError
from serenity.exchange.coinbase import endpoints as cb
from serenity.exchange.coinbase.errors import ErrorKind
from serenity.exchange.coinbase.orders import fills_query, open_orders_query
from serenity.exchange.coinbase.schemas import (
    CoinbaseOrder,
    decode_fills,
    decode_order,
    decode_orders,
    decode_server_time,
)
from serenity.exchange.execution import VenueFill
from serenity.trading.connector.rest import RestClient, RestResponse

__all__ = [
    "FILLS",
    "JSON",
    "MAX_PAGES",
    "PRIVATE",
    "PUBLIC",
    "log_bad",
    "read_fills",
    "read_open_orders",
    "read_order",
    "server_time",
]

log = logging.getLogger(__name__)

PRIVATE: Final = {"private": 1}
"""The cost of a request to a private endpoint."""
FILLS: Final = {"fills": 1}
"""The cost of a ``GET /fills``."""
PUBLIC: Final = {"public": 1}
"""The cost of a request to a public endpoint."""
JSON: Final = "application/json"
MAX_PAGES: Final = 50
"""The most pages read of one list."""


async def server_time(client: RestClient) -> int:
    """Return Coinbase's clock (``GET /time``), in ms since the epoch."""
    answer = await client.request("GET", cb.TIME_PATH, cost=PUBLIC)
    return int(decode_server_time(answer.body).epoch * 1000)


async def read_order(rest: RestClient, path: str) -> CoinbaseOrder | None:
    """Return the order at ``path``, or None when Coinbase does not know it.

    Raises
    ------
    VenueError
        When the request failed.
    """
    try:
        answer = await rest.request("GET", path, signed=True, cost=PRIVATE)
    except VenueError as exc:
        if exc.code == ErrorKind.NOT_FOUND.value:
            return None
        raise
    return decode_order(answer.body)


async def read_open_orders(rest: RestClient) -> list[CoinbaseOrder]:
    """Return the account's open orders (open, pending and active), every page.

    Raises
    ------
    VenueError
        When a request failed.
    """
    found: list[CoinbaseOrder] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        answer = await rest.request(
            "GET", cb.ORDERS_PATH, open_orders_query(after=after), signed=True, cost=PRIVATE
        )
        page, bad = decode_orders(answer.body)
        log_bad(bad)
        found += page
        after = _cursor(answer)
        if after is None or not page:
            break
    return found


async def read_fills(
    rest: RestClient,
    since_ns: int | None,
    *,
    product_id: str | None = None,
    order_id: str | None = None,
) -> list[VenueFill]:
    """Return the fills of a product or of one venue order, back to ``since_ns`` (all of
    them when None).

    Raises
    ------
    VenueError
        When a request failed.
    """
    found: list[VenueFill] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        query = fills_query(product_id=product_id, order_id=order_id, after=after)
        answer = await rest.request("GET", cb.FILLS_PATH, query, signed=True, cost=FILLS)
        page, bad = decode_fills(answer.body)
        log_bad(bad)
        older = False
        for raw in page:
            try:
                fill = raw.to_fill()
            except DataError as exc:
                log_bad([exc])
                continue
            if since_ns is not None and fill.ts < since_ns:
                older = True
                continue
            found.append(fill)
        after = _cursor(answer)
        if after is None or older or not page:
            break
    return found


def log_bad(errors: Sequence[DataError]) -> None:
    """Log each entry Coinbase sent that could not be read."""
    for error in errors:
        log.warning("connector.bad_entry", extra={"venue": cb.VENUE, "error": str(error)})


def _cursor(answer: RestResponse) -> str | None:
    for name, value in answer.headers.items():
        if name.lower() == "cb-after" and value:
            return value
    return None

"""Where Coinbase Exchange lives: base URLs per environment and the REST paths Serenity uses.

Coinbase calls its test environment the **sandbox**; Serenity's shared
:class:`~serenity.exchange.Environment` calls it ``testnet``, so the two names are the same
deployment here. Placer instances are named as Coinbase names them: ``coinbase:prod`` and
``coinbase:sandbox``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from serenity.errors import ConfigError
from serenity.exchange.endpoints import Endpoints, Environment

__all__ = [
    "ACCOUNTS_PATH",
    "CURRENCIES_PATH",
    "ENDPOINTS",
    "FILLS_PATH",
    "INSTANCES",
    "NAME",
    "ORDERS_PATH",
    "PROD",
    "PRODUCTS_PATH",
    "SANDBOX",
    "TESTNET",
    "TIME_PATH",
    "TRADES_PAGE_LIMIT",
    "VENUE",
    "VERIFY_PATH",
    "client_order_path",
    "environment_of",
    "order_path",
    "product_trades_path",
]

VENUE: Final = "coinbase"
NAME: Final = "Coinbase Exchange"
PROD: Final = Endpoints(
    rest="https://api.exchange.coinbase.com", ws="wss://ws-feed.exchange.coinbase.com"
)
SANDBOX: Final = Endpoints(
    rest="https://api-public.sandbox.exchange.coinbase.com",
    ws="wss://ws-feed-public.sandbox.exchange.coinbase.com",
)
TESTNET: Final = SANDBOX
"""The sandbox, under the name every venue module gives its test deployment."""
ENDPOINTS: Final[Mapping[Environment, Endpoints]] = {
    Environment.PROD: PROD,
    Environment.TESTNET: SANDBOX,
}
INSTANCES: Final[Mapping[str, Environment]] = {
    "prod": Environment.PROD,
    "sandbox": Environment.TESTNET,
}
"""Placer instance name -> the deployment it trades on."""

PRODUCTS_PATH: Final = "/products"
TRADES_PAGE_LIMIT: Final = 1000
"""The most trades one ``GET /products/{product_id}/trades`` page holds (its ``limit``)."""
CURRENCIES_PATH: Final = "/currencies"
ORDERS_PATH: Final = "/orders"
"""``POST`` places an order; ``GET ?status=open`` lists open orders (paginated)."""
FILLS_PATH: Final = "/fills"
"""``GET ?product_id=`` or ``?order_id=``: the profile's recent fills (paginated)."""
ACCOUNTS_PATH: Final = "/accounts"
"""``GET``: one account per currency of the profile, with balance, hold and available."""
TIME_PATH: Final = "/time"
"""``GET``: the API server's time (``iso``, ``epoch`` in decimal seconds); unauthenticated."""
VERIFY_PATH: Final = "/users/self/verify"
"""What a websocket ``subscribe`` signs, as if it were ``GET`` of this path."""


def order_path(order_id: str) -> str:
    """Return the path of one order by Coinbase's id (``GET`` it, ``DELETE`` to cancel)."""
    return f"{ORDERS_PATH}/{order_id}"


def client_order_path(client_oid: str) -> str:
    """Return the path of one order by our ``client_oid`` (``GET``, ``DELETE``)."""
    return f"{ORDERS_PATH}/client:{client_oid}"


def product_trades_path(product_id: str) -> str:
    """Return the path of a product's trades, ``/products/{product_id}/trades``.

    Public (no key). Pages are newest first; ``after=<trade_id>`` asks for the page of
    trades older than that id, ``before=<trade_id>`` for newer ones, ``limit`` at most
    :data:`TRADES_PAGE_LIMIT`; the answer's ``CB-AFTER`` and ``CB-BEFORE`` headers are the
    cursors of the next older and newer pages. Each item reads ``{"trade_id", "price",
    "size", "time", "side"}`` with ``side`` the maker order's side, as in a ``match``.
    """
    return f"{PRODUCTS_PATH}/{product_id}/trades"


def environment_of(instance: str) -> Environment:
    """Return the deployment a placer instance (``prod``, ``sandbox``) trades on.

    Raises
    ------
    ConfigError
        For any other instance name, naming the ones there are.
    """
    key = str(instance).strip().lower()
    try:
        return INSTANCES[key]
    except KeyError:
        raise ConfigError(
            f"{VENUE}: unknown instance {instance!r}, expected one of {sorted(INSTANCES)}"
        ) from None

"""Where Phemex lives: base URLs per environment, REST paths, rate-limit groups, websocket limits.

One websocket URL serves both the public market data and, after ``user.auth``, the private
Account-Order-Position (AOP) stream of contracts and the Wallet-Order (WO) stream of spot.
REST calls fall into the rate-limit groups Phemex documents (``Contract``, ``SpotOrder``,
``Others``), each with its own per-minute capacity; every path names its group and weight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Final

from serenity.exchange.endpoints import Endpoints, Environment

__all__ = [
    "ACCOUNT_POSITIONS_PATH",
    "CONTRACT_AMEND_PATH",
    "CONTRACT_CANCEL_PATH",
    "CONTRACT_OPEN_ORDERS_PATH",
    "CONTRACT_ORDERS_PATH",
    "CONTRACT_ORDER_QUERY_PATH",
    "CONTRACT_TRADES_PATH",
    "ENDPOINTS",
    "NAME",
    "PRODUCTS_PATH",
    "PROD",
    "RATE_LIMITS",
    "REQUEST_EXPIRY_MAX_S",
    "REQUEST_EXPIRY_S",
    "SERVER_TIME_PATH",
    "SPOT_OPEN_ORDER_PATH",
    "SPOT_ORDERS_PATH",
    "SPOT_ORDER_QUERY_PATH",
    "SPOT_TRADES_PATH",
    "SPOT_WALLETS_PATH",
    "TESTNET",
    "VENUE",
    "WS_MAX_SUBSCRIPTIONS",
    "WS_PING_LIMIT_S",
    "WS_REQUESTS_PER_S",
    "RateGroup",
    "RateLimit",
    "Route",
    "route",
]

VENUE: Final = "phemex"
NAME: Final = "Phemex"
PROD: Final = Endpoints(rest="https://api.phemex.com", ws="wss://ws.phemex.com")
TESTNET: Final = Endpoints(
    rest="https://testnet-api.phemex.com", ws="wss://testnet-api.phemex.com/ws"
)
ENDPOINTS: Final[Mapping[Environment, Endpoints]] = {
    Environment.PROD: PROD,
    Environment.TESTNET: TESTNET,
}

PRODUCTS_PATH: Final = "/public/products"
SERVER_TIME_PATH: Final = "/public/time"
"""``{"code": 0, "data": {"serverTime": <epoch ms>}}``: to measure clock skew."""

# Coin-margined contracts (``Perpetual``: BTCUSD, ETHUSD, ...): scaled ``...Ep`` prices.
CONTRACT_ORDERS_PATH: Final = "/orders"
"""POST a new order (JSON body)."""
CONTRACT_AMEND_PATH: Final = "/orders/replace"
"""PUT an amend: ``symbol``, ``orderID`` or ``origClOrdID``, new ``priceEp``/``orderQty``."""
CONTRACT_CANCEL_PATH: Final = "/orders/cancel"
"""DELETE one order by ``symbol`` and ``orderID`` or ``clOrdID`` (not both)."""
CONTRACT_OPEN_ORDERS_PATH: Final = "/orders/activeList"
"""GET the open orders of a ``symbol``."""
CONTRACT_ORDER_QUERY_PATH: Final = "/exchange/order"
"""GET orders of a ``symbol`` by ``orderID`` or ``clOrdID`` (open or closed, last 2 months)."""
CONTRACT_TRADES_PATH: Final = "/exchange/order/trade"
"""GET the account's executions of a ``symbol`` (``start``/``end`` in epoch ms)."""
ACCOUNT_POSITIONS_PATH: Final = "/accounts/accountPositions"
"""GET the trading account (margin balance) and positions of a settlement ``currency``."""

# Spot (``sBTCUSDT``, ...): scaled ``...Ep`` prices and ``...Ev`` base quantities.
SPOT_ORDERS_PATH: Final = "/spot/orders"
"""POST a new order, PUT an amend, DELETE a cancel, GET the open orders of a ``symbol``."""
SPOT_OPEN_ORDER_PATH: Final = "/spot/orders/active"
"""GET one open order by ``symbol`` and ``orderID`` or ``clOrdID``."""
SPOT_ORDER_QUERY_PATH: Final = "/api-data/spots/orders/by-order-id"
"""GET orders of a ``symbol`` by ``orderID`` or ``clOrdID``, open or closed."""
SPOT_WALLETS_PATH: Final = "/spot/wallets"
"""GET the spot wallets (balances), optionally of one ``currency``."""
SPOT_TRADES_PATH: Final = "/exchange/spot/order/trades"
"""GET the account's spot executions of a ``symbol``."""

REQUEST_EXPIRY_S: Final = 60
"""How far ahead a request's ``x-phemex-request-expiry`` is set ("normally Now() + 1 minute")."""
REQUEST_EXPIRY_MAX_S: Final = 120
"""The latest expiry ``user.auth`` accepts: request time plus 2 minutes."""

WS_PING_LIMIT_S: Final = 30.0
"""Phemex drops a connection that sent no ping (``server.ping`` or a protocol ping) for 30 s."""
WS_MAX_SUBSCRIPTIONS: Final = 20
"""Subscriptions per connection that Phemex documents."""
WS_REQUESTS_PER_S: Final = 20
"""Requests per second a websocket connection may send."""


@unique
class RateGroup(StrEnum):
    """The REST rate-limit groups; every path belongs to one, sharing its capacity."""

    CONTRACT = "contract"
    SPOT_ORDER = "spotorder"
    OTHERS = "others"

    @property
    def header_suffix(self) -> str:
        """Return the suffix of this group's ``x-ratelimit-*`` headers (empty for others)."""
        return "" if self is RateGroup.OTHERS else f"-{self.value}"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A group's capacity: ``capacity`` request weight per ``period_s`` seconds."""

    capacity: int
    period_s: float = 60.0


RATE_LIMITS: Final[Mapping[RateGroup, RateLimit]] = {
    RateGroup.CONTRACT: RateLimit(500),
    RateGroup.SPOT_ORDER: RateLimit(500),
    RateGroup.OTHERS: RateLimit(100),
}
"""Per-minute capacities of each group, per user, as Phemex documents them."""


@dataclass(frozen=True, slots=True)
class Route:
    """One REST endpoint: method, path, rate-limit group and weight."""

    method: str
    path: str
    group: RateGroup
    weight: int = 1


_ROUTES: Final[Mapping[tuple[str, str], Route]] = {
    (r.method, r.path): r
    for r in (
        Route("POST", CONTRACT_ORDERS_PATH, RateGroup.CONTRACT),
        Route("PUT", CONTRACT_AMEND_PATH, RateGroup.CONTRACT),
        Route("DELETE", CONTRACT_CANCEL_PATH, RateGroup.CONTRACT),
        Route("GET", CONTRACT_OPEN_ORDERS_PATH, RateGroup.CONTRACT),
        Route("GET", ACCOUNT_POSITIONS_PATH, RateGroup.CONTRACT),
        Route("POST", SPOT_ORDERS_PATH, RateGroup.SPOT_ORDER),
        Route("PUT", SPOT_ORDERS_PATH, RateGroup.SPOT_ORDER),
        Route("DELETE", SPOT_ORDERS_PATH, RateGroup.SPOT_ORDER, 2),
        Route("GET", SPOT_ORDERS_PATH, RateGroup.SPOT_ORDER),
        Route("GET", SPOT_OPEN_ORDER_PATH, RateGroup.SPOT_ORDER),
    )
}


def route(method: str, path: str) -> Route:
    """Return the route of ``method path``; paths Phemex lists in no group are ``Others``, 1."""
    method = method.upper()
    return _ROUTES.get((method, path)) or Route(method, path, RateGroup.OTHERS)

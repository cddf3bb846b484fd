"""Where Binance spot lives: REST, market-stream and WebSocket API URLs per environment.

Binance serves spot REST at ``api.binance.com`` (testnet ``testnet.binance.vision``), market
streams at ``stream.binance.com:9443`` and the WebSocket API, which carries the user data
stream since the ``listenKey`` streams were retired, at ``ws-api.binance.com/ws-api/v3``
(testnet ``ws-api.testnet.binance.vision/ws-api/v3``). A URL given without a path (a test
server's base URL) gets the path of what it is used for, so one loopback server can play
every part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from serenity.errors import ConfigError
from serenity.exchange.endpoints import Endpoints, Environment

__all__ = [
    "ACCOUNT_PATH",
    "AMEND_PATH",
    "CANCEL_REPLACE_PATH",
    "DEPTH_PATH",
    "HISTORICAL_TRADES_LIMIT",
    "HISTORICAL_TRADES_PATH",
    "ENDPOINTS",
    "EXCHANGE_INFO_PATH",
    "MY_TRADES_PATH",
    "NAME",
    "OPEN_ORDERS_PATH",
    "ORDER_PATH",
    "PROD",
    "STREAM_PATH",
    "TESTNET",
    "TIME_PATH",
    "VENUE",
    "WS_API",
    "WS_API_PATH",
    "rest_url_for",
    "stream_url",
    "ws_api_url",
]

VENUE: Final = "binance"
NAME: Final = "Binance"
PROD: Final = Endpoints(rest="https://api.binance.com", ws="wss://stream.binance.com:9443")
TESTNET: Final = Endpoints(
    rest="https://testnet.binance.vision", ws="wss://stream.testnet.binance.vision"
)
ENDPOINTS: Final[Mapping[Environment, Endpoints]] = {
    Environment.PROD: PROD,
    Environment.TESTNET: TESTNET,
}
EXCHANGE_INFO_PATH: Final = "/api/v3/exchangeInfo"
STREAM_PATH: Final = "/stream"
"""The combined-stream path; its events arrive as ``{"stream": name, "data": payload}``."""
DEPTH_PATH: Final = "/api/v3/depth"
"""REST order-book snapshot, ``?symbol=BTCUSDT&limit=N``: ``lastUpdateId``, ``bids``, ``asks``."""
HISTORICAL_TRADES_PATH: Final = "/api/v3/historicalTrades"
"""Past trades by id ("Old trade lookup"), ``?symbol=BTCUSDT&fromId=N&limit=M`` (M at most
1000, weight 25, no API key): ``[{"id", "price", "qty", "quoteQty", "time", "isBuyerMaker",
"isBestMatch"}]`` from ``fromId`` up. ``aggTrades`` numbers aggregates, not trades: no
substitute for it."""
HISTORICAL_TRADES_LIMIT: Final = 1000
"""The most trades one ``historicalTrades`` request returns."""
TIME_PATH: Final = "/api/v3/time"
"""The server's clock: ``{"serverTime": ms}``."""
ORDER_PATH: Final = "/api/v3/order"
"""New order (POST), cancel (DELETE) and query (GET)."""
AMEND_PATH: Final = "/api/v3/order/amend/keepPriority"
"""Reduce an order's quantity in place, keeping its priority (PUT)."""
CANCEL_REPLACE_PATH: Final = "/api/v3/order/cancelReplace"
"""Cancel an order and place its replacement in one request (POST)."""
OPEN_ORDERS_PATH: Final = "/api/v3/openOrders"
MY_TRADES_PATH: Final = "/api/v3/myTrades"
ACCOUNT_PATH: Final = "/api/v3/account"
WS_API_PATH: Final = "/ws-api/v3"
"""The WebSocket API's path (requests, answers, and user data stream events)."""
WS_API: Final[Mapping[Environment, str]] = {
    Environment.PROD: "wss://ws-api.binance.com:443/ws-api/v3",
    Environment.TESTNET: "wss://ws-api.testnet.binance.vision/ws-api/v3",
}
"""The WebSocket API per environment."""

_REST_FOR_WS_HOST: Final[Mapping[str, str]] = {
    "stream.binance.com": PROD.rest,
    "data-stream.binance.vision": "https://data-api.binance.vision",
    "stream.testnet.binance.vision": TESTNET.rest,
}


def stream_url(ws_url: str) -> str:
    """Return the combined-stream URL for a websocket URL.

    A base URL without a path (``wss://stream.binance.com:9443``, as in :data:`PROD`) gets
    :data:`STREAM_PATH`; a URL with a path is returned as given.
    """
    return _with_default_path(ws_url, STREAM_PATH)


def rest_url_for(ws_url: str) -> str:
    """Return the REST base URL of the Binance deployment that serves ``ws_url``.

    Raises
    ------
    ConfigError
        When ``ws_url`` is not one of Binance's stream hosts; give the REST URL explicitly.
    """
    host = urlsplit(ws_url).hostname or ""
    try:
        return _REST_FOR_WS_HOST[host]
    except KeyError:
        raise ConfigError(
            f"{VENUE}: no known REST endpoint for websocket host {host!r}; give rest_url "
            "(order books start from GET /api/v3/depth)"
        ) from None


def ws_api_url(ws_url: str) -> str:
    """Return the WebSocket API URL for a websocket URL.

    A base URL without a path (a test server's) gets :data:`WS_API_PATH`; a URL with a
    path is returned as given.
    """
    return _with_default_path(ws_url, WS_API_PATH)


def _with_default_path(url: str, path: str) -> str:
    """Return ``url`` with ``path`` when it has none, else ``url`` as given."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=path))
    return url

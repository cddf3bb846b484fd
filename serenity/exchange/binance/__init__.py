"""Binance spot: every venue fact Serenity uses, split by concern. Opens no sockets.

* :mod:`~serenity.exchange.binance.endpoints`: REST, market-stream and WebSocket API URLs;
* :mod:`~serenity.exchange.binance.refdata`: products and filters from ``exchangeInfo``;
* :mod:`~serenity.exchange.binance.marketdata`: the market-stream parsers of the feedhandler;
* :mod:`~serenity.exchange.binance.enums`: wire spellings of sides, order types, time in
  force, statuses and execution types, both ways;
* :mod:`~serenity.exchange.binance.orders`: order-entry request parameters from an order
  and its product;
* :mod:`~serenity.exchange.binance.schemas`: typed private messages (msgspec Structs) with
  their conversions to :mod:`serenity.exchange.execution` values;
* :mod:`~serenity.exchange.binance.userstream`: the user data stream over the WebSocket API;
* :mod:`~serenity.exchange.binance.signing`: HMAC-SHA256 request signatures;
* :mod:`~serenity.exchange.binance.errors`: error codes and what each means for a request.

The names the feedhandler, the reference-data loader and the tests import are re-exported
here, so ``from serenity.exchange import binance; binance.parse_trade(...)`` keeps working.
"""

from __future__ import annotations

from serenity.exchange.binance.endpoints import (
    DEPTH_PATH,
    ENDPOINTS,
    EXCHANGE_INFO_PATH,
    HISTORICAL_TRADES_LIMIT,
    HISTORICAL_TRADES_PATH,
    NAME,
    PROD,
    STREAM_PATH,
    TESTNET,
    VENUE,
    rest_url_for,
    stream_url,
)
from serenity.exchange.binance.errors import rest_error
from serenity.exchange.binance.marketdata import (
    AGG_TRADE,
    DEPTH_LIMIT,
    DEPTH_UPDATE,
    INFORMATIONAL_EVENTS,
    MAX_STREAMS,
    NO_BOUNDS,
    SERVER_SHUTDOWN,
    TRADE,
    LevelBounds,
    Levels,
    Reply,
    aggressor_side,
    depth_stream,
    is_informational,
    keepalive_request,
    parse_agg_trade,
    parse_depth_snapshot,
    parse_depth_update,
    parse_historical_trade,
    parse_reply,
    parse_trade,
    subscribe_request,
    trade_stream,
)
from serenity.exchange.binance.refdata import parse_exchange_info

__all__ = [
    "AGG_TRADE",
    "DEPTH_LIMIT",
    "DEPTH_PATH",
    "DEPTH_UPDATE",
    "ENDPOINTS",
    "EXCHANGE_INFO_PATH",
    "HISTORICAL_TRADES_LIMIT",
    "HISTORICAL_TRADES_PATH",
    "INFORMATIONAL_EVENTS",
    "MAX_STREAMS",
    "NAME",
    "NO_BOUNDS",
    "PROD",
    "SERVER_SHUTDOWN",
    "STREAM_PATH",
    "TESTNET",
    "TRADE",
    "VENUE",
    "LevelBounds",
    "Levels",
    "Reply",
    "aggressor_side",
    "depth_stream",
    "is_informational",
    "keepalive_request",
    "parse_agg_trade",
    "parse_depth_snapshot",
    "parse_depth_update",
    "parse_historical_trade",
    "parse_exchange_info",
    "parse_reply",
    "parse_trade",
    "rest_error",
    "rest_url_for",
    "stream_url",
    "subscribe_request",
    "trade_stream",
]

"""Coinbase Exchange (formerly Coinbase Pro): every venue fact Serenity uses. No sockets.

Split by concern:

- :mod:`~serenity.exchange.coinbase.endpoints`: prod and sandbox URLs, REST paths, the
  placer instances ``prod`` and ``sandbox``;
- :mod:`~serenity.exchange.coinbase.refdata`: products and currencies, prices and sizes on
  the product's increments;
- :mod:`~serenity.exchange.coinbase.marketdata`: the public websocket feed's parsers and
  their inverse frame builders (the feedhandler, the demo and the loopback servers);
- :mod:`~serenity.exchange.coinbase.schemas`: the private REST answers and ``user`` channel
  messages as msgspec Structs;
- :mod:`~serenity.exchange.coinbase.orders`: ``POST /orders`` bodies and list queries;
- :mod:`~serenity.exchange.coinbase.enums`: wire spellings both ways;
- :mod:`~serenity.exchange.coinbase.errors`: error answers and which are retried;
- :mod:`~serenity.exchange.coinbase.signing`: ``CB-ACCESS-*`` headers and the signed
  websocket subscribe.

The names existing code imports from ``serenity.exchange.coinbase`` are re-exported here.
"""

from __future__ import annotations

from serenity.exchange.coinbase.endpoints import (
    CURRENCIES_PATH,
    ENDPOINTS,
    NAME,
    PROD,
    PRODUCTS_PATH,
    SANDBOX,
    TESTNET,
    TRADES_PAGE_LIMIT,
    VENUE,
    environment_of,
    product_trades_path,
)
from serenity.exchange.coinbase.errors import CoinbaseError, ErrorKind, parse_error_answer
from serenity.exchange.coinbase.marketdata import (
    BOOK_CHANNEL,
    HEARTBEAT_CHANNEL,
    INFORMATIONAL_TYPES,
    SUBSCRIBE_FAILED,
    TRADES_CHANNEL,
    Levels,
    format_error,
    format_heartbeat,
    format_l2update,
    format_match,
    format_snapshot,
    format_subscriptions,
    format_time,
    parse_aggressor_side,
    parse_error,
    parse_heartbeat,
    parse_l2update,
    parse_match,
    parse_product_trade,
    parse_snapshot,
    parse_subscriptions,
    parse_time,
)
from serenity.exchange.coinbase.orders import client_oid, new_order_body
from serenity.exchange.coinbase.refdata import parse_currencies, parse_products
from serenity.exchange.coinbase.schemas import decode_user_message
from serenity.exchange.coinbase.signing import CoinbaseSigner

__all__ = [
    "BOOK_CHANNEL",
    "CURRENCIES_PATH",
    "ENDPOINTS",
    "HEARTBEAT_CHANNEL",
    "INFORMATIONAL_TYPES",
    "NAME",
    "PROD",
    "PRODUCTS_PATH",
    "SANDBOX",
    "SUBSCRIBE_FAILED",
    "TESTNET",
    "TRADES_CHANNEL",
    "TRADES_PAGE_LIMIT",
    "VENUE",
    "CoinbaseError",
    "CoinbaseSigner",
    "ErrorKind",
    "Levels",
    "client_oid",
    "decode_user_message",
    "environment_of",
    "format_error",
    "format_heartbeat",
    "format_l2update",
    "format_match",
    "format_snapshot",
    "format_subscriptions",
    "format_time",
    "new_order_body",
    "parse_aggressor_side",
    "parse_currencies",
    "parse_error",
    "parse_error_answer",
    "parse_heartbeat",
    "parse_l2update",
    "parse_match",
    "parse_product_trade",
    "parse_products",
    "product_trades_path",
    "parse_snapshot",
    "parse_subscriptions",
    "parse_time",
]

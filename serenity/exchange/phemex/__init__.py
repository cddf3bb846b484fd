"""Phemex: venue facts for market data and order entry, split by concern. Opens no sockets.

* :mod:`~serenity.exchange.phemex.endpoints`: base URLs per environment, REST paths and
  their rate-limit groups, websocket limits;
* :mod:`~serenity.exchange.phemex.refdata`: products, currencies and the scales of their
  integer fields (``priceScale`` read from each product, never assumed);
* :mod:`~serenity.exchange.phemex.marketdata`: the public websocket's channels and parsers,
  used by :mod:`serenity.marketdata.fh.phemex`;
* :mod:`~serenity.exchange.phemex.schemas`: the private messages (orders, executions,
  accounts, positions, wallets) as msgspec Structs with conversions to domain values;
* :mod:`~serenity.exchange.phemex.orders`: REST requests built from orders (contracts and
  spot);
* :mod:`~serenity.exchange.phemex.private`: the private websocket's frames (``user.auth``,
  the AOP and Wallet-Order streams), read into domain values;
* :mod:`~serenity.exchange.phemex.enums`: Phemex's spellings mapped both ways to
  :mod:`serenity.model` enums;
* :mod:`~serenity.exchange.phemex.errors`: error codes and the failure policy (what is
  retried);
* :mod:`~serenity.exchange.phemex.signing`: HMAC-SHA256 request signing and ``user.auth``.

The names re-exported here are the ones the feedhandler and the reference-data loader use.
"""

from __future__ import annotations

from serenity.exchange.phemex import (
    endpoints,
    enums,
    errors,
    marketdata,
    orders,
    private,
    refdata,
    schemas,
    signing,
)
from serenity.exchange.phemex.endpoints import (
    ENDPOINTS,
    NAME,
    PROD,
    PRODUCTS_PATH,
    TESTNET,
    VENUE,
    WS_MAX_SUBSCRIPTIONS,
    WS_PING_LIMIT_S,
)
from serenity.exchange.phemex.marketdata import (
    SCALED_CHANNELS,
    SPOT_QTY_SCALE,
    UNSCALED_CHANNELS,
    PhemexBook,
    PhemexReply,
    PhemexTrades,
    WsChannels,
    WsMessageKind,
    WsScale,
    classify,
    parse_book,
    parse_reply,
    parse_trades,
    ws_scale,
)
from serenity.exchange.phemex.refdata import (
    SPOT_PRICE_SCALE,
    PhemexInstrument,
    PhemexRefdata,
    PhemexScales,
    ProductKind,
    parse_instruments,
    parse_products,
    parse_scales,
    scale,
    unscale,
)
from serenity.exchange.phemex.signing import PhemexSigner

__all__ = [
    "ENDPOINTS",
    "NAME",
    "PRODUCTS_PATH",
    "PROD",
    "SCALED_CHANNELS",
    "SPOT_PRICE_SCALE",
    "SPOT_QTY_SCALE",
    "TESTNET",
    "UNSCALED_CHANNELS",
    "VENUE",
    "WS_MAX_SUBSCRIPTIONS",
    "WS_PING_LIMIT_S",
    "PhemexBook",
    "PhemexInstrument",
    "PhemexRefdata",
    "PhemexReply",
    "PhemexScales",
    "PhemexSigner",
    "PhemexTrades",
    "ProductKind",
    "WsChannels",
    "WsMessageKind",
    "WsScale",
    "classify",
    "endpoints",
    "enums",
    "errors",
    "marketdata",
    "orders",
    "parse_book",
    "parse_instruments",
    "parse_products",
    "parse_reply",
    "parse_scales",
    "parse_trades",
    "private",
    "refdata",
    "scale",
    "schemas",
    "signing",
    "unscale",
    "ws_scale",
]

"""Venue facts, one module per venue: endpoints, product parsing, wire spellings, scaling.

Nothing here opens a socket, so every parser is tested without a network. Each venue module
(:mod:`~serenity.exchange.phemex`, :mod:`~serenity.exchange.coinbase`,
:mod:`~serenity.exchange.binance`) defines ``VENUE``, its ``PROD`` and ``TESTNET``
:class:`Endpoints`, and parsers that turn its reference-data payloads into a
:class:`ProductCatalog` of :class:`Product` values.
"""

from __future__ import annotations

from serenity.exchange.endpoints import Endpoints, Environment, resolve_endpoints
from serenity.exchange.product import Product, ProductCatalog

__all__ = ["Endpoints", "Environment", "Product", "ProductCatalog", "resolve_endpoints"]

"""Venue order connectors: live order entry on Phemex, Binance and Coinbase Exchange.

The shared framework lives here; each venue adds one thin module
(``serenity.trading.connector.<venue>``) over its facts in ``serenity.exchange.<venue>``:

* :class:`Credentials`: API keys from the environment or a file outside the repository,
  held in :class:`~serenity.Secret`;
* :class:`RestClient`: signed, rate-limited REST with an explicit failure policy
  (:class:`ErrorPolicy`, :class:`RateLimit`);
* :class:`VenueConnector`: the :class:`~serenity.trading.OrderPlacer` that validates
  orders locally, sends them as tasks on the loop, reads the private stream
  (:class:`PrivateStream`) and reports back to the order manager;
* :func:`reconcile`: the pure decisions of reconciliation, at start and after every
  reconnect (:class:`VenueSnapshot`, :class:`ReconcilePlan`, :class:`Difference`);
* :class:`ExchangePositionService`: the venue's balances and positions as tau signals.

A live run picks a connector by its placer URI (``placer: binance:testnet``) through
:mod:`serenity.algo.placers`. See ``docs/connectors.rst``.
"""

from __future__ import annotations

from serenity.trading.connector.base import VenueConnector
from serenity.trading.connector.credentials import Credentials
from serenity.trading.connector.limits import RateLimit, RateLimiter
from serenity.trading.connector.positions import ExchangePositionService
from serenity.trading.connector.reconcile import (
    Difference,
    DifferenceKind,
    ReconcilePlan,
    VenueSnapshot,
    reconcile,
)
from serenity.trading.connector.rest import (
    ErrorPolicy,
    OutcomeUnknownError,
    RateLimitedError,
    RestClient,
    RestRequest,
    RestResponse,
    Signer,
    VenueReply,
)
from serenity.trading.connector.settings import ConnectorContext, ConnectorSettings
from serenity.trading.connector.stream import (
    PrivateStream,
    StreamFailure,
    StreamItem,
    StreamReady,
    StreamRestart,
)

__all__ = [
    "ConnectorContext",
    "ConnectorSettings",
    "Credentials",
    "Difference",
    "DifferenceKind",
    "ErrorPolicy",
    "ExchangePositionService",
    "OutcomeUnknownError",
    "PrivateStream",
    "RateLimit",
    "RateLimitedError",
    "RateLimiter",
    "ReconcilePlan",
    "RestClient",
    "RestRequest",
    "RestResponse",
    "Signer",
    "StreamFailure",
    "StreamItem",
    "StreamReady",
    "StreamRestart",
    "VenueConnector",
    "VenueReply",
    "VenueSnapshot",
    "reconcile",
]

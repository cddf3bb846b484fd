"""The sans-I/O side of the Coinbase Exchange connector's private stream: the ``user``
channel (internal; :class:`CoinbaseStream` is exported by
:mod:`serenity.trading.connector.coinbase`).

The ``subscribe`` is signed when sent; the channel's messages are read by the connector's
:class:`~serenity.exchange.coinbase.user_channel.UserChannel`. A refusal naming a stale
timestamp makes the connector read Coinbase's clock again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import orjson

from serenity.exchange.coinbase import endpoints as cb
from serenity.exchange.coinbase.errors import ErrorKind, classify
from serenity.exchange.coinbase.schemas import (
    Heartbeat,
    Subscriptions,
    UnknownMessage,
    WsError,
    decode_user_message,
)
from serenity.exchange.coinbase.signing import timestamp_text, user_subscribe_message
from serenity.trading.connector.stream import StreamFailure, StreamItem, StreamReady

if TYPE_CHECKING:
    from serenity.trading.connector.coinbase import CoinbaseConnector

__all__ = ["CoinbaseStream"]

log = logging.getLogger(__name__)

VENUE: Final = cb.VENUE


class CoinbaseStream:
    """The ``user`` channel of one connector, free of I/O (a
    :class:`~serenity.trading.connector.PrivateStream`)."""

    def __init__(self, connector: CoinbaseConnector) -> None:
        self.connector = connector

    def subscriptions(self) -> list[str]:
        """Return the signed ``subscribe`` for the traded products' ``user`` channel."""
        connector = self.connector
        ids = sorted(i.symbol for i in connector.products if i.venue == VENUE)
        message = user_subscribe_message(
            connector.signer, ids, timestamp_text(connector.rest.now_ms())
        )
        return [orjson.dumps(message).decode()]

    def ping_frame(self) -> str | None:
        """Return None: the ``heartbeat`` channel speaks every second."""
        return None

    def parse(self, data: str | bytes) -> list[StreamItem]:
        """Return the entries of one frame.

        Raises
        ------
        DataError
            When the frame is not a readable message.
        """
        message = decode_user_message(data)
        if isinstance(message, Heartbeat):
            return []
        if isinstance(message, Subscriptions):
            names = {c.get("name") if isinstance(c, dict) else c for c in message.channels}
            return [StreamReady()] if "user" in names else []
        if isinstance(message, WsError):
            return [self._failure(message)]
        if isinstance(message, UnknownMessage):
            log.debug("connector.stream_unknown", extra={"venue": VENUE, "type": message.type})
            return []
        return list(self.connector.channel.read(message))

    def _failure(self, message: WsError) -> StreamFailure:
        text = f"{message.message}: {message.reason}" if message.reason else message.message
        kind = classify(400, f"{message.message} {message.reason}")
        if kind is ErrorKind.CLOCK:
            self.connector.resync_clock()
            return StreamFailure(text)
        is_auth = kind is ErrorKind.AUTH or "authentication" in message.message.lower()
        return StreamFailure(text, is_auth=is_auth)

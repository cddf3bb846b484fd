"""The Binance user data stream, over the WebSocket API (sans-I/O).

Binance retired the ``listenKey`` user data streams of the REST API: a client opens the
WebSocket API (:data:`~serenity.exchange.binance.endpoints.WS_API`) and sends
``userDataStream.subscribe.signature`` with its ``apiKey``, a ``timestamp`` and the
signature of those parameters (sorted by name). The answer ``{"id": .., "status": 200,
"result": {"subscriptionId": 0}}`` starts the subscription; from then on every account
event arrives as ``{"subscriptionId": 0, "event": {"e": "executionReport", ...}}``. A
``ping`` request is answered at once, which keeps a quiet connection visibly alive.

:func:`read_frame` turns a frame into venue-neutral values: order updates and balances for
events, an :class:`Answer` for each answer to our requests, a :class:`Notice` when the
subscription ended or the server is shutting down. Events of no interest
(``balanceUpdate``: a deposit's delta, followed by the full ``outboundAccountPosition``;
``listStatus``; ``externalLockUpdate``) give nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from serenity.exchange.binance.schemas import (
    AccountPositionEvent,
    ExecutionReportEvent,
    UserEvent,
    WsResponse,
    decode,
)
from serenity.exchange.binance.signing import RECV_WINDOW_MS, sign_ws_params
from serenity.exchange.execution import OrderUpdate, VenueBalance

__all__ = [
    "PING",
    "SUBSCRIBE",
    "Answer",
    "Notice",
    "ping_request",
    "read_frame",
    "subscribe_request",
]

SUBSCRIBE: Final = "userDataStream.subscribe.signature"
PING: Final = "ping"
_TERMINATED: Final = "eventStreamTerminated"
_SHUTDOWN: Final = "serverShutdown"


@dataclass(frozen=True, slots=True)
class Answer:
    """The WebSocket API's answer to our request ``request_id``.

    ``code`` and ``msg`` are Binance's error (``code`` None on success, ``status`` 200).
    """

    request_id: str | int | None
    status: int
    code: int | str | None = None
    msg: str = ""
    result: Any = None

    @property
    def is_error(self) -> bool:
        """Return True when the request was refused."""
        return self.status != 200 or self.code is not None


@dataclass(frozen=True, slots=True)
class Notice:
    """The subscription ended (``eventStreamTerminated``) or the server is about to close
    the connection (``serverShutdown``): reconnect."""

    kind: str
    ts: int


def subscribe_request(
    api_key: str,
    secret: str,
    *,
    timestamp_ms: int,
    request_id: str,
    recv_window_ms: int = RECV_WINDOW_MS,
) -> str:
    """Return the signed ``userDataStream.subscribe.signature`` request as JSON text."""
    params: dict[str, Any] = {
        "apiKey": api_key,
        "recvWindow": recv_window_ms,
        "timestamp": timestamp_ms,
    }
    params["signature"] = sign_ws_params(secret, params)
    return orjson.dumps({"id": request_id, "method": SUBSCRIBE, "params": params}).decode()


def ping_request(request_id: str) -> str:
    """Return a ``ping`` request as JSON text."""
    return orjson.dumps({"id": request_id, "method": PING}).decode()


def read_frame(data: str | bytes) -> list[OrderUpdate | VenueBalance | Answer | Notice]:
    """Return what one frame of the WebSocket API says.

    Raises
    ------
    DataError
        When the frame is not JSON, or an event or answer is malformed (naming the field).
    """
    raw = data.encode() if isinstance(data, str) else data
    if b'"event"' in raw:
        envelope = decode(raw, UserEvent, "user data stream frame")
        kind = envelope.event_type()
        if kind == "executionReport":
            event = decode(envelope.event, ExecutionReportEvent, "executionReport")
            return [event.to_order_update()]
        if kind == "outboundAccountPosition":
            position = decode(envelope.event, AccountPositionEvent, "outboundAccountPosition")
            return list(position.to_balances())
        if kind in (_TERMINATED, _SHUTDOWN):
            when = orjson.loads(bytes(envelope.event)).get("E", 0)
            return [Notice(kind, int(when) * 1_000_000 if isinstance(when, int) else 0)]
        return []
    answer = decode(raw, WsResponse, "WebSocket API answer")
    error = answer.error
    return [
        Answer(
            request_id=answer.id,
            status=answer.status,
            code=None if error is None else error.code,
            msg="" if error is None else error.msg,
            result=answer.result,
        )
    ]

"""Binance request signatures (HMAC-SHA256 keys).

REST (``SIGNED`` endpoints): the payload is the query string (percent-encoded, parameters
in the order sent, ``timestamp`` and ``recvWindow`` included) followed by the request body;
the signature is its HMAC-SHA256 under the secret key, in hex, sent as the last parameter
``signature``, with the key in the ``X-MBX-APIKEY`` header. Binance's worked example: the
secret ``NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j`` over
``symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559``
gives ``c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71``.

WebSocket API: the payload is every parameter but ``signature`` (``apiKey`` included),
sorted by name, as ``name=value`` pairs joined by ``&`` (UTF-8, not percent-encoded).

Timing: Binance accepts a request when ``timestamp < server time + 1000`` and
``server time - timestamp <= recvWindow`` (default 5000 ms, at most 60000).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlencode

from serenity.errors import ConfigError

__all__ = [
    "API_KEY_HEADER",
    "MAX_RECV_WINDOW_MS",
    "RECV_WINDOW_MS",
    "is_fresh",
    "sign",
    "sign_query",
    "sign_ws_params",
    "signed_query",
    "ws_payload",
]

API_KEY_HEADER: Final = "X-MBX-APIKEY"
RECV_WINDOW_MS: Final = 5000
"""The ``recvWindow`` Serenity sends (Binance's default and recommendation)."""
MAX_RECV_WINDOW_MS: Final = 60_000
_AHEAD_MS: Final = 1000


def sign(secret: str, payload: str) -> str:
    """Return the hex HMAC-SHA256 of ``payload`` (UTF-8) under ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_query(secret: str, query: str, body: str = "") -> str:
    """Return the signature of a REST request: of its query string followed by its body."""
    return sign(secret, query + body)


def signed_query(
    secret: str,
    params: Sequence[tuple[str, str]],
    *,
    timestamp_ms: int,
    recv_window_ms: int = RECV_WINDOW_MS,
) -> list[tuple[str, str]]:
    """Return ``params`` with ``recvWindow``, ``timestamp`` and ``signature`` appended.

    Raises
    ------
    ConfigError
        For a ``recv_window_ms`` outside ``(0, 60000]``.
    """
    if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
        raise ConfigError(
            f"binance: recvWindow must be in (0, {MAX_RECV_WINDOW_MS}] ms, was {recv_window_ms!r}"
        )
    out = [*params, ("recvWindow", str(recv_window_ms)), ("timestamp", str(timestamp_ms))]
    out.append(("signature", sign_query(secret, urlencode(out))))
    return out


def ws_payload(params: Mapping[str, Any]) -> str:
    """Return the WebSocket API signature payload of ``params`` (``signature`` left out)."""
    return "&".join(
        f"{name}={_text(value)}" for name, value in sorted(params.items()) if name != "signature"
    )


def sign_ws_params(secret: str, params: Mapping[str, Any]) -> str:
    """Return the signature of a WebSocket API request's ``params``."""
    return sign(secret, ws_payload(params))


def is_fresh(timestamp_ms: int, server_ms: int, recv_window_ms: float = RECV_WINDOW_MS) -> bool:
    """Return True when Binance would accept a request stamped ``timestamp_ms`` at
    ``server_ms`` (its timing rule; what a venue checks)."""
    return timestamp_ms < server_ms + _AHEAD_MS and server_ms - timestamp_ms <= recv_window_ms


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

"""Coinbase Exchange request signing: base64 HMAC-SHA256 with the base64-decoded secret.

From Coinbase's "Exchange REST API Authentication" page: every private request carries

- ``CB-ACCESS-KEY``: the API key;
- ``CB-ACCESS-TIMESTAMP``: seconds since the Unix epoch (UTC), within 30 seconds of the
  API's clock or the request is refused as expired;
- ``CB-ACCESS-PASSPHRASE``: the passphrase chosen when the key was made;
- ``CB-ACCESS-SIGN``: the base64 of the HMAC-SHA256, keyed with the **base64-decoded**
  secret, of the prehash string ``timestamp + method + requestPath + body``: the same
  timestamp as the header, the method in upper case, the path with its query string
  (``/orders?status=open``), and the body exactly as sent (empty for a ``GET``).

The private websocket channels (``user``, ``full`` with our orders) authenticate the
``subscribe`` message with the same signature over ``GET /users/self/verify`` and no body,
sent as its ``key``, ``passphrase``, ``timestamp`` and ``signature`` fields
(:func:`user_subscribe_message`).

Coinbase does not publish a worked example with a known secret and its signature; the tests
check :func:`sign` against a vector computed independently with ``openssl dgst -sha256
-hmac`` (see ``tests/exchange/coinbase/test_signing.py``).

Credentials are :class:`~serenity.Secret` values; nothing here logs or formats them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from serenity.errors import ConfigError
from serenity.exchange.coinbase.endpoints import VENUE, VERIFY_PATH
from serenity.secret import Secret

__all__ = [
    "KEY_HEADER",
    "PASSPHRASE_HEADER",
    "SIGN_HEADER",
    "TIMESTAMP_HEADER",
    "TIMESTAMP_WINDOW_S",
    "CoinbaseSigner",
    "prehash",
    "sign",
    "timestamp_text",
    "user_subscribe_message",
]

KEY_HEADER: Final = "CB-ACCESS-KEY"
SIGN_HEADER: Final = "CB-ACCESS-SIGN"
TIMESTAMP_HEADER: Final = "CB-ACCESS-TIMESTAMP"
PASSPHRASE_HEADER: Final = "CB-ACCESS-PASSPHRASE"
TIMESTAMP_WINDOW_S: Final = 30.0
"""How far a request's timestamp may be from the API's clock before it is refused."""


def prehash(timestamp: str, method: str, request_path: str, body: bytes | str = b"") -> bytes:
    """Return the bytes Coinbase signs: ``timestamp + METHOD + requestPath + body``."""
    raw = body.encode() if isinstance(body, str) else body
    return f"{timestamp}{method.upper()}{request_path}".encode() + raw


def sign(
    secret_b64: str, timestamp: str, method: str, request_path: str, body: bytes | str = b""
) -> str:
    """Return the ``CB-ACCESS-SIGN`` of one request.

    Parameters
    ----------
    secret_b64
        The API secret as Coinbase gives it (base64).
    timestamp
        The ``CB-ACCESS-TIMESTAMP`` value, exactly as sent.
    method
        ``GET``, ``POST`` or ``DELETE`` (any case).
    request_path
        The path and query string, e.g. ``/orders?status=open``; no scheme or host.
    body
        The request body exactly as sent; empty for none.

    Raises
    ------
    ConfigError
        When the secret is not base64 (the message does not show it).
    """
    digest = hmac.new(
        _decode_secret(secret_b64), prehash(timestamp, method, request_path, body), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def _decode_secret(secret_b64: str) -> bytes:
    try:
        key = base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{VENUE}: the API secret is not base64; paste it exactly as Coinbase showed it"
        ) from None
    if not key:
        raise ConfigError(f"{VENUE}: the API secret is empty")
    return key


def timestamp_text(now_ms: int) -> str:
    """Return ``CB-ACCESS-TIMESTAMP`` for ``now_ms`` (ms since the epoch): whole seconds."""
    return str(now_ms // 1000)


@dataclass(frozen=True, slots=True)
class CoinbaseSigner:
    """Sign Coinbase Exchange requests with one API key, secret and passphrase.

    The secret is checked to be base64 when the signer is made, so a mistyped secret is one
    clear error at start rather than a refused signature at the first order.

    Raises
    ------
    ConfigError
        When the key, secret or passphrase is empty or the secret is not base64.
    """

    api_key: Secret
    secret: Secret
    passphrase: Secret

    def __post_init__(self) -> None:
        for name in ("api_key", "secret", "passphrase"):
            if not getattr(self, name).value:
                raise ConfigError(f"{VENUE}: the API {name.replace('api_', '')} is empty")
        _decode_secret(self.secret.value)

    def __repr__(self) -> str:
        return "CoinbaseSigner(***)"

    def headers(
        self, timestamp: str, method: str, request_path: str, body: bytes | str = b""
    ) -> dict[str, str]:
        """Return the four ``CB-ACCESS-*`` headers of one request."""
        return {
            KEY_HEADER: self.api_key.value,
            SIGN_HEADER: sign(self.secret.value, timestamp, method, request_path, body),
            TIMESTAMP_HEADER: timestamp,
            PASSPHRASE_HEADER: self.passphrase.value,
        }

    def auth_fields(self, timestamp: str) -> dict[str, str]:
        """Return the fields that authenticate a websocket ``subscribe`` at ``timestamp``."""
        return {
            "key": self.api_key.value,
            "passphrase": self.passphrase.value,
            "timestamp": timestamp,
            "signature": sign(self.secret.value, timestamp, "GET", VERIFY_PATH),
        }


def user_subscribe_message(
    signer: CoinbaseSigner,
    product_ids: Iterable[str],
    timestamp: str,
    *,
    channels: Iterable[str] = ("user", "heartbeat"),
) -> dict[str, Any]:
    """Return the signed ``subscribe`` for the private ``user`` channel (and ``heartbeat``).

    The ``user`` channel is the ``full`` channel's messages (``received``, ``open``,
    ``match``, ``change``, ``activate``, ``done``) about our own orders only. ``heartbeat``
    makes a quiet connection speak once a second per product.
    """
    ids = list(product_ids)
    message: dict[str, Any] = {
        "type": "subscribe",
        "product_ids": ids,
        "channels": [{"name": name, "product_ids": ids} for name in channels],
    }
    message.update(signer.auth_fields(timestamp))
    return message

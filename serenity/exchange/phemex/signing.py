"""Phemex request signing: HMAC-SHA256 over path + query + expiry + body, and ``user.auth``.

Every private REST request carries three headers: ``x-phemex-access-token`` (the API key),
``x-phemex-request-expiry`` (Unix seconds after which Phemex refuses the request, normally
now + 60 s) and ``x-phemex-request-signature``: the lower-case hex HMAC-SHA256, keyed with
the API secret, of the request path, the query string as sent (without ``?``), the expiry
and the body as sent, concatenated with nothing between them. The private websocket
authenticates with ``user.auth``, whose signature is the HMAC-SHA256 of the API key
followed by the expiry (at most two minutes ahead).

Nothing here logs: a signature, a signed request and the secret never reach a log record.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import orjson

from serenity.errors import ConfigError
from serenity.exchange.phemex.endpoints import REQUEST_EXPIRY_MAX_S, REQUEST_EXPIRY_S, VENUE
from serenity.secret import Secret

__all__ = [
    "ACCESS_TOKEN_HEADER",
    "EXPIRY_HEADER",
    "SIGNATURE_HEADER",
    "PhemexSigner",
    "encode_body",
    "encode_query",
    "hmac_sha256_hex",
    "signature_payload",
]

ACCESS_TOKEN_HEADER: Final = "x-phemex-access-token"
EXPIRY_HEADER: Final = "x-phemex-request-expiry"
SIGNATURE_HEADER: Final = "x-phemex-request-signature"


def signature_payload(path: str, query: str, expiry: int, body: str) -> str:
    """Return the text a REST request's signature covers: path, query, expiry and body.

    ``query`` is the query string exactly as sent, without the ``?`` (empty for none);
    ``body`` the body exactly as sent (empty for none).
    """
    return f"{path}{query}{expiry}{body}"


def hmac_sha256_hex(secret: Secret, text: str) -> str:
    """Return the lower-case hex HMAC-SHA256 of ``text`` keyed with the secret's UTF-8 bytes."""
    return hmac.new(secret.value.encode(), text.encode(), hashlib.sha256).hexdigest()


def encode_query(params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """Return a query string in the order given, booleans as ``true``/``false``.

    Values are form-encoded (``urllib.parse.urlencode``, as the REST client sends them), so
    the text signed is the text sent.
    """
    items = params.items() if isinstance(params, Mapping) else params
    pairs = [
        (str(key), ("true" if value else "false") if isinstance(value, bool) else str(value))
        for key, value in items
        if value is not None
    ]
    return urlencode(pairs)


def encode_body(body: Mapping[str, Any]) -> str:
    """Return a JSON body as sent and signed: compact, keys in the order given."""
    return orjson.dumps(body).decode()


@dataclass(frozen=True, slots=True)
class PhemexSigner:
    """Signs Phemex requests with one API key and secret; shows neither.

    Parameters
    ----------
    api_key
        The key's id, sent as ``x-phemex-access-token``.
    secret
        The API secret: the HMAC key, as the text Phemex shows (used as its UTF-8 bytes).
    expiry_s
        How far ahead of now each request expires (Phemex: normally 60 s).

    Raises
    ------
    ConfigError
        For an empty key or secret, or an expiry outside (0, 120] s.
    """

    api_key: Secret
    secret: Secret
    expiry_s: int = REQUEST_EXPIRY_S

    def __post_init__(self) -> None:
        if not self.api_key.value.strip() or not self.secret.value.strip():
            raise ConfigError(f"{VENUE}: the API key and secret must not be empty")
        if not 0 < self.expiry_s <= REQUEST_EXPIRY_MAX_S:
            raise ConfigError(
                f"{VENUE}: expiry_s must be in (0, {REQUEST_EXPIRY_MAX_S}] s, was {self.expiry_s!r}"
            )

    def expiry(self, now_s: float) -> int:
        """Return the expiry of a request made at ``now_s`` (Unix seconds)."""
        return int(now_s) + self.expiry_s

    def signature(self, path: str, query: str, expiry: int, body: str) -> str:
        """Return the ``x-phemex-request-signature`` of a request."""
        return hmac_sha256_hex(self.secret, signature_payload(path, query, expiry, body))

    def headers(self, path: str, query: str, body: str, *, now_s: float) -> dict[str, str]:
        """Return the headers that authenticate a REST request made at ``now_s``.

        ``query`` and ``body`` must be exactly what is sent (see :func:`encode_query` and
        :func:`encode_body`). The result holds the API key and a signature: never log it.
        """
        expiry = self.expiry(now_s)
        headers = {
            ACCESS_TOKEN_HEADER: self.api_key.value,
            EXPIRY_HEADER: str(expiry),
            SIGNATURE_HEADER: self.signature(path, query, expiry, body),
        }
        if body:
            headers["Content-Type"] = "application/json"
        return headers

    def auth_frame(self, request_id: int, *, now_s: float) -> str:
        """Return the ``user.auth`` websocket request authenticating this key at ``now_s``.

        The frame holds the API key and a signature: never log it.
        """
        expiry = self.expiry(now_s)
        signature = hmac_sha256_hex(self.secret, f"{self.api_key.value}{expiry}")
        return orjson.dumps(
            {
                "method": "user.auth",
                "params": ["API", self.api_key.value, signature, expiry],
                "id": request_id,
            }
        ).decode()

    def __repr__(self) -> str:
        return f"PhemexSigner(api_key=***, secret=***, expiry_s={self.expiry_s})"

"""Binance's error answers: the codes, what each means for a request, and their reading.

Binance answers a refused request with an HTTP status (4XX ours, 5XX its own) and a body
``{"code": -1121, "msg": "Invalid symbol."}``. What a connector does about each code is
declared here as data (see :mod:`serenity.trading.connector.rest`): a request refused for a
rate limit or a busy server was not executed and may be sent again unchanged (it carries
our client order id); ``-1021`` means our timestamp was outside ``recvWindow`` (re-read
the venue's clock, re-sign); ``-1006``/``-1007`` and HTTP 5XX mean the outcome is unknown
(query the order); ``-1022``, ``-2014`` and ``-2015`` refuse the key.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from serenity.errors import VenueError
from serenity.exchange.binance.endpoints import VENUE

__all__ = [
    "AUTH_CODES",
    "CLOCK_CODES",
    "DISCONNECTED",
    "INSUFFICIENT_BALANCE",
    "INVALID_SIGNATURE",
    "INVALID_TIMESTAMP",
    "NEW_ORDER_REJECTED",
    "CANCEL_REJECTED",
    "NO_SUCH_ORDER",
    "REJECTED_MBX_KEY",
    "RETRY_CODES",
    "SERVER_BUSY",
    "TIMEOUT",
    "TOO_MANY_ORDERS",
    "TOO_MANY_REQUESTS",
    "UNEXPECTED_RESP",
    "UNKNOWN_CODES",
    "UNKNOWN_ORDER",
    "error_of",
    "rest_error",
]

DISCONNECTED: Final = -1001
TOO_MANY_REQUESTS: Final = -1003
UNEXPECTED_RESP: Final = -1006
TIMEOUT: Final = -1007
SERVER_BUSY: Final = -1008
TOO_MANY_ORDERS: Final = -1015
INVALID_TIMESTAMP: Final = -1021
INVALID_SIGNATURE: Final = -1022
NEW_ORDER_REJECTED: Final = -2010
CANCEL_REJECTED: Final = -2011
NO_SUCH_ORDER: Final = -2013
BAD_API_KEY_FMT: Final = -2014
REJECTED_MBX_KEY: Final = -2015

INSUFFICIENT_BALANCE: Final = "Account has insufficient balance for requested action."
"""The text of ``-2010`` when the account cannot pay for the order."""
UNKNOWN_ORDER: Final = "Unknown order sent."
"""The text of ``-2011`` (and others) when the order is not open (filled, canceled, unknown)."""

AUTH_CODES: Final[frozenset[int | str]] = frozenset(
    {INVALID_SIGNATURE, BAD_API_KEY_FMT, REJECTED_MBX_KEY, -1002}
)
"""Codes refusing our key, signature or permissions."""
RETRY_CODES: Final[frozenset[int | str]] = frozenset(
    {DISCONNECTED, TOO_MANY_REQUESTS, SERVER_BUSY, TOO_MANY_ORDERS}
)
"""Codes of requests not executed that may be sent again unchanged."""
CLOCK_CODES: Final[frozenset[int | str]] = frozenset({INVALID_TIMESTAMP})
"""Codes meaning our timestamp was outside the venue's window."""
UNKNOWN_CODES: Final[frozenset[int | str]] = frozenset({UNEXPECTED_RESP, TIMEOUT})
"""Codes meaning Binance does not know whether it executed the request."""


def error_of(status: int, body: bytes) -> tuple[int | str | None, str] | None:
    """Return ``(code, text)`` of an error answer, or None for a success (HTTP 2XX).

    The code is Binance's (None when the body has none: the HTTP status tells then).
    """
    if status < 400:
        return None
    return _code_and_text(body)


def rest_error(status: int, body: bytes | str) -> VenueError:
    """Return the error for a REST answer with HTTP ``status`` other than 200.

    Binance's error bodies read ``{"code": -1121, "msg": "Invalid symbol."}``; the error keeps
    that code, or the HTTP status when the body has none (429 and 418 mean rate-limited).
    """
    code, text = _code_and_text(body)
    detail = f", code {code}: {text}" if code is not None else (f": {text}" if text else "")
    return VenueError(
        f"{VENUE}: REST answered HTTP {status}{detail}", code=code if code is not None else status
    )


def code_of(raw: Any) -> int | str:
    """Return a JSON error code as an int or a string (never a bool)."""
    return raw if isinstance(raw, int | str) and not isinstance(raw, bool) else str(raw)


def _code_and_text(body: bytes | str) -> tuple[int | str | None, str]:
    """Return an error body's Binance code (None when it has none) and its message, else the
    start of the body itself."""
    code: int | str | None = None
    text = ""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and "code" in doc:
        code, text = code_of(doc["code"]), str(doc.get("msg", ""))
    if not text:
        raw = body.decode(errors="replace") if isinstance(body, bytes) else body
        text = raw.strip()[:200]
    return code, text

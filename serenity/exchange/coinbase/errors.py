"""How Coinbase Exchange says no, and Serenity's failure policy for each answer.

Coinbase answers an error with an HTTP status and a JSON body ``{"message": "..."}``; it has
no numeric error codes. :func:`parse_error_answer` reads the answer into a :class:`CoinbaseError`
whose :class:`ErrorKind` is decided from the status and the documented message texts, and
the kind decides what happens:

==========================  ============================================  ==================
kind                        answers                                       policy
==========================  ============================================  ==================
``auth``                    401, 403; ``invalid signature``, ``Invalid     fail at once
                            API Key``, ``invalid passphrase``
``clock``                   ``request timestamp expired`` (the timestamp   read ``GET /time``,
                            was more than 30 s from the API's clock)       re-sign, resend
``rate_limit``              429 (``Private rate limit exceeded``)         back off, resend
``outcome_unknown``         500, 502, 503, 504                            query the order by
                                                                          ``client_oid``
``not_found``               404 (``NotFound``, ``order not found``)       the order is gone
``already_done``            400 ``Order already done`` (a cancel of a      a cancel reject
                            filled or canceled order)
``insufficient_funds``      400 ``Insufficient funds``                    a venue reject
``invalid``                 any other 4xx (``size is too small``, ...)    a venue reject
==========================  ============================================  ==================

Only ``clock`` and ``rate_limit`` answers are sent again as they are: Coinbase did not
execute them. An order whose answer was ``outcome_unknown`` or a timeout may exist; it is
looked up by its ``client_oid`` (``GET /orders/client:<client_oid>``) before anything else,
so a retry never places an order twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique
from typing import Final

import msgspec

__all__ = [
    "OUTCOME_UNKNOWN_KINDS",
    "RESEND_KINDS",
    "CoinbaseError",
    "ErrorKind",
    "classify",
    "parse_error_answer",
]


@unique
class ErrorKind(StrEnum):
    """What a Coinbase error answer means for the request (see the module's table)."""

    AUTH = "auth"
    CLOCK = "clock"
    RATE_LIMIT = "rate_limit"
    OUTCOME_UNKNOWN = "outcome_unknown"
    NOT_FOUND = "not_found"
    ALREADY_DONE = "already_done"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID = "invalid"


RESEND_KINDS: Final = frozenset({ErrorKind.CLOCK, ErrorKind.RATE_LIMIT})
"""Answers to requests Coinbase did not execute: sending them again is safe."""
OUTCOME_UNKNOWN_KINDS: Final = frozenset({ErrorKind.OUTCOME_UNKNOWN})
"""Answers after which the request may have been executed: query before anything else."""

_AUTH_TEXTS: Final = ("signature", "api key", "passphrase", "forbidden", "unauthorized")


@dataclass(frozen=True, slots=True)
class CoinbaseError:
    """One error answer: HTTP status, Coinbase's ``message`` and what it means."""

    status: int
    message: str
    kind: ErrorKind

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.message!r} ({self.kind})"


class _Body(msgspec.Struct):
    message: str = ""


_BODY: Final = msgspec.json.Decoder(_Body)


def classify(status: int, message: str) -> ErrorKind:
    """Return the :class:`ErrorKind` of an answer with HTTP ``status`` and ``message``."""
    text = message.lower()
    if "timestamp" in text and ("expired" in text or "invalid" in text):
        return ErrorKind.CLOCK
    if status == 429 or "rate limit" in text:
        return ErrorKind.RATE_LIMIT
    if status in (401, 403) or any(word in text for word in _AUTH_TEXTS):
        return ErrorKind.AUTH
    if status >= 500:
        return ErrorKind.OUTCOME_UNKNOWN
    if status == 404 or "not found" in text:
        return ErrorKind.NOT_FOUND
    if "already done" in text:
        return ErrorKind.ALREADY_DONE
    if "insufficient funds" in text:
        return ErrorKind.INSUFFICIENT_FUNDS
    return ErrorKind.INVALID


def parse_error_answer(status: int, body: bytes) -> CoinbaseError | None:
    """Return the error in an answer, or None for a success (HTTP status below 400).

    A body that is not the documented ``{"message": ...}`` keeps its first 200 characters as
    the message.
    """
    if status < 400:
        return None
    try:
        message = _BODY.decode(body).message if body else ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        message = body[:200].decode(errors="replace")
    message = message or f"HTTP {status}"
    return CoinbaseError(status, message, classify(status, message))

"""Phemex's error codes and the failure policy: what a connector does with each answer.

Phemex answers ``{"code": <code>, "msg": <text>, "data": ...}``; ``code`` 0 is success and
otherwise equals the order's ``bizError``. HTTP 401 means the key, signature or expiry was
refused (``10500`` "API Signature verification failed", or "Request Expired at <expiry>"),
403 a missing permission, 429 a broken rate limit (with ``x-ratelimit-retry-after-<group>``)
and 5xx an internal error whose outcome is **unknown** ("could be succeed").

:func:`classify_error` turns an answer into an :class:`ErrorKind`; the connector then:

* ``RETRY`` (a transient engine error): sends the same request again, idempotent because
  an order carries its ``clOrdID``, after a short backoff, a few times;
* ``RATE_LIMITED``: waits the announced ``retry-after`` and sends it again;
* ``EXPIRED``: re-reads the venue clock (``/public/time``), corrects its skew and signs
  the request again with a fresh expiry;
* ``UNKNOWN_STATE`` (5xx, a timeout): queries the order by ``clOrdID`` and reports what
  the venue holds, so an order is never left in an unknown state;
* ``DUPLICATE``: the ``clOrdID`` is taken, so an earlier attempt landed: query it;
* ``UNKNOWN_ORDER`` (on cancel or amend): a cancel reject, then a query of the order;
* ``REJECTED``: the venue refused the request: a reject (new order) or a cancel reject;
* ``AUTH``: the credentials were refused: one error naming the venue and the cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum, unique
from typing import Final

import orjson

from serenity.exchange.phemex.endpoints import VENUE, RateGroup

__all__ = [
    "CODES",
    "EXPIRED",
    "DUPLICATE_CODES",
    "INSUFFICIENT_BALANCE_CODES",
    "RATE_LIMIT_CODES",
    "RETRYABLE_CODES",
    "SIGNATURE_FAILED",
    "UNKNOWN_ORDER_CODES",
    "ErrorKind",
    "classify_error",
    "describe",
    "rate_usage",
    "read_answer",
    "retry_after_s",
]


@unique
class ErrorKind(StrEnum):
    """What a failed request means for the connector (see the module docstring)."""

    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    EXPIRED = "expired"
    UNKNOWN_STATE = "unknown_state"
    DUPLICATE = "duplicate"
    UNKNOWN_ORDER = "unknown_order"
    REJECTED = "rejected"
    AUTH = "auth"


SIGNATURE_FAILED: Final = 10500
"""``API Signature verification failed``."""

CODES: Final[Mapping[int, str]] = {
    6001: "invalid argument",
    10001: "OM_DUPLICATE_ORDERID: duplicated order id",
    10002: "OM_ORDER_NOT_FOUND: cannot find the order",
    10003: "OM_ORDER_PENDING_CANCEL: a cancel is already pending",
    10004: "OM_ORDER_PENDING_REPLACE: an amend is already pending",
    10005: "OM_ORDER_PENDING: the order is pending",
    10500: "API signature verification failed",
    11001: "TE_NO_ENOUGH_AVAILABLE_BALANCE: insufficient available balance",
    11011: "TE_REDUCE_ONLY_ABORT: cannot accept a reduce-only order",
    11012: "TE_REPLACE_TO_INVALID_QTY: invalid amended quantity",
    11016: "TE_ADL_NOT_TRADING_REQUESTED_ACCOUNT: routed to the wrong trading engine",
    11025: "TE_ROUTE_ERROR: routed to the wrong trading engine",
    11027: "TE_SYMBOL_INVALID: invalid symbol",
    11033: "TE_ORDER_ID_DUPLICATE: duplicated order id",
    11034: "TE_SIDE_INVALID: invalid side",
    11035: "TE_ORD_TYPE_INVALID: invalid order type",
    11036: "TE_TIME_IN_FORCE_INVALID: invalid time in force",
    11037: "TE_EXEC_INST_INVALID: invalid execution instruction",
    11053: "TE_PRICE_TOO_LARGE: order price is too large",
    11055: "TE_PRICE_TOO_SMALL: order price is too low",
    11056: "TE_QTY_TOO_LARGE: order quantity is too large",
    11057: "TE_QTY_NOT_MATCH_REDUCE_ONLY: no position for a reduce-only order",
    11058: "TE_QTY_TOO_SMALL: order quantity is too small",
    11061: "TE_ORD_ALREADY_PENDING_CANCEL: repeated cancel request",
    11062: "TE_ORD_ALREADY_CANCELED: the order is already canceled",
    11063: "TE_ORD_STATUS_CANNOT_CANCEL: the order cannot be canceled in its status",
    11064: "TE_ORD_ALREADY_PENDING_REPLACE: an amend is already pending",
    11065: "TE_ORD_REPLACE_NOT_MODIFIED: the amend changes nothing",
    11066: "TE_ORD_STATUS_CANNOT_REPLACE: the order cannot be amended in its status",
    11082: "TE_CANNOT_COVER_ESTIMATE_ORDER_LOSS: balance cannot cover the order's loss",
    11085: "TE_CL_ORD_ID_DUPLICATE: duplicated clOrdID",
    11100: "TE_WALLET_INSUFFICIENT_BALANCE: insufficient wallet balance",
    11105: "TE_PLACE_ORDER_INSUFFICIENT_BASE_BALANCE: insufficient base balance",
    11106: "TE_PLACE_ORDER_INSUFFICIENT_QUOTE_BALANCE: insufficient quote balance",
    11107: "TE_CANNOT_CONNECT_TO_REQUEST_SEQ: trading engine not connected",
    11108: "TE_CANNOT_REPLACE_OR_CANCEL_MARKET_ORDER: a market order cannot be amended",
    11109: "TE_CANNOT_REPLACE_OR_CANCEL_IOC_ORDER: an IOC order cannot be amended",
    11110: "TE_CANNOT_REPLACE_OR_CANCEL_FOK_ORDER: a FOK order cannot be amended",
    11114: "TE_ORDER_VALUE_TOO_LARGE: order value is too large",
    11115: "TE_ORDER_VALUE_TOO_SMALL: order value is too small",
    19999: "REQUEST_IS_DUPLICATED: duplicated request id",
    39995: "too many requests",
    39996: "access denied",
}
"""Names of the codes a connector meets, for messages (Phemex's ``BizError`` table)."""

RETRYABLE_CODES: Final = frozenset({11016, 11025, 11107})
"""Engine routing and connectivity errors: the request did not reach the book; send again."""
RATE_LIMIT_CODES: Final = frozenset({39995})
DUPLICATE_CODES: Final = frozenset({10001, 11033, 11085, 19999})
"""The ``clOrdID`` (or request) was seen before: an earlier attempt landed."""
UNKNOWN_ORDER_CODES: Final = frozenset({10002})
INSUFFICIENT_BALANCE_CODES: Final = frozenset({11001, 11082, 11100, 11105, 11106})


def classify_error(http_status: int, code: int | None, msg: str = "") -> ErrorKind:
    """Return what a failed answer means: HTTP status first, then Phemex's ``code``.

    A 2xx answer with ``code`` 0 is not a failure and must not be passed here.
    """
    if http_status == 429 or code in RATE_LIMIT_CODES:
        return ErrorKind.RATE_LIMITED
    if http_status == 401 and "expired" in msg.lower():
        return ErrorKind.EXPIRED
    if http_status in (401, 403) or code in (SIGNATURE_FAILED, 39996):
        return ErrorKind.AUTH
    if http_status >= 500:
        return ErrorKind.UNKNOWN_STATE
    if code in RETRYABLE_CODES:
        return ErrorKind.RETRY
    if code in DUPLICATE_CODES:
        return ErrorKind.DUPLICATE
    if code in UNKNOWN_ORDER_CODES:
        return ErrorKind.UNKNOWN_ORDER
    return ErrorKind.REJECTED


def describe(code: int | str | None, msg: str | None = None) -> str:
    """Return one line naming the venue, the code and what it means."""
    text = CODES.get(code) if isinstance(code, int) else None
    parts = [f"{VENUE} error {code}" if code is not None else f"{VENUE} error"]
    if text:
        parts.append(text)
    if msg and (not text or msg.lower() not in text.lower()):
        parts.append(str(msg))
    return ": ".join(parts)


EXPIRED: Final = "expired"
"""The code :func:`read_answer` gives a request refused because its expiry had passed."""


def read_answer(status: int, body: bytes) -> tuple[int | str, str] | None:
    """Return ``(code, text)`` of a failed REST answer, or None for a success.

    Phemex answers ``{"code", "msg", "data"}``; an expired request (HTTP 401 ``Request
    Expired at <expiry>``) reads as code :data:`EXPIRED`, an answer that is not JSON by its
    HTTP status.
    """
    try:
        obj = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict):
        return None if status < 400 else (status, body[:200].decode(errors="replace"))
    code, msg = obj.get("code", 0), str(obj.get("msg") or "")
    if status == 401 and EXPIRED in msg.lower():
        return EXPIRED, msg
    if status < 400 and code == 0:
        return None
    return (code if code else status), describe(code or None, msg)


def retry_after_s(headers: Mapping[str, str]) -> float:
    """Return the longest ``x-ratelimit-retry-after-<group>`` of an answer, in seconds."""
    wait = 0.0
    for name, value in headers.items():
        if name.lower().startswith("x-ratelimit-retry-after"):
            try:
                wait = max(wait, float(value))
            except ValueError:
                continue
    return wait


def rate_usage(headers: Mapping[str, str]) -> dict[str, int]:
    """Return each rate-limit group's used capacity, from ``x-ratelimit-remaining-<group>``
    and ``x-ratelimit-capacity-<group>`` (no suffix for ``others``)."""
    lower = {name.lower(): value for name, value in headers.items()}
    used: dict[str, int] = {}
    for group in RateGroup:
        remaining = lower.get(f"x-ratelimit-remaining{group.header_suffix}")
        capacity = lower.get(f"x-ratelimit-capacity{group.header_suffix}")
        if remaining is not None and capacity is not None:
            try:
                used[group.value] = max(0, int(capacity) - int(remaining))
            except ValueError:
                continue
    return used

"""The Phemex failure policy: each answer's meaning for the connector."""

from __future__ import annotations

import pytest

from serenity.exchange.phemex.errors import ErrorKind, classify_error, describe


@pytest.mark.parametrize(
    ("status", "code", "msg", "kind"),
    [
        (429, None, "", ErrorKind.RATE_LIMITED),
        (200, 39995, "too many requests", ErrorKind.RATE_LIMITED),
        (401, 401, "Request Expired at 1618547919", ErrorKind.EXPIRED),
        (401, 10500, "API Signature verification failed.", ErrorKind.AUTH),
        (403, None, "", ErrorKind.AUTH),
        (200, 10500, "", ErrorKind.AUTH),
        (502, None, "", ErrorKind.UNKNOWN_STATE),
        (503, 11001, "", ErrorKind.UNKNOWN_STATE),
        (200, 11107, "", ErrorKind.RETRY),
        (200, 11085, "", ErrorKind.DUPLICATE),
        (200, 19999, "", ErrorKind.DUPLICATE),
        (200, 10002, "", ErrorKind.UNKNOWN_ORDER),
        (200, 11001, "", ErrorKind.REJECTED),
        (200, 11063, "", ErrorKind.REJECTED),
        (200, 12345, "", ErrorKind.REJECTED),
    ],
)
def test_answers_are_classified(status: int, code: int | None, msg: str, kind: ErrorKind) -> None:
    assert classify_error(status, code, msg) is kind


def test_description_names_venue_code_and_meaning() -> None:
    assert describe(11001) == (
        "phemex error 11001: TE_NO_ENOUGH_AVAILABLE_BALANCE: insufficient available balance"
    )
    assert describe(99999, "odd") == "phemex error 99999: odd"
    assert describe(None, "Request Expired at 1") == "phemex error: Request Expired at 1"

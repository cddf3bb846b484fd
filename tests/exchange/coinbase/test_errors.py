"""Coinbase error answers: what each means and which are sent again."""

from __future__ import annotations

import pytest

from serenity.exchange.coinbase.errors import (
    OUTCOME_UNKNOWN_KINDS,
    RESEND_KINDS,
    ErrorKind,
    parse_error_answer,
)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, b'{"message":"Insufficient funds"}', ErrorKind.INSUFFICIENT_FUNDS),
        (400, b'{"message":"request timestamp expired"}', ErrorKind.CLOCK),
        (401, b'{"message":"invalid signature"}', ErrorKind.AUTH),
        (401, b'{"message":"Invalid API Key"}', ErrorKind.AUTH),
        (401, b'{"message":"invalid passphrase"}', ErrorKind.AUTH),
        (403, b'{"message":"Forbidden"}', ErrorKind.AUTH),
        (404, b'{"message":"NotFound"}', ErrorKind.NOT_FOUND),
        (400, b'{"message":"Order already done"}', ErrorKind.ALREADY_DONE),
        (429, b'{"message":"Private rate limit exceeded"}', ErrorKind.RATE_LIMIT),
        (500, b'{"message":"Internal server error"}', ErrorKind.OUTCOME_UNKNOWN),
        (503, b"<html>unavailable</html>", ErrorKind.OUTCOME_UNKNOWN),
        (400, b'{"message":"size is too small. Minimum size is 0.001"}', ErrorKind.INVALID),
    ],
)
def test_answers_are_classified(status: int, body: bytes, kind: ErrorKind) -> None:
    error = parse_error_answer(status, body)

    assert error is not None and error.kind is kind and error.status == status


def test_a_success_is_no_error() -> None:
    assert parse_error_answer(200, b'{"id":"x"}') is None


def test_a_body_that_is_not_json_keeps_its_text() -> None:
    error = parse_error_answer(502, b"Bad Gateway from the proxy")

    assert error is not None and error.message == "Bad Gateway from the proxy"


def test_only_unexecuted_answers_are_resent() -> None:
    assert RESEND_KINDS == {ErrorKind.CLOCK, ErrorKind.RATE_LIMIT}
    assert OUTCOME_UNKNOWN_KINDS == {ErrorKind.OUTCOME_UNKNOWN}
    assert not RESEND_KINDS & OUTCOME_UNKNOWN_KINDS

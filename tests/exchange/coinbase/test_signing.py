"""Coinbase Exchange signing: a vector computed with openssl, headers, the websocket auth.

Coinbase publishes no worked example with a known secret and its signature, so the vectors
here were computed independently of this code with::

    printf '%s' "$PREHASH" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY_HEX -binary \
        | base64

over the documented prehash ``timestamp + METHOD + requestPath + body``, keyed with the
base64-decoded secret.
"""

from __future__ import annotations

import base64
import logging

import pytest

from serenity import Secret
from serenity.errors import ConfigError
from serenity.exchange.coinbase import signing
from serenity.exchange.coinbase.signing import CoinbaseSigner, sign, user_subscribe_message

KEY_BYTES = b"serenity-coinbase-signing-test-key-0123456789abcdef0123456789ab"
SECRET = "c2VyZW5pdHktY29pbmJhc2Utc2lnbmluZy10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFi"
BODY = (
    '{"client_oid":"199243f8-c0a1-4827-8f1d-1800ee9bbe5e","product_id":"BTC-USD",'
    '"side":"buy","type":"limit","size":"0.01000000","price":"100.00","time_in_force":"GTC"}'
)


def test_secret_is_the_base64_of_the_key_bytes() -> None:
    assert base64.b64decode(SECRET) == KEY_BYTES


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/orders", BODY, "j8DLTZ7N86EfhpKHPYbk4DoReRg6QZjiOe8b49iEuZI="),
        (
            "GET",
            "/orders?status=open&status=pending&status=active&limit=100",
            "",
            "1Rw7gmDfauWS61zmRId+YCnVz79+IVPs42C2wge59So=",
        ),
        ("GET", "/users/self/verify", "", "1/WvaOVUX3LhpU0Ird7BVo9L5U4KhkWkZXKqu41Q1Bs="),
    ],
)
def test_signature_matches_the_openssl_vector(
    method: str, path: str, body: str, expected: str
) -> None:
    assert sign(SECRET, "1700000000", method, path, body) == expected
    assert sign(SECRET, "1700000000", method.lower(), path, body.encode()) == expected


def test_signature_changes_with_every_part() -> None:
    base = sign(SECRET, "1700000000", "POST", "/orders", BODY)

    others = {
        sign(SECRET, "1700000001", "POST", "/orders", BODY),
        sign(SECRET, "1700000000", "GET", "/orders", BODY),
        sign(SECRET, "1700000000", "POST", "/orders/x", BODY),
        sign(SECRET, "1700000000", "POST", "/orders", BODY + " "),
    }

    assert base not in others and len(others) == 4


def test_signer_headers_carry_key_timestamp_passphrase_and_signature() -> None:
    signer = CoinbaseSigner(Secret("key-1"), Secret(SECRET), Secret("pass-1"))

    headers = signer.headers("1700000000", "POST", "/orders", BODY)

    assert headers == {
        "CB-ACCESS-KEY": "key-1",
        "CB-ACCESS-SIGN": "j8DLTZ7N86EfhpKHPYbk4DoReRg6QZjiOe8b49iEuZI=",
        "CB-ACCESS-TIMESTAMP": "1700000000",
        "CB-ACCESS-PASSPHRASE": "pass-1",
    }


def test_user_subscribe_is_signed_over_users_self_verify() -> None:
    signer = CoinbaseSigner(Secret("key-1"), Secret(SECRET), Secret("pass-1"))

    message = user_subscribe_message(signer, ["BTC-USD"], "1700000000")

    assert message["type"] == "subscribe"
    assert message["channels"] == [
        {"name": "user", "product_ids": ["BTC-USD"]},
        {"name": "heartbeat", "product_ids": ["BTC-USD"]},
    ]
    assert (message["key"], message["passphrase"], message["timestamp"]) == (
        "key-1",
        "pass-1",
        "1700000000",
    )
    assert message["signature"] == "1/WvaOVUX3LhpU0Ird7BVo9L5U4KhkWkZXKqu41Q1Bs="


def test_timestamp_is_whole_seconds() -> None:
    assert signing.timestamp_text(1_700_000_000_999) == "1700000000"


@pytest.mark.parametrize("bad", ["not base64 !!", "abc", ""])
def test_a_bad_secret_is_one_clear_error_that_does_not_show_it(bad: str) -> None:
    with pytest.raises(ConfigError, match="coinbase") as info:
        CoinbaseSigner(Secret("key-1"), Secret(bad), Secret("pass-1"))

    assert bad not in str(info.value) or not bad


def test_credentials_never_reach_a_repr_an_error_or_a_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    signer = CoinbaseSigner(Secret("key-visible-1"), Secret(SECRET), Secret("pass-visible-1"))
    signer.headers("1700000000", "GET", "/accounts")
    texts = [repr(signer), str(signer), *(r.getMessage() for r in caplog.records)]
    with pytest.raises(ConfigError) as info:
        CoinbaseSigner(Secret("key-visible-1"), Secret(SECRET[:-3] + "!!!"), Secret("p"))
    texts.append(str(info.value))

    for text in texts:
        for secret in ("key-visible-1", SECRET, "pass-visible-1"):
            assert secret not in text

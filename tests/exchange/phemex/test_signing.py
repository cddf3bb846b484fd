"""Phemex signing against the worked examples of Phemex's API documentation.

Phemex's "Signature example" 1-3 (Generic API info; Contract and Spot API pages) give each
request's path, query, expiry and body and the exact text signed; they publish no secret, so
the digests below were computed from those texts with an independent HMAC-SHA256
(``openssl dgst -sha256 -hmac``) and a test secret.
"""

from __future__ import annotations

import logging

import orjson
import pytest

from serenity.errors import ConfigError
from serenity.exchange.phemex import signing
from serenity.exchange.phemex.signing import PhemexSigner
from serenity.secret import Secret

SECRET = "Qx3TEWfYgH9zKpLm2VnRd7sBc5yJa0uE-testsecret_phemex"
API_KEY = "806066b0-f02b-4d3e-b444-76ec718e1023"  # the key of the documented user.auth sample

EXAMPLE_3_BODY = (
    '{"symbol":"BTCUSD","clOrdID":"uuid-1573058952273","side":"Sell","priceEp":93185000,'
    '"orderQty":7,"ordType":"Limit","reduceOnly":false,"timeInForce":"GoodTillCancel",'
    '"takeProfitEp":0,"stopLossEp":0}'
)

EXAMPLES = [
    # (path, query, expiry, body, the documented signed text, HMAC-SHA256 with SECRET)
    (
        "/accounts/accountPositions",
        "currency=BTC",
        1575735514,
        "",
        "/accounts/accountPositionscurrency=BTC1575735514",
        "6e68c813a3a2b7e71301b81a57ecbf0624fdc57a642ce6de336991ee4f71fc83",
    ),
    (
        "/orders/activeList",
        "ordStatus=New&ordStatus=PartiallyFilled&ordStatus=Untriggered&symbol=BTCUSD",
        1575735951,
        "",
        "/orders/activeListordStatus=New&ordStatus=PartiallyFilled&ordStatus=Untriggered"
        "&symbol=BTCUSD1575735951",
        "dfe8b7c93695d0a76b4f4ad73b29874702e5891a32bdfbec5926f0cce83cd31e",
    ),
    (
        "/orders",
        "",
        1575735514,
        EXAMPLE_3_BODY,
        "/orders1575735514" + EXAMPLE_3_BODY,
        "1aeca4a8220b359a381d968f83140546de7f069486bb7f26f339e3176fc475e0",
    ),
]


@pytest.fixture
def signer() -> PhemexSigner:
    return PhemexSigner(Secret(API_KEY), Secret(SECRET))


@pytest.mark.parametrize(("path", "query", "expiry", "body", "signed", "digest"), EXAMPLES)
def test_documented_examples_sign_the_documented_text(
    signer: PhemexSigner, path: str, query: str, expiry: int, body: str, signed: str, digest: str
) -> None:
    assert signing.signature_payload(path, query, expiry, body) == signed
    assert signer.signature(path, query, expiry, body) == digest


def test_headers_carry_key_expiry_and_signature(signer: PhemexSigner) -> None:
    headers = signer.headers("/accounts/accountPositions", "currency=BTC", "", now_s=1575735454.9)

    assert headers[signing.ACCESS_TOKEN_HEADER] == API_KEY
    assert headers[signing.EXPIRY_HEADER] == "1575735514"  # now + 60 s
    assert headers[signing.SIGNATURE_HEADER] == EXAMPLES[0][5]
    assert "Content-Type" not in headers  # no body


def test_documented_order_body_is_encoded_as_signed() -> None:
    body = orjson.loads(EXAMPLE_3_BODY)

    assert signing.encode_body(body) == EXAMPLE_3_BODY


def test_query_keeps_order_and_spells_booleans() -> None:
    query = signing.encode_query([("symbol", "BTCUSD"), ("untriggered", False), ("skip", None)])

    assert query == "symbol=BTCUSD&untriggered=false"
    assert signing.encode_query({"clOrdID": "a b/c"}) == "clOrdID=a+b%2Fc"


def test_user_auth_signs_key_and_expiry(signer: PhemexSigner) -> None:
    frame = orjson.loads(signer.auth_frame(1234, now_s=1570091172))

    assert frame["method"] == "user.auth" and frame["id"] == 1234
    kind, key, signature, expiry = frame["params"]
    assert (kind, key, expiry) == ("API", API_KEY, 1570091232)
    # HMAC-SHA256(key + expiry), computed independently with openssl
    assert signature == "64e26990a3bbd15b005cc38d41b699e372cb06053a7d0aafffceb4a94484a377"


@pytest.mark.parametrize(
    ("key", "secret", "expiry_s"), [("", SECRET, 60), (API_KEY, " ", 60), (API_KEY, SECRET, 121)]
)
def test_bad_credentials_or_expiry_are_refused(key: str, secret: str, expiry_s: int) -> None:
    with pytest.raises(ConfigError, match="phemex"):
        PhemexSigner(Secret(key), Secret(secret), expiry_s)


def test_secret_never_shows(signer: PhemexSigner, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("serenity").debug("signer %r %s", signer, signer)
    signer.headers("/orders", "", "{}", now_s=0)

    text = repr(signer) + str(signer) + caplog.text
    assert SECRET not in text and API_KEY not in text

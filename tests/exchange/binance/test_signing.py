"""Binance signatures against the worked examples of Binance's own API documentation."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from serenity.errors import ConfigError
from serenity.exchange.binance import signing

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)


def test_the_rest_example_of_the_documentation() -> None:
    expected = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    assert signing.sign_query(SECRET, QUERY) == expected
    # the query string and the body are one payload, split anywhere
    assert signing.sign_query(SECRET, QUERY[:30], QUERY[30:]) == expected


def test_the_rest_example_with_a_non_ascii_symbol_signs_the_percent_encoded_query() -> None:
    params = [
        ("symbol", "１２３４５６"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "1"),
        ("price", "0.1"),
    ]
    signed = signing.signed_query(SECRET, params, timestamp_ms=1499827319559)
    assert urlencode(signed).startswith("symbol=%EF%BC%91%EF%BC%92%EF%BC%93")
    assert signed[-1][1] == "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"


def test_signed_query_appends_the_window_the_time_and_the_signature() -> None:
    params = [
        ("symbol", "LTCBTC"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "1"),
        ("price", "0.1"),
    ]
    signed = signing.signed_query(SECRET, params, timestamp_ms=1499827319559)
    assert urlencode(signed[:-1]) == QUERY
    assert signed[-1] == (
        "signature",
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
    )
    with pytest.raises(ConfigError, match="recvWindow must be in"):
        signing.signed_query(SECRET, params, timestamp_ms=1, recv_window_ms=60_001)


@pytest.mark.parametrize(
    ("symbol", "qty", "price", "window", "expected"),
    [
        (
            "BTCUSDT",
            "0.01000000",
            "52000.00",
            100,
            "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24",
        ),
        (
            "１２３４５６",
            "1.00000000",
            "0.10000000",
            5000,
            "b33892ae8e687c939f4468c6268ddd4c40ac1af18ad19a064864c47bae0752cd",
        ),
    ],
)
def test_the_websocket_api_examples_of_the_documentation(
    symbol: str, qty: str, price: str, window: int, expected: str
) -> None:
    params = {
        "symbol": symbol,
        "side": "SELL" if symbol == "BTCUSDT" else "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": qty,
        "price": price,
        "recvWindow": window,
        "timestamp": 1645423376532,
        "apiKey": API_KEY,
    }
    assert signing.sign_ws_params(SECRET, params) == expected
    assert signing.sign_ws_params(SECRET, {**params, "signature": "ignored"}) == expected


def test_the_timing_rule() -> None:
    server = 1_700_000_000_000
    assert signing.is_fresh(server - 5000, server)
    assert not signing.is_fresh(server - 5001, server)  # older than recvWindow
    assert signing.is_fresh(server + 999, server)
    assert not signing.is_fresh(server + 1000, server)  # a second ahead of the venue
    assert signing.is_fresh(server - 59_000, server, 60_000)

"""Binance spot market-stream parsing: documented frames, malformed ones, and the 2021 capture."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import ConfigError, DataError, VenueError
from serenity.exchange import binance
from serenity.model import Side
from tests.venues import payload

NS = 1_000_000


def ws(name: str) -> Any:
    return payload("binance", f"ws/{name}")


def test_documented_trade_is_a_sell_when_the_buyer_made_the_market() -> None:
    event = ws("trade")

    assert binance.parse_trade(event) == (
        "BNBBTC",
        1672515782136 * NS,
        "12345",
        Side.SELL,
        0.001,
        100.0,
    )
    event["m"] = False
    assert binance.parse_trade(event)[3] is Side.BUY


def test_documented_agg_trade_uses_the_aggregate_id() -> None:
    symbol, ts, trade_id, side, price, qty = binance.parse_agg_trade(ws("agg_trade"))

    assert (symbol, ts, trade_id, side, price, qty) == (
        "BNBBTC",
        1672515782136 * NS,
        "12345",
        Side.SELL,
        0.001,
        100.0,
    )


def test_aggressor_side_follows_is_the_buyer_the_maker() -> None:
    assert binance.aggressor_side(True) is Side.SELL  # the seller hit a resting bid
    assert binance.aggressor_side(False) is Side.BUY  # the buyer lifted a resting offer
    with pytest.raises(DataError, match="'m' must be true or false, was 'true'"):
        binance.aggressor_side("true")


def test_documented_depth_update_covers_its_update_ids() -> None:
    assert binance.parse_depth_update(ws("depth_update")) == (
        "BNBBTC",
        1672515782136 * NS,
        157,
        160,
        [(0.0024, 10.0)],
        [(0.0026, 100.0)],
    )


def test_documented_depth_snapshot() -> None:
    assert binance.parse_depth_snapshot(ws("depth_snapshot")) == (
        1027024,
        [(4.0, 431.0)],
        [(4.000002, 12.0)],
    )


def test_a_zero_quantity_level_parses_as_a_delete() -> None:
    event = ws("depth_update")
    event["a"] = [["0.0026", "0.00000000"]]

    assert binance.parse_depth_update(event)[5] == [(0.0026, 0.0)]


def test_replies_acks_and_both_error_shapes() -> None:
    ack = binance.parse_reply(ws("subscribe_reply"))
    refused = binance.parse_reply(ws("error_reply"))
    bare = binance.parse_reply(ws("error_bare"))

    assert (ack.request_id, ack.result, ack.is_error) == (1, None, False)
    assert (refused.request_id, refused.code, refused.msg) == (
        2,
        2,
        "Invalid request: invalid stream",
    )
    assert (bare.request_id, bare.code, bare.is_error) == (None, 3, True)
    with pytest.raises(DataError, match="neither a stream event nor a reply"):
        binance.parse_reply({"hello": 1})


def test_subscribe_request_has_the_documented_shape() -> None:
    doc = ws("subscribe")
    text = binance.subscribe_request(doc["params"], 1)

    assert json.loads(text) == doc
    assert json.loads(binance.keepalive_request(0)) == {
        "method": "GET_PROPERTY",
        "params": ["combined"],
        "id": 0,
    }


def test_stream_names_are_lower_case() -> None:
    assert binance.trade_stream("BTCUSDT") == "btcusdt@trade"
    assert binance.depth_stream("BTCUSDT") == "btcusdt@depth@100ms"


def test_endpoints_resolve_to_the_combined_stream_and_the_matching_rest_api() -> None:
    assert binance.stream_url(binance.PROD.ws) == "wss://stream.binance.com:9443/stream"
    assert binance.stream_url("ws://127.0.0.1:8/ws") == "ws://127.0.0.1:8/ws"
    assert binance.rest_url_for(binance.PROD.ws) == binance.PROD.rest
    assert binance.rest_url_for(binance.TESTNET.ws) == binance.TESTNET.rest
    with pytest.raises(ConfigError, match="websocket host '127.0.0.1'; give rest_url"):
        binance.rest_url_for("ws://127.0.0.1:8")


def test_informational_streams_are_recognised() -> None:
    assert binance.is_informational("bnbbtc@kline_1m", ws("kline")["e"])
    assert binance.is_informational("bnbusdt@bookTicker", ws("book_ticker").get("e"))
    assert not binance.is_informational("bnbbtc@trade", "trade")
    assert not binance.is_informational("x@mystery", None)


def test_rest_errors_keep_binances_code_or_the_http_status() -> None:
    invalid = binance.rest_error(400, json.dumps(ws("rest_error")).encode())
    gateway = binance.rest_error(502, b"<html>Bad Gateway</html>")

    assert isinstance(invalid, VenueError)
    assert (invalid.code, str(invalid)) == (
        -1121,
        "binance: REST answered HTTP 400, code -1121: Invalid symbol.",
    )
    assert gateway.code == 502 and "Bad Gateway" in str(gateway)
    assert binance.rest_error(500, b'{"error": "x"}').code == 500


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("p", "abc", "trade field 'p' must be a decimal string > 0, was 'abc'"),
        ("q", "0", "trade field 'q' must be a decimal string > 0, was '0'"),
        ("p", "nan", "trade field 'p' must be a decimal string > 0, was 'nan'"),
        ("p", 100.5, "trade field 'p' must be a decimal string > 0, was 100.5"),  # a number
        ("T", "1672515782136", "trade field 'T' must be an integer time in ms"),
        ("T", 10**20, "trade field 'T' must be an integer time in ms before 2100, was 10{20}"),
        ("m", "true", "trade field 'm' must be true or false, was 'true'"),
        ("t", None, "trade field 't' is missing"),
        ("s", 7, "trade field 's' must be a symbol, was 7"),
    ],
)
def test_malformed_trades_name_the_field_and_value(field: str, value: Any, message: str) -> None:
    event = ws("trade")
    if value is None:
        del event[field]
    else:
        event[field] = value
    with pytest.raises(DataError, match=f"^binance: {message}"):
        binance.parse_trade(event)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("U", 161, "update ids must satisfy 0 < U <= u, was U=161 u=160"),
        ("u", "160", "field 'u' must be an integer"),
        ("u", 2**64, r"field 'u' must be an integer in \[0, 2\*\*63\)"),
        ("b", [["0.0024"]], r"field 'b'\[0\] must be \[price > 0, qty >= 0\]"),
        ("a", [["-1", "2"]], r"field 'a'\[0\] must be \[price > 0, qty >= 0\]"),
        ("b", {"0.0024": "10"}, "field 'b' must be a JSON array"),
        ("E", None, "field 'E' is missing"),
    ],
)
def test_malformed_depth_updates_name_the_field_and_value(
    field: str, value: Any, message: str
) -> None:
    event = ws("depth_update")
    if value is None:
        del event[field]
    else:
        event[field] = value
    with pytest.raises(DataError, match=f"^binance: depthUpdate {message}"):
        binance.parse_depth_update(event)


def test_malformed_snapshots_name_the_field() -> None:
    snapshot = ws("depth_snapshot")
    for key, value, message in [
        ("lastUpdateId", "1", "'lastUpdateId' must be an integer >= 0, was '1'"),
        ("bids", [["4", "x"]], r"'bids'\[0\] must be \[price > 0, qty >= 0\]"),
        ("asks", None, "asks is missing"),
    ]:
        bad = copy.deepcopy(snapshot)
        bad[key] = value
        with pytest.raises(DataError, match=message):
            binance.parse_depth_snapshot(bad)


decimals = st.decimals(min_value="0.00000001", max_value="1000000", places=8)


@given(st.lists(st.tuples(decimals, decimals), max_size=20), st.integers(1, 2**40))
def test_depth_levels_read_back_as_the_floats_of_their_decimal_strings(
    levels: list[tuple[Any, Any]], first: int
) -> None:
    wire = [[str(p), str(q)] for p, q in levels]
    event = {"e": "depthUpdate", "E": 1, "s": "X", "U": first, "u": first + 2, "b": wire, "a": []}

    _, _, u0, u1, bids, asks = binance.parse_depth_update(event)

    assert (u0, u1, asks) == (first, first + 2, [])
    assert bids == [(float(p), float(q)) for p, q in levels]


def _capture_lines(path: Path) -> list[tuple[float, str]]:
    out = []
    for line in path.read_text().splitlines():
        if not line.strip() or " <-> " in line:
            continue
        ts, body = line.split(": ", 1)
        out.append((float(ts), body))
    return out


@pytest.mark.captures
def test_every_frame_of_the_2021_capture_parses(captures_dir: Path) -> None:
    counts: dict[str, int] = {}
    last_u: dict[str, int] = {}
    trades = []
    for _, body in _capture_lines(captures_dir / "BINANCE.ws.1.0"):
        msg = orjson.loads(body)
        stream, data = msg["stream"], msg["data"]
        event = data.get("e")
        if event == binance.DEPTH_UPDATE:
            symbol, ts, first, last, bids, asks = binance.parse_depth_update(data)
            assert stream == binance.depth_stream(symbol)
            assert ts > 0 and first <= last
            assert all(p > 0 and q >= 0 for p, q in bids + asks)
            if symbol in last_u:  # the diff-depth stream itself never skips an id
                assert first == last_u[symbol] + 1
            last_u[symbol] = last
        elif event == binance.AGG_TRADE:
            trades.append(binance.parse_agg_trade(data))
        else:
            assert binance.is_informational(stream, event), body
        counts[str(event)] = counts.get(str(event), 0) + 1

    assert counts == {"depthUpdate": 177, "None": 84, "aggTrade": 2, "kline": 2}
    assert [(t[0], t[3], t[4], t[5]) for t in trades] == [
        ("NKNUSDT", Side.BUY, 0.3528, 58.0),
        ("LRCBTC", Side.BUY, 6.38e-06, 177.0),
    ]


@pytest.mark.captures
def test_the_captures_depth_snapshots_parse_uncrossed(captures_dir: Path) -> None:
    seen = {}
    for line in (captures_dir / "BINANCE.http.0.0").read_text().splitlines():
        if " -> " not in line:
            continue
        url, rest = line.split(" -> ", 1)
        last, bids, asks = binance.parse_depth_snapshot(orjson.loads(rest.split(": ", 1)[1]))
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert bids[0][0] < asks[0][0]
        assert all(p > 0 and q > 0 for p, q in bids + asks)
        seen[url.split("symbol=")[1].split("&")[0]] = (last, len(bids), len(asks))

    assert seen == {
        "NKNUSDT": (499869752, 609, 1000),
        "BLZETH": (281916627, 174, 1000),
        "LRCBTC": (259345543, 176, 1000),
        "RUNEEUR": (15602511, 221, 468),
    }

"""Coinbase Exchange feed messages: documented frames, bad fields and the 2021 capture."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import DataError
from serenity.exchange import coinbase
from serenity.model import Side
from tests.venues import DATA

CAPTURE = "COINBASE.ws.28.0"


def frame(name: str) -> dict[str, Any]:
    """Return the documented message ``tests/data/coinbase/ws/<name>.json``."""
    body: dict[str, Any] = json.loads((DATA / "coinbase" / "ws" / f"{name}.json").read_text())
    return body


def capture_messages(captures_dir: Path) -> list[tuple[float, str]]:
    """Return ``(receive time, body)`` of every received message in the capture."""
    out = []
    for line in (captures_dir / CAPTURE).read_text().splitlines():
        head, sep, body = line.partition(": ")
        if sep and " " not in head:  # "<unix time>: <json>"; sent frames name the URL first
            out.append((float(head), body))
    return out


def test_documented_match_gives_the_aggressor_side() -> None:
    symbol, trade_id, ts, side, price, size = coinbase.parse_match(frame("match"))

    assert (symbol, trade_id, price, size) == ("BTC-USD", 10, 400.23, 5.23512)
    assert side is Side.BUY  # the maker sold: the aggressor bought (an up-tick)
    assert ts == 1_415_348_367_028_459_000


def test_last_match_parses_like_a_match() -> None:
    assert coinbase.parse_match(frame("last_match"))[1:4:2] == (9, Side.SELL)


@pytest.mark.parametrize(("maker", "aggressor"), [("buy", Side.SELL), ("sell", Side.BUY)])
def test_aggressor_is_opposite_the_maker(maker: str, aggressor: Side) -> None:
    assert coinbase.parse_aggressor_side(maker) is aggressor


def test_documented_snapshot_and_l2update_parse() -> None:
    symbol, ts, bids, asks = coinbase.parse_snapshot(frame("snapshot"))
    assert (symbol, ts, bids, asks) == (
        "BTC-USD",
        None,
        [(10101.10, 0.4505414)],
        [(10102.55, 0.57753524)],
    )

    symbol, ts, bids, asks = coinbase.parse_l2update(frame("l2update"))
    assert (symbol, bids, asks) == ("BTC-USD", [(10101.8, 0.162567)], [])
    assert ts == 1_565_815_347_265_000_000


def test_l2update_size_zero_removes_and_sell_changes_asks() -> None:
    msg = frame("l2update") | {"changes": [["sell", "10102.55", "0"], ["buy", "1.5", "2"]]}

    assert coinbase.parse_l2update(msg)[2:] == ([(1.5, 2.0)], [(10102.55, 0.0)])


def test_documented_heartbeat_subscriptions_and_error_parse() -> None:
    assert coinbase.parse_heartbeat(frame("heartbeat")) == (
        "BTC-USD",
        90,
        20,
        1_415_348_368_464_459_000,
    )
    assert coinbase.parse_subscriptions(frame("subscriptions")) == {
        "level2": ("ETH-USD", "ETH-EUR"),
        "heartbeat": ("ETH-USD", "ETH-EUR"),
        "ticker": ("ETH-USD", "ETH-EUR", "ETH-BTC"),
    }
    assert coinbase.parse_error(frame("error")) == (
        coinbase.SUBSCRIBE_FAILED,
        "GIBBERISH-USD is not a valid product",
    )


def test_ticker_is_informational() -> None:
    assert frame("ticker")["type"] in coinbase.INFORMATIONAL_TYPES


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop("trade_id"), "match has no 'trade_id' field"),
        (lambda m: m.update(trade_id="10"), "integer trade_id, was 'BTC-USD' and '10'"),
        (lambda m: m.update(side="bid"), "unknown match side 'bid', expected one of"),
        (lambda m: m.update(price="4OO"), "match price must be a decimal string, was '4OO'"),
        (lambda m: m.update(size="-1"), "needs price and size > 0, was '400.23' and '-1'"),
        (lambda m: m.update(price="nan"), "needs price and size > 0"),
        (lambda m: m.update(price=1.5), "match price must be a decimal string, was 1.5"),
        (lambda m: m.update(size=True), "match size must be a decimal string, was True"),
        (lambda m: m.update(time="2014-11-07 08:19"), "time must be RFC 3339"),
    ],
)
def test_bad_match_names_the_venue_field_and_value(edit: Any, message: str) -> None:
    msg = frame("match")
    edit(msg)

    with pytest.raises(DataError, match=f"^coinbase: .*{message}"):
        coinbase.parse_match(msg)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ("buy", "changes must be a JSON array"),
        ([["bid", "1", "1"]], r"change must be \[buy\|sell, price > 0, size >= 0\], was \['bid'"),
        ([["buy", "1", "1"], ["sell", "x", "1"]], r"was \['sell', 'x', '1'\]"),
        ([["buy", "0", "1"]], r"was \['buy', '0', '1'\]"),
        ([["buy", "1"]], r"was \['buy', '1'\]"),
    ],
)
def test_bad_l2update_names_the_change(changes: Any, message: str) -> None:
    msg = frame("l2update") | {"changes": changes}

    with pytest.raises(DataError, match=f"^coinbase: .*{message}"):
        coinbase.parse_l2update(msg)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.pop("product_id"), "snapshot.product_id must be a non-empty string"),
        (lambda m: m.update(bids={}), "snapshot bids must be a JSON array"),
        (
            lambda m: m.update(asks=[["1"]]),
            r"snapshot asks level must be \[price, size\], was \['1'\]",
        ),
        (
            lambda m: m.update(asks=[["-1", "1"]]),
            "snapshot asks level needs price > 0 and size >= 0, was -1.0",
        ),
    ],
)
def test_bad_snapshot_names_the_field(edit: Any, message: str) -> None:
    msg = frame("snapshot")
    edit(msg)

    with pytest.raises(DataError, match=f"^coinbase: {message}"):
        coinbase.parse_snapshot(msg)


def test_bad_heartbeat_and_subscriptions_are_refused() -> None:
    with pytest.raises(DataError, match="heartbeat BTC-USD needs integer sequence"):
        coinbase.parse_heartbeat(frame("heartbeat") | {"sequence": None})
    with pytest.raises(DataError, match=r"subscriptions.channels\[0\] must be a JSON object"):
        coinbase.parse_subscriptions({"type": "subscriptions", "channels": ["level2"]})


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2014-11-07T08:19:27.028459Z", 1_415_348_367_028_459_000),
        ("2019-08-14T20:42:27.265Z", 1_565_815_347_265_000_000),
        ("2019-08-14T20:42:27Z", 1_565_815_347_000_000_000),
        ("2019-08-14T20:42:27.123456789Z", 1_565_815_347_123_456_789),
        ("2019-08-14T22:42:27.5+02:00", 1_565_815_347_500_000_000),
    ],
)
def test_times_keep_every_digit(text: str, ns: int) -> None:
    assert coinbase.parse_time(text) == ns
    assert coinbase.parse_time(text) == ns  # the second time from the cached second


@pytest.mark.parametrize(
    "text",
    [
        None,
        17,
        "",
        "2019-08-14T20:42:27",
        "2019-08-14T20:42:27.Z",
        "2019-13-14T20:42:27.1Z",
        "2019-08-14T20:42:27.+1Z",
        "2019-08-14T20:42:27.1234567890Z",
        "2019-08-14T20:42:2x.1Z",
        "9999-12-31T23:59:59.999999Z",  # issue 9: past 64-bit ns, it crashed the journal
        "2100-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
    ],
)
def test_bad_times_are_refused(text: Any) -> None:
    coinbase.parse_time("2019-08-14T20:42:27.1Z")  # a cached second must not let them through

    with pytest.raises(DataError, match="^coinbase: time "):
        coinbase.parse_time(text)


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9 - 1), st.integers(1, 9))
def test_time_round_trips_at_any_precision(ns: int, digits: int) -> None:
    ns -= ns % 10 ** (9 - digits)
    seconds, fraction = divmod(ns, 10**9)
    whole = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    text = f"{whole}.{fraction:09d}"[: 20 + digits] + "Z"

    assert coinbase.parse_time(text) == ns


@pytest.mark.captures
def test_2021_capture_parses_every_data_message(captures_dir: Path) -> None:
    kinds: Counter[str] = Counter()
    trades, deltas, levels = [], [], 0
    ticker_sides: dict[tuple[str, int], str] = {}
    for _, body in capture_messages(captures_dir):
        msg = json.loads(body)
        kind = msg["type"]
        kinds[kind] += 1
        if kind in ("match", "last_match"):
            trades.append(coinbase.parse_match(msg))
        elif kind == "l2update":
            deltas.append(coinbase.parse_l2update(msg))
        elif kind == "snapshot":
            _, _, bids, asks = coinbase.parse_snapshot(msg)
            levels += len(bids) + len(asks)
            assert max(p for p, _ in bids) < min(p for p, _ in asks)
        elif kind == "ticker":
            ticker_sides[msg["product_id"], msg["trade_id"]] = msg["side"]
        else:
            assert kind in coinbase.INFORMATIONAL_TYPES
            coinbase.parse_subscriptions(msg)

    assert kinds == {
        "l2update": 9719,
        "ticker": 107,
        "match": 97,
        "snapshot": 10,
        "last_match": 10,
        "subscriptions": 3,
    }
    assert levels == 8362
    assert all(price > 0 and size > 0 for _, _, _, _, price, size in trades)
    assert all(p > 0 and s >= 0 for *_, bids, asks in deltas for p, s in bids + asks)
    assert all(ts > 1_618_600_000 * 10**9 for _, _, ts, *_ in trades)
    # the ticker's side is the taker's (documented): every match's aggressor side agrees
    paired = [(t[3], ticker_sides[t[0], t[1]]) for t in trades if (t[0], t[1]) in ticker_sides]
    assert len(paired) == 107
    assert all(side.value == taker for side, taker in paired)

"""Phemex websocket parsing: documented frames, malformed input, and the 2021 capture."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import DataError
from serenity.exchange import phemex
from serenity.exchange.product import Product, ProductCatalog
from serenity.model import InstrumentStatus, InstrumentType, Side
from tests.venues import payload, read_capture

CATALOG = phemex.parse_products(payload("phemex", "products"))
CONTRACT = phemex.ws_scale(CATALOG.get("BTCUSD"))  # type: ignore[arg-type]
SPOT = phemex.ws_scale(CATALOG.get("sBTCUSDT"))  # type: ignore[arg-type]
PERP_V2 = phemex.ws_scale(CATALOG.get("BTCUSDT"))  # type: ignore[arg-type]


def frames(name: str) -> dict[str, Any]:
    """Return the documented frames in ``tests/data/phemex/ws/<name>.json``."""
    return payload("phemex", f"ws/{name}")  # type: ignore[no-any-return]


def usd_product(
    symbol: str, kind: InstrumentType, base: str, *, settle: str | None = None
) -> Product:
    """Return a trading Phemex product quoted in USD, ticks of 0.5 and lots of 1."""
    return Product(
        venue="phemex",
        symbol=symbol,
        instrument_type=kind,
        base=base,
        quote="USD",
        status=InstrumentStatus.TRADING,
        tick_size=Decimal("0.5"),
        lot_size=Decimal(1),
        settle=settle,
    )


def capture_frames(captures_dir: Path) -> list[tuple[int, bytes]]:
    """Return the received messages of ``PHEMEX.ws.1.0`` as (ns, raw JSON)."""
    out = []
    for line in (captures_dir / "PHEMEX.ws.1.0").read_bytes().splitlines():
        head, sep, body = line.partition(b": ")
        if sep and b" " not in head:  # "<unix time>: <json>" (sent lines name the URL)
            out.append((int(Decimal(head.decode()) * 10**9), body))
    return out


def test_products_pick_the_channels_and_scales_phemex_documents() -> None:
    assert CONTRACT == phemex.WsScale(phemex.SCALED_CHANNELS, 10**4, 1)
    assert SPOT == phemex.WsScale(phemex.SCALED_CHANNELS, 10**8, 10**8)
    assert PERP_V2 == phemex.WsScale(phemex.UNSCALED_CHANNELS)
    assert phemex.SCALED_CHANNELS.book_params == (True,)  # the full book
    index = usd_product(".BTC", InstrumentType.INDEX, "BTC")
    with pytest.raises(DataError, match="phemex: no websocket market data for index"):
        phemex.ws_scale(index)


def test_contract_frames_scale_prices_and_keep_contract_sizes() -> None:
    doc = frames("contract")
    book = phemex.parse_book(doc["book_snapshot"], CONTRACT)
    assert (book.symbol, book.sequence, book.is_snapshot, book.depth) == (
        "BTCUSD",
        1191904,
        True,
        30,
    )
    assert book.ts is None  # the documented sample has no timestamp
    assert book.bids == [(8676.0, 18995.0), (8675.5, 6451.0)]
    assert book.asks == [(8676.5, 19609.0), (8677.0, 7402.0)]
    delta = phemex.parse_book(doc["book_incremental"], CONTRACT)
    assert (delta.is_snapshot, delta.bids, delta.asks) == (False, [], [(8677.5, 4621.0)])
    trades = phemex.parse_trades(doc["trades_snapshot"], CONTRACT)
    assert trades.is_snapshot and len(trades.trades) == 4
    assert trades.trades[0] == (1573716998128563500, Side.BUY, 8673.5, 56.0)
    one = phemex.parse_trades(doc["trades_incremental"], CONTRACT)
    assert one.trades == [(1573717116484024300, Side.BUY, 8673.0, 21.0)]


def test_spot_frames_scale_prices_and_sizes_by_1e8() -> None:
    doc = frames("spot")
    book = phemex.parse_book(doc["book_snapshot"], SPOT)
    assert book.ts == 1590570810187571000
    assert book.asks[0] == (8926.97, 0.017818)
    delta = phemex.parse_book(doc["book_incremental"], SPOT)
    assert delta.bids == [(8923.87, 0.047929), (8922.26, 0.0)]
    trade = phemex.parse_trades(doc["trades_incremental"], SPOT)
    assert trade.trades == [(1573717116484024300, Side.BUY, 867.3, 0.0021)]


def test_perpetual_v2_frames_read_decimal_strings() -> None:
    doc = frames("perpetual_v2")
    delta = phemex.parse_book(doc["book_incremental"], PERP_V2)
    assert delta.asks[:3] == [(20702.9, 0.718), (20703.9, 0.524), (20704.9, 0.0)]
    assert delta.bids[3] == (20700.5, 1.622)
    assert phemex.parse_book(doc["book_incremental_2"], PERP_V2).bids == [
        (20700.5, 0.0),
        (20340.5, 0.06),
    ]
    sell = phemex.parse_trades(doc["trades_incremental"], PERP_V2)
    assert sell.trades == [(1666856076819029800, Side.SELL, 20700.3, 0.649)]
    snap = phemex.parse_trades(doc["trades_snapshot"], PERP_V2)
    assert [t[1] for t in snap.trades] == [Side.SELL, Side.BUY]  # the taker's side, as sent


def test_replies_acks_pongs_and_refusals() -> None:
    doc = frames("replies")
    assert [phemex.classify(doc[k]) for k in ("ack", "pong", "error")] == [
        phemex.WsMessageKind.REPLY
    ] * 3
    ack = phemex.parse_reply(doc["ack"])
    assert (ack.id, ack.is_error, ack.result) == (1234, False, {"status": "success"})
    assert phemex.parse_reply(doc["pong"]).result == "pong"
    error = phemex.parse_reply(doc["error"])
    assert (error.id, error.code, error.message, error.is_error) == (
        106,
        6001,
        "invalid argument",
        True,
    )
    assert phemex.parse_reply({"error": "boom", "id": None, "result": None}).message == "boom"


def test_unknown_message_types_name_their_keys() -> None:
    ticker = {"market24h": {"symbol": "BTCUSD", "close": 87425000}, "timestamp": 1}
    with pytest.raises(DataError, match=r"phemex: unknown message type with keys \['market24h'"):
        phemex.classify(ticker)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("symbol"), "symbol must be str, was None"),
        (lambda m: m.update(sequence="1"), "sequence must be int, was '1'"),
        (lambda m: m.update(type="delta"), "unknown trades message of 'BTCUSD' type 'delta'"),
        (lambda m: m.pop("trades"), r"'BTCUSD'.trades is missing"),
        (lambda m: m.update(trades={}), "trades of BTCUSD must be a JSON array, was {}"),
        (lambda m: m["trades"][0].pop(), r"trades of BTCUSD\[0\] must be an array of 4 values"),
        (lambda m: m["trades"][0].__setitem__(1, "Bid"), "unknown side 'Bid', expected one of"),
        (
            lambda m: m["trades"][0].__setitem__(0, 1.5),
            "timestamp must be integer ns > 0 before 2100, was 1.5",
        ),
        (  # issue 9: a time near the 64-bit limit used to reach the journal
            lambda m: m["trades"][0].__setitem__(0, 2**64 - 1),
            "timestamp must be integer ns > 0 before 2100, was 18446744073709551615",
        ),
        (
            lambda m: m["trades"][0].__setitem__(2, -5),
            r"\[0\]: price must be an integer > 0, was -5",
        ),
        (lambda m: m["trades"][0].__setitem__(2, "8"), "price must be an integer > 0, was '8'"),
        (lambda m: m["trades"][0].__setitem__(3, 0), "qty must be an integer > 0, was 0"),
    ],
)
def test_malformed_trades_raise_data_error_naming_field_and_value(
    change: Any, message: str
) -> None:
    msg = copy.deepcopy(frames("contract")["trades_incremental"])
    change(msg)
    with pytest.raises(DataError, match=f"^phemex: .*{message}"):
        phemex.parse_trades(msg, CONTRACT)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([["abc", "1"]], r"orderbook_p of BTCUSDT.asks\[0\]: price must be a decimal string > 0"),
        ([["1", "-1"]], "qty must be a decimal string >= 0, was '-1'"),
        ([["nan", "1"]], "price must be a decimal string > 0, was 'nan'"),
        ([["1e999", "1"]], "price must be a decimal string > 0, was '1e999'"),
        ([["1"]], r"\[0\] must be an array of 2 values"),
    ],
)
def test_malformed_levels_raise_data_error_naming_field_and_value(
    levels: Any, message: str
) -> None:
    msg = copy.deepcopy(frames("perpetual_v2")["book_incremental"])
    msg["orderbook_p"]["asks"] = levels
    with pytest.raises(DataError, match=message):
        phemex.parse_book(msg, PERP_V2)


def test_book_header_fields_are_checked() -> None:
    msg = copy.deepcopy(frames("spot")["book_incremental"])
    msg["timestamp"] = "soon"
    with pytest.raises(DataError, match="timestamp must be integer ns before 2100, was 'soon'"):
        phemex.parse_book(msg, SPOT)
    msg = copy.deepcopy(frames("spot")["book_incremental"])
    msg["book"] = [1, 2]
    with pytest.raises(DataError, match="book of sBTCUSDT must be a JSON object"):
        phemex.parse_book(msg, SPOT)


@given(st.integers(1, 10**15), st.integers(0, 8))
def test_scaled_prices_read_exactly_as_the_decimal_they_encode(ep: int, power: int) -> None:
    scale = phemex.WsScale(phemex.SCALED_CHANNELS, 10**power, 1)
    msg = {
        "book": {"bids": [[ep, 1]], "asks": []},
        "sequence": 1,
        "symbol": "X",
        "type": "snapshot",
    }
    price = phemex.parse_book(msg, scale).bids[0][0]
    assert price == float(phemex.unscale(ep, power))


@pytest.mark.captures
def test_every_frame_of_the_2021_capture_parses(captures_dir: Path) -> None:
    catalog = phemex.parse_products(read_capture(captures_dir, "PHEMEX.0"))
    counts = {kind: 0 for kind in phemex.WsMessageKind}
    snapshots, levels, trades = 0, 0, 0
    for _, raw in capture_frames(captures_dir):
        msg = orjson.loads(raw)
        kind = phemex.classify(msg)
        counts[kind] += 1
        if kind is phemex.WsMessageKind.REPLY:
            assert not phemex.parse_reply(msg).is_error
            continue
        scale = phemex.ws_scale(catalog.get(msg["symbol"]))  # type: ignore[arg-type]
        if kind is phemex.WsMessageKind.BOOK:
            book = phemex.parse_book(msg, scale)
            snapshots += book.is_snapshot
            levels += len(book.bids) + len(book.asks)
            assert all(p > 0 and q >= 0 for p, q in book.bids + book.asks)
            assert book.ts is not None and book.depth == 30
        else:
            parsed = phemex.parse_trades(msg, scale)
            trades += len(parsed.trades)
            assert all(p > 0 and q > 0 and ts > 1.6e18 for ts, _, p, q in parsed.trades)
    assert counts == {
        phemex.WsMessageKind.REPLY: 20,
        phemex.WsMessageKind.BOOK: 1337,
        phemex.WsMessageKind.TRADES: 35,
    }
    assert snapshots == 13  # one per book subscription, and three 60 s repeats
    assert trades == 10 * 1000 + 25  # a 1,000-trade snapshot per symbol, then 25 trades
    assert levels > 13 * 60


def test_catalog_without_price_scale_is_a_data_error() -> None:
    product = usd_product("XYZUSD", InstrumentType.PERPETUAL_FUTURE, "XYZ", settle="USD")
    ProductCatalog.of("phemex", [product])
    with pytest.raises(DataError, match="contract 'XYZUSD' has no price scale"):
        phemex.ws_scale(product)

"""The FeedHandler base: symbol checks, publishing through book sync, bad-input policy."""

from __future__ import annotations

import json

import pytest

from serenity.errors import ConfigError, DataError, UnknownSymbolError, VenueError
from serenity.exchange.product import ProductCatalog
from serenity.marketdata import DataQualityKind
from serenity.marketdata.fh import FeedConfig
from tests.marketdata.fh.toy import ListSink, ToyHandler, product


def make(sink: ListSink, **kw: object) -> ToyHandler:
    config = FeedConfig(venue="toy", symbols=("AAA", "BBB"), ws_url="ws://127.0.0.1:1")
    return ToyHandler(config, sinks=[sink], **kw)  # type: ignore[arg-type]


def test_unknown_symbol_is_refused_before_connecting_with_a_suggestion() -> None:
    config = FeedConfig(venue="toy", symbols=("BTCUSDD",), ws_url="ws://127.0.0.1:1")
    with pytest.raises(UnknownSymbolError, match="'BTCUSDD' on toy; did you mean BTCUSD"):
        ToyHandler(config, catalog=ProductCatalog.of("toy", [product("BTCUSD"), product("ETHUSD")]))


def test_bad_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="no symbols"):
        FeedConfig(venue="toy", symbols=(), ws_url="ws://x")
    with pytest.raises(ConfigError, match="channels must be among"):
        FeedConfig(venue="toy", symbols=("A",), ws_url="ws://x", channels=("ticker",))
    with pytest.raises(ConfigError, match="ws://"):
        FeedConfig(venue="toy", symbols=("A",), ws_url="http://x")
    with pytest.raises(ConfigError, match="records toy"):
        ToyHandler(FeedConfig(venue="other", symbols=("A",), ws_url="ws://x"))


def test_books_sync_through_the_base_and_gaps_are_recorded() -> None:
    sink = ListSink()
    h = make(sink)
    assert not h.is_synced()
    h.on_frame(json.dumps({"book": ["AAA", 10, False, [[99, 1]], []]}), 1)  # buffered
    h.on_frame(json.dumps({"book": ["AAA", 9, True, [[98, 1]], [[101, 1]]]}), 2)
    assert [u.seq for u in sink.books] == [9, 10]
    assert sink.mids[-1] == 100.0  # mid after the buffered delta applied
    h.on_frame(json.dumps({"book": ["AAA", 12, False, [[97, 1]], []]}), 3)  # 11 lost
    kinds = [e.kind for e in sink.quality]
    assert kinds == [DataQualityKind.GAP]
    assert not h.books["AAA"].is_live
    h.on_frame(json.dumps({"book": ["AAA", 13, True, [[96, 1]], [[104, 1]]]}), 4)
    assert [e.kind for e in sink.quality] == [DataQualityKind.GAP, DataQualityKind.RESYNC]


def test_malformed_frames_are_kept_raw_counted_and_not_fatal() -> None:
    sink = ListSink()
    h = make(sink)
    h.on_frame("{not json", 5)
    h.on_frame(json.dumps({"trade": ["ZZZ", 1, "buy", 1.0, 1.0]}), 6)  # unsubscribed symbol
    h.on_frame(json.dumps({"trade": ["AAA", 2, "buy", 1.0, 1.0]}), 7)
    assert h.parse_errors == 2
    assert [r.data for r in sink.raw][0] == b"{not json"
    assert [e.kind for e in sink.quality] == [DataQualityKind.PARSE_ERROR] * 2
    assert [t.trade_id for t in sink.trades] == ["2"]


def test_venue_refusal_propagates() -> None:
    h = make(ListSink())
    with pytest.raises(VenueError, match="subscription refused"):
        h.on_frame(json.dumps({"error": "bad channel", "code": 7}), 1)


def test_disconnect_records_a_reconnect_per_stream_and_drops_books() -> None:
    sink = ListSink()
    h = make(sink)
    h.on_frame(json.dumps({"book": ["AAA", 1, True, [[1, 1]], [[2, 1]]]}), 1)
    h.on_disconnected(10, "closed")
    reconnects = [
        (e.symbol, e.channel) for e in sink.quality if e.kind is DataQualityKind.RECONNECT
    ]
    assert sorted(reconnects) == [
        ("AAA", "book"),
        ("AAA", "trades"),
        ("BBB", "book"),
        ("BBB", "trades"),
    ]
    assert not h.books["AAA"].is_live and h.books["AAA"].book.best_bid() is None


def test_instrument_lookup_refuses_unsubscribed_symbols() -> None:
    with pytest.raises(DataError, match="unsubscribed symbol 'ZZZ'"):
        make(ListSink()).instrument("ZZZ")


def test_a_feed_is_synced_only_once_it_delivers_after_each_connect() -> None:
    sink = ListSink()
    config = FeedConfig(
        venue="toy", symbols=("AAA",), ws_url="ws://127.0.0.1:1", channels=("trades",)
    )
    h = ToyHandler(config, sinks=[sink])
    h.on_connected(1)
    assert not h.is_synced()  # subscribed, but nothing delivered yet
    h.on_frame(json.dumps({"trade": ["AAA", 1, "buy", 100.0, 1.0]}), 2)
    assert h.is_synced()
    h.on_disconnected(3, "closed")
    h.on_connected(4)
    assert not h.is_synced()
    h.on_frame(json.dumps({"trade": ["AAA", 2, "buy", 1e20, 1.0]}), 5)  # refused: not data
    assert not h.is_synced() and h.implausible == 1


def test_a_stray_venue_error_is_a_data_quality_event() -> None:
    sink = ListSink()
    h = make(sink)
    h.venue_error(7, -1, "no such request", request=424242)
    (event,) = sink.quality
    assert (event.kind, event.channel, event.symbol, event.ts) == (
        DataQualityKind.VENUE_ERROR,
        "raw",
        "*",
        7,
    )
    assert event.details == {"code": -1, "text": "no such request", "request": 424242}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_seq_jump", 0),
        ("stuck_after", 0),
        ("stuck_after", 2.5),
        ("price_band", 1.0),
        ("price_band", float("nan")),
        ("backoff_max_s", 0.1),
        ("backoff_initial_s", 0),
    ],
)
def test_bad_bounds_are_refused(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field.removeprefix("backoff_")):
        FeedConfig(venue="toy", symbols=("A",), ws_url="ws://x", **{field: value})  # type: ignore[arg-type]

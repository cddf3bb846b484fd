"""Encoding and framing of journal records: round-trips, torn tails and corruption."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import DataError, InvalidValueError
from serenity.marketdata import BookUpdate, DataQualityEvent, DataQualityKind, Trade
from serenity.marketdata._codec import (
    MAGIC,
    SegmentHeader,
    check_tail,
    decode_header,
    decode_record,
    encode_book,
    encode_event,
    encode_header,
    encode_raw,
    encode_trade,
    frame,
    iter_frames,
)
from serenity.model import Side

from .strategies import INSTRUMENT, book_updates, events, raw_frames, trade, trades

records = st.one_of(trades(), book_updates(), events(), raw_frames())


def encode(record) -> bytes:
    kind = type(record).__name__
    return {
        "Trade": encode_trade,
        "BookUpdate": encode_book,
        "DataQualityEvent": encode_event,
        "RawFrame": encode_raw,
    }[kind](record)


def decode(payload: bytes, channel: str):
    return decode_record(payload, INSTRUMENT, channel)


@given(trades())
def test_trade_round_trips(record: Trade) -> None:
    assert decode(encode_trade(record), "trades") == record


@given(book_updates())
def test_book_update_round_trips_every_level(record) -> None:
    back = decode(encode_book(record), "book")
    assert back == type(record)(
        record.instrument,
        record.ts,
        record.ts_recv,
        record.seq,
        list(record.bids),
        list(record.asks),
        record.is_snapshot,
    )


@given(events())
def test_data_quality_event_round_trips(record: DataQualityEvent) -> None:
    assert decode(encode_event(record), record.channel) == record


@given(raw_frames())
def test_raw_frame_round_trips(record) -> None:
    assert decode(encode_raw(record), record.channel) == record


@given(st.lists(records, max_size=20))
def test_framed_stream_round_trips(batch) -> None:
    data = b"".join(frame(encode(r)) for r in batch)
    payloads = [p for _, p in iter_frames(data, 0)]
    assert len(payloads) == len(batch)
    assert check_tail(data, len(data)) is None


def test_header_round_trips_and_bad_headers_are_data_errors() -> None:
    header = SegmentHeader(venue="v", channel="c", symbol="s", hour=1, created=2, pid=3)
    assert decode_header(encode_header(header)) == header
    with pytest.raises(DataError):
        decode_header(encode_trade(trade(1)))
    with pytest.raises(DataError):
        decode_header(b"\x00{not json")
    with pytest.raises(DataError, match="format 9"):
        decode_header(
            b'\x00{"format":9,"venue":"v","channel":"c","symbol":"s","hour":1,"created":1,"pid":1}'
        )


def test_undecodable_payloads_are_data_errors() -> None:
    good = encode_trade(trade(1))
    for bad in (b"\x09junk", good[:-1], good[:10], b"\x02" + b"\x00" * 5, b"\x03\x00"):
        with pytest.raises(DataError):
            decode(bad, "trades")


def test_overlong_trade_id_and_unjsonable_details_are_refused() -> None:
    with pytest.raises(InvalidValueError, match="65535"):
        encode_trade(Trade(INSTRUMENT, 1, 2, "x" * 70_000, Side.BUY, 1.0, 1.0))
    event = DataQualityEvent(
        venue="v", channel="c", symbol="s", ts=1, kind=DataQualityKind.GAP, details={"x": object()}
    )
    with pytest.raises(InvalidValueError, match="JSON"):
        encode_event(event)


def test_truncating_the_last_record_at_every_offset_keeps_the_others() -> None:
    body = [frame(encode_trade(trade(i))) for i in range(3)]
    data = MAGIC + b"".join(body)
    whole = len(data) - len(body[-1])
    for cut in range(whole, len(data)):
        torn = data[:cut]
        frames = list(iter_frames(torn, len(MAGIC)))
        assert len(frames) == 2
        reason = check_tail(torn, whole)
        assert (reason is None) == (cut == whole)
        if cut > whole:
            assert "torn" in reason


def test_flipping_any_byte_of_the_last_record_stops_before_it() -> None:
    body = [frame(encode_trade(trade(i))) for i in range(3)]
    data = bytearray(b"".join(body))
    start = len(data) - len(body[-1])
    for i in range(start, len(data)):
        bad = bytearray(data)
        bad[i] ^= 0xFF
        frames = list(iter_frames(bytes(bad), 0))
        assert [o for o, _ in frames] == [0, len(body[0])]
        assert check_tail(bytes(bad), start) is not None


def test_wide_snapshot_round_trips() -> None:
    bids = [(100.0 - i * 0.5, 1.0 + i) for i in range(200)]
    asks = [(100.5 + i * 0.5, 2.0 + i) for i in range(150)]
    snapshot = BookUpdate(INSTRUMENT, 1, 2, 3, bids, asks, True)
    assert decode(encode_book(snapshot), "book") == snapshot

"""Binary encoding of journal records and their framing (sans-I/O).

A segment file is an 8-byte magic followed by frames. A frame is ``<u32 length><u32 crc32>``
(little-endian) and ``length`` bytes of payload; the CRC-32 is over the payload. The first
payload byte is the record kind. Records carry no instrument: it is the segment's, named in
the header record that every segment starts with. See ``docs/marketdata.rst`` for the layout.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from struct import Struct
from struct import error as StructError
from typing import Any, Final

import orjson

from serenity.errors import DataError, InvalidValueError
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind, RawFrame
from serenity.marketdata.types import BookUpdate, Trade
from serenity.model import InstrumentId, Side

__all__ = [
    "FORMAT_VERSION",
    "FRAME",
    "KIND_BOOK",
    "KIND_EVENT",
    "KIND_HEADER",
    "KIND_NAMES",
    "KIND_RAW",
    "KIND_TRADE",
    "MAGIC",
    "MAX_PAYLOAD",
    "Record",
    "SegmentHeader",
    "check_tail",
    "decode_header",
    "decode_record",
    "encode_book",
    "encode_event",
    "encode_header",
    "encode_raw",
    "encode_trade",
    "frame",
    "iter_frames",
]

FORMAT_VERSION: Final = 1
MAGIC: Final = b"SRNJ" + bytes([FORMAT_VERSION, 0, 0, 0])
FRAME: Final = Struct("<II")
MAX_PAYLOAD: Final = 64 * 1024 * 1024  # a longer length field is corruption, not data

KIND_HEADER: Final = 0
KIND_TRADE: Final = 1
KIND_BOOK: Final = 2
KIND_EVENT: Final = 3
KIND_RAW: Final = 4
KIND_NAMES: Final = {KIND_TRADE: "trade", KIND_BOOK: "book", KIND_EVENT: "event", KIND_RAW: "raw"}

# kind, ts, ts_recv, price, qty, side (0 buy, 1 sell), trade id length; then the UTF-8 id
_TRADE: Final = Struct("<BqqddBH")
# kind, ts, ts_recv, seq, is_snapshot, bid count, ask count; then (price, qty) f64 pairs
_BOOK: Final = Struct("<BqqqBII")
# kind, ts (events) or ts_recv (raw frames); then JSON (events) or the raw bytes
_STAMPED: Final = Struct("<Bq")
# one compiled layout per level count up to _PACKED_LEVELS_MAX: a delta packs in one call
_BOOK_PACKERS: dict[int, Struct] = {}
_PACKED_LEVELS_MAX: Final = 256
_SIDES: Final = (Side.BUY, Side.SELL)
_SWAP: Final = sys.byteorder != "little"

Record = Trade | BookUpdate | DataQualityEvent | RawFrame
"""Anything a journal holds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentHeader:
    """The first record of every segment: whose stream it is and who wrote it."""

    venue: str
    channel: str
    symbol: str
    hour: int
    created: int
    pid: int
    format: int = FORMAT_VERSION


def frame(payload: bytes) -> bytes:
    """Return ``payload`` framed with its length and CRC-32."""
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def encode_header(header: SegmentHeader) -> bytes:
    """Return the payload of a segment's header record."""
    doc = {
        "format": header.format,
        "venue": header.venue,
        "channel": header.channel,
        "symbol": header.symbol,
        "hour": header.hour,
        "created": header.created,
        "pid": header.pid,
    }
    return bytes([KIND_HEADER]) + orjson.dumps(doc)


def decode_header(payload: bytes) -> SegmentHeader:
    """Return the header in ``payload``.

    Raises
    ------
    DataError
        When ``payload`` is not a header record of a known format.
    """
    if not payload or payload[0] != KIND_HEADER:
        raise DataError("segment does not start with a header record")
    try:
        doc = orjson.loads(payload[1:])
        header = SegmentHeader(
            venue=str(doc["venue"]),
            channel=str(doc["channel"]),
            symbol=str(doc["symbol"]),
            hour=int(doc["hour"]),
            created=int(doc["created"]),
            pid=int(doc["pid"]),
            format=int(doc["format"]),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"unreadable segment header: {exc}") from exc
    if header.format != FORMAT_VERSION:
        raise DataError(f"segment format {header.format} is not supported, expected 1")
    return header


def encode_trade(trade: Trade) -> bytes:
    """Return the payload of a trade record.

    Raises
    ------
    InvalidValueError
        When the trade id is longer than 65,535 bytes in UTF-8.
    """
    tid = trade.trade_id.encode()
    if len(tid) > 0xFFFF:
        raise InvalidValueError(f"trade id must be at most 65535 bytes, was {len(tid)} bytes")
    side = 0 if trade.side is Side.BUY else 1
    return (
        _TRADE.pack(KIND_TRADE, trade.ts, trade.ts_recv, trade.price, trade.qty, side, len(tid))
        + tid
    )


def _book_packer(levels: int) -> Struct:
    packer = _BOOK_PACKERS.get(levels)
    if packer is None:
        packer = _BOOK_PACKERS[levels] = Struct(f"{_BOOK.format}{2 * levels}d")
    return packer


def encode_book(update: BookUpdate) -> bytes:
    """Return the payload of a book-update record (every level, not just the top)."""
    bids, asks = update.bids, update.asks
    nb, na = len(bids), len(asks)
    if nb + na > _PACKED_LEVELS_MAX:  # a big snapshot: no layout per size
        levels = array("d", chain.from_iterable(chain(bids, asks)))
        if _SWAP:
            levels.byteswap()
        head = _BOOK.pack(
            KIND_BOOK, update.ts, update.ts_recv, update.seq, update.is_snapshot, nb, na
        )
        return head + levels.tobytes()
    return _book_packer(nb + na).pack(
        KIND_BOOK,
        update.ts,
        update.ts_recv,
        update.seq,
        update.is_snapshot,
        nb,
        na,
        *chain.from_iterable(bids),
        *chain.from_iterable(asks),
    )


def encode_event(event: DataQualityEvent) -> bytes:
    """Return the payload of a data-quality event record.

    Raises
    ------
    InvalidValueError
        When ``event.details`` is not JSON-serialisable.
    """
    try:
        body = orjson.dumps({"kind": event.kind.value, "details": event.details})
    except TypeError as exc:
        raise InvalidValueError(
            f"data-quality details must be JSON-able, was {event.details!r}"
        ) from exc
    return _STAMPED.pack(KIND_EVENT, event.ts) + body


def encode_raw(raw: RawFrame) -> bytes:
    """Return the payload of a raw-frame record."""
    return _STAMPED.pack(KIND_RAW, raw.ts_recv) + bytes(raw.data)


def decode_record(
    payload: bytes, instrument: InstrumentId, channel: str
) -> Trade | BookUpdate | DataQualityEvent | RawFrame:
    """Return the record in ``payload``, for a segment of ``instrument`` and ``channel``.

    Raises
    ------
    DataError
        When the payload is not a record this version can read.
    """
    try:
        kind = payload[0]
        if kind == KIND_TRADE:
            _, ts, ts_recv, price, qty, side, n = _TRADE.unpack_from(payload)
            start = _TRADE.size
            if len(payload) != start + n:
                raise DataError(f"trade record is {len(payload)} bytes, expected {start + n}")
            tid = payload[start:].decode()
            return Trade(instrument, ts, ts_recv, tid, _SIDES[side], price, qty)
        if kind == KIND_BOOK:
            _, ts, ts_recv, seq, snap, nb, na = _BOOK.unpack_from(payload)
            start = _BOOK.size
            if len(payload) != start + 16 * (nb + na):
                raise DataError(f"book record is {len(payload)} bytes for {nb}+{na} levels")
            if nb + na <= _PACKED_LEVELS_MAX:
                flat = iter(_book_packer(nb + na).unpack_from(payload)[7:])
                levels = list(zip(flat, flat, strict=True))
                bids, asks = levels[:nb], levels[nb:]
            else:
                wide = array("d")
                wide.frombytes(payload[start:])
                if _SWAP:
                    wide.byteswap()
                prices, qtys = wide[0::2], wide[1::2]
                bids = list(zip(prices[:nb], qtys[:nb], strict=True))
                asks = list(zip(prices[nb:], qtys[nb:], strict=True))
            return BookUpdate(instrument, ts, ts_recv, seq, bids, asks, bool(snap))
        if kind == KIND_EVENT:
            _, ts = _STAMPED.unpack_from(payload)
            doc: dict[str, Any] = orjson.loads(payload[_STAMPED.size :])
            return DataQualityEvent(
                venue=instrument.venue,
                channel=channel,
                symbol=instrument.symbol,
                ts=ts,
                kind=DataQualityKind(doc["kind"]),
                details=doc["details"],
            )
        if kind == KIND_RAW:
            _, ts_recv = _STAMPED.unpack_from(payload)
            return RawFrame(
                venue=instrument.venue,
                channel=channel,
                symbol=instrument.symbol,
                ts_recv=ts_recv,
                data=bytes(payload[_STAMPED.size :]),
            )
    except DataError:
        raise
    except (IndexError, ValueError, KeyError, TypeError, StructError) as exc:
        # ValueError covers orjson.JSONDecodeError, UnicodeDecodeError and bad enum values
        raise DataError(f"undecodable record of kind {payload[:1].hex()}: {exc}") from exc
    raise DataError(f"unknown record kind {kind}")


def iter_frames(data: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, payload)`` for each intact frame of ``data`` from ``offset`` on.

    Stops at the end of ``data`` or at the first frame that is torn (cut short) or corrupt
    (bad length or checksum); :func:`check_tail` then says which.
    """
    unpack = FRAME.unpack_from
    crc32 = zlib.crc32
    end = len(data)
    while offset + 8 <= end:
        n, crc = unpack(data, offset)
        stop = offset + 8 + n
        if n == 0 or n > MAX_PAYLOAD or stop > end:
            return
        payload = data[offset + 8 : stop]
        if crc32(payload) != crc:
            return
        yield offset, payload
        offset = stop


def check_tail(data: bytes, offset: int) -> str | None:
    """Return why the frame at ``offset`` could not be read, or None at a clean end."""
    end = len(data)
    if offset == end:
        return None
    if offset + 8 > end:
        return f"torn frame header ({end - offset} of 8 bytes)"
    n, crc = FRAME.unpack_from(data, offset)
    if n == 0 or n > MAX_PAYLOAD:
        return f"corrupt frame length {n}"
    if offset + 8 + n > end:
        return f"torn record ({end - offset - 8} of {n} payload bytes)"
    return "checksum mismatch"

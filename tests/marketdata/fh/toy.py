"""A made-up venue for testing the feedhandler base and the services over it."""

from __future__ import annotations

import json
from decimal import Decimal

from serenity.errors import VenueError
from serenity.exchange.product import Product
from serenity.marketdata import BookUpdate, DataQualityKind, OrderBook, RawFrame, Trade
from serenity.marketdata.fh import FeedHandler
from serenity.marketdata.quality import DataQualityEvent
from serenity.model import InstrumentStatus, InstrumentType, Side


def product(symbol: str) -> Product:
    return Product(
        venue="toy",
        symbol=symbol,
        instrument_type=InstrumentType.CURRENCY_PAIR,
        base=symbol[:3],
        quote=symbol[3:],
        status=InstrumentStatus.TRADING,
        tick_size=Decimal("0.5"),
        lot_size=Decimal(1),
    )


class ListSink:
    """Keep everything a feedhandler delivers, in order, and count crossed books."""

    def __init__(self) -> None:
        self.trades: list[Trade] = []
        self.books: list[BookUpdate] = []
        self.mids: list[float | None] = []
        self.quality: list[DataQualityEvent] = []
        self.raw: list[RawFrame] = []
        self.crossed = 0

    def on_trade(self, trade: Trade) -> None:
        self.trades.append(trade)

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        self.books.append(update)
        self.mids.append(book.mid())
        self.crossed += book.is_crossed()

    def on_quality(self, event: DataQualityEvent) -> None:
        self.quality.append(event)

    def on_raw(self, raw: RawFrame) -> None:
        self.raw.append(raw)

    def kinds(self, symbol: str | None = None, channel: str | None = None) -> list[DataQualityKind]:
        """Return the kinds of the data-quality events, optionally of one stream."""
        return [
            e.kind
            for e in self.quality
            if (symbol is None or e.symbol == symbol) and (channel is None or e.channel == channel)
        ]


class ToyHandler(FeedHandler):
    """A made-up venue: {"trade": [sym, id, side, px, qty]} or {"book": [...]}, {"error": ..}."""

    venue = "toy"

    def subscriptions(self) -> list[str]:
        return [json.dumps({"subscribe": sorted(self.instruments)})]

    def handle(self, data: str | bytes, ts_recv: int) -> None:
        msg = json.loads(data)
        if "error" in msg:
            raise VenueError(f"toy: subscription refused: {msg['error']}", code=msg.get("code"))
        if "trade" in msg:
            sym, tid, side, px, qty = msg["trade"]
            self.publish_trade(
                Trade(self.instrument(sym), ts_recv, ts_recv, str(tid), Side(side), px, qty)
            )
            return
        sym, seq, snap, bids, asks = msg["book"]
        self.publish_book(
            BookUpdate(
                self.instrument(sym),
                ts_recv,
                ts_recv,
                seq,
                [tuple(b) for b in bids],
                [tuple(a) for a in asks],
                snap,
            )
        )

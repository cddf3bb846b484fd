"""Mark prices: what an instrument is worth now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from serenity.errors import UnknownSymbolError
from serenity.marketdata.book import OrderBook
from serenity.marketdata.service import MarketdataService
from serenity.marketdata.types import Trade
from serenity.model import InstrumentId
from serenity.tau import Signal

__all__ = ["MarkService", "MarketdataMarkService"]


@runtime_checkable
class MarkService(Protocol):
    """Prices instruments for P&L."""

    def mark(self, instrument: InstrumentId) -> float | None:
        """Return ``instrument``'s mark price now, or None when there is none yet."""
        ...


class MarketdataMarkService:
    """Mark at the book's mid when the book is two-sided, else at the last trade.

    It adds no node to the graph: a mark is read from the market-data signals when asked,
    so marking costs nothing per tick (and lets trade replays run as batch slices).

    Parameters
    ----------
    marketdata
        Where trades and books come from.
    instruments
        The instruments to mark; their trades (and books, when the service has them) are
        subscribed now.

    Raises
    ------
    UnknownSymbolError
        When the service has no trades for an instrument.
    """

    def __init__(self, marketdata: MarketdataService, instruments: Iterable[InstrumentId]):
        self._trades: dict[InstrumentId, Signal[Trade]] = {}
        self._books: dict[InstrumentId, Signal[OrderBook]] = {}
        for instrument in instruments:
            self._trades[instrument] = marketdata.get_trades(instrument)
            try:
                self._books[instrument] = marketdata.get_order_books(instrument)
            except UnknownSymbolError:
                pass

    @property
    def instruments(self) -> list[InstrumentId]:
        """Return the instruments marked."""
        return list(self._trades)

    def mark(self, instrument: InstrumentId) -> float | None:
        """Return the mid of a two-sided book, else the last trade price, else None."""
        books = self._books.get(instrument)
        if books is not None and books.is_valid():
            mid = books.get_value().mid()
            if mid is not None:
                return mid
        trades = self._trades.get(instrument)
        if trades is not None and trades.is_valid():
            price: float = trades.get_value().price
            return price
        return None

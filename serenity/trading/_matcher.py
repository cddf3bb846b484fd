"""The simulator's book of working orders for one instrument, indexed by the prices at which
a trade matters, and the tau node that feeds it trades and books only while it has orders."""

from __future__ import annotations

import itertools
from bisect import bisect_left, insort
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from serenity.marketdata.book import OrderBook
from serenity.marketdata.types import Trade
from serenity.model import InstrumentId, OrderType, Side
from serenity.tau import Event, Network, Signal
from serenity.tau.batch import Batch
from serenity.trading.contract import ContractSpec
from serenity.trading.orders import Order

_INF: Final = float("inf")
_MARKET: Final = frozenset({OrderType.MARKET, OrderType.STOP_MARKET})

# Where a working order sits in the index.
STOP: Final = "stop"  # untriggered, waiting for a trade at its stop price
REST: Final = "rest"  # a resting limit order, filled by trades at or through its price
TAKE: Final = "take"  # without book data: fills at the next trade (within its limit)
BOOK: Final = "book"  # a market order waiting for book liquidity

Entry = tuple[float, int, "Working"]


class Working:
    """The simulator's view of one working order."""

    __slots__ = (
        "is_buy",
        "is_market",
        "kind",
        "leaves",
        "limit",
        "limit_px",
        "order",
        "place",
        "qty",
        "queue",
        "seq",
        "stop",
        "taken",
        "triggered",
    )

    def __init__(self, order: Order, seq: int) -> None:
        self.order = order
        self.seq = seq
        self.qty = order.qty  # the venue's view of the order's size
        self.is_buy = order.side is Side.BUY
        self.kind = order.order_type
        self.is_market = order.order_type in _MARKET
        self.leaves: Decimal = order.qty
        self.limit_px = order.price
        self.limit = (
            float(order.price) if order.price is not None else _INF if self.is_buy else -_INF
        )
        self.stop = float(order.stop_price) if order.stop_price is not None else None
        self.triggered = self.stop is None
        self.queue = 0.0
        self.taken: dict[float, float] = {}  # book liquidity already taken, by price
        self.place: str | None = None

    def set_limit(self, price: Decimal) -> None:
        self.limit_px = price
        self.limit = float(price)


class Matcher(Event):
    """One instrument's working orders.

    Resting limits are kept sorted by price (bids best first, asks best first) and stops by
    trigger price, so a trade touches only the orders it can fill or trigger, and the batch
    kernel's test is two comparisons per row. The node listens to the instrument's trades
    only while it has orders, and to its books only while a market order waits for
    liquidity.
    """

    __slots__ = (
        "_books",
        "_buy_max",
        "_connected",
        "_every_trade",
        "_on_books",
        "_on_trade",
        "_on_book",
        "_sell_min",
        "_trades",
        "asks",
        "bids",
        "buy_stops",
        "instrument",
        "last_px",
        "network",
        "_seqs",
        "sell_stops",
        "spec",
        "takers",
        "waiting",
    )

    def __init__(
        self,
        network: Network,
        instrument: InstrumentId,
        trades: Signal[Trade],
        books: Signal[OrderBook] | None,
        spec: ContractSpec,
        *,
        on_trade: Callable[[Matcher, Trade], object],
        on_book: Callable[[Matcher], object],
    ) -> None:
        super().__init__(name=f"simulator:{instrument}")
        self.network = network
        self.instrument = instrument
        self.spec = spec
        self._trades = trades
        self._books = books
        self._on_trade = on_trade
        self._on_book = on_book
        self.bids: list[Entry] = []  # key -limit: highest first
        self.asks: list[Entry] = []  # key limit: lowest first
        self.buy_stops: list[Entry] = []  # key stop: lowest first (fires when px >= stop)
        self.sell_stops: list[Entry] = []  # key -stop: highest first (fires when px <= stop)
        self.takers: dict[int, Working] = {}
        self.waiting: dict[int, Working] = {}
        self.last_px: float | None = None
        self._seqs = itertools.count(1)
        self._connected = False
        self._on_books = False
        self._every_trade = False
        self._buy_max = -_INF
        self._sell_min = _INF
        network.attach(self)

    def new(self, order: Order) -> Working:
        """Return a working order for ``order``, not placed yet."""
        return Working(order, next(self._seqs))

    # -- the index -----------------------------------------------------------------------

    def _list(self, w: Working, place: str) -> list[Entry] | None:
        if place == REST:
            return self.bids if w.is_buy else self.asks
        if place == STOP:
            return self.buy_stops if w.is_buy else self.sell_stops
        return None

    @staticmethod
    def _key(w: Working, place: str) -> float:
        if place == REST:
            return -w.limit if w.is_buy else w.limit
        assert w.stop is not None
        return w.stop if w.is_buy else -w.stop

    def put(self, w: Working, place: str) -> None:
        """Place ``w`` (taking it out of where it was)."""
        self.take_out(w)
        w.place = place
        entries = self._list(w, place)
        if entries is not None:
            insort(entries, (self._key(w, place), w.seq, w))
        elif place == TAKE:
            self.takers[w.seq] = w
        else:
            self.waiting[w.seq] = w

    def take_out(self, w: Working) -> None:
        """Remove ``w`` from the index."""
        place = w.place
        if place is None:
            return
        entries = self._list(w, place)
        if entries is not None:
            i = bisect_left(entries, (self._key(w, place), w.seq))
            if i < len(entries) and entries[i][2] is w:
                del entries[i]
        elif place == TAKE:
            self.takers.pop(w.seq, None)
        else:
            self.waiting.pop(w.seq, None)
        w.place = None

    def has_orders(self) -> bool:
        """Return True while any order works."""
        return bool(self.bids or self.asks or self.buy_stops or self.sell_stops) or bool(
            self.takers or self.waiting
        )

    def sync(self) -> None:
        """Recompute which trades matter and (dis)connect from market data to match."""
        buy_max = -self.bids[0][0] if self.bids else -_INF
        if self.sell_stops and -self.sell_stops[0][0] > buy_max:
            buy_max = -self.sell_stops[0][0]
        sell_min = self.asks[0][0] if self.asks else _INF
        if self.buy_stops and self.buy_stops[0][0] < sell_min:
            sell_min = self.buy_stops[0][0]
        self._buy_max, self._sell_min = buy_max, sell_min
        self._every_trade = bool(self.takers)
        want = self.has_orders()
        if want != self._connected:
            if want:
                self.network.connect(self._trades, self)
            else:
                self.network.disconnect(self._trades, self)
            self._connected = want
        on_books = bool(self.waiting) and self._books is not None
        if on_books != self._on_books and self._books is not None:
            if on_books:
                self.network.connect(self._books, self)
            else:
                self.network.disconnect(self._books, self)
            self._on_books = on_books

    # -- market data ---------------------------------------------------------------------

    def book(self) -> OrderBook | None:
        """Return the instrument's current book, or None without book data."""
        books = self._books
        if books is None or not books.is_valid():
            return None
        return books.get_value()

    def on_activate(self) -> bool:
        """Take a trade (or a book update) in; never propagates."""
        network = self.network
        trades = self._trades
        if trades._fired == network._cycle:
            trade: Trade = trades._value
            px = trade.price
            self.last_px = px
            if self._every_trade or px <= self._buy_max or px >= self._sell_min:
                self._on_trade(self, trade)
        books = self._books
        if books is not None and books._fired == network._cycle:
            self._on_book(self)
        return False

    def batch_scan(self, batch: Batch, lo: int, hi: int) -> int:
        """Return the first trade in ``[lo, hi)`` that fills or triggers an order, or ``hi``."""
        if self._every_trade or not batch.has("price"):
            return lo
        px = batch["price"][lo:hi]
        matters = (px <= self._buy_max) | (px >= self._sell_min)
        first = int(matters.argmax())
        return lo + first if matters[first] else hi

    def batch_absorb(self, batch: Batch, lo: int, hi: int) -> None:
        """Remember the last trade price of a slice that touched no order."""
        self.last_px = float(batch["price"][hi - 1])

"""A deterministic synthetic market: trades and L2 book updates for demos, tests and benchmarks.

The model is simple but self-consistent: a book of ``levels`` price levels a side around a
mid that random-walks in ticks; each event is either a trade that takes liquidity at the
touch (the trade and the book delta it causes) or a passive quote change. Every book update
carries the next sequence number, so a consumer can check continuity, and replaying the
updates from the snapshot rebuilds the generator's own book exactly.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from serenity.errors import InvalidValueError
from serenity.marketdata.types import BookLevel, BookUpdate, Trade
from serenity.model import InstrumentId, Side

__all__ = ["SyntheticMarket"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticMarket:
    """Parameters of a synthetic market; iterate :meth:`events` for its messages.

    Parameters
    ----------
    instrument
        Whose market it is.
    start_ns, end_ns
        The venue-time window the events are spread over (ns, UTC).
    events
        How many events (trades plus quote changes) to generate.
    price
        The starting mid.
    tick_size
        Price increment; prices are whole multiples of it.
    levels
        Price levels per side in the snapshot.
    trade_ratio
        Fraction of events that are trades.
    seed
        Seed of the random source: the same parameters give the same messages.

    Raises
    ------
    InvalidValueError
        For a window with ``end_ns <= start_ns``, no events or a bad ratio or size.
    """

    instrument: InstrumentId
    start_ns: int
    end_ns: int
    events: int
    price: float = 42_000.0
    tick_size: float = 0.5
    levels: int = 20
    trade_ratio: float = 0.3
    seed: int = 7

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise InvalidValueError(f"end_ns must be after start_ns, was {self.end_ns}")
        if self.events < 1 or self.levels < 2 or not self.tick_size > 0:
            raise InvalidValueError(
                f"need events >= 1, levels >= 2 and tick_size > 0, was "
                f"{self.events}, {self.levels}, {self.tick_size}"
            )
        if not 0 <= self.trade_ratio <= 1:
            raise InvalidValueError(f"trade_ratio must be in [0, 1], was {self.trade_ratio!r}")

    def messages(self) -> Iterator[Trade | BookUpdate]:
        """Yield the snapshot, then trades and deltas in venue-time order (``ts_recv == ts``)."""
        rng = random.Random(self.seed)
        tick, inst = self.tick_size, self.instrument
        mid_ticks = round(self.price / tick)
        bids: dict[int, float] = {}
        asks: dict[int, float] = {}
        for i in range(1, self.levels + 1):
            bids[mid_ticks - i] = round(rng.uniform(0.1, 5.0), 3)
            asks[mid_ticks + i] = round(rng.uniform(0.1, 5.0), 3)
        seq, trade_id = 1, 1
        t = self.start_ns
        step = (self.end_ns - self.start_ns) / (self.events + 1)
        yield BookUpdate(
            inst, t, t, seq, _levels(bids, tick, True), _levels(asks, tick, False), True
        )
        for _ in range(self.events):
            t = min(self.end_ns, t + max(1, int(rng.expovariate(1.0 / step))))
            seq += 1
            if rng.random() < self.trade_ratio:
                side = Side.BUY if rng.random() < 0.5 else Side.SELL
                book = asks if side is Side.BUY else bids
                best = min(book) if side is Side.BUY else max(book)
                qty = round(min(book[best], rng.uniform(0.001, 2.0)), 3) or book[best]
                left = round(book[best] - qty, 3)
                yield Trade(inst, t, t, str(trade_id), side, best * tick, qty)
                trade_id += 1
                if left > 0:
                    book[best] = left
                    change = (best, left)
                else:
                    del book[best]
                    change = (best, 0.0)
                    # refill the far end so the book keeps its depth
                    far = (max(book) + 1) if side is Side.BUY else (min(book) - 1)
                    book[far] = round(rng.uniform(0.1, 5.0), 3)
                    refill = (far * tick, book[far])
                    yield_levels: list[BookLevel] = [(change[0] * tick, 0.0), refill]
                    if side is Side.BUY:
                        yield BookUpdate(inst, t, t, seq, [], yield_levels)
                    else:
                        yield BookUpdate(inst, t, t, seq, yield_levels, [])
                    continue
                levels: list[BookLevel] = [(change[0] * tick, change[1])]
                if side is Side.BUY:
                    yield BookUpdate(inst, t, t, seq, [], levels)
                else:
                    yield BookUpdate(inst, t, t, seq, levels, [])
            else:
                # A passive quote change placed relative to the opposite touch, so quotes
                # refill the spread that trades open; the far end is trimmed to keep depth.
                is_bid = rng.random() < 0.5
                book = bids if is_bid else asks
                offset = 1 + rng.randint(0, self.levels - 1)
                level = (min(asks) - offset) if is_bid else (max(bids) + offset)
                qty = round(rng.uniform(0.0, 5.0), 3)
                changes: list[BookLevel] = []
                if qty <= 0.05 and len(book) > 2:
                    if book.pop(level, None) is not None:
                        changes.append((level * tick, 0.0))
                else:
                    book[level] = max(qty, 0.1)
                    changes.append((level * tick, book[level]))
                if len(book) > self.levels + 5:
                    far = min(book) if is_bid else max(book)
                    del book[far]
                    changes.append((far * tick, 0.0))
                if not changes:
                    seq -= 1
                    continue
                if is_bid:
                    yield BookUpdate(inst, t, t, seq, changes, [])
                else:
                    yield BookUpdate(inst, t, t, seq, [], changes)


def _levels(book: dict[int, float], tick: float, descending: bool) -> list[BookLevel]:
    return [(p * tick, q) for p, q in sorted(book.items(), reverse=descending)]

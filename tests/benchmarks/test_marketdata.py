"""Throughput of the journal and the order book.

Run with ``python -m pytest tests/benchmarks/test_marketdata.py --benchmark-only``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from serenity.marketdata import BookUpdate, JournalReader, JournalWriter, OrderBook, Trade
from serenity.model import InstrumentId, Side

INST = InstrumentId("binance", "BTCUSDT")
T0 = 1_704_164_400_000_000_000
N_TRADES = 200_000
N_DELTAS = 100_000


@pytest.fixture(scope="session")
def trades() -> list[Trade]:
    rng = random.Random(7)
    return [
        Trade(
            INST,
            T0 + i * 1_000,
            T0 + i * 1_000 + 500,
            str(3_000_000_000 + i),
            Side.BUY if rng.random() < 0.5 else Side.SELL,
            42_000.0 + rng.randint(-500, 500) * 0.1,
            rng.randint(1, 10_000) * 1e-4,
        )
        for i in range(N_TRADES)
    ]


@pytest.fixture(scope="session")
def deltas() -> list[BookUpdate]:
    """Deltas of 1-8 levels a side near the top of a ~2,000-level book, 30% deletes."""
    rng = random.Random(11)
    out = []
    for i in range(N_DELTAS):
        sides: list[list[tuple[float, float]]] = [[], []]
        for side, sign in ((0, -1), (1, 1)):
            for _ in range(rng.randint(1, 8)):
                price = round(42_000.0 + sign * int(rng.expovariate(1 / 200) + 1) * 0.1, 1)
                qty = 0.0 if rng.random() < 0.3 else rng.randint(1, 10_000) * 1e-4
                sides[side].append((price, qty))
        out.append(BookUpdate(INST, T0 + i * 10_000, T0 + i * 10_000 + 500, i + 1, *sides))
    return out


def _append_all(root: Path, records: list[Any], book: bool) -> None:
    with JournalWriter(root) as writer:
        append = writer.append_book if book else writer.append_trade
        for record in records:
            append(record)


def _fresh_dir(tmp_path: Path) -> Any:
    counter = iter(range(1_000))

    def setup() -> tuple[tuple[Path], dict[str, Any]]:
        return (tmp_path / f"run{next(counter)}",), {}

    return setup


def test_journal_append_trades(benchmark, tmp_path: Path, trades: list[Trade]) -> None:
    benchmark.pedantic(
        lambda root: _append_all(root, trades, False),
        setup=_fresh_dir(tmp_path),
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info["records_per_s"] = round(len(trades) / benchmark.stats["mean"])


def test_journal_append_book_deltas(benchmark, tmp_path: Path, deltas: list[BookUpdate]) -> None:
    benchmark.pedantic(
        lambda root: _append_all(root, deltas, True),
        setup=_fresh_dir(tmp_path),
        rounds=3,
        iterations=1,
    )
    benchmark.extra_info["records_per_s"] = round(len(deltas) / benchmark.stats["mean"])


def test_journal_read_back_trades(benchmark, tmp_path: Path, trades: list[Trade]) -> None:
    _append_all(tmp_path, trades, False)
    count = benchmark.pedantic(lambda: sum(1 for _ in JournalReader(tmp_path)), rounds=3)
    assert count == len(trades)
    benchmark.extra_info["records_per_s"] = round(len(trades) / benchmark.stats["mean"])


def test_journal_read_back_book_deltas(benchmark, tmp_path: Path, deltas: list[BookUpdate]) -> None:
    _append_all(tmp_path, deltas, True)
    count = benchmark.pedantic(lambda: sum(1 for _ in JournalReader(tmp_path)), rounds=3)
    assert count == len(deltas)
    benchmark.extra_info["records_per_s"] = round(len(deltas) / benchmark.stats["mean"])


def test_order_book_delta_updates(benchmark, deltas: list[BookUpdate]) -> None:
    def run() -> OrderBook:
        book = OrderBook(INST)
        for update in deltas:
            book.apply(update)
        return book

    book = benchmark.pedantic(run, rounds=3, iterations=1)
    assert book.seq == N_DELTAS
    levels = sum(len(u.bids) + len(u.asks) for u in deltas)
    benchmark.extra_info["updates_per_s"] = round(len(deltas) / benchmark.stats["mean"])
    benchmark.extra_info["levels_per_s"] = round(levels / benchmark.stats["mean"])
    benchmark.extra_info["final_levels"] = book.bid_count() + book.ask_count()

"""End-to-end throughput and latency of the Phemex feedhandler over loopback.

Run with ``python -m pytest tests/benchmarks/test_fh_phemex.py --benchmark-only``. A child
process (so that it does not share this process's CPU) serves pre-built Phemex frames on
127.0.0.1; each round opens a :class:`PhemexFeedHandler` that receives them (aiohttp),
parses and normalises them, applies book deltas to its book and appends everything to a
:class:`JournalWriter` in a fresh folder, and stops after the last one.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from serenity.exchange import phemex
from serenity.marketdata import BookUpdate, JournalWriter, OrderBook, Trade
from serenity.marketdata.fh import FeedConfig, FeedMetrics, JournalSink
from serenity.marketdata.fh.phemex import PhemexFeedHandler
from serenity.marketdata.quality import DataQualityEvent, RawFrame
from tests.marketdata.fh.phemex_server import serve_frames, ws_frame
from tests.venues import payload

N_TRADES = 200_000
N_DELTAS = 200_000
N_PACED = 20_000
PACED_RATE = 10_000  # messages per second
CATALOG = phemex.parse_products(payload("phemex", "products"))
T0 = 1_704_164_400_000_000_000
MID_EP = 420_000_000  # BTCUSD at 42,000.0 (priceScale 4, tick 0.5 = 5,000)
TICK_EP = 5_000


def trade_frames(n: int, seed: int = 3) -> list[bytes]:
    """Return ``n`` one-trade ``trades`` messages for BTCUSD, as websocket frames."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        side = "Buy" if rng.random() < 0.5 else "Sell"
        price = MID_EP + rng.randint(-40, 40) * TICK_EP
        row = [T0 + i * 1_000, side, price, rng.randint(1, 5_000)]
        msg = {"sequence": 10 + 3 * i, "symbol": "BTCUSD", "trades": [row], "type": "incremental"}
        out.append(ws_frame(orjson.dumps(msg)))
    return out


def book_frames(n: int, seed: int = 5) -> list[bytes]:
    """Return a 400-level snapshot then ``n - 1`` deltas of 1-4 levels (30% deletes)."""
    rng = random.Random(seed)

    def message(bids: list[list[int]], asks: list[list[int]], seq: int, kind: str) -> bytes:
        body = {"asks": asks, "bids": bids}
        msg = {"book": body, "depth": 0, "sequence": seq, "symbol": "BTCUSD"}
        msg.update(timestamp=T0 + seq, type=kind)
        return ws_frame(orjson.dumps(msg))

    bids = [[MID_EP - k * TICK_EP, rng.randint(1, 50_000)] for k in range(1, 201)]
    asks = [[MID_EP + k * TICK_EP, rng.randint(1, 50_000)] for k in range(1, 201)]
    out = [message(bids, asks, 100, "snapshot")]
    for i in range(1, n):
        sides: list[list[list[int]]] = [[], []]
        for _ in range(rng.randint(1, 4)):
            side = rng.randint(0, 1)
            k = int(rng.expovariate(1 / 20)) + 1
            price = MID_EP - k * TICK_EP if side == 0 else MID_EP + k * TICK_EP
            sides[side].append([price, 0 if rng.random() < 0.3 else rng.randint(1, 50_000)])
        out.append(message(sides[0], sides[1], 100 + 2 * i, "incremental"))
    return out


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    scenarios = {
        "trades": (trade_frames(N_TRADES), 0.0),
        "book": (book_frames(N_DELTAS), 0.0),
        "paced": (trade_frames(N_PACED, seed=9), float(PACED_RATE)),
    }
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    server = ctx.Process(target=serve_frames, args=(theirs, scenarios), daemon=True)
    server.start()
    port = ours.recv()
    yield f"ws://127.0.0.1:{port}"
    ours.close()
    server.join(timeout=5)
    if server.is_alive():
        server.terminate()


class Counter:
    """A sink that counts deliveries, notes receive-to-journal latency, and stops the feed."""

    def __init__(self, expected: int, handler_box: list[PhemexFeedHandler]) -> None:
        self.expected = expected
        self.box = handler_box
        self.n = 0
        self.latency_ns: list[int] = []
        self.cpu_s = 0.0  # this process's CPU time for the round (the machine is shared)

    def _count(self) -> None:
        self.n += 1
        if self.n == self.expected:
            self.box[0].stop()

    def on_trade(self, trade: Trade) -> None:
        self.latency_ns.append(time.time_ns() - trade.ts_recv)  # after the journal sink
        self._count()

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        self._count()

    def on_quality(self, event: DataQualityEvent) -> None:
        pass

    def on_raw(self, raw: RawFrame) -> None:
        raise AssertionError(f"unparsed frame: {raw.data[:200]!r}")


def record(url: str, channel: str, expected: int, root: Path, *, metrics: bool = False) -> Counter:
    """Record ``/<channel>`` into a journal at ``root`` until ``expected`` deliveries."""

    async def main() -> Counter:
        box: list[PhemexFeedHandler] = []
        counter = Counter(expected, box)
        with JournalWriter(root) as journal:
            config = FeedConfig(
                venue="phemex",
                symbols=("BTCUSD",),
                ws_url=url,
                channels=(channel if channel != "paced" else "trades",),
            )
            handler = PhemexFeedHandler(
                config,
                sinks=[JournalSink(journal), counter],
                catalog=CATALOG,
                metrics=FeedMetrics(_registry()) if metrics else None,
            )
            box.append(handler)
            async with asyncio.timeout(120):
                await handler.run()
        return counter

    cpu = time.process_time()
    counter = asyncio.run(main())
    counter.cpu_s = time.process_time() - cpu
    return counter


def _registry() -> Any:
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


def _rounds(tmp_path: Path) -> Any:
    counter = iter(range(1_000))

    def setup() -> tuple[tuple[Path], dict[str, Any]]:
        return (tmp_path / f"run{next(counter)}",), {}

    return setup


def report(benchmark: Any, n: int, counters: list[Counter]) -> None:
    """Note messages/s by wall clock (mean and best round) and per CPU second of this process."""
    benchmark.extra_info["messages_per_s"] = round(n / benchmark.stats["mean"])
    benchmark.extra_info["best_messages_per_s"] = round(n / benchmark.stats["min"])
    benchmark.extra_info["messages_per_cpu_s"] = round(n / min(c.cpu_s for c in counters))


def test_trade_messages_end_to_end(benchmark: Any, venue_url: str, tmp_path: Path) -> None:
    counters: list[Counter] = []
    benchmark.pedantic(
        lambda root: counters.append(record(f"{venue_url}/trades", "trades", N_TRADES, root)),
        setup=_rounds(tmp_path),
        rounds=3,
        iterations=1,
    )
    assert all(c.n == N_TRADES for c in counters)
    report(benchmark, N_TRADES, counters)


def test_trade_messages_end_to_end_with_metrics(
    benchmark: Any, venue_url: str, tmp_path: Path
) -> None:
    counters: list[Counter] = []
    benchmark.pedantic(
        lambda root: counters.append(
            record(f"{venue_url}/trades", "trades", N_TRADES, root, metrics=True)
        ),
        setup=_rounds(tmp_path),
        rounds=3,
        iterations=1,
    )
    report(benchmark, N_TRADES, counters)


def test_book_delta_messages_end_to_end(benchmark: Any, venue_url: str, tmp_path: Path) -> None:
    counters: list[Counter] = []
    benchmark.pedantic(
        lambda root: counters.append(record(f"{venue_url}/book", "book", N_DELTAS, root)),
        setup=_rounds(tmp_path),
        rounds=3,
        iterations=1,
    )
    assert all(c.n == N_DELTAS for c in counters)
    report(benchmark, N_DELTAS, counters)


def test_receive_to_journal_latency_at_10k_messages_per_s(
    benchmark: Any, venue_url: str, tmp_path: Path
) -> None:
    counters: list[Counter] = []
    benchmark.pedantic(
        lambda root: counters.append(record(f"{venue_url}/paced", "paced", N_PACED, root)),
        setup=_rounds(tmp_path),
        rounds=3,
        iterations=1,
    )
    latencies = sorted(ns for c in counters for ns in c.latency_ns)
    assert len(latencies) == 3 * N_PACED

    def at(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1_000, 1)

    benchmark.extra_info.update(p50_us=at(0.50), p99_us=at(0.99), max_us=at(1.0))
    benchmark.extra_info["messages_per_s"] = round(N_PACED / benchmark.stats["mean"])

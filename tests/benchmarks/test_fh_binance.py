"""Binance feedhandler end to end: loopback server process -> parse -> book -> journal.

Run with ``python -m pytest tests/benchmarks/test_fh_binance.py --benchmark-only``.

The venue runs in its own process (:func:`serve_in_process`), so on this 2-core machine the
feedhandler has a core to itself, as it would against a remote venue. Each round starts a
fresh server (setup, not timed) and a fresh journal; the timed part connects, subscribes,
(for books) fetches the REST snapshot, takes every message through parse -> normalise ->
book update -> journal append, and closes the journal.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from serenity.exchange import binance
from serenity.marketdata import BookUpdate, DataQualityEvent, JournalWriter, OrderBook, RawFrame
from serenity.marketdata import Trade as TradeRecord
from serenity.marketdata.fh import FeedConfig, FeedMetrics, JournalSink
from serenity.marketdata.fh.binance import BinanceFeedHandler
from tests.marketdata.fh.binance_server import PACED_FIRST_ID, serve_in_process
from tests.venues import payload

SYMBOL = "BTCUSDT"
N_TRADES = 200_000
N_DELTAS = 200_000
PACED_RATE = 10_000.0
N_PACED = 20_000
CATALOG = binance.parse_exchange_info(payload("binance", "exchange_info"))


class Probe:
    """A sink placed after the journal: counts, times and signals when ``n`` records arrived."""

    def __init__(self, n: int, *, sent: Sequence[int] | None = None) -> None:
        self.n = n
        self.seen = 0
        self.first_recv = 0
        self.last_done = 0
        self.cpu = (0.0, 0.0)
        self.done = asyncio.Event()
        self.sent = sent  # each paced trade's send time in ns, by its index
        self.recv_to_journal: list[int] = []
        self.send_to_journal: list[int] = []
        self.quality: list[DataQualityEvent] = []

    def _count(self, ts_recv: int) -> None:
        if not self.seen:
            self.first_recv = ts_recv
            self.cpu = (time.process_time(), 0.0)
        self.seen += 1
        if self.seen >= self.n:
            self.last_done = time.time_ns()
            self.cpu = (self.cpu[0], time.process_time())
            self.done.set()

    def rates(self) -> tuple[float, float]:
        """Return records a second from the first receive to the last append: wall, CPU."""
        wall = (self.last_done - self.first_recv) / 1e9
        return self.n / wall, self.n / (self.cpu[1] - self.cpu[0])

    def on_trade(self, trade: TradeRecord) -> None:
        if self.sent is not None:
            now = time.time_ns()
            self.recv_to_journal.append(now - trade.ts_recv)
            self.send_to_journal.append(now - self.sent[int(trade.trade_id) - PACED_FIRST_ID])
        self._count(trade.ts_recv)

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        if not update.is_snapshot:
            self._count(update.ts_recv)

    def on_quality(self, event: DataQualityEvent) -> None:
        self.quality.append(event)

    def on_raw(self, raw: RawFrame) -> None:
        raise AssertionError(f"unparsed frame {raw.data[:80]!r}")


def _start_server(
    kind: str, n: int, rate: float = 0.0, sent: list[Sequence[int]] | None = None
) -> Callable[[], Any]:
    """Return a pedantic setup that starts a server process and hands its port to the round;
    with ``sent``, each round's shared array of paced send times is appended to it."""
    context = multiprocessing.get_context("spawn")

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        parent, child = context.Pipe()
        times = context.Array("q", n, lock=False) if sent is not None else None
        if sent is not None and times is not None:
            sent.append(times)
        process = context.Process(
            target=serve_in_process, args=(child, SYMBOL, kind, n, rate, times), daemon=True
        )
        process.start()
        if not parent.poll(60):
            raise RuntimeError("benchmark server did not start")
        return (parent.recv(), parent, process), {}

    return setup


def _record(
    port: int,
    conn: Connection,
    process: Any,
    root: Path,
    kind: str,
    probe: Probe,
    *,
    with_metrics: bool = True,
) -> BinanceFeedHandler:
    async def main() -> BinanceFeedHandler:
        with JournalWriter(root) as journal:
            handler = BinanceFeedHandler(
                FeedConfig(
                    venue="binance",
                    symbols=(SYMBOL,),
                    ws_url=f"ws://127.0.0.1:{port}",
                    rest_url=f"http://127.0.0.1:{port}",
                    channels=(kind,),
                ),
                sinks=[JournalSink(journal), probe],
                catalog=CATALOG,  # as the recorder runs it: prices checked on the tick grid
                metrics=FeedMetrics(CollectorRegistry()) if with_metrics else None,
            )
            handler.snapshot_delay_s = 0.0
            task = asyncio.create_task(handler.run())
            await asyncio.wait_for(probe.done.wait(), 120)
            handler.stop()
            await task
        return handler

    try:
        return asyncio.run(main())
    finally:
        conn.send("stop")
        process.join(10)


def _rounds(tmp_path: Path) -> Callable[[], Path]:
    counter = iter(range(1_000))
    return lambda: tmp_path / f"run{next(counter)}"


def _report(benchmark: Any, probes: list[Probe], n: int) -> None:
    rates = [p.rates() for p in probes]
    benchmark.extra_info["messages"] = n
    benchmark.extra_info["msgs_per_s_incl_connect"] = round(n / benchmark.stats["mean"])
    benchmark.extra_info["msgs_per_s_streaming"] = round(sum(r[0] for r in rates) / len(rates))
    benchmark.extra_info["msgs_per_cpu_s"] = round(sum(r[1] for r in rates) / len(rates))


@pytest.mark.parametrize("with_metrics", [True, False], ids=["metrics", "no_metrics"])
def test_trades_end_to_end(benchmark: Any, tmp_path: Path, with_metrics: bool) -> None:
    probes: list[Probe] = []
    root = _rounds(tmp_path)

    def run(port: int, conn: Connection, process: Any) -> BinanceFeedHandler:
        probes.append(Probe(N_TRADES))
        return _record(port, conn, process, root(), "trades", probes[-1], with_metrics=with_metrics)

    handler = benchmark.pedantic(
        run, setup=_start_server("trades", N_TRADES), rounds=3, iterations=1
    )

    assert handler.trades == N_TRADES and handler.parse_errors == 0
    _report(benchmark, probes, N_TRADES)


def test_book_deltas_end_to_end(benchmark: Any, tmp_path: Path) -> None:
    probes: list[Probe] = []
    finals: list[Any] = []
    root = _rounds(tmp_path)

    def run(port: int, conn: Connection, process: Any) -> BinanceFeedHandler:
        probes.append(Probe(N_DELTAS))
        handler = _record(port, conn, process, root(), "book", probes[-1])
        finals.append(conn.recv())
        return handler

    handler = benchmark.pedantic(run, setup=_start_server("book", N_DELTAS), rounds=3, iterations=1)

    last_update_id, bids, asks = finals[-1]
    book = handler.books[SYMBOL].book
    assert book.seq == last_update_id and book.depth(100_000) == (bids, asks)
    assert all(not p.quality for p in probes), probes[-1].quality[:3]
    _report(benchmark, probes, N_DELTAS)
    benchmark.extra_info["final_levels"] = book.bid_count() + book.ask_count()


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1_000  # µs


def test_trade_latency_at_10k_msgs_per_s(benchmark: Any, tmp_path: Path) -> None:
    probes: list[Probe] = []
    sent: list[Sequence[int]] = []
    root = _rounds(tmp_path)

    def run(port: int, conn: Connection, process: Any) -> BinanceFeedHandler:
        probes.append(Probe(N_PACED, sent=sent[-1]))
        return _record(port, conn, process, root(), "trades", probes[-1])

    benchmark.pedantic(
        run, setup=_start_server("trades", N_PACED, PACED_RATE, sent), rounds=3, iterations=1
    )

    recv = [v for p in probes for v in p.recv_to_journal]
    sent = [v for p in probes for v in p.send_to_journal]
    assert len(recv) == 3 * N_PACED
    benchmark.extra_info["rate_msgs_per_s"] = PACED_RATE
    for name, values in (("recv_to_journal", recv), ("send_to_journal", sent)):
        for label, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
            benchmark.extra_info[f"{name}_{label}_us"] = round(_pct(values, q), 1)


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")

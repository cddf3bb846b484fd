"""Coinbase feedhandler end to end: loopback server -> parse -> normalise -> book -> journal.

The loopback Coinbase Exchange runs in its own process (``coinbase_server.py``), so the
handler's process does only the client side, as a recorder would. Run with
``python -m pytest tests/benchmarks/test_fh_coinbase.py --benchmark-only``.

- Throughput: 200,000 pre-encoded ``match`` (or ``l2update``) messages of BTC-USD, sent
  as fast as the server can, through a real :class:`CoinbaseFeedHandler` into a real
  :class:`JournalWriter`. ``msgs_per_s`` counts from the first frame received to the last
  record appended; the benchmark's own time also includes connecting and subscribing.
  ``msgs_per_client_cpu_s`` divides by the CPU time of the handler's process instead, which
  other load on the machine (and the server's process) does not inflate.
- Latency: 20,000 messages of ETH-USD paced at 10,000 a second; for each, the time from receipt
  (``ts_recv``) to the end of its journal append, and from the server's send stamp (the
  message's ``time``, microseconds) to the same point.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serenity.marketdata import BookUpdate, JournalWriter, OrderBook, Trade
from serenity.marketdata.fh import FeedConfig, JournalSink
from serenity.marketdata.fh.coinbase import CoinbaseFeedHandler

SERVER = Path(__file__).resolve().parents[1] / "marketdata" / "fh" / "coinbase_server.py"
N = 200_000
PACED_N = 20_000
RATE = 10_000


class TimingSink(JournalSink):
    """Journal everything; note the first receive and the time after each append."""

    def __init__(self, journal: JournalWriter, *, keep_latencies: bool) -> None:
        super().__init__(journal)
        self.since = time.time_ns() if keep_latencies else 0
        self.count = 0
        self.first_recv = 0
        self.last_done = 0
        self.keep = keep_latencies
        self.recv_to_journal: list[int] = []
        self.send_to_journal: list[int] = []
        self.cpu_s = 0.0

    def _done(self, ts: int, ts_recv: int) -> None:
        done = time.time_ns()
        if ts < self.since:
            return  # the last_match of an earlier run, sent on subscribing
        if not self.count:
            self.first_recv = ts_recv
        self.count += 1
        self.last_done = done
        if self.keep:
            self.recv_to_journal.append(done - ts_recv)
            self.send_to_journal.append(done - ts)

    def on_trade(self, trade: Trade) -> None:
        self.journal.append_trade(trade)
        self._done(trade.ts, trade.ts_recv)

    def on_book(self, update: BookUpdate, book: OrderBook) -> None:
        self.journal.append_book(update)
        if not update.is_snapshot:
            self._done(update.ts, update.ts_recv)


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    """Start the loopback server in its own process with both workloads prepared."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), f"trades:{N}", f"book:{N}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        pytest.fail(f"loopback server did not start: {line!r}")
    try:
        yield int(line.split()[1])
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def record(port: int, root: Path, kind: str, n: int, *, rate: int = 0) -> TimingSink:
    """Record ``n`` bench messages of ``kind`` into a journal at ``root``; return the sink.

    Paced runs use ETH-USD, whose state goes on from run to run; unpaced ones replay the
    same prepared BTC-USD frames every time.
    """

    async def main() -> TimingSink:
        symbol = "ETH-USD" if rate else "BTC-USD"
        url = f"ws://127.0.0.1:{port}/?bench={kind}&n={n}&rate={rate}&symbol={symbol}"
        channel = "trades" if kind == "trades" else "book"
        config = FeedConfig(venue="coinbase", symbols=(symbol,), ws_url=url, channels=(channel,))
        with JournalWriter(root) as journal:
            sink = TimingSink(journal, keep_latencies=rate > 0)
            handler = CoinbaseFeedHandler(config, sinks=[sink])
            cpu = time.process_time()
            task = asyncio.create_task(handler.run())
            deadline = time.monotonic() + 120
            while sink.count < n and not task.done() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            sink.cpu_s = time.process_time() - cpu
            handler.stop()
            await task
        assert sink.count == n and handler.parse_errors == 0
        assert all(sync.is_live and sync.resyncs == 0 for sync in handler.books.values())
        return sink

    return asyncio.run(main())


def fresh_dirs(tmp_path: Path) -> Any:
    counter = iter(range(1_000))

    def setup() -> tuple[tuple[Path], dict[str, Any]]:
        return (tmp_path / f"run{next(counter)}",), {}

    return setup


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1_000  # µs


@pytest.mark.parametrize("kind", ["trades", "book"])
def test_throughput(benchmark: Any, server_port: int, tmp_path: Path, kind: str) -> None:
    sinks: list[TimingSink] = []

    def run(root: Path) -> None:
        sinks.append(record(server_port, root, kind, N))

    benchmark.pedantic(run, setup=fresh_dirs(tmp_path), rounds=3, iterations=1)
    rates = [N / ((s.last_done - s.first_recv) / 1e9) for s in sinks]
    benchmark.extra_info["messages"] = N
    benchmark.extra_info["msgs_per_s"] = round(sum(rates) / len(rates))
    benchmark.extra_info["msgs_per_s_best"] = round(max(rates))
    benchmark.extra_info["msgs_per_s_incl_connect"] = round(N / benchmark.stats["mean"])
    benchmark.extra_info["msgs_per_client_cpu_s"] = round(
        N * len(sinks) / sum(s.cpu_s for s in sinks)
    )


@pytest.mark.parametrize("kind", ["trades", "book"])
def test_latency_at_10k_msgs_per_s(
    benchmark: Any, server_port: int, tmp_path: Path, kind: str
) -> None:
    sinks: list[TimingSink] = []

    def run(root: Path) -> None:
        sinks.append(record(server_port, root, kind, PACED_N, rate=RATE))

    benchmark.pedantic(run, setup=fresh_dirs(tmp_path), rounds=3, iterations=1)
    recv = [v for s in sinks for v in s.recv_to_journal]
    sent = [v for s in sinks for v in s.send_to_journal]
    benchmark.extra_info["rate_per_s"] = RATE
    benchmark.extra_info["recv_to_journal_p50_us"] = percentile(recv, 0.50)
    benchmark.extra_info["recv_to_journal_p99_us"] = percentile(recv, 0.99)
    benchmark.extra_info["send_to_journal_p50_us"] = percentile(sent, 0.50)
    benchmark.extra_info["send_to_journal_p99_us"] = percentile(sent, 0.99)

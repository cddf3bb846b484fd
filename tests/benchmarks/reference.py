"""The reference strategy, written four ways, and a generated market to run it on.

1-minute bars from trades; population Bollinger(20, 2) of the closes; flat and close below
the lower band: market buy 1; long and close above the middle: market sell 1; a market order
fills at the price of the next trade; fees 7.5 bps of notional. Every way gives the same
round trips and P&L:

- :func:`run_engine`: the full Serenity engine (replay, ``TimeBars``, ``BollingerBands``, a
  strategy node, the order manager, the exchange simulator, positions and P&L), in batch
  (columnar) or per-event mode;
- :func:`run_backtest`: the same through :func:`serenity.algo.backtest` with the example
  ``reference_bbands`` strategy and config, writing every output (orders, fills, positions,
  P&L sampled each minute, marks) to Parquet as it goes;
- :func:`run_object_loop`: a plain Python loop over ``Trade`` objects;
- :func:`run_vectorised`: bars computed with NumPy per batch, a Python loop over bars;
- :func:`run_array_loop`: a plain Python loop over the arrays' values, no objects.

``python tests/benchmarks/reference.py MODE N`` runs one of them in a fresh process and prints
its figures, peak RSS included, as JSON.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Final

import numpy as np
import pyarrow as pa

from serenity.marketdata import Trade
from serenity.marketdata.historic import TableMarketdataService
from serenity.model import InstrumentId, Side
from serenity.position import PositionService
from serenity.signal.bars import TimeBars
from serenity.signal.indicators import BollingerBands
from serenity.signal.indicators._base import RollingVariance, RunningMean
from serenity.tau import HistoricNetworkScheduler
from serenity.tau.event import Lambda
from serenity.tau.signal import Map
from serenity.trading import (
    ExchangeSimulator,
    OrderFactory,
    OrderManagerService,
    OrderPlacerService,
    SimulatorConfig,
)

T0: Final = 1_704_153_600 * 10**9  # 2024-01-02 UTC
BAR_NS: Final = 60 * 10**9
SPACING_NS: Final = 100_000_000  # a trade every 100 ms on average
BATCH: Final = 65_536
FEE_BPS: Final = 7.5
INSTRUMENT: Final = InstrumentId("coinbase", "BTC-USD")
WINDOW: Final = 20
NUM_STD: Final = 2.0


def market(n: int, seed: int = 7) -> Iterator[pa.RecordBatch]:
    """Yield ``n`` generated trades in batches: a random walk with random spacing."""
    rng = np.random.default_rng(seed)
    last_t, last_px, done, ids = T0, 40_000.0, 0, 0
    while done < n:
        k = min(BATCH, n - done)
        gaps = rng.integers(1, 2 * SPACING_NS, k)
        ts = last_t + np.cumsum(gaps)
        px = np.round(last_px + np.cumsum(rng.normal(0.0, 2.0, k)), 2)
        qty = np.round(rng.exponential(0.05, k) + 0.001, 4)
        side = np.where(rng.random(k) < 0.5, 1, -1).astype(np.int8)
        last_t, last_px = int(ts[-1]), float(px[-1])
        yield pa.RecordBatch.from_pydict(
            {
                "ts": ts,
                "ts_recv": ts,
                "trade_id": pa.array(np.arange(ids, ids + k).astype(str)),
                "side": side,
                "price": px,
                "qty": qty,
            }
        )
        done += k
        ids += k


@dataclass(slots=True)
class Result:
    """What a run did: round trips (entries), fills, net P&L after fees, ticks."""

    fills: int
    pnl: float
    fees: float
    ticks: int

    def same_as(self, other: Result) -> bool:
        return (
            self.fills == other.fills
            and math.isclose(self.pnl, other.pnl, rel_tol=1e-9, abs_tol=1e-6)
            and math.isclose(self.fees, other.fees, rel_tol=1e-9, abs_tol=1e-9)
        )


class _Rule:
    """The strategy's decision, shared by every implementation: bands of bar closes."""

    __slots__ = ("mean", "var")

    def __init__(self) -> None:
        self.mean = RunningMean(WINDOW)
        self.var = RollingVariance(WINDOW)

    def update(self, close: float, long: bool) -> int:
        """Return +1 to buy, -1 to sell, 0 to hold after a bar closing at ``close``."""
        variance = self.var.update(close)
        middle = self.mean.update(close)
        if middle is None or variance is None:
            return 0
        width = (math.sqrt(variance) if variance != 0.0 else 0.0) * NUM_STD
        if not long and close < middle - width:
            return 1
        if long and close > middle:
            return -1
        return 0


def _decide(close: float, middle: float, lower: float, long: bool) -> int:
    if not long and close < lower:
        return 1
    if long and close > middle:
        return -1
    return 0


def run_engine(batches: Iterator[pa.RecordBatch], *, batch: bool, end: int | None = None) -> Result:
    """Run the reference strategy through the whole Serenity engine."""
    sched = HistoricNetworkScheduler(
        T0, end if end is not None else T0 + 400 * 86_400 * 10**9, batch=batch
    )
    md = TableMarketdataService(sched, trades={INSTRUMENT: batches})
    placers = OrderPlacerService()
    config = SimulatorConfig(maker_fee_bps=FEE_BPS, taker_fee_bps=FEE_BPS)
    sim = ExchangeSimulator(sched, md, [INSTRUMENT], config)
    placers.register("simulator:default", sim)
    oms = OrderManagerService(sched, placers)
    positions = PositionService(sched, oms.fills)
    factory = OrderFactory("sim", prefix="bt-")
    trades = md.get_trades(INSTRUMENT)
    bars = TimeBars(sched, trades, BAR_NS)
    closes = Map(sched.network, bars, lambda bar: bar.close)
    bands = BollingerBands(sched.network, closes, WINDOW, NUM_STD)

    def on_bands(close: float, b: Any) -> None:
        if b is None or not sched.network.has_activated(bands) or oms.working_orders():
            return
        long = positions.qty("sim", INSTRUMENT) > 0
        action = _decide(close, b.middle, b.lower, long)
        if action:
            oms.submit(factory.market(INSTRUMENT, "BUY" if action > 0 else "SELL", 1))

    Lambda(sched.network, [closes, bands], on_bands, name="strategy")
    stats = sched.run()
    position = positions.position("sim", INSTRUMENT)
    fills = sum(1 for o in oms.all_orders() for _ in range(1) if o.cum_qty)
    pnl = float(position.realised_pnl - position.fees)
    return Result(fills, pnl, float(position.fees), stats.events - _timers(stats))


def window_end(n: int) -> int:
    """Return an end instant safely after ``n`` generated trades (their mean spacing is
    ``SPACING_NS``; the sum of ``n`` gaps is within a fraction of a percent of its mean)."""
    return T0 + int(n * SPACING_NS * 1.02) + 10**12


def run_backtest(
    batches: Iterator[pa.RecordBatch], *, n: int, batch: bool = True, out: str | None = None
) -> Result:
    """Run the example ``reference_bbands`` config through the algo engine's backtest."""
    import tempfile
    from importlib.resources import files
    from pathlib import Path

    from serenity.algo import backtest, load_config

    config = load_config(Path(str(files("serenity.examples") / "reference_bbands.yaml")))
    folder = out or tempfile.mkdtemp(prefix="serenity-bench-")
    result = backtest(
        config,
        start=T0,
        end=window_end(n),
        marketdata=lambda s: TableMarketdataService(s, trades={INSTRUMENT: batches}),
        out=Path(folder) / "run",
        record=False,
        report=False,
        batch=batch,
    )
    s = result.statistics
    return Result(s.fills, float(s.net_pnl or 0.0), float(s.fees or 0.0), result.ticks)


def _timers(stats: Any) -> int:
    return stats.events - stats.batched - stats.per_event


def run_object_loop(batches: Iterator[pa.RecordBatch]) -> Result:
    """Run the reference strategy as a plain Python loop over ``Trade`` objects."""
    sides = {1: Side.BUY, -1: Side.SELL}.__getitem__
    rule = _Rule()
    long = False
    pending = 0  # +1 / -1: a market order waiting for the next trade
    bar_end = 0
    close = 0.0
    fees = pnl = 0.0
    entry = 0.0
    fills = ticks = 0
    fee_rate = FEE_BPS / 10_000
    for rb in batches:
        ts = rb.column("ts").to_pylist()
        side = map(sides, rb.column("side").to_pylist())
        price, qty = rb.column("price").to_pylist(), rb.column("qty").to_pylist()
        for t in map(Trade, repeat(INSTRUMENT), ts, ts, repeat(""), side, price, qty):
            ticks += 1
            if t.ts >= bar_end and bar_end:
                # the bar closed at bar_end (before this trade): decide on its close
                action = rule.update(close, long)
                if action:
                    pending = action
            if pending:
                px = t.price
                fees += px * fee_rate
                fills += 1
                if pending > 0:
                    entry, long = px, True
                else:
                    pnl += px - entry
                    long = False
                pending = 0
            if t.ts >= bar_end:
                bar_end = t.ts - t.ts % BAR_NS + BAR_NS
            close = t.price
    return Result(fills, pnl - fees, fees, ticks)


def run_array_loop(batches: Iterator[pa.RecordBatch]) -> Result:
    """Run the reference strategy as a plain Python loop over arrays: each batch's columns as
    lists, one iteration per trade keeping the bar's open, high, low, close, volume,
    notional and count, as the engine's bars do (no objects per trade)."""
    rule = _Rule()
    long = False
    pending = 0
    bar_end = 0
    close = high = low = opened = volume = notional = 0.0
    count = 0
    fees = pnl = 0.0
    entry = 0.0
    fills = ticks = 0
    fee_rate = FEE_BPS / 10_000
    for rb in batches:
        ts_list = rb.column("ts").to_pylist()
        px_list = rb.column("price").to_pylist()
        qty_list = rb.column("qty").to_pylist()
        ticks += len(ts_list)
        for t, px, q in zip(ts_list, px_list, qty_list, strict=True):
            if t >= bar_end:
                if bar_end:
                    action = rule.update(close, long)
                    if action:
                        pending = action
                bar_end = t - t % BAR_NS + BAR_NS
                opened = high = low = px
                volume = notional = 0.0
                count = 0
            if pending:
                fees += px * fee_rate
                fills += 1
                if pending > 0:
                    entry, long = px, True
                else:
                    pnl += px - entry
                    long = False
                pending = 0
            if px > high:
                high = px
            elif px < low:
                low = px
            close = px
            volume += q
            notional += px * q
            count += 1
    del opened
    return Result(fills, pnl - fees, fees, ticks)


def run_vectorised(batches: Iterator[pa.RecordBatch]) -> Result:
    """Run the reference strategy over arrays: each batch's bars computed with NumPy (open,
    high, low, close, volume, notional and trade count, as the engine's bars carry), then a
    Python loop over the bars for the rule and the fills."""
    rule = _Rule()
    long = False
    fees = pnl = 0.0
    entry = 0.0
    fills = ticks = 0
    fee_rate = FEE_BPS / 10_000
    pending = 0
    open_bar = -1
    open_close = 0.0
    # The bar in progress across batches: high, low, volume, notional, count.
    agg = [-np.inf, np.inf, 0.0, 0.0, 0]
    for rb in batches:
        ts = rb.column("ts").to_numpy()
        px = rb.column("price").to_numpy()
        qty = rb.column("qty").to_numpy()
        ticks += len(ts)
        bar = ts // BAR_NS
        starts = np.flatnonzero(np.diff(bar)) + 1  # first trade of each later bar
        firsts = np.concatenate(([0], starts))
        lasts = np.concatenate((starts - 1, [len(px) - 1]))
        highs = np.maximum.reduceat(px, firsts)
        lows = np.minimum.reduceat(px, firsts)
        volumes = np.add.reduceat(qty, firsts)
        notionals = np.add.reduceat(px * qty, firsts)
        counts = np.diff(np.concatenate((firsts, [len(px)])))
        closes = px[lasts]
        for j, first in enumerate(firsts.tolist()):
            b = int(bar[first])
            if b != open_bar:
                if open_bar >= 0:
                    action = rule.update(open_close, long)
                    if action:
                        pending = action
                open_bar = b
                agg = [-np.inf, np.inf, 0.0, 0.0, 0]
            agg[0] = max(agg[0], highs[j])
            agg[1] = min(agg[1], lows[j])
            agg[2] += volumes[j]
            agg[3] += notionals[j]
            agg[4] += counts[j]
            if pending:
                p = float(px[first])
                fees += p * fee_rate
                fills += 1
                if pending > 0:
                    entry, long = p, True
                else:
                    pnl += p - entry
                    long = False
                pending = 0
            open_close = float(closes[j])
    return Result(fills, pnl - fees, fees, ticks)


def peak_rss_mb() -> float:
    """Return this process's peak resident memory in MB (VmHWM: unlike ``ru_maxrss`` on
    Linux, it does not carry the parent's peak across ``exec``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def write_market(n: int, path: str) -> None:
    """Write ``n`` generated trades to the Parquet file ``path``, batch by batch."""
    import pyarrow.parquet as pq

    batches = market(n)
    first = next(batches)
    with pq.ParquetWriter(path, first.schema, compression="zstd") as writer:
        writer.write_batch(first)
        for rb in batches:
            writer.write_batch(rb)


def read_market(path: str) -> Iterator[pa.RecordBatch]:
    """Stream the batches of a Parquet file of trades, without pre-buffering (a pre-buffered
    read keeps every range it has read, so memory would grow with the file)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=BATCH)


def stored(n: int, folder: str) -> Callable[[], Iterator[pa.RecordBatch]]:
    """Write ``n`` generated trades to a Parquet file once; return a reader of its batches
    (streamed, so memory stays flat in ``n``)."""
    path = f"{folder}/trades-{n}.parquet"
    write_market(n, path)
    return lambda: read_market(path)


def main(argv: list[str]) -> None:
    """``reference.py MODE N [FILE]``: run one way over N trades (from FILE, a Parquet file
    of generated trades, when given; generated into a temporary file first otherwise)."""
    import tempfile

    mode, n = argv[0], int(argv[1])
    with tempfile.TemporaryDirectory() as folder:
        # generated and written before the clock starts
        data = read_market(argv[2]) if len(argv) > 2 else stored(n, folder)()
        start = time.perf_counter()
        if mode == "batch":
            result = run_engine(data, batch=True)
        elif mode == "per_event":
            result = run_engine(data, batch=False)
        elif mode == "backtest":
            result = run_backtest(data, n=n)
        elif mode == "backtest_per_event":
            result = run_backtest(data, n=n, batch=False)
        elif mode == "objects":
            result = run_object_loop(data)
        elif mode == "arrays":
            result = run_array_loop(data)
        elif mode == "vectorised":
            result = run_vectorised(data)
        elif mode == "generate":
            result = Result(0, 0.0, 0.0, 0)
        else:
            raise SystemExit(f"unknown mode {mode!r}")
        wall = time.perf_counter() - start
    print(
        json.dumps(
            {
                "mode": mode,
                "ticks": n,
                "wall_s": round(wall, 3),
                "ticks_per_s": round(n / wall),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "fills": result.fills,
                "pnl": result.pnl,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])

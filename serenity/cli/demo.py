"""``serenity demo``: a self-contained run of the reactive core over a generated day."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterator

from serenity.tau import HistoricNetworkScheduler, MutableSignal
from serenity.tau.math import ExponentialMovingAverage, Stddev
from serenity.tau.signal import BufferWithTime, Map

__all__ = ["run_demo"]

log = logging.getLogger(__name__)

_DAY = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
_NS_PER_S = 1_000_000_000


def _random_walk(start_ns: int, n: int, seed: int = 7) -> Iterator[tuple[int, float]]:
    rng = random.Random(seed)
    price = 42_000.0
    t = start_ns
    for _ in range(n):
        t += int(rng.expovariate(1 / 0.5) * _NS_PER_S) + 1
        price *= 1.0 + rng.gauss(0.0, 0.0002)
        yield t, price


def run_demo(*, quiet: bool = False) -> None:
    """Replay a generated trading day through 5-minute bars and a 12-bar EMA; print a table."""
    start = int(_DAY.timestamp()) * _NS_PER_S
    end = start + 86_400 * _NS_PER_S
    scheduler = HistoricNetworkScheduler(start, end)
    net = scheduler.network
    prices: MutableSignal[float] = MutableSignal(name="prices")
    buckets = BufferWithTime(scheduler, prices, dt.timedelta(minutes=5), name="5m")
    closes = Map(net, buckets, lambda b: b[-1], name="close")
    ema = ExponentialMovingAverage(net, closes, span=12, name="ema12")
    vol = Stddev(net, closes, ddof=1, name="stddev")
    rows: list[tuple[str, int, float, float]] = []

    def record(bucket: list[float]) -> float:
        rows.append((scheduler.get_clock().get_time().strftime("%H:%M"), len(bucket), 0.0, 0.0))
        return bucket[-1]

    Map(net, buckets, record)
    log.info("demo.replay", extra={"day": _DAY.date().isoformat(), "ticks": 150_000})
    scheduler.replay(prices, _random_walk(start, 150_000))
    stats = scheduler.run()
    print(f"replayed {stats.events:,} events; {len(rows)} five-minute bars")
    print(
        f"last close {closes.get_value():,.2f}  ema12 {ema.get_value():,.2f}  "
        f"stddev of closes {vol.get_value():,.2f}"
    )
    print("bar   ticks")
    for label, n, *_ in rows[:6]:
        print(f"{label} {n:6d}")

"""Performance statistics of a run, from its equity curve (``pnl``) and its fills.

Definitions (the docs, ``docs/analytics.rst``, give the same with examples):

- The **equity curve** is ``pnl.equity`` by ``ts``; of rows with the same ``ts`` the last
  counts. The run spans from its first to its last row. The **starting capital** is
  ``equity - net`` of the first row.
- **Period returns**: the curve is cut into UTC bars of the return frequency (``1D``,
  ``1h`` or ``1min``); a bar's close is the last equity in it; bars without rows are skipped
  (a return can then span several bars, e.g. a weekend for equities). The first return is
  from the starting capital to the first close, each next one from close to close. The
  frequency, unless given, is the coarsest of 1D, 1h and 1min that gives at least
  :data:`MIN_PERIODS` bars over the span (1min when none does). ``periods_per_year`` is
  ``days_per_year`` (365 for crypto, 252 for equities) times the bars in a day.
- **sharpe** = mean(r) / std(r, ddof=1) × √P; **sortino** = mean(r) × √P / √mean(min(r, 0)²);
  **volatility** = std(r, ddof=1) × √P; **annual_return** = (E_end / E_start)^(P / n) - 1
  over n returns (risk-free rate 0; the definitions of empyrical).
- **max_drawdown**: the largest fall of equity from its running peak (starting capital
  included), as a fraction of the peak, ≤ 0, over every row (not only bar closes).
- **total_return** = net / starting capital.
- **turnover** = traded notional (Σ qty × price of the fills) / starting capital.
- **round trips**: per (account, instrument) the position is followed fill by fill; a trip
  opens when it leaves flat and closes when it is flat again; a fill that reverses the
  position closes one trip and opens the next with the rest (its fee is split pro rata). A
  trip's P&L is its cash flow (sells minus buys) minus its fees; **win_rate** is the share of
  closed trips with P&L > 0.
- **exposure_time**: the share of the run's span during which some position is open.

Undefined values (no returns, zero volatility, no losing period, no capital, no closed trip)
are None, never NaN, so the summary is valid JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from serenity.errors import InvalidValueError
from serenity.tau import format_ns

if TYPE_CHECKING:
    from serenity.analytics.benchmark import BenchmarkComparison

__all__ = [
    "FREQUENCIES",
    "MIN_PERIODS",
    "RoundTrip",
    "RunStatistics",
    "choose_frequency",
    "compute_statistics",
    "equity_curve",
    "exposure_intervals",
    "fill_roles",
    "max_drawdown",
    "period_returns",
    "periods_per_year",
    "round_trips",
    "starting_capital",
]

_NS_PER_DAY: Final = 86_400 * 1_000_000_000
FREQUENCIES: Final = {
    "1D": _NS_PER_DAY,
    "1h": 3_600 * 1_000_000_000,
    "1min": 60 * 1_000_000_000,
}
"""The return frequencies, coarsest first, with their bar width in ns."""
MIN_PERIODS: Final = 30
"""Bars the run must span for a frequency to be chosen automatically."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundTrip:
    """One trip of a position from flat back to flat in one instrument of one account.

    ``close_ts`` and ``pnl`` are None while the trip is still open. ``direction`` is
    ``"LONG"`` or ``"SHORT"``; ``pnl`` is sells minus buys minus fees.
    """

    account: str
    instrument: str
    direction: str
    open_ts: int
    close_ts: int | None
    pnl: float | None
    fills: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStatistics:
    """A run's summary statistics; see the module docstring for each definition.

    Amounts are in ``currency``; ratios are fractions (0.05 is 5%); None means undefined.
    """

    start_ns: int | None
    end_ns: int | None
    ticks: int
    wall_seconds: float
    ticks_per_second: float | None
    orders: int
    fills: int
    round_trips: int
    currency: str | None
    starting_capital: float
    ending_equity: float
    realised_pnl: float
    unrealised_pnl: float
    fees: float
    net_pnl: float
    total_return: float | None
    annual_return: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    traded_notional: float
    turnover: float | None
    win_rate: float | None
    exposure_time: float | None
    return_frequency: str | None
    periods_per_year: float | None
    periods: int
    benchmark: BenchmarkComparison | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """Return the statistics as JSON-ready values (times also as ISO-8601 text)."""
        values = {
            name: getattr(self, name) for name in self.__dataclass_fields__ if name != "benchmark"
        }
        values["start"] = None if self.start_ns is None else format_ns(self.start_ns)
        values["end"] = None if self.end_ns is None else format_ns(self.end_ns)
        if self.benchmark is not None:
            values["benchmark"] = self.benchmark.to_dict()
        return values


def equity_curve(pnl: pd.DataFrame) -> pd.Series:
    """Return ``pnl.equity`` indexed by ``ts`` (int ns), sorted, the last row per ``ts``."""
    if pnl.empty:
        return pd.Series([], index=pd.Index([], dtype="int64"), dtype="float64")
    frame = pnl[["ts", "equity"]].sort_values("ts", kind="stable")
    frame = frame.drop_duplicates("ts", keep="last")
    return pd.Series(
        frame["equity"].to_numpy(dtype="float64"),
        index=pd.Index(frame["ts"].to_numpy(dtype="int64")),
        name="equity",
    )


def starting_capital(pnl: pd.DataFrame) -> float:
    """Return the run's starting capital: ``equity - net`` of its first row (0 if none)."""
    if pnl.empty:
        return 0.0
    first = pnl.sort_values("ts", kind="stable").iloc[0]
    return float(first["equity"] - first["net"])


def choose_frequency(span_ns: int) -> str:
    """Return the coarsest of 1D, 1h, 1min with at least :data:`MIN_PERIODS` bars in the span."""
    for name, width in FREQUENCIES.items():
        if span_ns >= MIN_PERIODS * width:
            return name
    return "1min"


def periods_per_year(frequency: str, *, days_per_year: float = 365.0) -> float:
    """Return the bars of ``frequency`` in a year of ``days_per_year`` days.

    Raises
    ------
    InvalidValueError
        For a frequency other than 1D, 1h or 1min, or a non-positive year.
    """
    width = _width(frequency)
    if not days_per_year > 0:
        raise InvalidValueError(f"days_per_year must be > 0, was {days_per_year!r}")
    return float(days_per_year) * _NS_PER_DAY / width


def period_returns(values: pd.Series, *, frequency: str, initial: float) -> pd.Series:
    """Return the simple returns of ``values`` (indexed by int ns) over UTC bars.

    Parameters
    ----------
    values
        Equity (or prices) by time, sorted, one value per time.
    frequency
        ``1D``, ``1h`` or ``1min``.
    initial
        The value before the first bar (the starting capital, or a first price).

    Returns
    -------
    pandas.Series
        One return per bar that has values, indexed by the bar's start (UTC times).
    """
    width = _width(frequency)
    if values.empty:
        return pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="float64")
    ts = values.index.to_numpy(dtype="int64")
    bars = pd.Series(values.to_numpy(dtype="float64")).groupby(ts // width).last()
    closes = bars.to_numpy()
    previous = np.concatenate(([float(initial)], closes[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = closes / previous - 1.0
    index = pd.to_datetime(bars.index.to_numpy(dtype="int64") * width, utc=True)
    return pd.Series(returns, index=index, name="return")


def max_drawdown(equity: Iterable[float], *, initial: float | None = None) -> float | None:
    """Return the largest fall from a running peak as a fraction of the peak (≤ 0).

    ``initial`` (the starting capital) counts as the first peak. None when there is no
    value or the peak is not positive.
    """
    values = np.fromiter(equity, dtype="float64")
    if initial is not None:
        values = np.concatenate(([float(initial)], values))
    if values.size == 0:
        return None
    peaks = np.maximum.accumulate(values)
    if not (peaks > 0).all():
        return None
    return _finite(float((values / peaks - 1.0).min()))


@dataclass(slots=True)
class _OpenTrip:
    """A trip being followed: its direction, opening time, cash flow, fees and fill count."""

    account: str
    instrument: str
    direction: float
    open_ts: int
    cash: float
    fees: float
    fills: int = 1

    def add(self, signed_qty: float, price: float, fee: float) -> None:
        self.cash -= signed_qty * price
        self.fees += fee
        self.fills += 1

    def finish(self, close_ts: int | None) -> RoundTrip:
        return RoundTrip(
            account=self.account,
            instrument=self.instrument,
            direction="LONG" if self.direction > 0 else "SHORT",
            open_ts=self.open_ts,
            close_ts=close_ts,
            pnl=None if close_ts is None else self.cash - self.fees,
            fills=self.fills,
        )


def _walk(fills: pd.DataFrame) -> tuple[list[RoundTrip], np.ndarray]:
    """Follow each position fill by fill: the round trips and each fill's role."""
    trips: list[RoundTrip] = []
    roles = np.empty(len(fills), dtype=object)
    if fills.empty:
        return trips, roles
    ts = fills["ts"].to_numpy(dtype="int64")
    qty = fills["qty"].to_numpy(dtype="float64")
    price = fills["price"].to_numpy(dtype="float64")
    fee = fills["fee"].to_numpy(dtype="float64")
    sign = np.where(fills["side"].astype(str).str.upper().to_numpy() == "BUY", 1.0, -1.0)
    accounts = fills["account"].astype(str).to_numpy()
    instruments = fills["instrument"].astype(str).to_numpy()
    groups: dict[tuple[str, str], list[int]] = {}
    for i in np.argsort(ts, kind="stable"):
        groups.setdefault((accounts[i], instruments[i]), []).append(int(i))
    for (account, instrument), rows in groups.items():
        eps = 1e-9 * float(np.abs(qty[rows]).max())
        position = 0.0
        trip: _OpenTrip | None = None
        for i in rows:
            signed = sign[i] * qty[i]
            if trip is None:
                trip = _OpenTrip(
                    account, instrument, sign[i], int(ts[i]), -signed * price[i], fee[i]
                )
                position = signed
                roles[i] = "entry"
            elif sign[i] == trip.direction:
                trip.add(signed, price[i], fee[i])
                position += signed
                roles[i] = "entry"
            else:
                closing = min(qty[i], abs(position))
                share = closing / qty[i] if qty[i] else 1.0
                trip.add(sign[i] * closing, price[i], fee[i] * share)
                position += signed
                if abs(position) <= eps:
                    trips.append(trip.finish(int(ts[i])))
                    trip, position = None, 0.0
                    roles[i] = "exit"
                elif np.sign(position) != trip.direction:
                    trips.append(trip.finish(int(ts[i])))
                    rest = sign[i] * (qty[i] - closing)
                    trip = _OpenTrip(
                        account,
                        instrument,
                        sign[i],
                        int(ts[i]),
                        -rest * price[i],
                        fee[i] * (1 - share),
                    )
                    roles[i] = "reverse"
                else:
                    roles[i] = "exit"
        if trip is not None:
            trips.append(trip.finish(None))
    trips.sort(key=lambda t: (t.open_ts, t.account, t.instrument))
    return trips, roles


def round_trips(fills: pd.DataFrame) -> list[RoundTrip]:
    """Return the round trips of the fills (open ones last in their instrument), by open time.

    ``fills`` needs ``ts``, ``account``, ``instrument``, ``side``, ``qty``, ``price`` and
    ``fee``. A position counts as flat within 1e-9 of the instrument's largest fill.
    """
    return _walk(fills)[0]


def fill_roles(fills: pd.DataFrame) -> pd.Series:
    """Return each fill's role, aligned with ``fills``: ``entry``, ``exit`` or ``reverse``.

    An entry opens or adds to a position, an exit reduces or closes it, a reverse closes it
    and opens the other way.
    """
    return pd.Series(_walk(fills)[1], index=fills.index, name="role", dtype=object)


def exposure_intervals(trips: Iterable[RoundTrip], *, end_ns: int) -> list[tuple[int, int]]:
    """Return the merged time intervals during which some trip was open (open ones end at
    ``end_ns``)."""
    spans = sorted((t.open_ts, end_ns if t.close_ts is None else t.close_ts) for t in trips)
    merged: list[tuple[int, int]] = []
    for start, stop in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def compute_statistics(
    pnl: pd.DataFrame,
    fills: pd.DataFrame,
    *,
    orders: int = 0,
    ticks: int = 0,
    wall_seconds: float = 0.0,
    ticks_per_second: float | None = None,
    frequency: str | None = None,
    days_per_year: float = 365.0,
) -> RunStatistics:
    """Return a run's statistics from its equity curve and fills.

    Parameters
    ----------
    pnl
        The ``pnl`` table (``ts``, ``realised``, ``unrealised``, ``fees``, ``net``,
        ``equity``, ``currency``).
    fills
        The ``fills`` table (``ts``, ``account``, ``instrument``, ``side``, ``qty``,
        ``price``, ``fee``).
    orders
        Orders the run placed.
    ticks, wall_seconds, ticks_per_second
        The engine's counts; ``ticks_per_second`` defaults to ticks / wall seconds.
    frequency
        The return frequency, ``1D``, ``1h`` or ``1min``; chosen from the span when omitted.
    days_per_year
        365 for markets that trade every day (crypto), 252 for equities.

    Raises
    ------
    InvalidValueError
        For an unknown frequency or a non-positive year.
    """
    curve = equity_curve(pnl)
    capital = starting_capital(pnl)
    start = int(curve.index[0]) if len(curve) else None
    end = int(curve.index[-1]) if len(curve) else None
    if frequency is None:
        frequency = choose_frequency(0 if start is None or end is None else end - start)
    per_year = periods_per_year(frequency, days_per_year=days_per_year)
    last = pnl.sort_values("ts", kind="stable").iloc[-1] if not pnl.empty else None
    has_capital = capital > 0

    returns = period_returns(curve, frequency=frequency, initial=capital) if has_capital else None
    r = returns.to_numpy() if returns is not None else np.array([])
    notional = float((fills["qty"].abs() * fills["price"]).sum()) if not fills.empty else 0.0
    trips, _ = _walk(fills)
    closed = [t for t in trips if t.pnl is not None]
    exposure = None
    if start is not None and end is not None and end > start:
        spans = exposure_intervals(trips, end_ns=end)
        covered = sum(max(0, min(b, end) - max(a, start)) for a, b in spans)
        exposure = covered / (end - start)
    if ticks_per_second is None and wall_seconds > 0:
        ticks_per_second = ticks / wall_seconds
    net = float(last["net"]) if last is not None else 0.0
    return RunStatistics(
        start_ns=start,
        end_ns=end,
        ticks=int(ticks),
        wall_seconds=float(wall_seconds),
        ticks_per_second=_finite(ticks_per_second),
        orders=int(orders),
        fills=len(fills),
        round_trips=len(closed),
        currency=None if last is None else str(last["currency"]),
        starting_capital=capital,
        ending_equity=float(curve.iloc[-1]) if len(curve) else capital,
        realised_pnl=float(last["realised"]) if last is not None else 0.0,
        unrealised_pnl=float(last["unrealised"]) if last is not None else 0.0,
        fees=float(last["fees"]) if last is not None else 0.0,
        net_pnl=net,
        total_return=_finite(net / capital) if has_capital else None,
        annual_return=_annual_return(r, per_year),
        volatility=_finite(float(np.std(r, ddof=1)) * math.sqrt(per_year)) if r.size > 1 else None,
        sharpe=_sharpe(r, per_year),
        sortino=_sortino(r, per_year),
        max_drawdown=max_drawdown(curve.to_numpy(), initial=capital) if has_capital else None,
        traded_notional=notional,
        turnover=_finite(notional / capital) if has_capital else None,
        win_rate=(sum(1 for t in closed if t.pnl is not None and t.pnl > 0) / len(closed))
        if closed
        else None,
        exposure_time=exposure,
        return_frequency=frequency if returns is not None else None,
        periods_per_year=per_year if returns is not None else None,
        periods=int(r.size),
    )


def _sharpe(r: np.ndarray, per_year: float) -> float | None:
    if r.size < 2:
        return None
    std = float(np.std(r, ddof=1))
    return _finite(float(np.mean(r)) / std * math.sqrt(per_year)) if std > 0 else None


def _sortino(r: np.ndarray, per_year: float) -> float | None:
    if r.size < 1:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return _finite(float(np.mean(r)) * math.sqrt(per_year) / downside) if downside > 0 else None


def _annual_return(r: np.ndarray, per_year: float) -> float | None:
    if r.size < 1:
        return None
    growth = float(np.prod(1.0 + r))
    if growth <= 0:
        return None
    try:
        return _finite(growth ** (per_year / r.size) - 1.0)
    except OverflowError:
        return None  # a short run of gains, annualised, exceeds a float


def _width(frequency: str) -> int:
    try:
        return FREQUENCIES[frequency]
    except KeyError:
        raise InvalidValueError(
            f"return frequency {frequency!r} is not one of {', '.join(FREQUENCIES)}"
        ) from None


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None

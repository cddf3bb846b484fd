"""What a strategy sees of prices and corporate actions on a session, and never later.

:class:`PriceTable` holds the daily bars of a run on its calendar's sessions (rows dated off
a session are dropped and their dividend and split move to the next session).
:class:`PricingContext` shows it as of one session: that session's bar and the history up to
it, split-adjusted by default. :class:`DividendContext` shows the dividends and splits.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import numpy as np
import pandas as pd

from serenity.errors import InvalidValueError, UnknownSymbolError
from serenity.trading.orders import to_decimal

__all__ = ["FIELDS", "Bar", "DividendContext", "PriceTable", "PricingContext"]

log = logging.getLogger(__name__)

FIELDS: Final = ("open", "high", "low", "close", "volume", "dividend", "split")
"""The per-day fields of a :class:`PriceTable`."""
_PRICES: Final = frozenset({"open", "high", "low", "close"})


@dataclass(frozen=True, slots=True)
class Bar:
    """One symbol's day: prices as traded, volume, dividend per unit and split ratio."""

    date: dt.date
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    dividend: Decimal
    split: Decimal


class PriceTable:
    """Daily bars of several symbols on a list of sessions, as arrays (session × symbol).

    Parameters
    ----------
    frame
        A price table (:data:`~serenity.strategy.prices.COLUMNS`).
    sessions
        The calendar's session dates, sorted; the table's rows.
    symbols
        The symbols kept, in order (others are dropped).
    """

    def __init__(
        self, frame: pd.DataFrame, sessions: Sequence[dt.date], symbols: Sequence[str]
    ) -> None:
        self.dates: list[dt.date] = list(sessions)
        self.symbols: list[str] = list(symbols)
        self._row = {d: i for i, d in enumerate(self.dates)}
        self._col = {s: j for j, s in enumerate(self.symbols)}
        shape = (len(self.dates), len(self.symbols))
        self._arrays = {f: np.full(shape, np.nan) for f in FIELDS}
        self._arrays["dividend"][:] = 0.0
        self._arrays["split"][:] = 1.0
        rows = frame[frame["symbol"].isin(self.symbols)]
        if self.dates and not rows.empty:
            self._fill(rows)
        self._cum_split = np.cumprod(self._arrays["split"], axis=0)
        # The latest close on or before each session, and the split level of its day.
        closes = pd.DataFrame(self._arrays["close"])
        self._last_close = closes.ffill().to_numpy()
        self._last_cum = (
            pd.DataFrame(np.where(np.isnan(self._arrays["close"]), np.nan, self._cum_split))
            .ffill()
            .to_numpy()
        )

    def _fill(self, rows: pd.DataFrame) -> None:
        dates = rows["date"].tolist()
        positions = np.searchsorted(
            np.array(self.dates, dtype=object), np.array(dates, dtype=object)
        )
        on_session = np.array([d in self._row for d in dates], dtype=bool)
        cols = np.array([self._col[s] for s in rows["symbol"]], dtype=np.int64)
        inside = positions < len(self.dates)
        keep = on_session & inside
        for field in ("open", "high", "low", "close", "volume"):
            values = rows[field].to_numpy(dtype="float64")
            self._arrays[field][positions[keep], cols[keep]] = values[keep]
        # Corporate actions dated off a session take effect on the next session.
        moved = inside & (rows["date"].to_numpy(dtype=object) >= self.dates[0])
        dividend = rows["dividend"].to_numpy(dtype="float64")
        split = rows["split"].to_numpy(dtype="float64")
        np.add.at(self._arrays["dividend"], (positions[moved], cols[moved]), dividend[moved])
        np.multiply.at(self._arrays["split"], (positions[moved], cols[moved]), split[moved])
        off = ~on_session & inside & moved
        if off.any():
            first = rows[off].iloc[0]
            log.warning(
                "invest.prices.off_session",
                extra={
                    "rows": int(off.sum()),
                    "first": f"{first['symbol']} {first['date']}",
                    "hint": "bars dated off the calendar's sessions are ignored; their "
                    "dividends and splits move to the next session",
                },
            )

    def __repr__(self) -> str:
        return f"PriceTable({len(self.dates)} sessions x {len(self.symbols)} symbols)"

    def row(self, day: dt.date) -> int:
        """Return the row of session ``day``.

        Raises
        ------
        InvalidValueError
            When ``day`` is not one of the table's sessions.
        """
        try:
            return self._row[day]
        except KeyError:
            raise InvalidValueError(f"{day} is not a session of the price table") from None

    def column(self, symbol: str) -> int:
        """Return the column of ``symbol``.

        Raises
        ------
        UnknownSymbolError
            When the table has no such symbol.
        """
        try:
            return self._col[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"no prices of {symbol!r}; symbols: {', '.join(self.symbols)}"
            ) from None

    def value(self, field: str, row: int, symbol: str) -> float:
        """Return one field of one day (NaN when the symbol has no bar that day)."""
        return float(self._arrays[field][row, self.column(symbol)])

    def has_bar(self, row: int, symbol: str) -> bool:
        """Return whether ``symbol`` traded (has a close) on session ``row``."""
        return not math.isnan(self._arrays["close"][row, self.column(symbol)])

    def count_bars(self, first: int = 0) -> int:
        """Return the bars (symbol-days with a close) from session row ``first`` on."""
        return int((~np.isnan(self._arrays["close"][first:])).sum())

    def bar(self, row: int, symbol: str) -> Bar | None:
        """Return the bar of ``symbol`` on session ``row``, or None when it has none."""
        j = self.column(symbol)
        if math.isnan(self._arrays["close"][row, j]):
            return None
        values = [self._arrays[f][row, j] for f in FIELDS]
        o, h, lo, c, v, d, s = (to_decimal(float(x), what="price") for x in values)
        return Bar(self.dates[row], o, h, lo, c, v, d, s)

    def last_close(self, row: int, symbol: str) -> float:
        """Return the latest close of ``symbol`` on or before session ``row`` (NaN if none),
        in units of that session (split-adjusted)."""
        j = self.column(symbol)
        return float(self._last_close[row, j] * self._last_cum[row, j] / self._cum_split[row, j])

    def history(
        self, symbol: str, field: str, row: int, *, days: int | None, adjusted: bool
    ) -> pd.Series:
        """Return ``field`` of ``symbol`` for the sessions up to ``row`` (the last ``days``).

        Prices and volumes are split-adjusted to session ``row`` when ``adjusted``.
        """
        if field not in FIELDS:
            raise InvalidValueError(
                f"price field must be one of {', '.join(FIELDS)}, was {field!r}"
            )
        j = self.column(symbol)
        first = 0 if days is None else max(0, row + 1 - days)
        values = self._arrays[field][first : row + 1, j].copy()
        if adjusted and field in _PRICES | {"volume", "dividend"}:
            # After a 2-for-1 split the factor of earlier days is 0.5: their prices halve and
            # their volumes double, in today's units.
            factor = self._cum_split[first : row + 1, j] / self._cum_split[row, j]
            values = values / factor if field == "volume" else values * factor
        return pd.Series(
            values, index=pd.Index(self.dates[first : row + 1], name="date"), name=symbol
        )

    def total_return_index(self, symbol: str, first: int, last: int) -> pd.Series:
        """Return the value of one unit of ``symbol`` bought at the close of session ``first``
        and held, splits applied and dividends reinvested at the close, up to ``last``.

        Days without a bar carry the last value.
        """
        j = self.column(symbol)
        close = self._arrays["close"][:, j]
        split = self._arrays["split"][:, j]
        dividend = self._arrays["dividend"][:, j]
        index = []
        value = previous = math.nan
        ratio = 1.0  # splits since the last close (a split may fall on a day without a bar)
        for i in range(first, last + 1):
            c = float(close[i])
            if not math.isnan(previous):
                ratio *= float(split[i])
            if math.isnan(c):
                index.append(value)
                continue
            if math.isnan(value):
                value = c
            else:
                value *= ratio * (c + float(dividend[i])) / previous
            previous, ratio = c, 1.0
            index.append(value)
        return pd.Series(index, index=pd.Index(self.dates[first : last + 1]), name=symbol)


class PricingContext:
    """Prices as of one session: its bar and the history up to it, never later.

    Prices are as traded; :meth:`history` adjusts earlier prices for later splits (up to
    this session) unless told not to.
    """

    def __init__(self, table: PriceTable, row: int) -> None:
        self._table = table
        self._row = row

    @property
    def date(self) -> dt.date:
        """Return the session's date."""
        return self._table.dates[self._row]

    def bar(self, symbol: str) -> Bar | None:
        """Return today's bar of ``symbol``, or None when it did not trade today."""
        return self._table.bar(self._row, symbol)

    def close(self, symbol: str) -> Decimal | None:
        """Return today's close of ``symbol``, or None when it did not trade today."""
        value = self._table.value("close", self._row, symbol)
        return None if math.isnan(value) else to_decimal(value, what="close")

    def price(self, symbol: str) -> Decimal | None:
        """Return the latest close of ``symbol`` up to today (split-adjusted), or None."""
        value = self._table.last_close(self._row, symbol)
        return None if math.isnan(value) else to_decimal(value, what="close")

    def history(
        self, symbol: str, field: str = "close", days: int | None = None, *, adjusted: bool = True
    ) -> pd.Series:
        """Return ``field`` of ``symbol`` by session up to today (NaN where it did not trade).

        Parameters
        ----------
        symbol
            The tradable.
        field
            ``open``, ``high``, ``low``, ``close``, ``volume``, ``dividend`` or ``split``.
        days
            Only the last ``days`` sessions; all loaded history when omitted.
        adjusted
            Adjust earlier prices, volumes and dividends for later splits (the default).
        """
        return self._table.history(symbol, field, self._row, days=days, adjusted=adjusted)

    def closes(self, days: int | None = None, *, adjusted: bool = True) -> pd.DataFrame:
        """Return the closes of every symbol, one column each, up to today."""
        return pd.DataFrame(
            {
                s: self._table.history(s, "close", self._row, days=days, adjusted=adjusted)
                for s in self._table.symbols
            }
        )


class DividendContext:
    """Dividends and splits as of one session."""

    def __init__(self, table: PriceTable, row: int) -> None:
        self._table = table
        self._row = row

    def today(self) -> dict[str, Decimal]:
        """Return the dividends per unit going ex today, by symbol (only those paying)."""
        out = {}
        for symbol in self._table.symbols:
            value = self._table.value("dividend", self._row, symbol)
            if value > 0:
                out[symbol] = to_decimal(value, what="dividend")
        return out

    def splits_today(self) -> dict[str, Decimal]:
        """Return today's splits (new units per old), by symbol."""
        out = {}
        for symbol in self._table.symbols:
            value = self._table.value("split", self._row, symbol)
            if value != 1.0:
                out[symbol] = to_decimal(value, what="split")
        return out

    def history(self, symbol: str, days: int | None = None) -> pd.Series:
        """Return the dividends per unit of ``symbol`` up to today, on the days it paid,
        split-adjusted to today."""
        series = self._table.history(symbol, "dividend", self._row, days=days, adjusted=True)
        return series[series > 0]

"""Daily prices: price files (CSV or Parquet) and daily bars built from the tick store.

Both sources give the same long table, one row per (date, symbol): ``date``, ``symbol``,
``open``, ``high``, ``low``, ``close``, ``volume``, ``dividend`` and ``split``.

- A **price file** has those columns (names in any case; ``dividends`` and ``stock splits``
  are accepted too). Prices are as traded, *not* adjusted: a split shows as a jump, and the
  ``split`` column (new units per old, 2 for a 2-for-1, 0.5 for a 1-for-2 reverse split;
  empty, 0 or 1 for none) on its ex-date tells the backtester to adjust holdings. ``dividend``
  is the cash per unit going ex on that date (per unit after that day's split).
- **The tick store** gives crypto: a daily bar per UTC day from the stored trades of an
  instrument (open = first trade, close = last, volume = traded quantity), no dividends or
  splits.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from serenity.errors import ConfigError, DataError, UnknownSymbolError
from serenity.model import InstrumentId

__all__ = [
    "COLUMNS",
    "PriceFile",
    "PriceSource",
    "TickstorePrices",
    "daily_bars",
    "read_prices",
]

log = logging.getLogger(__name__)

COLUMNS: Final = ("date", "symbol", "open", "high", "low", "close", "volume", "dividend", "split")
"""The columns of a price table, in order."""
_REQUIRED: Final = COLUMNS[:7]
_ALIASES: Final = {"dividends": "dividend", "stock splits": "split", "splits": "split"}
_NS_PER_DAY: Final = 86_400 * 10**9


class PriceSource(Protocol):
    """Where daily prices come from."""

    @property
    def description(self) -> str:
        """Return what it reads, for run records (a file path or a store URL)."""
        ...

    def symbols(self) -> list[str]:
        """Return the symbols it has, sorted."""
        ...

    def load(self, symbols: Sequence[str], first: dt.date, last: dt.date) -> pd.DataFrame:
        """Return the price table of ``symbols`` from ``first`` to ``last`` (both included),
        sorted by date then symbol.

        Raises
        ------
        UnknownSymbolError
            When a symbol has no prices at all.
        """
        ...


def read_prices(path: str | Path) -> pd.DataFrame:
    """Return a price file (``.csv``, ``.parquet`` or ``.pq``) as a checked price table.

    Raises
    ------
    ConfigError
        When the file cannot be read.
    DataError
        For a missing column, a duplicate (date, symbol), or a price that is missing or not
        positive, naming the file and the row.
    """
    file = Path(path).expanduser()
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            raw = pd.read_parquet(file)
        else:
            raw = pd.read_csv(file)
    except FileNotFoundError:
        raise ConfigError(f"price file {str(file)!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read price file {str(file)!r}: {exc}") from exc
    return _checked(raw, str(file))


def _checked(raw: pd.DataFrame, where: str) -> pd.DataFrame:
    frame = raw.rename(columns=lambda c: _ALIASES.get(str(c).strip().lower(), str(c).lower()))
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(
            f"price file {where} lacks column(s) {missing}; it needs {', '.join(_REQUIRED)} "
            "(dividend and split are optional)"
        )
    out = pd.DataFrame(
        {"date": _dates(frame["date"], where), "symbol": frame["symbol"].astype(str)}
    )
    for column in ("open", "high", "low", "close", "volume"):
        out[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column, default in (("dividend", 0.0), ("split", 1.0)):
        values = (
            pd.to_numeric(frame[column], errors="coerce").astype("float64")
            if column in frame.columns
            else pd.Series(default, index=frame.index, dtype="float64")
        )
        if column == "split":
            values = values.where(values.notna() & (values != 0.0), 1.0)
        out[column] = values.fillna(default)
    bad = out[
        ~(out["close"] > 0)
        | ~(out["open"] > 0)
        | (out["volume"] < 0)
        | (out["dividend"] < 0)
        | (out["split"] < 0)
    ]
    if not bad.empty:
        row = bad.iloc[0]
        raise DataError(
            f"price file {where}: {row['symbol']} on {row['date']} has open {row['open']}, "
            f"close {row['close']}, volume {row['volume']}, dividend {row['dividend']}, split "
            f"{row['split']}; prices must be > 0, the rest >= 0"
        )
    out["high"] = out["high"].fillna(out[["open", "close"]].max(axis=1))
    out["low"] = out["low"].fillna(out[["open", "close"]].min(axis=1))
    out["volume"] = out["volume"].fillna(0.0)
    twice = out.duplicated(["date", "symbol"], keep=False)
    if twice.any():
        row = out[twice].iloc[0]
        raise DataError(f"price file {where}: {row['symbol']} on {row['date']} appears twice")
    return out.sort_values(["date", "symbol"], kind="stable").reset_index(drop=True)


def _dates(column: pd.Series, where: str) -> pd.Series:
    try:
        stamps = pd.to_datetime(column)
    except (ValueError, TypeError) as exc:
        raise DataError(f"price file {where}: dates must be YYYY-MM-DD: {exc}") from None
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.Series([d.date() for d in stamps], index=column.index, dtype=object)


class PriceFile:
    """Daily prices from a CSV or Parquet file (see the module docstring for its columns).

    The file is read once, when first needed.

    Parameters
    ----------
    path
        The file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._frame: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return f"PriceFile({str(self.path)!r})"

    @property
    def description(self) -> str:
        """Return the file's path."""
        return str(self.path)

    @property
    def frame(self) -> pd.DataFrame:
        """Return the whole checked price table."""
        if self._frame is None:
            self._frame = read_prices(self.path)
        return self._frame

    def symbols(self) -> list[str]:
        """Return the file's symbols, sorted."""
        return sorted(set(self.frame["symbol"]))

    def load(self, symbols: Sequence[str], first: dt.date, last: dt.date) -> pd.DataFrame:
        """Return the rows of ``symbols`` dated ``first`` to ``last``."""
        frame = self.frame
        known = set(frame["symbol"])
        for symbol in symbols:
            if symbol not in known:
                raise UnknownSymbolError(
                    f"price file {self.path} has no prices of {symbol!r}; it has "
                    f"{', '.join(sorted(known))}"
                )
        keep = frame["symbol"].isin(list(symbols)) & (frame["date"] >= first)
        keep &= frame["date"] <= last
        return frame[keep].reset_index(drop=True)


def daily_bars(batches: Iterable[pa.RecordBatch], *, symbol: str) -> pd.DataFrame:
    """Return the UTC-day bars of time-ordered trade batches (``ts``, ``price``, ``qty``).

    Open is a day's first trade, close its last, volume the quantity traded; memory holds
    one batch and one row per day.
    """
    days: list[int] = []
    rows: list[list[float]] = []
    for batch in batches:
        ts = np.asarray(batch.column("ts"), dtype="int64")
        if ts.size == 0:
            continue
        price = np.asarray(batch.column("price"), dtype="float64")
        qty = np.asarray(batch.column("qty"), dtype="float64")
        day = ts // _NS_PER_DAY
        starts = np.flatnonzero(np.concatenate(([True], day[1:] != day[:-1])))
        ends = np.concatenate((starts[1:], [ts.size])) - 1
        highs = np.maximum.reduceat(price, starts)
        lows = np.minimum.reduceat(price, starts)
        volumes = np.add.reduceat(qty, starts)
        for k, first in enumerate(starts.tolist()):
            d = int(day[first])
            o, h, lo, c, v = (
                price[first],
                highs[k],
                lows[k],
                price[ends[k]],
                volumes[k],
            )
            if days and days[-1] == d:  # the day goes on from the last batch
                bar = rows[-1]
                bar[1], bar[2], bar[3], bar[4] = max(bar[1], h), min(bar[2], lo), c, bar[4] + v
            else:
                days.append(d)
                rows.append([float(o), float(h), float(lo), float(c), float(v)])
    values = np.array(rows, dtype="float64").reshape(-1, 5)
    epoch = dt.date(1970, 1, 1)
    return pd.DataFrame(
        {
            "date": pd.Series([epoch + dt.timedelta(days=d) for d in days], dtype=object),
            "symbol": pd.Series([symbol] * len(days), dtype=object).astype(str),
            "open": values[:, 0],
            "high": values[:, 1],
            "low": values[:, 2],
            "close": values[:, 3],
            "volume": values[:, 4],
            "dividend": np.zeros(len(days)),
            "split": np.ones(len(days)),
        }
    )


class TickstorePrices:
    """Daily bars of crypto instruments, built from the tick store's trades (UTC days).

    Parameters
    ----------
    url
        The tick store (``file:///data/ticks``, ``azure://container``).
    as_of
        Read the store as it was at this instant (int ns); now when omitted.

    Symbols are instrument codes (``BTC-USD@coinbase``); each venue's trades are read from
    its ``<VENUE>_TRADES`` table.
    """

    def __init__(self, url: str, *, as_of: int | None = None) -> None:
        self.url = url
        self.as_of = as_of

    def __repr__(self) -> str:
        return f"TickstorePrices({self.url!r})"

    @property
    def description(self) -> str:
        """Return the store's URL."""
        return self.url

    def symbols(self) -> list[str]:
        """Return every stored instrument code of the store's trade tables, sorted."""
        from serenity.marketdata.tickstore import list_tables, open_tickstore

        found = []
        for table in list_tables(self.url):
            if table.endswith("_TRADES"):
                venue = table.removesuffix("_TRADES").lower()
                found += [f"{s}@{venue}" for s in open_tickstore(self.url, table).symbols()]
        return sorted(found)

    def load(self, symbols: Sequence[str], first: dt.date, last: dt.date) -> pd.DataFrame:
        """Return the daily bars of ``symbols`` (instrument codes) from ``first`` to ``last``.

        Raises
        ------
        UnknownSymbolError
            When the store lacks the venue's trade table or the symbol.
        """
        from serenity.marketdata.tickstore import list_tables, open_tickstore

        tables = set(list_tables(self.url))
        frames = []
        start = pd.Timestamp(first, tz="UTC")
        end = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
        for code in symbols:
            instrument = _instrument(code)
            table = f"{instrument.venue.upper()}_TRADES"
            if table not in tables:
                raise UnknownSymbolError(
                    f"the tick store {self.url} has no {table} table for {code}; tables: "
                    f"{sorted(tables) or 'none'}"
                )
            store = open_tickstore(self.url, table)
            if instrument.symbol not in store.symbols():
                raise UnknownSymbolError(
                    f"the tick store {self.url} has no trades of {instrument.symbol} in {table}"
                )
            batches = store.scan(
                instrument.symbol,
                int(start.value),
                int(end.value),
                self.as_of,
                columns=["ts", "price", "qty"],
            )
            frames.append(daily_bars(batches, symbol=str(instrument)))
            log.info(
                "invest.prices.loaded",
                extra={"instrument": str(instrument), "days": len(frames[-1])},
            )
        if not frames:
            return pd.DataFrame({c: [] for c in COLUMNS})
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["date", "symbol"], kind="stable").reset_index(drop=True)


def _instrument(code: str) -> InstrumentId:
    symbol, sep, venue = code.rpartition("@")
    if sep and symbol and venue:
        return InstrumentId(venue.lower(), symbol)
    venue, sep, symbol = code.partition(":")
    if sep and venue and symbol:
        return InstrumentId(venue.lower(), symbol)
    raise ConfigError(f"a tick-store tradable is written VENUE:SYMBOL, was {code!r}")

"""USD prices of assets at a time, for valuing crypto-to-crypto trades, fees and income.

Two sources: the database's ``instrument_mark`` rows of ``ASSET/USD`` currency pairs
(:class:`DatabaseMarks`) and a CSV price file (:class:`PriceFile`). :class:`UsdPrices`
asks them in turn and raises when none has a price: a missing mark is an error that names
the asset and the time, never a zero.

The price used is the one nearest in time within ``max_age`` (one day by default), the
earlier one on a tie, so a daily closing-price file values every trade of its day.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from serenity.errors import DataError, InvalidValueError
from serenity.model import Currency, Instrument, InstrumentMark, InstrumentType
from serenity.tax._csv import parse_time
from serenity.tax.records import USD

__all__ = ["DatabaseMarks", "PriceFile", "PriceSource", "UsdPrices"]

DEFAULT_MAX_AGE = dt.timedelta(days=1)


class PriceSource(Protocol):
    """Somewhere USD prices can be found."""

    name: str

    def find(self, asset: str, ts: dt.datetime, max_age: dt.timedelta) -> Decimal | None:
        """Return the USD price of ``asset`` nearest ``ts`` within ``max_age``, or None."""
        ...


def _nearest(
    times: Sequence[dt.datetime], prices: Sequence[Decimal], ts: dt.datetime, age: dt.timedelta
) -> Decimal | None:
    i = bisect.bisect_right(times, ts)
    best: tuple[dt.timedelta, Decimal] | None = None
    if i > 0 and ts - times[i - 1] <= age:
        best = (ts - times[i - 1], prices[i - 1])
    if i < len(times) and times[i] - ts <= age and (best is None or times[i] - ts < best[0]):
        best = (times[i] - ts, prices[i])
    return None if best is None else best[1]


class PriceFile:
    """USD prices read from a CSV file with the header ``asset,ts,price_usd``.

    ``ts`` is an ISO date (``2024-03-01``, meaning 00:00 UTC) or date-time; ``price_usd`` a
    decimal. Rows may come in any order.

    Parameters
    ----------
    path
        The CSV file.

    Raises
    ------
    DataError
        When the file lacks a column or a row does not parse.
    """

    def __init__(self, path: str | Path) -> None:
        self.name = str(path)
        series: dict[str, list[tuple[dt.datetime, Decimal]]] = {}
        try:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = {"asset", "ts", "price_usd"} - set(reader.fieldnames or ())
                if missing:
                    raise DataError(
                        f"price file {path}: missing column(s) {sorted(missing)}; expected the"
                        " header asset,ts,price_usd"
                    )
                for row in reader:
                    where = f"price file {path} line {reader.line_num}"
                    try:
                        price = Decimal(row["price_usd"].strip())
                    except InvalidOperation:
                        raise DataError(
                            f"{where}: price {row['price_usd']!r} is not a number"
                        ) from None
                    if not price.is_finite() or price <= 0:
                        raise DataError(f"{where}: price must be > 0, was {row['price_usd']!r}")
                    ts = parse_time(row["ts"], where=where)
                    series.setdefault(row["asset"].strip().upper(), []).append((ts, price))
        except OSError as exc:
            raise DataError(f"cannot read price file {path}: {exc.strerror or exc}") from exc
        self._times: dict[str, list[dt.datetime]] = {}
        self._prices: dict[str, list[Decimal]] = {}
        for asset, points in series.items():
            points.sort(key=lambda p: p[0])
            self._times[asset] = [t for t, _ in points]
            self._prices[asset] = [p for _, p in points]

    def find(self, asset: str, ts: dt.datetime, max_age: dt.timedelta) -> Decimal | None:
        """Return the file's price of ``asset`` nearest ``ts`` within ``max_age``, or None."""
        times = self._times.get(asset)
        return None if times is None else _nearest(times, self._prices[asset], ts, max_age)


class DatabaseMarks:
    """USD prices from ``instrument_mark`` rows of the currency pair ``ASSET/USD``.

    Parameters
    ----------
    engine
        The database.
    mark_source
        Only marks from this source (``instrument_mark.source``); any source when None.
    """

    def __init__(self, engine: Engine, *, mark_source: str | None = None) -> None:
        self.name = "instrument_mark" + (f" ({mark_source})" if mark_source else "")
        self._engine = engine
        self._mark_source = mark_source
        self._instruments: dict[str, list[int]] = {}

    def _instrument_ids(self, session: Session, asset: str) -> list[int]:
        if asset not in self._instruments:
            base, quote = aliased(Currency), aliased(Currency)
            query = (
                sa.select(Instrument.id)
                .join(base, Instrument.base_currency_id == base.id)
                .join(quote, Instrument.quote_currency_id == quote.id)
                .where(
                    Instrument.instrument_type == InstrumentType.CURRENCY_PAIR,
                    base.code == asset,
                    quote.code == USD,
                )
            )
            self._instruments[asset] = list(session.scalars(query))
        return self._instruments[asset]

    def find(self, asset: str, ts: dt.datetime, max_age: dt.timedelta) -> Decimal | None:
        """Return the mark of ``ASSET/USD`` nearest ``ts`` within ``max_age``, or None."""
        with Session(self._engine) as session:
            ids = self._instrument_ids(session, asset)
            if not ids:
                return None
            where: list[sa.ColumnElement[bool]] = [InstrumentMark.instrument_id.in_(ids)]
            if self._mark_source is not None:
                where.append(InstrumentMark.source == self._mark_source)
            before = session.execute(
                sa.select(InstrumentMark.ts, InstrumentMark.price)
                .where(*where, InstrumentMark.ts <= ts, InstrumentMark.ts >= ts - max_age)
                .order_by(InstrumentMark.ts.desc(), InstrumentMark.source)
                .limit(1)
            ).first()
            after = session.execute(
                sa.select(InstrumentMark.ts, InstrumentMark.price)
                .where(*where, InstrumentMark.ts > ts, InstrumentMark.ts <= ts + max_age)
                .order_by(InstrumentMark.ts, InstrumentMark.source)
                .limit(1)
            ).first()
        times = [row[0] for row in (before, after) if row is not None]
        prices = [row[1] for row in (before, after) if row is not None]
        return _nearest(times, prices, ts, max_age)


class UsdPrices:
    """Ask price sources in turn for an asset's USD price at a time.

    Parameters
    ----------
    sources
        The sources, first asked first (e.g. a price file, then the database's marks).
    max_age
        How far from the time a price may be; one day by default.
    """

    def __init__(
        self, sources: Iterable[PriceSource], *, max_age: dt.timedelta = DEFAULT_MAX_AGE
    ) -> None:
        if max_age < dt.timedelta(0):
            raise InvalidValueError(f"max_age must be >= 0, was {max_age}")
        self._sources = list(sources)
        self._max_age = max_age
        self._cache: dict[tuple[str, dt.datetime], Decimal] = {}

    def find(self, asset: str, ts: dt.datetime) -> Decimal | None:
        """Return the USD price of one unit of ``asset`` at ``ts``, or None when none is known."""
        if asset == USD:
            return Decimal(1)
        key = (asset, ts)
        if key not in self._cache:
            for source in self._sources:
                price = source.find(asset, ts, self._max_age)
                if price is not None:
                    self._cache[key] = price
                    break
            else:
                return None
        return self._cache[key]

    def missing(self, assets: Sequence[str], ts: dt.datetime, *, what: str = "") -> DataError:
        """Return the error for no USD mark of any of ``assets`` at ``ts``."""
        names = " or ".join(assets)
        asked = ", ".join(s.name for s in self._sources) or "no price sources"
        rows = " or ".join(f"{a}/USD" for a in assets)
        return DataError(
            f"no USD mark for {names} at {ts.astimezone(dt.UTC).isoformat()} within"
            f" {_span(self._max_age)}{' to value ' + what if what else ''} (asked: {asked}); add"
            f" {rows} instrument_mark rows or --prices file rows"
        )

    def usd(self, asset: str, ts: dt.datetime, *, what: str = "") -> Decimal:
        """Return the USD price of one unit of ``asset`` at ``ts`` (1 for USD itself).

        Raises
        ------
        DataError
            When no source has a price within ``max_age``; the message names the asset and
            the time.
        """
        price = self.find(asset, ts)
        if price is None:
            raise self.missing([asset], ts, what=what)
        return price


def _span(age: dt.timedelta) -> str:
    seconds = int(age.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"

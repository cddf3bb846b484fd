"""``serenity tax``: import venues' exports into the tax ledger and report a tax year.

A calculation aid, not tax advice. SQLAlchemy is imported when a command runs, so
``serenity --help`` stays quick.
"""

from __future__ import annotations

import datetime as dt
import sys
import zoneinfo
from contextlib import ExitStack
from typing import TextIO

from serenity.cli._args import optional_text, text
from serenity.errors import ConfigError

__all__ = ["Tax"]

_METHODS = ("fifo", "lifo", "hifo", "specific")
_FORMATS = ("8949", "txf", "turbotax", "summary")
_POOLS = ("wallet", "universal")


def _choice(value: object, choices: tuple[str, ...], *, flag: str) -> str:
    chosen = text(value, flag=flag).lower()
    if chosen not in choices:
        raise ConfigError(f"{flag} must be one of {', '.join(choices)}, was {value!r}")
    return chosen


def _whole(value: object, *, flag: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{flag} must be a whole number, was {value!r}")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{flag} must be a whole number, was {value!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{flag} must be between {low} and {high}, was {value!r}")
    return number


def _zone(value: object) -> dt.tzinfo:
    name = text(value, flag="--tz")
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {name!r} is not a time zone; e.g. UTC, America/New_York") from None


class Tax:
    """Tax lots and forms for crypto: a calculation aid, not tax advice."""

    def _import(
        self,
        file: str,
        source: str,
        wallet: str | None = None,
        db_url: str | None = None,
    ) -> None:
        """Import a venue's CSV export into the tax ledger; importing it again adds nothing.

        Parameters
        ----------
        file
            The export file.
        source
            ``coinbase`` (coinbase.com transaction history), ``coinbase-exchange`` (Coinbase
            Exchange fills) or ``binance`` (spot trade history).
        wallet
            The wallet its rows belong to (per-wallet lots); the source's name by default.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.

        Examples
        --------
        serenity tax import --source coinbase ~/Downloads/coinbase-2024.csv
        """
        from serenity.db.engine import create_engine_from_url
        from serenity.tax.store import import_export

        engine = create_engine_from_url(optional_text(db_url, flag="--db-url"))
        try:
            report = import_export(
                engine,
                text(source, flag="--source").lower(),
                text(file, flag="FILE"),
                wallet=optional_text(wallet, flag="--wallet"),
            )
        finally:
            engine.dispose()
        print(report)

    def report(
        self,
        year: int,
        method: str = "fifo",
        format: str = "summary",
        out: str | None = None,
        lots: str | None = None,
        tz: str = "UTC",
        pools: str | None = None,
        prices: str | None = None,
        run: int | None = None,
        mark_age_hours: int = 24,
        db_url: str | None = None,
    ) -> None:
        """Compute a tax year's realised gains and write them as a form or a summary.

        Lots are built from the whole history before the year: imported exports, fills and
        transfers in the database. Disposals from 1 January to 31 December inclusive count.

        Parameters
        ----------
        year
            The tax year, e.g. 2024.
        method
            Lot relief: ``fifo``, ``lifo``, ``hifo`` or ``specific`` (needs ``--lots``).
        format
            ``8949`` (Form 8949 CSV), ``txf`` (TXF V042), ``turbotax`` (TurboTax CSV) or
            ``summary`` (short- and long-term totals, by asset).
        out
            The file to write; standard output when omitted.
        lots
            For ``--method specific``: CSV ``disposal_id,lot_id,qty`` naming the lots each
            disposal relieves (ids as in the 8949 output's Disposal and Lot columns).
        tz
            Time zone of the dates and the year's bounds, e.g. ``America/New_York``.
        pools
            ``wallet`` (lots per wallet) or ``universal`` (one pool per asset); by default
            per wallet from 2025 and universal before.
        prices
            A CSV price file ``asset,ts,price_usd`` asked before ``instrument_mark``.
        run
            Report only the fills of this strategy run (e.g. a backtest's id).
        mark_age_hours
            How far from a trade's time a USD mark may be.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.

        Examples
        --------
        serenity tax report --year 2024 --method fifo --format 8949 --out 8949-2024.csv
        """
        from serenity.db.engine import create_engine_from_url
        from serenity.tax import (
            FORMATS,
            DatabaseMarks,
            PoolMode,
            PriceFile,
            PriceSource,
            ReliefMethod,
            TaxSettings,
            Term,
            UsdPrices,
            compute,
            load_ledger,
            read_lots_file,
        )

        relief = ReliefMethod(_choice(method, _METHODS, flag="--method"))
        fmt = _choice(format, _FORMATS, flag="--format")
        lots_file = optional_text(lots, flag="--lots")
        if relief is ReliefMethod.SPECIFIC and lots_file is None:
            raise ConfigError("--method specific needs --lots FILE naming the lots to relieve")
        if lots_file is not None and relief is not ReliefMethod.SPECIFIC:
            raise ConfigError(f"--lots goes with --method specific, was --method {relief}")
        settings = TaxSettings(
            year=_whole(year, flag="--year", low=1970, high=9998),
            method=relief,
            pools=None if pools is None else PoolMode(_choice(pools, _POOLS, flag="--pools")),
            tz=_zone(tz),
            lots=read_lots_file(lots_file) if lots_file else {},
        )
        run_id = None if run is None else _whole(run, flag="--run", low=1, high=2**63 - 1)
        age = dt.timedelta(hours=_whole(mark_age_hours, flag="--mark-age-hours", low=0, high=8760))
        engine = create_engine_from_url(optional_text(db_url, flag="--db-url"))
        try:
            ledger = load_ledger(engine, run_id=run_id)
            sources: list[PriceSource] = []
            price_file = optional_text(prices, flag="--prices")
            if price_file is not None:
                sources.append(PriceFile(price_file))
            sources.append(DatabaseMarks(engine))
            result = compute(
                ledger.transactions, UsdPrices(sources, max_age=age), settings, notes=ledger.notes
            )
        finally:
            engine.dispose()
        path = optional_text(out, flag="--out")
        with ExitStack() as stack:
            stream: TextIO = sys.stdout
            if path is not None:
                try:
                    stream = stack.enter_context(open(path, "w", encoding="utf-8", newline=""))
                except OSError as exc:
                    raise ConfigError(f"cannot write --out {path}: {exc.strerror}") from exc
            FORMATS[fmt](result, stream)
        if path is not None:
            totals = result.totals()
            short, long = totals[Term.SHORT].gain, totals[Term.LONG].gain
            print(
                f"wrote {fmt} for {settings.year} to {path}: {len(result.rows)} lot(s) relieved,"
                f" short-term {short:.2f}, long-term {long:.2f} (not tax advice)"
            )


setattr(Tax, "import", Tax._import)  # noqa: B010 - `import` is a keyword, so no def can have it

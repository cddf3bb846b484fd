"""``serenity refdata``: load venues' products into the database and list them.

SQLAlchemy and aiohttp are imported when a command runs, so ``serenity --help`` stays quick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from serenity.cli._args import optional_text, switch, text
from serenity.errors import ConfigError

if TYPE_CHECKING:
    from serenity.db.refdata import Listing

__all__ = ["Refdata", "format_listings"]


class Refdata:
    """Reference data: the products each venue lists, with their history."""

    def load(
        self,
        venue: str,
        base_url: str | None = None,
        environment: str = "prod",
        db_url: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        """Fetch a venue's products and store them; changed or delisted ones get a new version.

        Parameters
        ----------
        venue
            ``phemex``, ``coinbase`` or ``binance``.
        base_url
            REST base URL to use instead of the venue's (e.g. ``http://127.0.0.1:8080``).
        environment
            ``prod`` or ``testnet``.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.
        timeout_s
            Seconds allowed for each HTTP request.

        Examples
        --------
        serenity refdata load --venue binance
        """
        from serenity.db.engine import create_engine_from_url
        from serenity.db.fetch import fetch_catalog, venue_refdata
        from serenity.db.refdata import load_catalog

        recipe = venue_refdata(text(venue, flag="--venue"))
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise ConfigError(f"--timeout-s must be a number of seconds > 0, was {timeout_s!r}")
        # The schema must exist already (`serenity db upgrade`): never leave an empty file.
        engine = create_engine_from_url(optional_text(db_url, flag="--db-url"), create=False)
        try:
            catalog = asyncio.run(
                fetch_catalog(
                    recipe.venue,
                    base_url=optional_text(base_url, flag="--base-url"),
                    environment=text(environment, flag="--environment"),
                    timeout_s=float(timeout_s),
                )
            )
            print(load_catalog(engine, catalog, name=recipe.name))
        finally:
            engine.dispose()

    def ls(
        self,
        venue: str | None = None,
        symbol: str | None = None,
        history: bool = False,
        db_url: str | None = None,
    ) -> None:
        """List venue listings as a table: live ones, or every version with ``--history``.

        Parameters
        ----------
        venue
            Only this venue (``phemex``, ``coinbase``, ``binance``).
        symbol
            Only this venue symbol, case-insensitive; ``*`` is a wildcard (``'BTC*'``).
        history
            Also show closed versions, with the time each ended.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.

        Examples
        --------
        serenity refdata ls --venue coinbase --symbol 'BTC*'
        """
        from serenity.db.engine import create_engine_from_url
        from serenity.db.fetch import venue_refdata
        from serenity.db.refdata import list_listings

        name = optional_text(venue, flag="--venue")
        with_history = switch(history, flag="--history")
        known = None if name is None else venue_refdata(name).venue  # unknown: names the venues
        engine = create_engine_from_url(optional_text(db_url, flag="--db-url"), create=False)
        try:
            rows = list_listings(
                engine,
                venue=known,
                symbol=optional_text(symbol, flag="--symbol"),
                include_history=with_history,
            )
        finally:
            engine.dispose()
        print(format_listings(rows, history=with_history) if rows else "no listings")


def format_listings(rows: Sequence[Listing], *, history: bool = False) -> str:
    """Return listings as an aligned text table with a header line."""
    header = ["VENUE", "SYMBOL", "INSTRUMENT", "TYPE", "TICK", "LOT", "MIN_QTY", "SCALE"]
    header += ["STATUS", "VALID_FROM"] + (["VALID_TO"] if history else [])
    table = [header]
    for r in rows:
        line = [r.venue, r.symbol, r.instrument, str(r.instrument_type), _num(r.tick_size)]
        line += [
            _num(r.lot_size),
            _num(r.min_qty),
            "" if r.price_scale is None else str(r.price_scale),
        ]
        line += [str(r.status), f"{r.valid_from:%Y-%m-%d %H:%M:%S}"]
        if history:
            line.append("" if r.valid_to is None else f"{r.valid_to:%Y-%m-%d %H:%M:%S}")
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    )


def _num(value: Decimal | None) -> str:
    return "" if value is None else f"{value:f}"

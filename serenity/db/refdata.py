"""Load a venue's product catalog into the database, keeping the history of every listing.

One load is one transaction made of bulk statements (a few per table, not one per row). It is
idempotent: loading the same catalog again changes nothing. When a listing's instrument, tick
size, lot size, minimum, price scale or status changed, the live ``exchange_instrument`` row
is closed (``valid_to = as_of``) and a new one opened (``valid_from = as_of``); a symbol that
disappeared from the catalog gets a new row with status ``delisted``. Nothing is overwritten.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from serenity.db.engine import ensure_schema
from serenity.errors import InvalidValueError
from serenity.exchange.product import Product, ProductCatalog
from serenity.model import (
    Currency,
    Exchange,
    ExchangeInstrument,
    Instrument,
    InstrumentStatus,
    InstrumentType,
    VenueType,
    instrument_code,
)

__all__ = ["Listing", "LoadReport", "list_listings", "load_catalog"]

log = logging.getLogger(__name__)

_CHUNK: Final = 500
_T = TypeVar("_T")
# The attributes whose change opens a new version of a listing.
_VERSIONED: Final = ("instrument_id", "tick_size", "lot_size", "min_qty", "price_scale", "status")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadReport:
    """What one load did: listings added, changed (new version), delisted and unchanged."""

    venue: str
    as_of: dt.datetime
    added: int
    changed: int
    delisted: int
    unchanged: int
    currencies_added: int
    instruments_added: int

    def __str__(self) -> str:
        return (
            f"{self.venue}: {self.added} added, {self.changed} changed, {self.delisted} delisted, "
            f"{self.unchanged} unchanged; {self.currencies_added} new currencies, "
            f"{self.instruments_added} new instruments"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    """One version of a venue listing, as ``serenity refdata ls`` shows it."""

    venue: str
    symbol: str
    instrument: str
    instrument_type: InstrumentType
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal | None
    price_scale: int | None
    status: InstrumentStatus
    valid_from: dt.datetime
    valid_to: dt.datetime | None


def load_catalog(
    engine: Engine,
    catalog: ProductCatalog,
    *,
    name: str | None = None,
    as_of: dt.datetime | None = None,
) -> LoadReport:
    """Load ``catalog`` into the database in one transaction and return what changed.

    Parameters
    ----------
    engine
        The database, already migrated (``serenity db upgrade``).
    catalog
        A venue's products, from a :mod:`serenity.exchange` parser.
    name
        The exchange's display name, used when its ``exchange`` row is created.
    as_of
        The time the new versions start and the old ones end; now when omitted.

    Raises
    ------
    ConfigError
        When the database is unreachable or not migrated.
    InvalidValueError
        When ``as_of`` is naive, or not later than the start of a version it would close.
    """
    now = dt.datetime.now(dt.UTC) if as_of is None else as_of
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidValueError(f"as_of must be timezone-aware, was {as_of!r}")
    now = now.astimezone(dt.UTC)
    ensure_schema(engine)
    with engine.begin() as conn:
        exchange_id = _ensure_exchange(conn, catalog.venue, name or catalog.venue)
        currency_ids, currencies_added = _ensure_currencies(conn, catalog.currencies)
        instrument_ids, instruments_added = _ensure_instruments(
            conn, catalog.products, currency_ids
        )
        counts = _apply_listings(conn, exchange_id, catalog, instrument_ids, now)
    report = LoadReport(
        venue=catalog.venue,
        as_of=now,
        currencies_added=currencies_added,
        instruments_added=instruments_added,
        **counts,
    )
    log.info(
        "refdata.loaded",
        extra={
            "venue": report.venue,
            "added": report.added,
            "changed": report.changed,
            "delisted": report.delisted,
            "unchanged": report.unchanged,
        },
    )
    return report


def list_listings(
    engine: Engine,
    *,
    venue: str | None = None,
    symbol: str | None = None,
    include_history: bool = False,
) -> list[Listing]:
    """Return listings ordered by venue, symbol and time; only live ones unless asked.

    ``symbol`` matches case-insensitively; ``*`` is a wildcard (``BTC*``).

    Raises
    ------
    ConfigError
        When the database is unreachable or not migrated.
    """
    ensure_schema(engine)
    ei, ex, ins = ExchangeInstrument, Exchange, Instrument
    query = (
        sa.select(
            ex.code,
            ei.symbol,
            ins.code,
            ins.instrument_type,
            ei.tick_size,
            ei.lot_size,
            ei.min_qty,
            ei.price_scale,
            ei.status,
            ei.valid_from,
            ei.valid_to,
        )
        .join(ex, ex.id == ei.exchange_id)
        .join(ins, ins.id == ei.instrument_id)
        .order_by(ex.code, ei.symbol, ei.valid_from)
    )
    if venue is not None:
        query = query.where(ex.code == venue.lower())
    if symbol is not None:
        pattern = symbol.lower().replace("*", "%")
        column = sa.func.lower(ei.symbol)
        query = query.where(column.like(pattern) if "%" in pattern else column == pattern)
    if not include_history:
        query = query.where(ei.valid_to.is_(None))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Listing(
            venue=r[0],
            symbol=r[1],
            instrument=r[2],
            instrument_type=r[3],
            tick_size=r[4],
            lot_size=r[5],
            min_qty=r[6],
            price_scale=r[7],
            status=r[8],
            valid_from=r[9],
            valid_to=r[10],
        )
        for r in rows
    ]


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _ensure_exchange(conn: Connection, code: str, name: str) -> int:
    found = conn.scalar(sa.select(Exchange.id).where(Exchange.code == code))
    if found is not None:
        return int(found)
    row = {"code": code, "name": name, "venue_type": VenueType.CRYPTO_EXCHANGE}
    conn.execute(sa.insert(Exchange), [row])
    return int(conn.scalar(sa.select(Exchange.id).where(Exchange.code == code)) or 0)


def _ids_by_code(conn: Connection, entity: Any, codes: Iterable[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in _chunks(sorted(set(codes))):
        query = sa.select(entity.code, entity.id).where(entity.code.in_(chunk))
        ids.update({code: int(id_) for code, id_ in conn.execute(query)})
    return ids


def _ensure_currencies(conn: Connection, codes: Sequence[str]) -> tuple[dict[str, int], int]:
    ids = _ids_by_code(conn, Currency, codes)
    missing = sorted(set(codes) - ids.keys())
    if missing:
        conn.execute(sa.insert(Currency), [{"code": code} for code in missing])
        ids.update(_ids_by_code(conn, Currency, missing))
    return ids, len(missing)


def _ensure_instruments(
    conn: Connection, products: Sequence[Product], currency_ids: dict[str, int]
) -> tuple[dict[str, int], int]:
    """Create the instruments the products trade, underlying currency pairs first."""
    pairs: dict[str, dict[str, Any]] = {}
    derivatives: dict[str, dict[str, Any]] = {}
    for p in products:
        pair = instrument_code(InstrumentType.CURRENCY_PAIR, p.base, quote=p.quote)
        pairs[pair] = {
            "code": pair,
            "instrument_type": InstrumentType.CURRENCY_PAIR,
            "base_currency_id": currency_ids[p.base],
            "quote_currency_id": currency_ids[p.quote],
        }
        if p.instrument_type is not InstrumentType.CURRENCY_PAIR:
            derivatives[p.instrument_code] = {
                "code": p.instrument_code,
                "instrument_type": p.instrument_type,
                "base_currency_id": currency_ids[p.base],
                "quote_currency_id": currency_ids[p.quote],
                "settle_currency_id": currency_ids[p.settle] if p.settle else None,
                "contract_size": p.contract_size,
                "expiry": p.expiry,
                "underlier": pair,
            }
    ids = _ids_by_code(conn, Instrument, [*pairs, *derivatives])
    added = 0
    for specs in (pairs, derivatives):
        rows = [_instrument_row(spec, ids) for code, spec in specs.items() if code not in ids]
        if rows:
            conn.execute(sa.insert(Instrument), rows)
            ids.update(_ids_by_code(conn, Instrument, [row["code"] for row in rows]))
            added += len(rows)
    return ids, added


def _instrument_row(spec: dict[str, Any], ids: dict[str, int]) -> dict[str, Any]:
    row = {
        "settle_currency_id": None,
        "underlier_id": None,
        "contract_size": None,
        "expiry": None,
        **spec,
    }
    underlier = row.pop("underlier", None)
    if underlier is not None:
        row["underlier_id"] = ids[underlier]
    return row


def _apply_listings(
    conn: Connection,
    exchange_id: int,
    catalog: ProductCatalog,
    instrument_ids: dict[str, int],
    now: dt.datetime,
) -> dict[str, int]:
    ei = ExchangeInstrument
    live_query = sa.select(ei.id, ei.symbol, ei.valid_from, *(getattr(ei, a) for a in _VERSIONED))
    live = {
        row.symbol: row
        for row in conn.execute(
            live_query.where(ei.exchange_id == exchange_id, ei.valid_to.is_(None))
        )
    }
    closes: list[tuple[int, str, dt.datetime]] = []
    opens: list[dict[str, Any]] = []
    counts = {"added": 0, "changed": 0, "delisted": 0, "unchanged": 0}
    for product in catalog.products:
        wanted = {
            "instrument_id": instrument_ids[product.instrument_code],
            "tick_size": product.tick_size,
            "lot_size": product.lot_size,
            "min_qty": product.min_qty,
            "price_scale": product.price_scale,
            "status": product.status,
        }
        current = live.pop(product.symbol, None)
        if current is None:
            counts["added"] += 1
        elif all(getattr(current, a) == wanted[a] for a in _VERSIONED):
            counts["unchanged"] += 1
            continue
        else:
            counts["changed"] += 1
            closes.append((current.id, product.symbol, current.valid_from))
        opens.append({"symbol": product.symbol, **wanted})
    for symbol, gone in live.items():  # listed before, absent now: delisted
        if gone.status is InstrumentStatus.DELISTED:
            continue
        counts["delisted"] += 1
        closes.append((gone.id, symbol, gone.valid_from))
        opens.append(
            {"symbol": symbol, **{a: getattr(gone, a) for a in _VERSIONED}}
            | {"status": InstrumentStatus.DELISTED}
        )
    for _, symbol, valid_from in closes:
        if valid_from >= now:
            raise InvalidValueError(
                f"{catalog.venue}: as_of {now.isoformat()} is not after {valid_from.isoformat()}, "
                f"when the live version of {symbol!r} started"
            )
    close_ids = [id_ for id_, _, _ in closes]
    for chunk in _chunks(close_ids):
        conn.execute(sa.update(ei).where(ei.id.in_(chunk)).values(valid_to=now))
    if opens:
        conn.execute(
            sa.insert(ei),
            [
                {**row, "exchange_id": exchange_id, "valid_from": now, "valid_to": None}
                for row in opens
            ],
        )
    return counts

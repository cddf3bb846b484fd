"""Venue listings read back from the database as :class:`~serenity.exchange.product.Product`
values, for order checks and contract arithmetic."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from serenity.db.engine import ensure_schema
from serenity.exchange.product import Product
from serenity.model import Currency, Exchange, ExchangeInstrument, Instrument, InstrumentId

__all__ = ["load_products"]


def load_products(
    engine: Engine, instruments: Iterable[InstrumentId]
) -> dict[InstrumentId, Product]:
    """Return the live listing of each instrument that the database has, by instrument.

    Instruments without a live listing are left out.

    Raises
    ------
    ConfigError
        When the database is unreachable or not migrated.
    """
    wanted = {(i.venue, i.symbol): i for i in instruments}
    if not wanted:
        return {}
    ensure_schema(engine)
    base, quote, settle = aliased(Currency), aliased(Currency), aliased(Currency)
    ei, ins = ExchangeInstrument, Instrument
    query = (
        sa.select(
            Exchange.code,
            ei.symbol,
            ins.instrument_type,
            base.code,
            quote.code,
            settle.code,
            ei.status,
            ei.tick_size,
            ei.lot_size,
            ei.min_qty,
            ei.price_scale,
            ins.contract_size,
            ins.expiry,
        )
        .join(Exchange, Exchange.id == ei.exchange_id)
        .join(ins, ins.id == ei.instrument_id)
        .outerjoin(base, base.id == ins.base_currency_id)
        .outerjoin(quote, quote.id == ins.quote_currency_id)
        .outerjoin(settle, settle.id == ins.settle_currency_id)
        .where(ei.valid_to.is_(None))
        .where(Exchange.code.in_({v for v, _ in wanted}))
        .where(ei.symbol.in_({s for _, s in wanted}))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    out: dict[InstrumentId, Product] = {}
    for venue, symbol, kind, b, q, s, status, tick, lot, min_qty, scale, size, expiry in rows:
        inst = wanted.get((venue, symbol))
        if inst is None:
            continue
        out[inst] = Product(
            venue=venue,
            symbol=symbol,
            instrument_type=kind,
            base=b or "",
            quote=q or "",
            status=status,
            tick_size=tick,
            lot_size=lot,
            min_qty=min_qty,
            price_scale=scale,
            settle=s,
            contract_size=size,
            expiry=expiry,
        )
    return out

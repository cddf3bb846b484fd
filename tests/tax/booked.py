"""Orders, fills, transfers and marks written to the database as Serenity's booking does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from serenity.model import (
    Currency,
    Exchange,
    ExchangeAccount,
    ExchangeTransfer,
    Fill,
    Instrument,
    InstrumentMark,
    InstrumentType,
    Order,
    OrderStatus,
    OrderType,
    RunKind,
    RunStatus,
    Side,
    StrategyRun,
    TimeInForce,
    TransferType,
    VenueType,
    instrument_code,
)

D = Decimal


def _currency(session: Session, code: str) -> Currency:
    found = session.scalars(sa.select(Currency).where(Currency.code == code)).first()
    if found is None:
        found = Currency(code=code)
        session.add(found)
        session.flush()
    return found


def _account(session: Session, exchange: str, account: str) -> ExchangeAccount:
    venue = session.scalars(sa.select(Exchange).where(Exchange.code == exchange)).first()
    if venue is None:
        venue = Exchange(code=exchange, name=exchange.title(), venue_type=VenueType.SIMULATOR)
        session.add(venue)
    found = session.scalars(
        sa.select(ExchangeAccount).where(
            ExchangeAccount.code == account, ExchangeAccount.exchange == venue
        )
    ).first()
    if found is None:
        found = ExchangeAccount(exchange=venue, code=account)
        session.add(found)
        session.flush()
    return found


def instrument(
    session: Session, base: str, quote: str, kind: InstrumentType = InstrumentType.CURRENCY_PAIR
) -> Instrument:
    """Return the instrument ``base/quote`` of ``kind``, creating it and its currencies."""
    settle = quote if kind is not InstrumentType.CURRENCY_PAIR else None
    code = instrument_code(kind, base, quote=quote, settle=settle)
    found = session.scalars(sa.select(Instrument).where(Instrument.code == code)).first()
    if found is None:
        found = Instrument(
            code=code,
            instrument_type=kind,
            base_currency_id=_currency(session, base).id,
            quote_currency_id=_currency(session, quote).id,
            settle_currency_id=_currency(session, settle).id if settle else None,
        )
        session.add(found)
        session.flush()
    return found


def book_fills(
    engine: sa.Engine,
    fills: Sequence[tuple[dt.datetime, Side, str, str, str]],
    *,
    run: RunKind | None = None,
    exchange: str = "simulator",
    account: str = "acct-1",
    pair: tuple[str, str] = ("BTC", "USD"),
    kind: InstrumentType = InstrumentType.CURRENCY_PAIR,
    fee_currency: str | None = "USD",
) -> int | None:
    """Book one order and fill per ``(ts, side, qty, price, fee)``; return the run's id."""
    with Session(engine) as session, session.begin():
        venue_account = _account(session, exchange, account)
        pair_instrument = instrument(session, *pair, kind)
        fee_cur = _currency(session, fee_currency) if fee_currency else None
        run_row = None
        if run is not None:
            run_row = StrategyRun(
                kind=run,
                strategy="tax-test",
                config={},
                status=RunStatus.COMPLETED,
                started_at=fills[0][0],
            )
            session.add(run_row)
            session.flush()
        prefix = f"{run_row.id if run_row else 'live'}-{pair[0]}{pair[1]}-{kind}"
        for i, (ts, side, qty, price, fee) in enumerate(fills):
            order = Order(
                exchange_account=venue_account,
                instrument=pair_instrument,
                strategy_run_id=run_row.id if run_row else None,
                cl_ord_id=f"{prefix}-{i}",
                side=side,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.IOC,
                qty=D(qty),
                price=None,
                status=OrderStatus.FILLED,
                created_at=ts,
                updated_at=ts,
            )
            order.fills.append(
                Fill(
                    venue_fill_id=f"{prefix}-f{i}",
                    side=side,
                    qty=D(qty),
                    price=D(price),
                    fee=D(fee),
                    fee_currency=fee_cur,
                    ts=ts,
                )
            )
            session.add(order)
        return run_row.id if run_row else None


def book_transfer(
    engine: sa.Engine,
    ts: dt.datetime,
    kind: TransferType,
    qty: str,
    *,
    exchange: str,
    account: str = "acct-1",
    currency: str = "BTC",
    fee: str | None = None,
    tx_hash: str | None = None,
) -> None:
    """Book one ``exchange_transfer`` row."""
    with Session(engine) as session, session.begin():
        session.add(
            ExchangeTransfer(
                exchange_account=_account(session, exchange, account),
                currency_id=_currency(session, currency).id,
                transfer_type=kind,
                qty=D(qty),
                fee=D(fee) if fee else None,
                tx_hash=tx_hash,
                venue_transfer_id=tx_hash,
                ts=ts,
            )
        )


def book_marks(engine: sa.Engine, base: str, marks: Sequence[tuple[dt.datetime, str]]) -> None:
    """Book ``base/USD`` marks from the source ``test.mark``."""
    with Session(engine) as session, session.begin():
        pair = instrument(session, base, "USD")
        session.add_all(
            InstrumentMark(instrument_id=pair.id, source="test.mark", ts=ts, price=D(price))
            for ts, price in marks
        )

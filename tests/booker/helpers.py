"""Helpers for booking tests: runs, a fast backoff, and the booked rows read back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from serenity.booker import DatabaseTradeBookingService
from serenity.marketdata.fh.backoff import Backoff
from serenity.model import Fill, Order, RunKind, RunStatus, StrategyRun
from tests.trading.harness import Market

T_LOAD = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)


def new_run(engine: sa.Engine, strategy: str = "test") -> int:
    """Insert a ``strategy_run`` row and return its id."""
    with Session(engine) as session, session.begin():
        run = StrategyRun(
            kind=RunKind.BACKTEST,
            strategy=strategy,
            config={},
            status=RunStatus.RUNNING,
            started_at=T_LOAD,
        )
        session.add(run)
        session.flush()
        return run.id


def fast_backoff() -> Backoff:
    """Return a backoff quick enough for tests (milliseconds, no jitter)."""
    return Backoff(initial_s=0.005, max_s=0.02, jitter=0.0)


def booker_for(market: Market, engine: sa.Engine, **options: Any) -> DatabaseTradeBookingService:
    """Return a booking service on ``market``'s order manager, with a fast backoff."""
    options.setdefault("backoff", fast_backoff())
    options.setdefault("give_up_after_s", 0.2)
    return DatabaseTradeBookingService(market.sched, market.oms, engine, **options)


@dataclass(frozen=True)
class BookedFill:
    cl_ord_id: str
    exec_id: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str | None
    liquidity: str | None
    ts: dt.datetime


def booked_orders(engine: sa.Engine) -> dict[str, Order]:
    """Return every booked order by ``cl_ord_id`` (detached, readable)."""
    with Session(engine, expire_on_commit=False) as session:
        orders = session.scalars(sa.select(Order)).all()
        for o in orders:
            _ = (o.exchange_account.code, o.exchange_account.exchange.code, o.instrument.code)
            _ = o.exchange_account.trading_account
        return {o.cl_ord_id: o for o in orders}


def booked_fills(engine: sa.Engine) -> list[BookedFill]:
    """Return every booked fill, in ts then id order."""
    with Session(engine) as session:
        fills = session.scalars(sa.select(Fill).order_by(Fill.ts, Fill.id)).all()
        return [
            BookedFill(
                f.order.cl_ord_id,
                f.venue_fill_id,
                str(f.side),
                f.qty,
                f.price,
                f.fee,
                f.fee_currency.code if f.fee_currency else None,
                str(f.liquidity) if f.liquidity else None,
                f.ts,
            )
            for f in fills
        ]


def count(engine: sa.Engine, entity: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(entity)) or 0)

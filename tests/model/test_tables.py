"""The domain model's tables, column types and naming convention on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from serenity.db import create_engine_from_url
from serenity.errors import InvalidValueError
from serenity.model import (
    Base,
    Currency,
    Exchange,
    ExchangeAccount,
    ExchangeTransfer,
    Fill,
    Instrument,
    InstrumentMark,
    InstrumentType,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    Portfolio,
    Position,
    RunKind,
    RunStatus,
    Side,
    StrategyRun,
    TimeInForce,
    TradingAccount,
    TransferType,
    VenueType,
    instrument_code,
)
from serenity.model.base import ExactDecimal, UtcDateTime

T0 = dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


def _order(session: Session, **overrides: Any) -> Order:
    exchange = Exchange(code="binance", name="Binance", venue_type=VenueType.CRYPTO_EXCHANGE)
    account = TradingAccount(code="trend", portfolio=Portfolio(code="main"))
    venue_account = ExchangeAccount(exchange=exchange, trading_account=account, code="sub-1")
    btc, usdt = Currency(code="BTC"), Currency(code="USDT")
    session.add_all([btc, usdt])
    session.flush()
    pair = Instrument(
        code="BTC/USDT",
        instrument_type=InstrumentType.CURRENCY_PAIR,
        base_currency_id=btc.id,
        quote_currency_id=usdt.id,
    )
    fields: dict[str, Any] = {
        "exchange_account": venue_account,
        "instrument": pair,
        "cl_ord_id": "c-1",
        "side": Side.BUY,
        "order_type": OrderType.LIMIT,
        "time_in_force": TimeInForce.GTC,
        "qty": Decimal("0.5"),
        "price": Decimal("42000.10"),
        "status": OrderStatus.NEW,
        "created_at": T0,
        "updated_at": T0,
    }
    fields.update(overrides)
    order = Order(**fields)
    session.add(order)
    session.flush()
    return order


def test_order_with_fills_round_trips_amounts_times_and_enums(db_engine: sa.Engine) -> None:
    with Session(db_engine) as session:
        order = _order(session)
        usdt = session.scalars(sa.select(Currency).where(Currency.code == "USDT")).one()
        order.fills.append(
            Fill(
                venue_fill_id="f-1",
                side=Side.BUY,
                qty=Decimal("0.1") + Decimal("0.2"),
                price=Decimal("42000.1"),
                fee=Decimal("0.00000001"),
                fee_currency=usdt,
                liquidity=Liquidity.MAKER,
                ts=T0.astimezone(dt.timezone(dt.timedelta(hours=-5))),
            )
        )
        session.commit()

    with Session(db_engine) as session:
        fill = session.scalars(sa.select(Fill)).one()
        raw = session.execute(sa.text("SELECT side, liquidity FROM fill")).one()
        price = fill.order.price
        fee_currency = fill.fee_currency.code if fill.fee_currency else None
        trading_account = fill.order.exchange_account.trading_account
        portfolio = (
            trading_account.portfolio.code
            if trading_account and trading_account.portfolio
            else None
        )
    assert fill.qty == Decimal("0.3") and str(fill.qty) == "0.3"
    assert fill.fee == Decimal("0.00000001")
    assert fill.ts == T0 and fill.ts.tzinfo is dt.UTC
    assert price == Decimal("42000.1") and fee_currency == "USDT" and portfolio == "main"
    assert tuple(raw) == ("buy", "maker")


def test_a_stale_writer_of_an_order_gets_stale_data_error(db_engine: sa.Engine) -> None:
    with Session(db_engine) as session:
        order_id = _order(session).id
        session.commit()
    first, second = Session(db_engine), Session(db_engine)
    try:
        mine = first.get(Order, order_id)
        theirs = second.get(Order, order_id)
        assert mine is not None and theirs is not None
        mine.status = OrderStatus.FILLED
        mine.cum_qty = Decimal("0.5")
        first.commit()
        theirs.status = OrderStatus.CANCELED  # from a copy read before the fill was booked
        with pytest.raises(StaleDataError):
            second.commit()
    finally:
        first.close()
        second.close()

    with Session(db_engine) as session:
        stored = session.get(Order, order_id)
        assert stored is not None
        state = (stored.status, stored.cum_qty, stored.version_id)
    assert state == (OrderStatus.FILLED, Decimal("0.5"), 2)


def test_positions_marks_and_transfers_are_stored(db_engine: sa.Engine) -> None:
    with Session(db_engine) as session:
        order = _order(session)
        usdt = session.scalars(sa.select(Currency).where(Currency.code == "USDT")).one()
        session.add_all(
            [
                Position(
                    exchange_account=order.exchange_account,
                    instrument=order.instrument,
                    ts=T0,
                    qty=Decimal("-1.25"),
                    avg_price=Decimal("41000"),
                ),
                InstrumentMark(
                    instrument=order.instrument, source="binance.mark", ts=T0, price=Decimal("1")
                ),
                ExchangeTransfer(
                    exchange_account=order.exchange_account,
                    currency=usdt,
                    transfer_type=TransferType.DEPOSIT,
                    qty=Decimal("1000"),
                    venue_transfer_id="d-1",
                    ts=T0,
                ),
            ]
        )
        session.commit()

    with Session(db_engine) as session:
        position = session.scalars(sa.select(Position)).one()
        transfer = session.scalars(sa.select(ExchangeTransfer)).one()
    assert position.qty == Decimal("-1.25") and position.ts == T0
    assert transfer.transfer_type is TransferType.DEPOSIT and transfer.qty == 1000


def test_naive_datetime_is_refused(db_engine: sa.Engine) -> None:
    with Session(db_engine) as session, pytest.raises(sa.exc.StatementError) as caught:
        _order(session, created_at=dt.datetime(2024, 1, 2))
    assert isinstance(caught.value.orig, InvalidValueError)
    assert "naive datetime 2024-01-02T00:00:00" in str(caught.value.orig)


def test_float_amount_is_refused(db_engine: sa.Engine) -> None:
    with Session(db_engine) as session, pytest.raises(sa.exc.StatementError) as caught:
        _order(session, qty=0.5)
    assert isinstance(caught.value.orig, InvalidValueError)
    assert "0.5" in str(caught.value.orig)


def test_duplicate_client_order_id_violates_named_constraint(db_engine: sa.Engine) -> None:
    with Session(db_engine) as session:
        first = _order(session)
        session.add(
            Order(
                exchange_account=first.exchange_account,
                instrument=first.instrument,
                cl_ord_id="c-1",
                side=Side.SELL,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.IOC,
                qty=Decimal(1),
                status=OrderStatus.PENDING_NEW,
                created_at=T0,
                updated_at=T0,
            )
        )
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()


def test_strategy_run_keeps_config_statistics_and_window(db_engine: sa.Engine) -> None:
    config = {"strategy": "bbands", "window": 20, "symbols": ["BTCUSDT"]}
    with Session(db_engine) as session:
        session.add(
            StrategyRun(
                kind=RunKind.BACKTEST,
                strategy="bbands",
                config=config,
                window_start=T0,
                window_end=T0 + dt.timedelta(days=1),
                status=RunStatus.COMPLETED,
                started_at=T0,
                finished_at=T0 + dt.timedelta(minutes=3),
                statistics={"sharpe": 1.25, "trades": 31},
                output_uri="file:///runs/1",
            )
        )
        session.commit()

    with Session(db_engine) as session:
        run = session.scalars(sa.select(StrategyRun)).one()
    assert run.config == config and run.statistics == {"sharpe": 1.25, "trades": 31}
    assert run.kind is RunKind.BACKTEST and run.window_end == T0 + dt.timedelta(days=1)


@pytest.fixture
def pg_engine(pg_schema_url: str) -> Iterator[sa.Engine]:
    engine = create_engine_from_url(pg_schema_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_postgres_keeps_all_38_digits(pg_engine: sa.Engine) -> None:
    big = Decimal("12345678901234567890.123456789012345678")
    with Session(pg_engine) as session:
        _order(session, qty=big)
        session.commit()

    with Session(pg_engine) as session:
        stored = session.scalars(sa.select(Order.qty)).one()
    assert stored == big


def test_every_constraint_and_index_follows_the_naming_convention() -> None:
    for table in Base.metadata.tables.values():
        names = [str(c.name) for c in table.constraints] + [str(i.name) for i in table.indexes]
        assert all(n.startswith(("pk_", "fk_", "uq_", "ix_", "ck_")) for n in names), names
        assert all(n.startswith(f"{n[:3]}{table.name}") for n in names), names
        assert all(len(n) <= 63 for n in names), names  # PostgreSQL's identifier limit


def test_issue_table_and_column_names_exist() -> None:
    expected = {
        "exchange": {"code", "name", "venue_type"},
        "currency": {"code"},
        "instrument": {
            "code",
            "instrument_type",
            "base_currency_id",
            "quote_currency_id",
            "settle_currency_id",
            "underlier_id",
            "contract_size",
            "expiry",
        },
        "exchange_instrument": {
            "exchange_id",
            "instrument_id",
            "symbol",
            "tick_size",
            "lot_size",
            "min_qty",
            "price_scale",
            "status",
            "valid_from",
            "valid_to",
        },
    }
    others = {"portfolio", "trading_account", "exchange_account", "order", "fill", "position"}
    others |= {"instrument_mark", "exchange_transfer", "strategy_run"}
    for name, columns in expected.items():
        assert columns <= set(Base.metadata.tables[name].columns.keys())
    assert others <= set(Base.metadata.tables)


def test_instrument_codes_name_type_settlement_size_and_expiry() -> None:
    expiry = dt.datetime(2025, 3, 28, 8, tzinfo=dt.UTC)
    perp = InstrumentType.PERPETUAL_FUTURE
    assert instrument_code(InstrumentType.CASH, "BTC") == "BTC"
    assert instrument_code(InstrumentType.CURRENCY_PAIR, "BTC", quote="USDT") == "BTC/USDT"
    assert instrument_code(perp, "BTC", quote="USD", settle="BTC") == "BTC/USD:BTC-PERP"
    assert (
        instrument_code(perp, "ETH", quote="USD", settle="USD", contract_size=Decimal("0.0050"))
        == "ETH/USD:USD-PERP-x0.005"
    )
    assert (
        instrument_code(
            InstrumentType.DATED_FUTURE, "BTC", quote="USDT", settle="USDT", expiry=expiry
        )
        == "BTC/USDT:USDT-20250328"
    )
    with pytest.raises(InvalidValueError, match="settlement"):
        instrument_code(perp, "BTC", quote="USD")
    with pytest.raises(InvalidValueError, match="expiry"):
        instrument_code(InstrumentType.DATED_FUTURE, "BTC", quote="USD", settle="BTC")


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-(10**19), max_value=10**19, places=18, allow_nan=False))
def test_exact_decimal_round_trips_numeric_38_18(value: Decimal) -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    column = ExactDecimal()

    stored = column.process_bind_param(value, dialect)

    assert column.process_result_value(stored, dialect) == value


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False))
def test_exact_decimal_keeps_fifteen_digits_on_sqlite(value: Decimal) -> None:
    dialect = sqlite.dialect()
    column = ExactDecimal()

    as_float = float(column.process_bind_param(value, dialect))  # what SQLite keeps

    assert column.process_result_value(as_float, dialect) == value


def test_utc_datetime_converts_other_zones_to_utc() -> None:
    dialect = sqlite.dialect()
    tokyo = T0.astimezone(dt.timezone(dt.timedelta(hours=9)))

    stored = UtcDateTime().process_bind_param(tokyo, dialect)

    assert stored == T0.replace(tzinfo=None)
    assert UtcDateTime().process_result_value(stored, dialect) == T0

"""The tax ledger in the database, on SQLite and PostgreSQL: imports, fills, transfers, marks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from serenity.errors import DataError
from serenity.model import InstrumentType, LedgerKind, RunKind, Side, TaxTransaction, TransferType
from serenity.tax import (
    DatabaseMarks,
    PoolMode,
    TaxSettings,
    UsdPrices,
    compute,
    import_export,
    load_ledger,
    read_export,
)
from tests.tax.booked import book_fills, book_marks, book_transfer
from tests.tax.ledger import at, rows

DATA = Path(__file__).parent / "data"
D = Decimal


def test_importing_a_file_twice_adds_nothing(db_engine: sa.Engine) -> None:
    path = DATA / "coinbase_transactions.csv"

    first = import_export(db_engine, "coinbase", path)
    second = import_export(db_engine, "coinbase", path)

    with db_engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(TaxTransaction)).scalar()
    assert (first.read, first.added, first.existing) == (7, 7, 0)
    assert (second.read, second.added, second.existing) == (7, 0, 7)
    assert stored == 7
    assert str(second) == (
        "coinbase: 7 transactions read, 0 added, 7 already imported; rows not imported:"
        " 1 Deposit USD, 1 Withdrawal USD"
    )
    # What comes back is what was read: exact decimals, aware UTC times, source and id kept.
    assert load_ledger(db_engine).transactions == read_export("coinbase", path).transactions


def test_each_source_keeps_its_own_ids(db_engine: sa.Engine) -> None:
    added = [
        import_export(db_engine, src, DATA / name).added
        for src, name in [
            ("coinbase-exchange", "coinbase_exchange_fills.csv"),
            ("binance", "binance_trades.csv"),
            ("binance", "binance_trades.csv"),
        ]
    ]

    keys = {t.key for t in load_ledger(db_engine).transactions}
    assert added == [4, 5, 0]
    assert len(keys) == 9 and "coinbase-exchange:ETH-USD:1001" in keys


def test_ledger_has_live_fills_and_a_run_only_when_asked(db_engine: sa.Engine) -> None:
    book_fills(db_engine, [(at("2024-01-02"), Side.BUY, "0.5", "40000", "20")])
    run_id = book_fills(
        db_engine,
        [
            (at("2024-02-02"), Side.BUY, "1", "41000", "41"),
            (at("2024-03-02"), Side.SELL, "1", "50000", "50"),
        ],
        run=RunKind.BACKTEST,
    )
    book_fills(db_engine, [(at("2024-02-05"), Side.BUY, "1", "1", "0")], run=RunKind.PAPER)

    live = load_ledger(db_engine).transactions
    backtest = load_ledger(db_engine, run_id=run_id).transactions

    assert len(live) == 1
    (fill,) = live
    assert fill.source == "fill" and fill.wallet == "simulator:acct-1"
    # a buy of 0.5 BTC at 40,000: 0.5 BTC in, 20,000 USD out, 20 USD fee.
    assert (fill.kind, fill.received_asset, fill.received_qty, fill.sent_asset) == (
        LedgerKind.TRADE,
        "BTC",
        D("0.5"),
        "USD",
    )
    assert (fill.sent_qty, fill.fee_asset, fill.fee_qty) == (D("20000"), "USD", D("20"))
    assert [(t.ts, t.received_asset) for t in backtest] == [
        (at("2024-02-02"), "BTC"),
        (at("2024-03-02"), "USD"),
    ]


def test_fills_of_derivatives_are_left_out_with_a_note(db_engine: sa.Engine) -> None:
    book_fills(
        db_engine,
        [(at("2024-01-02"), Side.BUY, "1", "40000", "0")],
        kind=InstrumentType.PERPETUAL_FUTURE,
    )

    ledger = load_ledger(db_engine)

    assert ledger.transactions == []
    assert ledger.notes == [
        "fills of instruments other than spot currency pairs left out: 1 on BTC/USD:USD-PERP"
    ]


def test_booked_transfers_move_lots_between_accounts(db_engine: sa.Engine) -> None:
    book_fills(db_engine, [(at("2023-01-10"), Side.BUY, "1", "17000", "0")], exchange="coinbase")
    book_transfer(
        db_engine,
        at("2024-03-01"),
        TransferType.WITHDRAWAL,
        "1",
        exchange="coinbase",
        tx_hash="0xfeed",
    )
    book_transfer(
        db_engine,
        at("2024-03-01", "13:00:00"),
        TransferType.DEPOSIT,
        "1",
        exchange="binance",
        tx_hash="0xfeed",
    )
    book_fills(db_engine, [(at("2024-04-01"), Side.SELL, "1", "70000", "0")], exchange="binance")
    ledger = load_ledger(db_engine)

    report = compute(ledger.transactions, UsdPrices([]), TaxSettings(2024, pools=PoolMode.WALLET))

    # binance sells the lot bought on coinbase: acquired 2023-01-10, basis 17,000, long-term.
    assert rows(report) == [
        ("fill:1", "1", "2023-01-10", "2024-04-01", "70000.00", "17000.00", "long")
    ]
    assert report.rows[0].wallet == "binance:acct-1" and report.notes == ()


def test_marks_in_the_database_value_a_crypto_to_crypto_fill(db_engine: sa.Engine) -> None:
    book_fills(db_engine, [(at("2024-01-02"), Side.BUY, "2", "2000", "0")], pair=("ETH", "USD"))
    # Sell 1 ETH for 0.05 BTC on ETH/BTC, fee 0.00005 BTC (in what was received).
    book_fills(
        db_engine,
        [(at("2024-06-01"), Side.SELL, "1", "0.05", "0.00005")],
        pair=("ETH", "BTC"),
        fee_currency="BTC",
    )
    book_marks(db_engine, "BTC", [(at("2024-06-01", "11:59:00"), "60000"), (at("2024-06-02"), "1")])

    report = compute(
        load_ledger(db_engine).transactions,
        UsdPrices([DatabaseMarks(db_engine)]),
        TaxSettings(2024),
    )

    # The nearest BTC mark is 60,000 (a minute before): V = 0.05 x 60,000 = 3,000; the fee is
    # 0.00005/0.05 of it = 3. ETH proceeds 3,000 - 3 = 2,997 against basis 4,000 x 1/2.
    assert rows(report) == [
        ("fill:1", "1", "2024-01-02", "2024-06-01", "2997.00", "2000.00", "short")
    ]


def test_a_mark_missing_from_the_database_is_an_error(db_engine: sa.Engine) -> None:
    book_fills(db_engine, [(at("2024-01-02"), Side.BUY, "2", "2000", "0")], pair=("ETH", "USD"))
    book_fills(db_engine, [(at("2024-06-01"), Side.SELL, "1", "0.05", "0")], pair=("ETH", "BTC"))
    book_marks(db_engine, "BTC", [(at("2024-06-03"), "60000")])  # two days away: too far

    with pytest.raises(
        DataError, match=r"no USD mark for BTC or ETH at 2024-06-01T12:00:00\+00:00"
    ):
        compute(
            load_ledger(db_engine).transactions,
            UsdPrices([DatabaseMarks(db_engine)], max_age=dt.timedelta(days=1)),
            TaxSettings(2024),
        )

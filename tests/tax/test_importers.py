"""The venues' exports in tests/tax/data parse into the transactions they hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from serenity.errors import DataError, InvalidValueError
from serenity.model import LedgerKind
from serenity.tax import read_export
from serenity.tax.importers import read_binance, read_coinbase, read_coinbase_exchange

DATA = Path(__file__).parent / "data"
D = Decimal


def _legs(txn: object) -> tuple[object, ...]:
    return tuple(
        getattr(txn, name)
        for name in (
            "kind",
            "received_asset",
            "received_qty",
            "sent_asset",
            "sent_qty",
            "fee_asset",
            "fee_qty",
            "value_usd",
        )
    )


def test_coinbase_transaction_history() -> None:
    parsed = read_coinbase(DATA / "coinbase_transactions.csv")

    txns = {t.source_id[-3:]: t for t in parsed.transactions}
    # USD deposits and withdrawals move no lots.
    assert parsed.skipped == {"Deposit USD": 1, "Withdrawal USD": 1}
    assert sorted(txns) == ["902", "903", "904", "905", "906", "907", "909"]
    assert {t.source for t in parsed.transactions} == {"coinbase"}
    assert {t.wallet for t in parsed.transactions} == {"coinbase"}
    buy = txns["902"]
    assert buy.source_id == "65a1f0c2d3e4f5a6b7c8d902"
    assert buy.ts == dt.datetime(2023, 2, 2, 15, tzinfo=dt.UTC)
    # A buy gives the subtotal in USD; the fee is in USD.
    assert _legs(buy) == (
        LedgerKind.TRADE,
        "BTC",
        D("0.2"),
        "USD",
        D("4600.00"),
        "USD",
        D("27.60"),
        None,
    )
    assert _legs(txns["904"]) == (
        LedgerKind.INCOME,
        "ETH",
        D("0.01"),
        None,
        None,
        None,
        None,
        D("22.50"),
    )
    # A convert: the ETH given (quantity made positive) for the BTC the notes name, valued at
    # the subtotal.
    assert _legs(txns["905"]) == (
        LedgerKind.TRADE,
        "BTC",
        D("0.0281"),
        "ETH",
        D("0.5"),
        "USD",
        D("14.50"),
        D("1450.00"),
    )
    # A sale: negative quantity and subtotal in the file, positive here.
    assert _legs(txns["906"]) == (
        LedgerKind.TRADE,
        "USD",
        D("6200.00"),
        "BTC",
        D("0.1"),
        "USD",
        D("37.20"),
        None,
    )
    assert _legs(txns["907"]) == (
        LedgerKind.TRANSFER_OUT,
        None,
        None,
        "BTC",
        D("0.05"),
        None,
        None,
        None,
    )


def test_coinbase_advanced_trade_in_another_quote_gives_that_quote(tmp_path: Path) -> None:
    path = tmp_path / "cb.csv"
    header = (DATA / "coinbase_transactions.csv").read_text().splitlines()[3]
    path.write_text(
        header + "\nx1,2024-02-10 12:00:00 UTC,Advanced Trade Sell,ETH,-30,USD,$3300.00,-$99000.00,"
        "-$98901.00,$99.00,Sold 30 ETH for 1.5 BTC on ETH-BTC at 0.05 BTC/ETH\n"
    )

    (txn,) = read_coinbase(path, wallet="cb-main").transactions

    assert txn.wallet == "cb-main"
    assert _legs(txn) == (
        LedgerKind.TRADE,
        "BTC",
        D("1.5"),
        "ETH",
        D("30"),
        "USD",
        D("99.00"),
        D("99000.00"),
    )


def test_coinbase_history_in_another_currency_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cb.csv"
    header = (DATA / "coinbase_transactions.csv").read_text().splitlines()[3]
    path.write_text(header + "\nx1,2024-01-02 10:00:00 UTC,Buy,BTC,0.01,EUR,€40000,€400,€405,€5,\n")

    with pytest.raises(DataError, match=r"cb.csv line 2: prices are in EUR; only USD"):
        read_coinbase(path)


def test_coinbase_exchange_fills() -> None:
    parsed = read_coinbase_exchange(DATA / "coinbase_exchange_fills.csv")

    ids = [t.source_id for t in parsed.transactions]
    # trade ids repeat across products, so the product is part of the id.
    assert ids == ["BTC-USD:1001", "BTC-USD:1002", "BTC-USD:1003", "ETH-USD:1001"]
    sell = parsed.transactions[2]
    assert sell.ts == dt.datetime(2024, 5, 20, 9, 15, 30, 500000, tzinfo=dt.UTC)
    # 0.6 BTC x 70,000 = 42,000 USD, fee 105 USD.
    assert _legs(sell) == (
        LedgerKind.TRADE,
        "USD",
        D("42000.00"),
        "BTC",
        D("0.6"),
        "USD",
        D("105.00"),
        None,
    )
    assert parsed.transactions[0].wallet == "coinbase-exchange"


def test_binance_trade_history() -> None:
    parsed = read_binance(DATA / "binance_trades.csv")

    txns = parsed.transactions
    # identical rows (two fills in the same second) are both kept, with distinct ids.
    assert len(txns) == 5 and len({t.source_id for t in txns}) == 5
    assert txns[3].source_id == txns[2].source_id + "#2"
    assert _legs(txns[0]) == (
        LedgerKind.TRADE,
        "BTC",
        D("0.1"),
        "USD",
        D("4200"),
        "BTC",
        D("0.0001"),
        None,
    )
    assert _legs(txns[2]) == (
        LedgerKind.TRADE,
        "ETH",
        D("0.5"),
        "BTC",
        D("0.0275"),
        "BNB",
        D("0.0005"),
        None,
    )
    assert _legs(txns[4]) == (
        LedgerKind.TRADE,
        "USD",
        D("600"),
        "BTC",
        D("0.01"),
        "USD",
        D("0.6"),
        None,
    )
    assert txns[0].ts == dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)


def test_binance_pair_whose_base_starts_with_a_digit(tmp_path: Path) -> None:
    path = tmp_path / "bn.csv"
    path.write_text(
        "Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n"
        "2024-01-02 03:04:05,1INCHUSDT,SELL,0.5,100.001INCH,50.00USDT,0.05USDT\n"
    )

    (txn,) = read_binance(path).transactions

    assert _legs(txn) == (
        LedgerKind.TRADE,
        "USDT",
        D("50.00"),
        "1INCH",
        D("100.00"),
        "USDT",
        D("0.05"),
        None,
    )


def test_binance_amount_without_its_asset_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bn.csv"
    path.write_text(
        "Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n"
        "2024-01-02 03:04:05,BTCUSDT,BUY,40000,0.01,400,0.00001\n"
    )

    with pytest.raises(
        DataError, match=r"bn.csv line 2: cannot tell the base and quote of 'BTCUSDT'"
    ):
        read_binance(path)


def test_a_file_of_another_source_is_refused_naming_the_columns() -> None:
    with pytest.raises(DataError, match=r"not a Binance trade history export: no header line"):
        read_export("binance", DATA / "coinbase_exchange_fills.csv")


def test_unknown_source_suggests_the_nearest() -> None:
    with pytest.raises(
        InvalidValueError, match=r"unknown source 'coinbse'.*did you mean coinbase\?"
    ):
        read_export("coinbse", DATA / "coinbase_transactions.csv")

"""Hand-computed tax cases: each test writes its arithmetic out next to what it asserts."""

from __future__ import annotations

import zoneinfo

import pytest

from serenity.errors import DataError, InvalidValueError
from serenity.tax import ELSEWHERE, PoolMode, ReliefMethod, TaxSettings, Term
from tests.tax.ledger import D, at, buy, compute, income, rows, sell, trade, transfer

# Three lots of BTC, then two sales that relieve them partly:
#   a 2024-01-10  1.0 BTC for 10,000  (10,000 per BTC)
#   b 2024-02-10  2.0 BTC for 50,000  (25,000 per BTC)
#   c 2024-03-10  1.0 BTC for 20,000  (20,000 per BTC)
#   s1 2024-04-10 sell 1.5 BTC for 45,000
#   s2 2024-05-10 sell 1.0 BTC for 28,000
THREE_LOTS = [
    buy("a", at("2024-01-10"), "1.0", "10000"),
    buy("b", at("2024-02-10"), "2.0", "50000"),
    buy("c", at("2024-03-10"), "1.0", "20000"),
    sell("s1", at("2024-04-10"), "1.5", "45000"),
    sell("s2", at("2024-05-10"), "1.0", "28000"),
]


def test_fifo_relieves_the_earliest_lots_first() -> None:
    report = compute(THREE_LOTS, method=ReliefMethod.FIFO)

    # s1: a 1.0 (basis 10,000) + b 0.5 (50,000 x 0.5/2 = 12,500); proceeds 45,000 split by
    #     quantity: 45,000 x 1.0/1.5 = 30,000 and 15,000.
    # s2: b 1.0 (25,000) for 28,000.
    assert rows(report) == [
        ("a", "1", "2024-01-10", "2024-04-10", "30000.00", "10000.00", "short"),
        ("b", "0.5", "2024-02-10", "2024-04-10", "15000.00", "12500.00", "short"),
        ("b", "1", "2024-02-10", "2024-05-10", "28000.00", "25000.00", "short"),
    ]
    # gains 20,000 + 2,500 + 3,000 = 25,500
    assert report.totals()[Term.SHORT].gain == D("25500.00")


def test_lifo_relieves_the_latest_lots_first() -> None:
    report = compute(THREE_LOTS, method=ReliefMethod.LIFO)

    # s1: c 1.0 (20,000) + b 0.5 (12,500) for 30,000 + 15,000.
    # s2: the latest lot left is b (1.5 left): 1.0 of it (25,000) for 28,000.
    assert rows(report) == [
        ("c", "1", "2024-03-10", "2024-04-10", "30000.00", "20000.00", "short"),
        ("b", "0.5", "2024-02-10", "2024-04-10", "15000.00", "12500.00", "short"),
        ("b", "1", "2024-02-10", "2024-05-10", "28000.00", "25000.00", "short"),
    ]
    # gains 10,000 + 2,500 + 3,000 = 15,500
    assert report.totals()[Term.SHORT].gain == D("15500.00")


def test_hifo_relieves_the_dearest_lots_first() -> None:
    report = compute(THREE_LOTS, method=ReliefMethod.HIFO)

    # s1: b costs 25,000 per BTC, the most: 1.5 of b, basis 50,000 x 1.5/2 = 37,500.
    # s2: b's last 0.5 (12,500), then c at 20,000 per BTC: 0.5 (10,000); proceeds 28,000
    #     split 14,000 + 14,000.
    assert rows(report) == [
        ("b", "1.5", "2024-02-10", "2024-04-10", "45000.00", "37500.00", "short"),
        ("b", "0.5", "2024-02-10", "2024-05-10", "14000.00", "12500.00", "short"),
        ("c", "0.5", "2024-03-10", "2024-05-10", "14000.00", "10000.00", "short"),
    ]
    # gains 7,500 + 1,500 + 4,000 = 13,000
    assert report.totals()[Term.SHORT].gain == D("13000.00")


def test_specific_identification_relieves_the_named_lots_and_fifo_for_the_rest() -> None:
    named = {"t:s1": [("t:a", D("0.5")), ("t:c", D("1.0"))]}

    report = compute(THREE_LOTS, method=ReliefMethod.SPECIFIC, lots=named)

    # s1 (named): a 0.5 (5,000) and c 1.0 (20,000); proceeds 45,000 x 0.5/1.5 = 15,000 and
    #     30,000.
    # s2 (not named, so FIFO): a's last 0.5 (5,000) + b 0.5 (12,500), 14,000 each.
    assert rows(report) == [
        ("a", "0.5", "2024-01-10", "2024-04-10", "15000.00", "5000.00", "short"),
        ("c", "1", "2024-03-10", "2024-04-10", "30000.00", "20000.00", "short"),
        ("a", "0.5", "2024-01-10", "2024-05-10", "14000.00", "5000.00", "short"),
        ("b", "0.5", "2024-02-10", "2024-05-10", "14000.00", "12500.00", "short"),
    ]
    # gains 10,000 + 10,000 + 9,000 + 1,500 = 30,500
    assert report.totals()[Term.SHORT].gain == D("30500.00")
    assert any("1 disposal(s) in 2024 had no lots named" in n for n in report.notes)


def test_specific_identification_refuses_lots_that_do_not_add_up_or_are_not_held() -> None:
    too_little = {"t:s1": [("t:a", D("1.0"))]}
    not_held = {"t:s1": [("t:a", D("1.2")), ("t:c", D("0.3"))]}

    with pytest.raises(InvalidValueError, match=r"names 1 BTC for t:s1 .*disposes of 1.5 BTC"):
        compute(THREE_LOTS, method=ReliefMethod.SPECIFIC, lots=too_little)
    with pytest.raises(DataError, match=r"1.2 BTC of lot t:a for t:s1.*holds 1 of it"):
        compute(THREE_LOTS, method=ReliefMethod.SPECIFIC, lots=not_held)


def test_a_lots_file_needs_the_specific_method() -> None:
    with pytest.raises(InvalidValueError, match="goes with --method specific"):
        TaxSettings(year=2024, method=ReliefMethod.FIFO, lots={"t:s1": [("t:a", D(1))]})


def test_crypto_to_crypto_trade_disposes_and_acquires_at_the_received_assets_mark() -> None:
    swap = at("2024-06-01")
    txns = [
        buy("eth", at("2024-01-05"), "2", "4000", asset="ETH"),
        trade("swap", swap, got=("BTC", "0.05"), gave=("ETH", "1")),
        sell("out", at("2024-09-01"), "0.05", "3500"),
    ]
    marks = {("BTC", swap): "60000", ("ETH", swap): "3100"}

    report = compute(txns, marks=marks)

    # The swap is worth what was received: 0.05 BTC x 60,000 = 3,000 (the ETH mark is not
    # needed). ETH: proceeds 3,000, basis 4,000 x 1/2 = 2,000. The BTC lot costs 3,000 and
    # was acquired on 2024-06-01; sold for 3,500.
    assert rows(report) == [
        ("eth", "1", "2024-01-05", "2024-06-01", "3000.00", "2000.00", "short"),
        ("swap", "0.05", "2024-06-01", "2024-09-01", "3500.00", "3000.00", "short"),
    ]


def test_crypto_to_crypto_trade_falls_back_to_the_given_assets_mark() -> None:
    swap = at("2024-06-01")
    txns = [
        buy("eth", at("2024-01-05"), "2", "4000", asset="ETH"),
        trade("swap", swap, got=("XYZ", "100"), gave=("ETH", "1")),
    ]

    report = compute(txns, marks={("ETH", swap): "3100"})

    # No XYZ mark: the trade is worth the ETH given, 1 x 3,100.
    assert rows(report) == [("eth", "1", "2024-01-05", "2024-06-01", "3100.00", "2000.00", "short")]


def test_a_missing_mark_is_an_error_naming_the_assets_and_the_time() -> None:
    txns = [
        buy("eth", at("2024-01-05"), "2", "4000", asset="ETH"),
        trade("swap", at("2024-06-01", "12:34:56"), got=("BTC", "0.05"), gave=("ETH", "1")),
    ]

    with pytest.raises(DataError) as err:
        compute(txns, marks={})

    text = str(err.value)
    assert text.startswith("no USD mark for BTC or ETH at 2024-06-01T12:34:56+00:00 within")
    assert "to value t:swap (1 ETH for 0.05 BTC)" in text


def test_fees_raise_the_basis_of_a_purchase_and_lower_the_proceeds_of_a_sale() -> None:
    txns = [
        buy("in", at("2024-01-02"), "1", "20000", fee="100"),
        sell("out", at("2024-07-01"), "1", "25000", fee="125"),
    ]

    report = compute(txns)

    # basis 20,000 + 100 = 20,100; proceeds 25,000 - 125 = 24,875; gain 4,775.
    assert rows(report) == [
        ("in", "1", "2024-01-02", "2024-07-01", "24875.00", "20100.00", "short")
    ]
    assert report.totals()[Term.SHORT].gain == D("4775.00")


def test_fee_in_the_asset_bought_shrinks_the_lot_and_fee_in_the_asset_sold_grows_the_disposal() -> (
    None
):
    txns = [
        trade(
            "in", at("2024-01-02"), got=("BTC", "1"), gave=("USD", "20000"), fee=("BTC", "0.001")
        ),
        trade(
            "out", at("2024-07-01"), got=("USD", "12500"), gave=("BTC", "0.5"), fee=("BTC", "0.001")
        ),
    ]

    report = compute(txns)

    # The lot is 1 - 0.001 = 0.999 BTC costing 20,000. The sale gives 0.5 + 0.001 = 0.501 BTC
    # for 12,500: basis 20,000 x 0.501/0.999 = 10,030.03003... -> 10,030.03.
    assert rows(report) == [
        ("in", "0.501", "2024-01-02", "2024-07-01", "12500.00", "10030.03", "short")
    ]


def test_fee_in_a_third_asset_is_a_disposal_of_it_and_lowers_the_swaps_proceeds() -> None:
    swap = at("2024-03-01")
    txns = [
        buy("bnb", at("2024-01-01"), "10", "3000", asset="BNB"),
        buy("eth", at("2024-01-02"), "2", "4000", asset="ETH"),
        trade("swap", swap, got=("BTC", "0.05"), gave=("ETH", "1"), fee=("BNB", "0.01")),
    ]

    report = compute(txns, marks={("BTC", swap): "60000", ("BNB", swap): "400"})

    # V = 0.05 x 60,000 = 3,000; fee 0.01 BNB x 400 = 4.
    # ETH: proceeds 3,000 - 4 = 2,996, basis 2,000. BNB: 0.01 at 4, basis 3,000 x 0.01/10 = 3.
    assert rows(report) == [
        ("eth", "1", "2024-01-02", "2024-03-01", "2996.00", "2000.00", "short"),
        ("bnb", "0.01", "2024-01-01", "2024-03-01", "4.00", "3.00", "short"),
    ]
    assert report.rows[1].disposal_id == "t:swap:fee"


def test_held_more_than_one_year_is_long_term() -> None:
    txns = [
        buy("lot", at("2023-03-15"), "1", "20000"),
        sell("day365", at("2024-03-15"), "0.5", "30000"),
        sell("day366", at("2024-03-16"), "0.5", "31000"),
    ]

    report = compute(txns)

    # 2023-03-15 -> 2024-03-15 is exactly one year: short (box C); a day more is long (box F).
    # Each half costs 10,000.
    assert rows(report) == [
        ("lot", "0.5", "2023-03-15", "2024-03-15", "30000.00", "10000.00", "short"),
        ("lot", "0.5", "2023-03-15", "2024-03-16", "31000.00", "10000.00", "long"),
    ]
    assert [r.box for r in report.rows] == ["C", "F"]
    assert report.totals()[Term.SHORT].gain == D("20000.00")
    assert report.totals()[Term.LONG].gain == D("21000.00")


YEAR_EDGES = [
    buy("lot", at("2023-06-01"), "4", "40000"),
    sell("dec31-2023", at("2023-12-31", "23:59:59"), "1", "11000"),
    sell("jan1", at("2024-01-01", "00:00:00"), "1", "12000"),
    sell("dec31", at("2024-12-31", "23:59:59"), "1", "13000"),
    sell("jan1-2025", at("2025-01-01", "00:00:00"), "1", "14000"),
]


def test_the_tax_year_includes_sales_on_1_january_and_31_december() -> None:
    report = compute(YEAR_EDGES)

    # 10,000 basis per BTC; only the two 2024 sales count (UTC dates).
    assert [(r.disposal_id, r.sold.isoformat(), f"{r.gain:.2f}") for r in report.rows] == [
        ("t:jan1", "2024-01-01", "2000.00"),
        ("t:dec31", "2024-12-31", "3000.00"),
    ]


def test_the_tax_year_follows_the_time_zone_asked_for() -> None:
    report = compute(YEAR_EDGES, tz=zoneinfo.ZoneInfo("America/New_York"))

    # In New York the 2024-01-01 00:00 UTC sale is on 2023-12-31 (19:00), and the
    # 2025-01-01 00:00 UTC sale is on 2024-12-31: those and the 31 December sale count.
    assert [(r.disposal_id, r.sold.isoformat()) for r in report.rows] == [
        ("t:dec31", "2024-12-31"),
        ("t:jan1-2025", "2024-12-31"),
    ]


# Two wallets:
#   A coinbase 2023-01-10  1 BTC for 17,000
#   B binance  2023-06-01  1 BTC for 27,000
#   C coinbase 2024-01-15  1 BTC for 43,000
#   2024-03-01 coinbase sends 1 BTC to binance (the same transaction hash on both sides)
#   2024-04-01 coinbase sells 1 BTC for 70,000; 2024-05-01 binance sells 1 BTC for 60,000
TWO_WALLETS = [
    buy("A", at("2023-01-10"), "1", "17000", wallet="coinbase"),
    buy("B", at("2023-06-01"), "1", "27000", wallet="binance"),
    buy("C", at("2024-01-15"), "1", "43000", wallet="coinbase"),
    transfer("send", at("2024-03-01"), "1", out_of="coinbase", ref="0xabc"),
    transfer("recv", at("2024-03-01", "12:40:00"), "1", into="binance", ref="0xabc"),
    sell("cb-sale", at("2024-04-01"), "1", "70000", wallet="coinbase"),
    sell("bn-sale", at("2024-05-01"), "1", "60000", wallet="binance"),
]


def test_a_transfer_between_wallets_moves_the_lot_with_its_date_and_basis() -> None:
    report = compute(TWO_WALLETS, pools=PoolMode.WALLET)

    # The transfer moves coinbase's first lot, A, to binance. coinbase then holds only C:
    # 70,000 - 43,000 = 27,000, short-term. binance holds A (acquired 2023-01-10, kept) and
    # B; FIFO takes A: 60,000 - 17,000 = 43,000, long-term. No disposal for the transfer.
    assert rows(report) == [
        ("C", "1", "2024-01-15", "2024-04-01", "70000.00", "43000.00", "short"),
        ("A", "1", "2023-01-10", "2024-05-01", "60000.00", "17000.00", "long"),
    ]


def test_a_universal_pool_ignores_which_wallet_sold() -> None:
    report = compute(TWO_WALLETS, pools=PoolMode.UNIVERSAL)

    # One pool: FIFO takes A for the coinbase sale (53,000, long-term) and B for binance's
    # (60,000 - 27,000 = 33,000; 2023-06-01 to 2024-05-01 is under a year, so short-term).
    assert rows(report) == [
        ("A", "1", "2023-01-10", "2024-04-01", "70000.00", "17000.00", "long"),
        ("B", "1", "2023-06-01", "2024-05-01", "60000.00", "27000.00", "short"),
    ]


def test_a_transfer_fee_in_the_moved_asset_keeps_its_basis_with_the_moved_coins() -> None:
    txns = [
        buy("A", at("2023-01-10"), "2", "34000", wallet="coinbase"),
        transfer("send", at("2024-03-01"), "1", out_of="coinbase", fee="0.0001"),
        transfer("recv", at("2024-03-01", "13:00:00"), "1", into="binance"),
        sell("bn-sale", at("2024-04-01"), "1", "70000", wallet="binance"),
        sell("cb-sale", at("2024-04-02"), "0.9999", "69993", wallet="coinbase"),
    ]

    report = compute(txns, pools=PoolMode.WALLET)

    # Paired by quantity within the window. 1.0001 BTC leave coinbase with basis
    # 34,000 x 1.0001/2 = 17,001.70; 1 BTC arrives with all of it. coinbase keeps 0.9999 at
    # 16,998.30. 17,001.70 + 16,998.30 = 34,000: no basis lost.
    assert rows(report) == [
        ("A", "1", "2023-01-10", "2024-04-01", "70000.00", "17001.70", "long"),
        ("A", "0.9999", "2023-01-10", "2024-04-02", "69993.00", "16998.30", "long"),
    ]


def test_an_unmatched_transfer_out_parks_the_lots_until_they_come_back() -> None:
    txns = [
        buy("A", at("2023-01-10"), "1", "17000", wallet="coinbase"),
        transfer("to-ledger", at("2024-02-01"), "1", out_of="coinbase"),
        transfer("back", at("2024-08-01"), "0.4", into="kraken"),
        sell("sale", at("2024-09-01"), "0.4", "24000", wallet="kraken"),
    ]

    report = compute(txns, pools=PoolMode.WALLET)

    # 1 BTC goes to a wallet not in the ledger; 0.4 returns months later (too late to pair
    # by quantity) and brings 0.4 of lot A: basis 17,000 x 0.4 = 6,800.
    assert rows(report) == [("A", "0.4", "2023-01-10", "2024-09-01", "24000.00", "6800.00", "long")]
    assert any(f"its lots moved to {ELSEWHERE}" in n for n in report.notes)


def test_selling_more_than_the_lots_hold_is_an_error_naming_wallet_and_sale() -> None:
    txns = [buy("A", at("2024-01-10"), "1", "17000"), sell("oops", at("2024-02-01"), "1.5", "1")]

    with pytest.raises(DataError, match=r"cannot relieve 1.5 BTC from all wallets for t:oops"):
        compute(txns)


def test_history_before_the_year_relieves_lots_but_is_not_reported() -> None:
    txns = [
        buy("a", at("2022-01-10"), "1", "40000"),
        buy("b", at("2023-01-10"), "1", "17000"),
        sell("old", at("2023-06-01"), "1", "27000"),
        sell("new", at("2024-06-01"), "1", "60000"),
    ]

    report = compute(txns)

    # The 2023 sale took lot a (FIFO); 2024's takes b: 60,000 - 17,000 = 43,000 long.
    assert rows(report) == [("b", "1", "2023-01-10", "2024-06-01", "60000.00", "17000.00", "long")]


def test_income_is_a_lot_at_its_value_and_counted_as_income() -> None:
    paid = at("2024-02-01")
    txns = [
        income("stake", paid, "0.5", asset="ETH"),
        sell("out", at("2024-03-01"), "0.5", "1800", asset="ETH"),
    ]

    report = compute(txns, marks={("ETH", paid): "3000"})

    # 0.5 ETH x 3,000 = 1,500 of income, and the lot's basis.
    assert report.income == D("1500.00")
    assert rows(report) == [
        ("stake", "0.5", "2024-02-01", "2024-03-01", "1800.00", "1500.00", "short")
    ]


def test_pools_are_per_wallet_by_default_from_2025() -> None:
    assert TaxSettings(2024).pool_mode is PoolMode.UNIVERSAL
    assert TaxSettings(2025).pool_mode is PoolMode.WALLET
    assert TaxSettings(2025, pools=PoolMode.UNIVERSAL).pool_mode is PoolMode.UNIVERSAL
    # the 2025 report of TWO_WALLETS sells nothing in 2025, but walks the wallets apart:
    assert compute(TWO_WALLETS, 2025, pools=None).settings.pool_mode is PoolMode.WALLET


def test_a_transfer_arriving_after_the_year_still_pairs() -> None:
    txns = [
        buy("A", at("2024-06-01"), "1", "60000", wallet="coinbase"),
        transfer("send", at("2024-12-31", "23:00:00"), "1", out_of="coinbase", ref="0x1"),
        transfer("recv", at("2025-01-01", "01:00:00"), "1", into="binance", ref="0x1"),
    ]

    report = compute(txns, pools=PoolMode.WALLET)

    assert report.rows == () and report.notes == ()

"""Dividends (accumulated and reinvested) and splits, computed by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.strategy.conftest import Runner, write_prices

DAYS = ("2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05")


def bbb(folder: Path, *, dividend_on: str = "2024-01-04", dividend: float = 0.5) -> Path:
    """BBB at 25 every day (open 24); a dividend on one day; AAA at 100 as a second holding."""
    rows = [(d, "BBB", 24, 25, 10_000, dividend if d == dividend_on else 0.0) for d in DAYS]
    rows += [(d, "AAA", 100, 100, 10_000) for d in DAYS]
    return write_prices(folder, rows)


def positions(result, symbol: str):  # type: ignore[no-untyped-def]
    frame = result.outputs.positions
    return frame[frame.instrument == symbol]


def test_accumulated_dividends_are_cash_and_realised_pnl(tmp_path: Path, run: Runner) -> None:
    result = run(bbb(tmp_path), orders={"2024-01-02": [["BBB", 100]]}, dividends="accumulate")
    cash = result.outputs.capture("cash")["cash_main"].tolist()
    # 100 x 25 = 2,500 spent; 100 x 0.50 = 50 paid at the close of 4 January
    assert cash == [7_500.0, 7_500.0, 7_550.0, 7_550.0]
    paid = result.outputs.capture("dividends").iloc[0]
    assert (paid.instrument, paid.units, paid.per_unit, paid.amount) == ("BBB", 100.0, 0.5, 50.0)
    assert positions(result, "BBB").realised_pnl.tolist() == [0.0, 0.0, 50.0, 50.0]
    assert result.statistics.ending_equity == 10_050.0


def test_no_dividend_policy_ignores_them(tmp_path: Path, run: Runner) -> None:
    result = run(bbb(tmp_path), orders={"2024-01-02": [["BBB", 100]]}, dividends="none")
    assert result.statistics.ending_equity == 10_000.0
    assert "dividends" not in result.outputs.channels


def test_reinvested_dividends_buy_the_payer_at_the_ex_date_close(
    tmp_path: Path, run: Runner
) -> None:
    result = run(
        bbb(tmp_path),
        orders={"2024-01-02": [["BBB", 100]]},
        dividends="reinvest",
        costs={"per_order": 1},
    )
    fills = result.outputs.fills
    # 50 paid; (50 - 1 fee) / 25 = 1.96 -> 1 unit at 25 and 1 fee: 24 stays as cash
    assert fills[["side", "qty", "price", "fee"]].values.tolist() == [
        ["BUY", 100.0, 25.0, 1.0],
        ["BUY", 1.0, 25.0, 1.0],
    ]
    tagged = result.outputs.orders.query("exec_type == 'NEW'")
    assert tagged.ts.iloc[1] == fills.ts.iloc[1]  # placed and filled at the same close
    assert positions(result, "BBB").qty.tolist() == [100.0, 100.0, 101.0, 101.0]
    cash = result.outputs.capture("cash")["cash_main"].tolist()
    assert cash == [7_499.0, 7_499.0, 7_523.0, 7_523.0]


def test_dividends_reinvested_across_the_portfolio_follow_its_weights(
    tmp_path: Path, run: Runner
) -> None:
    # 30 AAA (3,000) and 40 BBB (1,000); BBB pays 1.00: 40 paid, 30 to AAA and 10 to BBB.
    result = run(
        bbb(tmp_path, dividend=1.0),
        orders={"2024-01-02": [["AAA", 30], ["BBB", 40]]},
        dividends="reinvest_portfolio",
        lot_size="fractional",
    )
    bought = result.outputs.fills.iloc[2:]
    assert bought[["instrument", "qty"]].values.tolist() == [["AAA", 0.3], ["BBB", 0.4]]
    assert result.outputs.capture("cash")["cash_main"].iloc[-1] == pytest.approx(6_000.0)


def test_units_bought_at_the_ex_date_open_get_no_dividend(tmp_path: Path, run: Runner) -> None:
    # Bought at the close of the 2nd (100) and at the open of the 4th, the ex-date (50 more):
    # only the 100 held at the start of the ex-date are paid.
    result = run(
        bbb(tmp_path),
        orders={"2024-01-02": [["BBB", 100]], "2024-01-03": [["BBB", 50]]},
        fills="next_open",
    )
    paid = result.outputs.capture("dividends").iloc[0]
    assert (paid.units, paid.amount) == (100.0, 50.0)


def test_a_split_scales_holdings_and_keeps_their_cost(tmp_path: Path, run: Runner) -> None:
    rows = [
        ("2024-01-02", "CCC", 50, 50, 1_000),
        ("2024-01-03", "CCC", 52, 52, 1_000),
        ("2024-01-04", "CCC", 26, 27, 2_000, 0.0, 2.0),  # 2-for-1
        ("2024-01-05", "CCC", 27, 28, 2_000),
    ]
    result = run(write_prices(tmp_path, rows), orders={"2024-01-02": [["CCC", 100]]})
    held = positions(result, "CCC")
    assert held.qty.tolist() == [100.0, 100.0, 200.0, 200.0]
    assert held.avg_price.tolist() == [50.0, 50.0, 25.0, 25.0]
    # cost 5,000; 200 x 27 = 5,400 on the split day
    assert held.unrealised_pnl.tolist() == [0.0, 200.0, 400.0, 600.0]
    assert result.outputs.pnl.equity.tolist() == [10_000.0, 10_000.0, 10_200.0, 10_400.0, 10_600.0]
    split = result.outputs.capture("splits").iloc[0]
    assert (split.ratio, split.qty) == (2.0, 200.0)


def test_a_reverse_split_pays_the_fraction_in_cash_at_the_open(tmp_path: Path, run: Runner) -> None:
    rows = [
        ("2024-01-02", "CCC", 10, 10, 1_000),
        ("2024-01-03", "CCC", 10, 10, 1_000),
        ("2024-01-04", "CCC", 21, 22, 500, 0.0, 0.5),  # 1-for-2: 101 units -> 50.5
        ("2024-01-05", "CCC", 22, 22, 500),
    ]
    result = run(write_prices(tmp_path, rows), orders={"2024-01-02": [["CCC", 101]]})
    held = positions(result, "CCC")
    assert held.qty.tolist() == [101.0, 101.0, 50.0, 50.0]
    # 0.5 units paid at the open, 21: 10.50 in cash; its basis was 0.5 x 20 = 10 -> 0.50 realised
    assert held.realised_pnl.iloc[-1] == pytest.approx(0.5)
    assert result.outputs.capture("cash")["cash_main"].tolist() == [
        8_990.0,
        8_990.0,
        9_000.5,
        9_000.5,
    ]


def test_a_split_adjusts_orders_waiting_for_the_open(tmp_path: Path, run: Runner) -> None:
    rows = [
        ("2024-01-02", "CCC", 50, 50, 1_000),
        ("2024-01-03", "CCC", 52, 52, 1_000),
        ("2024-01-04", "CCC", 26, 27, 2_000, 0.0, 2.0),
        ("2024-01-05", "CCC", 27, 28, 2_000),
    ]
    result = run(
        write_prices(tmp_path, rows),
        orders={"2024-01-03": [["CCC", 10, 60]]},  # 10 at most 60 before; 20 at most 30 after
        fills="next_open",
    )
    fill = result.outputs.fills.iloc[0]
    assert (fill.qty, fill.price) == (20.0, 26.0)

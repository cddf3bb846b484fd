"""Fills by hand: market-on-close and next open, costs, limits, the volume cap and cash."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.strategy.conftest import Runner, write_prices

# AAA: opens 99, 105, 118, 121; closes 100, 110, 120, 125. BBB: 49/50 every day.
DAYS = ("2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05")


def prices(folder: Path, volume: float = 1_000) -> Path:
    aaa = [
        (d, "AAA", o, c, volume)
        for d, o, c in zip(DAYS, (99, 105, 118, 121), (100, 110, 120, 125), strict=True)
    ]
    bbb = [(d, "BBB", 49, 50, volume) for d in DAYS]
    return write_prices(folder, aaa + bbb)


COSTS = {"bps": 10, "per_share": 0.01, "per_order": 1}


def cash(result) -> list[float]:  # type: ignore[no-untyped-def]
    return result.outputs.capture("cash")["cash_main"].tolist()


def test_market_on_close_fills_at_the_decision_close_with_every_fee(
    tmp_path: Path, run: Runner
) -> None:
    result = run(
        prices(tmp_path),
        orders={"2024-01-02": [["AAA", 50]], "2024-01-04": [["AAA", -50]]},
        costs=COSTS,
    )
    fills = result.outputs.fills
    # buy 50 @ 100: 5,000 x 10 bps = 5.00, 50 x 0.01 = 0.50, per order 1.00 -> 6.50
    # sell 50 @ 120: 6,000 x 10 bps = 6.00 + 0.50 + 1.00 -> 7.50
    assert fills[["side", "qty", "price", "fee"]].values.tolist() == [
        ["BUY", 50.0, 100.0, 6.5],
        ["SELL", 50.0, 120.0, 7.5],
    ]
    closes = result.outputs.pnl["ts"].iloc[1:].tolist()
    assert fills["ts"].tolist() == [closes[0], closes[2]]  # at the closes (21:00 UTC)
    assert cash(result) == [4_993.5, 4_993.5, 10_986.0, 10_986.0]
    s = result.statistics
    assert (s.realised_pnl, s.fees, s.net_pnl, s.ending_equity) == (1_000.0, 14.0, 986.0, 10_986.0)


def test_next_open_fills_at_the_following_sessions_open(tmp_path: Path, run: Runner) -> None:
    result = run(
        prices(tmp_path),
        orders={"2024-01-02": [["AAA", 50]]},
        costs=COSTS,
        fills="next_open",
    )
    fill = result.outputs.fills.iloc[0]
    # 50 @ 105 (the open of 3 January): 5,250 x 10 bps = 5.25 + 0.50 + 1.00
    assert (fill.qty, fill.price, fill.fee) == (50.0, 105.0, 6.75)
    assert cash(result) == [10_000.0, 4_743.25, 4_743.25, 4_743.25]
    opened = result.outputs.orders.query("exec_type == 'TRADE'").iloc[0]
    assert opened.tif == "AT_THE_OPENING" and fill.ts == opened.ts
    assert fill.ts == 1_704_292_200 * 10**9  # 2024-01-03 14:30 UTC, the XNYS open


def test_limit_prices_are_honoured_and_fill_at_the_auction_price(
    tmp_path: Path, run: Runner
) -> None:
    result = run(
        prices(tmp_path),
        orders={
            "2024-01-02": [["AAA", 10, 104], ["AAA", 5, 106]],
            "2024-01-03": [["AAA", -5, 119]],
        },
        fills="next_open",
    )
    orders = result.outputs.orders
    done = orders[orders.exec_type != "NEW"].set_index("order_id")
    assert done.loc[1, "status"] == "CANCELED" and "limit 104" in done.loc[1, "reason"]
    assert done.loc[2, "status"] == "FILLED"  # 105 <= 106, filled at 105 (not 106)
    assert result.outputs.fills.price.tolist() == [105.0]
    assert done.loc[3, "status"] == "CANCELED"  # a sell limit of 119 and an open of 118


def test_volume_cap_fills_a_share_of_the_days_volume_and_cancels_the_rest(
    tmp_path: Path, run: Runner
) -> None:
    result = run(
        prices(tmp_path, volume=300),
        orders={"2024-01-02": [["AAA", 50], ["AAA", 10]]},
        max_participation=0.1,
    )
    orders = result.outputs.orders
    trade = orders[orders.exec_type == "TRADE"].iloc[0]
    canceled = orders[orders.exec_type == "CANCELED"]
    # 10% of 300 = 30 units for both orders together, first come first served
    assert (trade.order_id, trade.cum_qty, trade.status) == (1, 30.0, "PARTIALLY_FILLED")
    assert canceled.order_id.tolist() == [1, 2]
    assert canceled.cum_qty.tolist() == [30.0, 0.0]
    assert all("volume cap" in r for r in canceled.reason)


def test_buys_beyond_the_cash_are_cut_pro_rata_after_the_sells(tmp_path: Path, run: Runner) -> None:
    result = run(
        prices(tmp_path),
        orders={
            "2024-01-02": [["AAA", 80]],  # 8,000 of 10,000
            # 3 January: sell 20 AAA @ 110 (+2,200: cash 4,200), buy 60 AAA @ 110 (6,600)
            # and 60 BBB @ 50 (3,000): 9,600 > 4,200, so both are cut by 4,200 / 9,600
            "2024-01-03": [["AAA", -20], ["AAA", 60], ["BBB", 60]],
        },
    )
    fills = result.outputs.fills
    assert fills[["instrument", "side", "qty"]].values.tolist() == [
        ["AAA", "BUY", 80.0],
        ["AAA", "SELL", 20.0],
        ["AAA", "BUY", 26.0],  # 60 x 0.4375 = 26.25 -> 26
        ["BBB", "BUY", 26.0],
    ]
    assert cash(result)[1] == pytest.approx(4_200 - 26 * 110 - 26 * 50)
    assert min(cash(result)) >= 0


def test_accounts_are_long_only(tmp_path: Path, run: Runner) -> None:
    result = run(prices(tmp_path), orders={"2024-01-02": [["AAA", 5]], "2024-01-03": [["AAA", -8]]})
    fills = result.outputs.fills
    assert fills.qty.tolist() == [5.0, 5.0]
    reason = result.outputs.orders.query("exec_type == 'CANCELED'").reason.iloc[0]
    assert reason.startswith("not held")


def test_a_symbol_without_a_bar_does_not_fill(tmp_path: Path, run: Runner) -> None:
    rows = [(d, "AAA", 10, 10, 100) for d in DAYS] + [("2024-01-02", "BBB", 5, 5, 100)]
    result = run(write_prices(tmp_path, rows), orders={"2024-01-03": [["BBB", 1]]})
    canceled = result.outputs.orders.query("exec_type == 'CANCELED'").iloc[0]
    assert canceled.reason == "no price of BBB on 2024-01-03"
    assert result.outputs.fills.empty


def test_target_weights_size_from_the_close_and_round_to_lots(tmp_path: Path, run: Runner) -> None:
    result = run(prices(tmp_path), weights={"2024-01-02": {"AAA": 0.5, "BBB": 0.25}})
    fills = result.outputs.fills
    # 5,000 / 100 = 50 AAA; 2,500 / 50 = 50 BBB
    assert fills[["instrument", "qty"]].values.tolist() == [["AAA", 50.0], ["BBB", 50.0]]

"""PriceGuard: what prices and sizes can be true for an instrument."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from serenity.marketdata.fh.plausibility import LEVEL_BAND, MAX_PRICE, PriceGuard


def test_without_a_catalog_only_range_and_band_apply() -> None:
    guard = PriceGuard()
    for bad in (0.0, -1.0, float("nan"), float("inf"), 1e308, MAX_PRICE):
        assert guard.check_trade(bad, 1.0) is not None
    assert guard.reference is None  # nothing accepted yet
    assert guard.check_trade(42_000.123456789, 1e12) is None  # any grid, any size
    assert guard.check_trade(42_000 * 99, 1.0) is None
    assert guard.reference == 42_000 * 99  # it moved: more than twice the reference
    assert guard.check_trade(42_000 * 99 * 1.5, 1.0) is None
    assert guard.reference == 42_000 * 99  # within twice: the reference stays
    assert guard.check_trade(42_000 * 99 * 101, 1.0) is not None
    assert guard.check_trade(42_000 * 99 * 1.5, 1.0) is None
    assert guard.reference == 42_000 * 99 * 1.5  # after a refusal the next trade re-centres


def test_the_tick_grid_holds_for_decimal_prices_parsed_as_floats() -> None:
    guard = PriceGuard(tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"))
    assert guard.check_trade(float("100.01000000"), 0.1) is None
    assert guard.check_trade(float("100.015"), 0.1) is None  # a legacy finer tick: real
    assert guard.check_trade(float("100.01001"), 0.1) is not None
    assert guard.check_trade(100.02, 1e300) is not None  # past lot * 2**52
    assert guard.max_price == 0.01 * 2.0**52


@given(
    ticks=st.integers(min_value=1, max_value=2**31 // 100 - 1),
    exponent=st.integers(min_value=-8, max_value=2),
    mantissa=st.sampled_from([1, 2, 5]),
)
def test_every_price_on_the_grid_passes_and_a_third_of_a_fine_tick_off_does_not(
    ticks: int, exponent: int, mantissa: int
) -> None:
    tick = Decimal(mantissa).scaleb(exponent)
    price = float(tick * ticks)  # as a venue's decimal string parses
    guard = PriceGuard(tick_size=tick, band=None)
    assert guard.check_levels([(price, 1.0)], []) is None
    off = float(tick * ticks + tick / 300)  # the grid checked is 100 times finer
    assert guard.check_levels([], [(off, 1.0)]) is not None


def test_levels_get_a_much_wider_band_than_trades() -> None:
    guard = PriceGuard(tick_size=Decimal("0.0001"))
    guard.set_reference(3.3)  # CRV-EUR in the 2021 Coinbase capture, with an ask at 888888004
    assert guard.check_levels([(0.0001, 5.0)], [(888_888_004.0, 1.0)]) is None
    assert guard.check_trade(888_888_004.0, 1.0) is not None
    assert guard.check_levels([], [(3.3 * LEVEL_BAND * 2, 1.0)]) is not None


def test_trades_outside_the_band_move_the_reference_once_they_agree() -> None:
    guard = PriceGuard(band=10.0, stuck_after=3)
    assert guard.check_trade(100.0, 1.0) is None
    for price in (5_000.0, 1.0, 5_100.0):  # they do not agree: keep the reference
        assert guard.check_trade(price, 1.0) is not None
    assert not guard.is_stuck() and guard.reference == 100.0
    for price in (5_050.0, 5_020.0):
        assert guard.check_trade(price, 1.0) is not None
    assert guard.is_stuck() and guard.reference == 5_050.0
    assert guard.check_trade(5_010.0, 1.0) is None

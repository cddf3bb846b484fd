"""PriceGuard: what prices and sizes can be true for an instrument."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from serenity.marketdata.fh.plausibility import LEVEL_BAND, MAX_PRICE, PriceGuard


def test_without_a_catalog_only_range_and_band_apply() -> None:
    guard = PriceGuard()
    for bad in (0.0, -1.0, float("nan"), float("inf"), 1e308, MAX_PRICE):
        assert guard.trade_error(bad, 1.0) is not None
    assert guard.reference is None  # nothing accepted yet
    assert guard.trade_error(42_000.123456789, 1e12) is None  # any grid, any size
    assert guard.trade_error(42_000 * 99, 1.0) is None
    assert guard.trade_error(42_000 * 99 * 101, 1.0) is not None  # the band followed the last


def test_the_tick_grid_holds_for_decimal_prices_parsed_as_floats() -> None:
    guard = PriceGuard(tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"))
    assert guard.trade_error(float("100.01000000"), 0.1) is None
    assert guard.trade_error(float("42000.005"), 0.1) is not None
    assert guard.trade_error(100.02, 1e300) is not None  # past lot * 2**52
    assert guard.max_price == 0.01 * 2.0**52


@given(
    ticks=st.integers(min_value=1, max_value=10**12),
    exponent=st.integers(min_value=-8, max_value=2),
    mantissa=st.sampled_from([1, 2, 5]),
)
def test_every_price_on_the_grid_passes_and_a_third_of_a_tick_off_does_not(
    ticks: int, exponent: int, mantissa: int
) -> None:
    tick = Decimal(mantissa).scaleb(exponent)
    price = float(tick * ticks)  # as a venue's decimal string parses
    guard = PriceGuard(tick_size=tick, band=None)
    assert guard.levels_error([(price, 1.0)]) is None
    off = float(tick * ticks + tick / 3)
    assert guard.levels_error([(off, 1.0)]) is not None


def test_levels_get_a_much_wider_band_than_trades() -> None:
    guard = PriceGuard(tick_size=Decimal("0.0001"))
    guard.set_reference(3.3)  # CRV-EUR in the 2021 Coinbase capture, with an ask at 888888004
    assert guard.levels_error([(888_888_004.0, 1.0), (0.0001, 5.0)]) is None
    assert guard.trade_error(888_888_004.0, 1.0) is not None
    assert guard.levels_error([(3.3 * LEVEL_BAND * 2, 1.0)]) is not None


def test_trades_outside_the_band_move_the_reference_once_they_agree() -> None:
    guard = PriceGuard(band=10.0, stuck_after=3)
    assert guard.trade_error(100.0, 1.0) is None
    for price in (5_000.0, 1.0, 5_100.0):  # they do not agree: keep the reference
        assert guard.trade_error(price, 1.0) is not None
    assert not guard.is_stuck() and guard.reference == 100.0
    for price in (5_050.0, 5_020.0):
        assert guard.trade_error(price, 1.0) is not None
    assert guard.is_stuck() and guard.reference == 5_050.0
    assert guard.trade_error(5_010.0, 1.0) is None

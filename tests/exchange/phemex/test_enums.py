"""Phemex's spellings against every value of the serenity.model enums they map."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from serenity.errors import DataError, InvalidValueError
from serenity.exchange.phemex import enums
from serenity.exchange.phemex.enums import WireMap
from serenity.model import ExecType, Liquidity, OrderStatus, OrderType, Side, TimeInForce

MAPS: list[tuple[WireMap[Any], type[StrEnum]]] = [
    (enums.SIDES, Side),
    (enums.ORDER_TYPES, OrderType),
    (enums.TIMES_IN_FORCE, TimeInForce),
    (enums.ORDER_STATUSES, OrderStatus),
    (enums.EXEC_STATUSES, ExecType),
    (enums.LIQUIDITY, Liquidity),
]
CASES = [(m, value) for m, enum in MAPS for value in enum]


@pytest.mark.parametrize(("wire_map", "value"), CASES, ids=lambda v: str(v))
def test_every_model_value_maps_both_ways_or_is_refused_with_a_reason(
    wire_map: WireMap[Any], value: StrEnum
) -> None:
    if value in wire_map.unsupported:
        with pytest.raises(InvalidValueError, match=f"phemex: {wire_map.what} {value} is"):
            wire_map.to_wire(value)
    else:
        assert wire_map.from_wire(wire_map.to_wire(value)) is value


@pytest.mark.parametrize("wire_map", [m for m, _ in MAPS], ids=lambda m: m.what)
def test_every_spelling_reads_and_unknown_ones_are_named(wire_map: WireMap[Any]) -> None:
    for spelling in wire_map.spellings():
        wire_map.from_wire(spelling)
    with pytest.raises(DataError, match=f"unknown {wire_map.what} 'Bogus', expected one of"):
        wire_map.from_wire("Bogus")
    with pytest.raises(DataError):
        wire_map.from_wire(["unhashable"])


def test_phemex_extra_spellings_map_to_their_domain_values() -> None:
    assert enums.ORDER_STATUSES.from_wire("Untriggered") is OrderStatus.NEW
    assert enums.ORDER_STATUSES.from_wire("Deactivated") is OrderStatus.CANCELED
    assert enums.ORDER_STATUSES.from_wire("Created") is OrderStatus.NEW
    assert enums.EXEC_STATUSES.from_wire("MakerFill") is ExecType.TRADE
    assert enums.LIQUIDITY.from_wire("TakerFill") is Liquidity.TAKER


@pytest.mark.parametrize("tif", list(TimeInForce))
def test_post_only_is_a_time_in_force_on_the_wire_and_a_flag_in_the_model(
    tif: TimeInForce,
) -> None:
    if tif is TimeInForce.GTC:
        assert enums.time_in_force_wire(tif, post_only=True) == "PostOnly"
        assert enums.parse_time_in_force("PostOnly") == (TimeInForce.GTC, True)
    else:
        with pytest.raises(InvalidValueError):
            enums.time_in_force_wire(tif, post_only=True)
    if tif in enums.TIMES_IN_FORCE.wire:
        wire = enums.time_in_force_wire(tif, post_only=False)
        assert wire != "PostOnly" and enums.parse_time_in_force(wire) == (tif, False)


def test_spellings_must_be_unique() -> None:
    with pytest.raises(ValueError, match="not unique"):
        WireMap("side", {Side.BUY: "X", Side.SELL: "X"})

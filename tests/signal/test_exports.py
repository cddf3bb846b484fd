"""Every name in the signal packages' ``__all__`` resolves, is public and is documented."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "serenity.signal",
    "serenity.signal.bars",
    "serenity.signal.bars.ohlc",
    "serenity.signal.bars.threshold_bars",
    "serenity.signal.bars.time_bars",
    "serenity.signal.indicators",
    "serenity.signal.indicators.averages",
    "serenity.signal.indicators.bands",
    "serenity.signal.indicators.oscillators",
    "serenity.signal.indicators.volatility",
    "serenity.signal.indicators.volume",
    "serenity.signal.vectorized",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_resolves_and_is_public(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    for attr in module.__all__:
        assert not attr.startswith("_"), attr
        value = getattr(module, attr)
        assert value.__doc__, f"{name}.{attr} has no docstring"


def test_the_package_reexports_every_indicator_and_bar_builder() -> None:
    signal = importlib.import_module("serenity.signal")
    for name in ("serenity.signal.bars", "serenity.signal.indicators"):
        assert set(importlib.import_module(name).__all__) <= set(signal.__all__)

"""Investment configs: checked key by key, errors with the key's place in the file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from serenity.errors import ConfigError
from serenity.strategy import (
    DividendPolicy,
    FillTiming,
    Frequency,
    is_invest_config,
    load_invest_config,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "serenity" / "examples" / "invest"


def test_the_examples_load() -> None:
    ew = load_invest_config(EXAMPLES / "equal_weight.yaml")
    assert ew.universe is None and ew.prices == EXAMPLES / "sample_prices.csv"
    assert ew.rebalance.every is Frequency.QUARTERLY and ew.fills is FillTiming.NEXT_OPEN
    assert ew.costs.per_share == Decimal("0.005") and ew.max_participation == Decimal("0.05")
    assert ew.dividends is DividendPolicy.REINVEST_PORTFOLIO and ew.calendar_name == "XNYS"
    crypto = load_invest_config(EXAMPLES / "crypto_60_40.yaml")
    assert crypto.uses_store and crypto.calendar_name == "24/7"
    assert crypto.lot_size == Decimal("1E-8") and crypto.accounts == {"main": Decimal(10_000)}


def test_a_bad_key_or_value_is_named_with_its_line(tmp_path: Path) -> None:
    text = (EXAMPLES / "buy_and_hold.yaml").read_text()
    cases = {
        "rebalance: once": ("rebalance: fortnightly", r":11:12: rebalance must be one of daily"),
        "fills: market_on_close": ("filz: market_on_close", r":12:1: unknown key 'filz'"),
        "costs: {bps: 2, per_order: 1}": ("costs: {bps: -2}", r"costs.bps must be a number >= 0"),
        "capital: 100000": ("capital: lots", r"capital must be a number, was 'lots'"),
    }
    for old, (new, message) in cases.items():
        path = tmp_path / "c.yaml"
        path.write_text(text.replace(old, new))
        with pytest.raises(ConfigError, match=message):
            load_invest_config(path)


def test_an_algo_config_is_sent_to_the_algo_engine() -> None:
    algo = {"strategy": {"name": "x", "module": "m", "class": "C"}, "instruments": ["A:B"]}
    assert not is_invest_config(algo)
    with pytest.raises(ConfigError, match="algo engine config.*serenity backtest run"):
        load_invest_config(algo)


def test_fx_is_refused_with_the_reason() -> None:
    config = {
        "strategy": {"name": "x", "module": "m", "class": "C"},
        "universe": [{"symbol": "VOD", "currency": "GBP"}],
        "currency": "USD",
    }
    with pytest.raises(ConfigError, match="VOD is priced in GBP.*FX is not supported"):
        load_invest_config(config)


def test_several_accounts_form_one_portfolio() -> None:
    config = load_invest_config(
        {
            "strategy": {"name": "x", "module": "m", "class": "C"},
            "universe": ["AAA"],
            "portfolio": {"currency": "eur", "accounts": {"taxable": 600, "pension": 400.5}},
        }
    )
    assert config.currency == "EUR"
    assert config.accounts == {"taxable": Decimal(600), "pension": Decimal("400.5")}

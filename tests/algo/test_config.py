"""Run configs: the v1 form, upstream's v1Beta form, and errors that say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from serenity.algo import load_config, load_strategy_class
from serenity.algo.loader import strategy_params
from serenity.errors import ConfigError
from serenity.model import InstrumentId

GOOD = """\
api-version: v1
strategy: {name: bbands, module: bbands1.py, class: BollingerBands1,
           params: {window: 20, num_std: 2.0, qty: 1.0}}
instruments: [COINBASE:BTC-USD, PHEMEX:BTCUSD]
account: sim
simulator: {maker_fee_bps: 7.5, taker_fee_bps: 7.5, latency_ns: 0}
risk: {max_order_qty: 10, max_position: 10}
pnl_interval: 30s
"""


def test_v1_config_loads_every_section() -> None:
    cfg = load_config(GOOD)
    assert cfg.name == "bbands" and cfg.strategies[0].class_name == "BollingerBands1"
    assert cfg.instruments == (
        InstrumentId("coinbase", "BTC-USD"),
        InstrumentId("phemex", "BTCUSD"),
    )
    assert cfg.simulator.taker_fee_bps == 7.5 and cfg.risk.max_position == 10
    assert cfg.pnl_interval_ns == 30 * 10**9 and cfg.text == GOOD


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD.replace("account: sim", "acount: sim"), r"<config>:5:1: unknown key 'acount'"),
        (
            GOOD.replace("latency_ns: 0", "latency_ns: soon"),
            r"<config>:6:65: simulator.latency_ns must be an integer",
        ),
        (
            GOOD.replace("max_order_qty: 10", "max_order_qt: 10"),
            r"<config>:7:8: unknown key 'max_order_qt' in risk",
        ),
        (
            GOOD.replace("COINBASE:BTC-USD", "BTC-USD"),
            r"<config>:4:15: instrument must be written VENUE:SYMBOL",
        ),
        (GOOD.replace("api-version: v1", "api-version: v9"), "api-version must be v1 or v1Beta"),
        (GOOD.replace("30s", "soon"), "pnl_interval must be a duration"),
        ("strategy: [1, 2]\ninstruments: [A:B]\n", r"<config>:1:11: strategy must be a mapping"),
        ("{", "not valid YAML"),
    ],
)
def test_bad_configs_are_refused_with_the_key_and_where(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(text)


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_upstream_v1beta_configs_load_with_a_deprecation_warning() -> None:
    text = """\
api-version: v1Beta
environment:
  - key: EXCHANGE_ID
    value: phemex
strategies:
  - name: BollingerBands1
    module: bbands1.py
    strategy-class: BollingerBands1
    environment:
      - key: TRADING_INSTRUMENT
        value: BTCUSD
      - key: BB_WINDOW
        value: 20
"""
    with pytest.warns(DeprecationWarning, match="v1Beta is deprecated"):
        cfg = load_config(text)
    [spec] = cfg.strategies
    assert spec.class_name == "BollingerBands1" and spec.params["BB_WINDOW"] == 20
    assert cfg.instruments == (InstrumentId("phemex", "BTCUSD"),)


def test_strategy_params_are_checked_against_the_params_dataclass(examples_dir: Path) -> None:
    cls = load_strategy_class("bbands1.py", "BollingerBands1", base=examples_dir)
    params = strategy_params(cls, {"window": 10, "num_std": 2}, where="strategy 'b'")
    assert params.window == 10 and params.num_std == 2.0 and isinstance(params.num_std, float)
    with pytest.raises(ConfigError, match=r"unknown param\(s\) \['windw'\].*did you mean 'window'"):
        strategy_params(cls, {"windw": 10}, where="strategy 'b'")
    with pytest.raises(ConfigError, match="param 'window' of BollingerBands1 must be int"):
        strategy_params(cls, {"window": "ten"}, where="strategy 'b'")


def test_strategy_modules_and_classes_that_do_not_exist_are_named(examples_dir: Path) -> None:
    with pytest.raises(
        ConfigError, match="has no class 'BollingerBand1'; did you mean 'BollingerBands1'"
    ):
        load_strategy_class("bbands1.py", "BollingerBand1", base=examples_dir)
    with pytest.raises(ConfigError, match="strategy module 'nowhere.py' not found"):
        load_strategy_class("nowhere.py", "X", base=examples_dir)
    assert load_strategy_class("serenity.examples.peg", "Peg").__name__ == "Peg"

"""Investment run configuration: YAML files, checked key by key with their place in the file.

The form (``api-version: v1``)::

    api-version: v1
    strategy: {name: equal_weight, module: equal_weight.py, class: EqualWeight, params: {}}
    universe: all                  # every symbol of the price file, or a list
    prices: sample_prices.csv      # a price file (relative to this file), or
    # store: file:///data/ticks    # daily bars from the tick store (universe VENUE:SYMBOL)
    calendar: XNYS                 # exchange_calendars code; 24/7 for crypto
    capital: 100000                # one account, `main`; or portfolio: {accounts: {...}}
    currency: USD
    rebalance: quarterly           # daily, weekly, monthly, quarterly, yearly, once
    fills: market_on_close         # or next_open
    costs: {bps: 5, per_share: 0.005, per_order: 0, minimum: 1}
    max_participation: 0.1         # at most 10% of a day's volume
    dividends: reinvest            # none, accumulate, reinvest, reinvest_portfolio
    lot_size: 1
    benchmark: AAA

Unknown keys and values of the wrong type are refused with the key's name, its line and
column, as for the algo engine's configs (:func:`serenity.algo.load_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import yaml

from serenity.algo.config import ConfigReader, StrategySpec, read_config
from serenity.errors import ConfigError
from serenity.strategy.calendar import ALWAYS_OPEN
from serenity.strategy.costs import CostModel
from serenity.strategy.dividends import DividendPolicy
from serenity.strategy.fills import FillTiming
from serenity.strategy.model import FRACTIONAL
from serenity.strategy.schedule import Frequency, RebalanceSchedule
from serenity.trading.orders import to_decimal

__all__ = ["InvestConfig", "TradableSpec", "is_invest_config", "load_invest_config"]

_TOP_KEYS: Final = {
    "api-version": "the config format, v1",
    "strategy": "the strategy to run: name, module, class, params",
    "universe": "the tradables: `all` (every symbol of the prices) or a list",
    "prices": "a price file (CSV or Parquet), relative to the config",
    "store": "a tick store URL, for daily bars of VENUE:SYMBOL tradables",
    "calendar": "the exchange calendar (XNYS, 24/7, ...)",
    "capital": "starting cash of the one account `main`",
    "currency": "the portfolio's base currency",
    "portfolio": "{currency, accounts: {name: cash}} for several accounts",
    "rebalance": "when to rebalance: a period, or {every, on, at_start}",
    "fills": "market_on_close or next_open",
    "costs": "{bps, per_share, per_order, minimum}",
    "max_participation": "the largest share of a day's volume an order may fill",
    "dividends": "none, accumulate, reinvest or reinvest_portfolio",
    "lot_size": "the default lot size of the tradables",
    "benchmark": "a symbol to compare with, bought and held",
    "warmup_days": "days of tick-store history loaded before the window",
    "days_per_year": "sessions in a year for annualised statistics",
}
_STRATEGY_KEYS: Final = {"name", "module", "class", "params"}


def is_invest_config(mapping: Mapping[str, Any]) -> bool:
    """Return True for an investment config (it has ``universe``), False for an algo one."""
    return "universe" in mapping


@dataclass(frozen=True, slots=True)
class TradableSpec:
    """A tradable as the config names it, with its own lot size and currency if given."""

    symbol: str
    lot_size: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvestConfig:
    """A checked investment run configuration (see the module docstring for the file).

    ``universe`` is None for ``all`` (every symbol the prices have). Paths are resolved
    against the config file's folder.
    """

    strategy: StrategySpec
    universe: tuple[TradableSpec, ...] | None = None
    prices: Path | None = None
    store: str | None = None
    calendar: str | None = None
    currency: str = "USD"
    accounts: Mapping[str, Decimal] = field(default_factory=lambda: {"main": Decimal(100_000)})
    rebalance: RebalanceSchedule = field(default_factory=RebalanceSchedule)
    fills: FillTiming = FillTiming.MARKET_ON_CLOSE
    costs: CostModel = field(default_factory=CostModel)
    max_participation: Decimal | None = None
    dividends: DividendPolicy = DividendPolicy.ACCUMULATE
    lot_size: Decimal | None = None
    benchmark: str | None = None
    warmup_days: int = 0
    days_per_year: float | None = None
    source: Path | None = None
    text: str = ""

    @property
    def name(self) -> str:
        """Return the run's name: its strategy's."""
        return self.strategy.name

    @property
    def uses_store(self) -> bool:
        """Return True when the tradables are tick-store instruments (``VENUE:SYMBOL``)."""
        if self.store is not None:
            return True
        return bool(self.universe) and all(
            ":" in t.symbol or "@" in t.symbol for t in self.universe or ()
        )

    @property
    def calendar_name(self) -> str:
        """Return the calendar: as configured, else ``24/7`` for the tick store, else XNYS."""
        if self.calendar is not None:
            return self.calendar
        return ALWAYS_OPEN if self.uses_store else "XNYS"

    def as_dict(self) -> dict[str, Any]:
        """Return the config as plain data (for the run record)."""
        return {
            "api-version": "v1",
            "strategy": {
                "name": self.strategy.name,
                "module": self.strategy.module,
                "class": self.strategy.class_name,
                "params": dict(self.strategy.params),
            },
            "universe": "all" if self.universe is None else [t.symbol for t in self.universe],
            "prices": None if self.prices is None else str(self.prices),
            "store": self.store,
            "calendar": self.calendar_name,
            "portfolio": {
                "currency": self.currency,
                "accounts": {k: str(v) for k, v in self.accounts.items()},
            },
            "rebalance": {
                "every": self.rebalance.every.value,
                "on": self.rebalance.on,
                "at_start": self.rebalance.at_start,
            },
            "fills": self.fills.value,
            "costs": self.costs.as_dict(),
            "max_participation": None
            if self.max_participation is None
            else str(self.max_participation),
            "dividends": self.dividends.value,
            "benchmark": self.benchmark,
        }


def load_invest_config(source: str | Path | Mapping[str, Any]) -> InvestConfig:
    """Load and check an investment configuration from a YAML file, YAML text or a mapping.

    Raises
    ------
    ConfigError
        For a missing file, malformed YAML, an unknown key or a value of the wrong type,
        naming the key and where it is.
    """
    doc = read_config(source, docs="docs/strategy.rst")
    reader, root, path, text = doc.reader, doc.root, doc.path, doc.text
    where = reader.where
    top = reader.mapping(root, "the config")
    if "instruments" in top and "universe" not in top:
        raise ConfigError(
            f"{where}: this is an algo engine config (it has `instruments`); run it with "
            "`serenity backtest run`, or give an investment config its `universe`"
        )
    top = reader.mapping(root, "the config", _TOP_KEYS)
    version = (
        reader.scalar(top["api-version"], "api-version", str) if "api-version" in top else "v1"
    )
    if version != "v1":
        raise ConfigError(
            f"{reader.at(top['api-version'])}: api-version must be v1, was {version!r}"
        )
    if "strategy" not in top:
        raise ConfigError(f"{where}: the config needs `strategy` (name, module, class, params)")
    if "universe" not in top:
        raise ConfigError(f"{where}: the config needs `universe`: all, or a list of symbols")
    base = path.parent if path is not None else None
    kwargs: dict[str, Any] = {
        "strategy": _strategy(reader, top["strategy"]),
        "universe": _universe(reader, top["universe"]),
        "source": path,
        "text": text,
    }
    if "prices" in top and "store" in top:
        raise ConfigError(f"{reader.at(top['store'])}: give `prices` or `store`, not both")
    if "prices" in top:
        prices = Path(reader.scalar(top["prices"], "prices", str)).expanduser()
        kwargs["prices"] = prices if prices.is_absolute() or base is None else base / prices
    if "store" in top:
        kwargs["store"] = reader.scalar(top["store"], "store", str)
    if "calendar" in top:
        kwargs["calendar"] = str(reader.scalar(top["calendar"], "calendar", str))
    kwargs.update(_portfolio(reader, top))
    if "rebalance" in top:
        kwargs["rebalance"] = _rebalance(reader, top["rebalance"])
    if "fills" in top:
        kwargs["fills"] = _choice(reader, top["fills"], "fills", FillTiming)
    if "costs" in top:
        node = top["costs"]
        reader.mapping(node, "costs")
        try:
            kwargs["costs"] = CostModel.from_mapping(reader.value(node) or {})
        except ConfigError as exc:
            raise ConfigError(f"{reader.at(node)}: {exc}") from None
    if "max_participation" in top:
        node = top["max_participation"]
        cap = _decimal(reader, node, "max_participation")
        if not 0 < cap <= 1:
            raise ConfigError(f"{reader.at(node)}: max_participation must be in (0, 1], was {cap}")
        kwargs["max_participation"] = cap
    if "dividends" in top:
        kwargs["dividends"] = _choice(reader, top["dividends"], "dividends", DividendPolicy)
    if "lot_size" in top:
        kwargs["lot_size"] = _lot(reader, top["lot_size"], "lot_size")
    if "benchmark" in top:
        kwargs["benchmark"] = str(reader.scalar(top["benchmark"], "benchmark", str))
    if "warmup_days" in top:
        days = reader.scalar(top["warmup_days"], "warmup_days", int)
        if days < 0:
            raise ConfigError(f"{reader.at(top['warmup_days'])}: warmup_days must be >= 0")
        kwargs["warmup_days"] = days
    if "days_per_year" in top:
        per_year = reader.number(top["days_per_year"], "days_per_year")
        if not per_year > 0:
            raise ConfigError(f"{reader.at(top['days_per_year'])}: days_per_year must be > 0")
        kwargs["days_per_year"] = per_year
    config = InvestConfig(**kwargs)
    for spec in config.universe or ():
        if spec.currency is not None and spec.currency.upper() != config.currency:
            raise ConfigError(
                f"{where}: {spec.symbol} is priced in {spec.currency}, the portfolio in "
                f"{config.currency}; FX is not supported, so give prices in {config.currency}"
            )
    return config


def _strategy(reader: ConfigReader, node: yaml.Node) -> StrategySpec:
    fields = reader.mapping(node, "strategy", _STRATEGY_KEYS)
    for key in ("name", "module", "class"):
        if key not in fields:
            raise ConfigError(f"{reader.at(node)}: strategy needs `{key}`")
    params: dict[str, Any] = {}
    if "params" in fields:
        reader.mapping(fields["params"], "strategy.params")
        params = reader.value(fields["params"]) or {}
    return StrategySpec(
        name=reader.scalar(fields["name"], "strategy.name", str),
        module=reader.scalar(fields["module"], "strategy.module", str),
        class_name=reader.scalar(fields["class"], "strategy.class", str),
        params=params,
    )


def _universe(reader: ConfigReader, node: yaml.Node) -> tuple[TradableSpec, ...] | None:
    if isinstance(node, yaml.ScalarNode) and reader.value(node) == "all":
        return None
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise ConfigError(f"{reader.at(node)}: universe must be `all` or a list such as [AAA, BBB]")
    out = []
    for item in node.value:
        if isinstance(item, yaml.MappingNode):
            fields = reader.mapping(item, "universe[]", {"symbol", "lot_size", "currency"})
            if "symbol" not in fields:
                raise ConfigError(f"{reader.at(item)}: a universe entry needs `symbol`")
            out.append(
                TradableSpec(
                    str(reader.scalar(fields["symbol"], "universe[].symbol", str)),
                    _lot(reader, fields["lot_size"], "lot_size") if "lot_size" in fields else None,
                    str(reader.scalar(fields["currency"], "universe[].currency", str)).upper()
                    if "currency" in fields
                    else None,
                )
            )
        else:
            out.append(TradableSpec(str(reader.scalar(item, "universe[]", str))))
    symbols = [t.symbol for t in out]
    if len(set(symbols)) != len(symbols):
        raise ConfigError(f"{reader.at(node)}: universe names a symbol twice: {symbols}")
    return tuple(out)


def _portfolio(reader: ConfigReader, top: dict[str, yaml.Node]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "portfolio" in top and ("capital" in top or "currency" in top):
        raise ConfigError(
            f"{reader.at(top['portfolio'])}: give `portfolio`, or `capital` and `currency`"
        )
    if "portfolio" in top:
        node = top["portfolio"]
        fields = reader.mapping(node, "portfolio", {"currency", "accounts"})
        if "currency" in fields:
            out["currency"] = str(reader.scalar(fields["currency"], "portfolio.currency", str))
        if "accounts" not in fields:
            raise ConfigError(f"{reader.at(node)}: portfolio needs `accounts`: {{name: cash}}")
        accounts = {}
        for name, value in reader.mapping(fields["accounts"], "portfolio.accounts").items():
            cash = _decimal(reader, value, f"portfolio.accounts.{name}")
            if not cash > 0:
                raise ConfigError(f"{reader.at(value)}: cash of account {name!r} must be > 0")
            accounts[name] = cash
        if not accounts:
            raise ConfigError(f"{reader.at(node)}: portfolio.accounts is empty")
        out["accounts"] = accounts
    if "capital" in top:
        capital = _decimal(reader, top["capital"], "capital")
        if not capital > 0:
            raise ConfigError(f"{reader.at(top['capital'])}: capital must be > 0, was {capital}")
        out["accounts"] = {"main": capital}
    if "currency" in top:
        out["currency"] = str(reader.scalar(top["currency"], "currency", str))
    if "currency" in out:
        out["currency"] = out["currency"].upper()
    return out


def _rebalance(reader: ConfigReader, node: yaml.Node) -> RebalanceSchedule:
    if isinstance(node, yaml.ScalarNode):
        return RebalanceSchedule(_choice(reader, node, "rebalance", Frequency))
    fields = reader.mapping(node, "rebalance", {"every", "on", "at_start"})
    if "every" not in fields:
        raise ConfigError(f"{reader.at(node)}: rebalance needs `every` (e.g. quarterly)")
    try:
        return RebalanceSchedule(
            _choice(reader, fields["every"], "rebalance.every", Frequency),
            on=str(reader.scalar(fields["on"], "rebalance.on", str)) if "on" in fields else "first",
            at_start=reader.scalar(fields["at_start"], "rebalance.at_start", bool)
            if "at_start" in fields
            else True,
        )
    except ConfigError as exc:
        raise ConfigError(f"{reader.at(node)}: {exc}") from None


def _choice(reader: ConfigReader, node: yaml.Node, key: str, kind: Any) -> Any:
    value = str(reader.scalar(node, key, str)).strip().lower()
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise ConfigError(
            f"{reader.at(node)}: {key} must be one of {choices}, was {value!r}"
        ) from None


def _decimal(reader: ConfigReader, node: yaml.Node, key: str) -> Decimal:
    value = reader.scalar(node, key, (int, float, str))
    try:
        return to_decimal(value, what=key)
    except ValueError:
        raise ConfigError(f"{reader.at(node)}: {key} must be a number, was {value!r}") from None


def _lot(reader: ConfigReader, node: yaml.Node, key: str) -> Decimal:
    if isinstance(node, yaml.ScalarNode) and reader.value(node) == "fractional":
        return FRACTIONAL
    lot = _decimal(reader, node, key)
    if not lot > 0:
        raise ConfigError(f"{reader.at(node)}: {key} must be > 0 (or `fractional`), was {lot}")
    return lot

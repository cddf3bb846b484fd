"""Strategy run configuration: YAML files, checked key by key with their place in the file.

The current form is ``api-version: v1``::

    api-version: v1
    strategy: {name: bbands, module: examples/strategies/bbands1.py, class: BollingerBands1,
               params: {window: 20, num_std: 2.0, qty: 1.0}}
    instruments: [COINBASE:BTC-USD]
    account: sim
    simulator: {maker_fee_bps: 7.5, taker_fee_bps: 7.5, latency_ns: 0}
    risk: {max_order_qty: 10, max_position: 10}

Upstream Serenity's ``api-version: v1Beta`` files (an ``environment:`` list of key/value
pairs, ``strategies:`` with ``strategy-class``) load too, with a deprecation warning. Unknown
keys and values of the wrong type are refused with the key's name, its line and column.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import yaml

from serenity.errors import ConfigError
from serenity.model import InstrumentId
from serenity.tau import to_duration_ns
from serenity.trading import RiskLimits, SimulatorConfig

__all__ = [
    "AlgoConfig",
    "ConfigDocument",
    "ConfigReader",
    "StrategySpec",
    "load_config",
    "parse_instrument",
    "read_config",
]

_V1: Final = "v1"
_V1BETA: Final = "v1Beta"
_ENV_REF: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

_TOP_KEYS: Final = {
    "api-version": "the config format, v1",
    "strategy": "the strategy to run: name, module, class, params",
    "strategies": "several strategies, each as `strategy`",
    "instruments": "instruments traded, as VENUE:SYMBOL",
    "account": "the trading account's name",
    "capital": "starting capital, in `currency`",
    "currency": "the currency P&L and capital are counted in",
    "simulator": "fees and latencies of the exchange simulator",
    "risk": "pre-trade risk limits",
    "pnl_interval": "how often P&L is sampled, e.g. 1m",
    "books": "replay order books too (true/false); default: when stored",
    "placer": "where live orders go, e.g. phemex:prod",
    "cancel_on_stop": "cancel working orders on shutdown (default true)",
}
_STRATEGY_KEYS: Final = {"name", "module", "class", "params"}
_KIND_NAMES: Final[dict[type, str]] = {
    int: "an integer",
    float: "a number",
    str: "text",
    bool: "true or false",
}
_SIM_KEYS: Final = {"maker_fee_bps", "taker_fee_bps", "fees", "latency_ns", "report_latency_ns"}


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategySpec:
    """Which strategy class to run, from where, with which params."""

    name: str
    module: str
    class_name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AlgoConfig:
    """A checked run configuration (see the module docstring for the file form).

    Attributes
    ----------
    strategies
        The strategies to run, each with its own params.
    instruments
        The instruments traded (and replayed or subscribed).
    account
        The trading account orders are booked to.
    capital
        Starting capital in :attr:`currency`, for equity and returns.
    currency
        The currency of P&L and capital.
    simulator
        Fees and latencies of the exchange simulator (backtest and paper).
    risk
        Pre-trade risk limits.
    pnl_interval_ns
        How often P&L is sampled (ns).
    books
        Whether to replay books too; None: when the store has them.
    placer
        The live order placer URI (``phemex:prod``), for live runs.
    cancel_on_stop
        Cancel working orders when the run stops.
    source
        The file the config came from, if any; relative module paths resolve against its
        folder.
    text
        The config as given (YAML text), kept with the run's outputs.
    """

    strategies: tuple[StrategySpec, ...]
    instruments: tuple[InstrumentId, ...]
    account: str = "sim"
    capital: Decimal = Decimal(100_000)
    currency: str = "USD"
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    risk: RiskLimits = field(default_factory=RiskLimits)
    pnl_interval_ns: int = 60 * 10**9
    books: bool | None = None
    placer: str | None = None
    cancel_on_stop: bool = True
    source: Path | None = None
    text: str = ""

    @property
    def name(self) -> str:
        """Return the run's name: its strategy's, or the strategies' joined by ``+``."""
        return "+".join(s.name for s in self.strategies)

    def as_dict(self) -> dict[str, Any]:
        """Return the config as plain data (for the database's ``strategy_run.config``)."""
        return {
            "api-version": _V1,
            "strategies": [
                {
                    "name": s.name,
                    "module": s.module,
                    "class": s.class_name,
                    "params": dict(s.params),
                }
                for s in self.strategies
            ],
            "instruments": [f"{i.venue.upper()}:{i.symbol}" for i in self.instruments],
            "account": self.account,
            "capital": str(self.capital),
            "currency": self.currency,
            "simulator": {
                "maker_fee_bps": self.simulator.maker_fee_bps,
                "taker_fee_bps": self.simulator.taker_fee_bps,
                "latency_ns": self.simulator.latency_ns,
                "report_latency_ns": self.simulator.report_latency_ns,
            },
            "pnl_interval_ns": self.pnl_interval_ns,
            "placer": self.placer,
        }


def parse_instrument(code: str) -> InstrumentId:
    """Return the instrument written ``VENUE:SYMBOL`` (``COINBASE:BTC-USD``) or
    ``SYMBOL@venue``.

    Raises
    ------
    ConfigError
        When ``code`` is neither.
    """
    text = str(code).strip()
    venue, sep, symbol = text.partition(":")
    if sep and venue and symbol:
        return InstrumentId(venue.lower(), symbol)
    symbol, sep, venue = text.rpartition("@")
    if sep and venue and symbol:
        return InstrumentId(venue.lower(), symbol)
    raise ConfigError(
        f"instrument must be written VENUE:SYMBOL (e.g. COINBASE:BTC-USD), was {code!r}"
    )


def load_config(source: str | Path | Mapping[str, Any]) -> AlgoConfig:
    """Load and check a run configuration from a YAML file, YAML text or a mapping.

    Raises
    ------
    ConfigError
        For a missing file, malformed YAML, an unknown key or a value of the wrong type,
        naming the key and where it is.
    """
    doc = read_config(source, docs="docs/algo.rst")
    reader, root, path, text = doc.reader, doc.root, doc.path, doc.text
    where = reader.where
    top = reader.mapping(root, "the config")
    version = reader.scalar(top["api-version"], "api-version", str) if "api-version" in top else _V1
    if version == _V1BETA:
        warnings.warn(
            f"{where}: api-version v1Beta is deprecated; write the v1 form (see docs/algo.rst)",
            DeprecationWarning,
            stacklevel=2,
        )
        return _v1beta(reader, root, path, text)
    if version != _V1:
        raise ConfigError(
            f"{reader.at(top['api-version'])}: api-version must be v1 or v1Beta, was {version!r}"
        )
    return _v1(reader, root, path, text)


@dataclass(frozen=True, slots=True)
class ConfigDocument:
    """A config's YAML as read, before its keys are checked.

    Attributes
    ----------
    root
        The YAML node tree (lines and columns kept for the errors).
    path
        The file it came from; None for YAML text or a mapping.
    text
        The YAML text (a mapping's as dumped).
    reader
        A :class:`ConfigReader` naming the file, or ``<config>``.
    """

    root: yaml.Node
    path: Path | None
    text: str
    reader: ConfigReader


def read_config(source: str | Path | Mapping[str, Any], *, docs: str) -> ConfigDocument:
    """Read a config from a YAML file (a path, or text ending ``.yaml``/``.yml`` on one line),
    YAML text or a mapping.

    Parameters
    ----------
    source
        The config.
    docs
        The page that lists the config's keys, named when the config is empty.

    Raises
    ------
    ConfigError
        For a file that cannot be read, malformed YAML, or an empty config.
    """
    path: Path | None = None
    if isinstance(source, Mapping):
        text = yaml.safe_dump(dict(source), sort_keys=False)
    elif isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and source.endswith((".yaml", ".yml"))
    ):
        path = Path(source).expanduser()
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config {str(path)!r}: {exc.strerror or exc}") from exc
    else:
        text = str(source)
    where = str(path) if path is not None else "<config>"
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    if root is None:
        raise ConfigError(f"{where}: the config is empty; see {docs} for its keys")
    return ConfigDocument(root, path, text, ConfigReader(where))


class ConfigReader:
    """Read YAML nodes with errors that name the key and the line (``file:line:column``).

    Shared with the investment strategies' config (:mod:`serenity.strategy.config`).
    """

    def __init__(self, where: str) -> None:
        self.where = where

    def at(self, node: yaml.Node) -> str:
        mark = node.start_mark
        return f"{self.where}:{mark.line + 1}:{mark.column + 1}"

    def mapping(
        self, node: yaml.Node, what: str, known: Mapping[str, Any] | set[str] | None = None
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise ConfigError(f"{self.at(node)}: {what} must be a mapping of keys to values")
        out: dict[str, yaml.Node] = {}
        for key_node, value in node.value:
            key = str(key_node.value)
            if known is not None and key not in known:
                raise ConfigError(
                    f"{self.at(key_node)}: unknown key {key!r} in {what}; known keys: "
                    f"{', '.join(sorted(known))}"
                )
            if key in out:
                raise ConfigError(f"{self.at(key_node)}: key {key!r} appears twice in {what}")
            out[key] = value
        return out

    def value(self, node: yaml.Node) -> Any:
        return yaml.safe_load(yaml.serialize(node))

    def scalar(self, node: yaml.Node, key: str, kind: type | tuple[type, ...]) -> Any:
        value = self.value(node)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            value = None
        if not isinstance(value, kinds):
            names = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
            raise ConfigError(f"{self.at(node)}: {key} must be {names}, was {self.value(node)!r}")
        return value

    def number(self, node: yaml.Node, key: str) -> float:
        value = self.scalar(node, key, (int, float))
        return float(value)


def _v1(reader: ConfigReader, root: yaml.Node, path: Path | None, text: str) -> AlgoConfig:
    top = reader.mapping(root, "the config", _TOP_KEYS)
    if ("strategy" in top) == ("strategies" in top):
        raise ConfigError(f"{reader.where}: give either `strategy` or `strategies`")
    if "strategy" in top:
        specs = [_strategy(reader, top["strategy"], "strategy")]
    else:
        node = top["strategies"]
        if not isinstance(node, yaml.SequenceNode) or not node.value:
            raise ConfigError(f"{reader.at(node)}: strategies must be a list of strategies")
        specs = [_strategy(reader, n, f"strategies[{i}]") for i, n in enumerate(node.value)]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{reader.where}: strategy names must differ, were {names}")
    if "instruments" not in top:
        raise ConfigError(
            f"{reader.where}: the config needs `instruments`, e.g. [COINBASE:BTC-USD]"
        )
    instruments = _instruments(reader, top["instruments"])
    kwargs: dict[str, Any] = {}
    if "account" in top:
        kwargs["account"] = reader.scalar(top["account"], "account", str)
    if "currency" in top:
        kwargs["currency"] = reader.scalar(top["currency"], "currency", str).upper()
    if "capital" in top:
        capital = reader.number(top["capital"], "capital")
        if not capital > 0:
            raise ConfigError(f"{reader.at(top['capital'])}: capital must be > 0, was {capital}")
        kwargs["capital"] = (
            Decimal(repr(capital)) if isinstance(capital, float) else Decimal(capital)
        )
    if "simulator" in top:
        kwargs["simulator"] = _simulator(reader, top["simulator"])
    if "risk" in top:
        node = top["risk"]
        reader.mapping(node, "risk", set(RiskLimits.__dataclass_fields__))
        try:
            kwargs["risk"] = RiskLimits.from_mapping(reader.value(node) or {})
        except ConfigError as exc:
            raise ConfigError(f"{reader.at(node)}: {exc}") from None
    if "pnl_interval" in top:
        kwargs["pnl_interval_ns"] = _duration(reader, top["pnl_interval"], "pnl_interval")
    if "books" in top:
        kwargs["books"] = reader.scalar(top["books"], "books", bool)
    if "placer" in top:
        kwargs["placer"] = reader.scalar(top["placer"], "placer", str)
    if "cancel_on_stop" in top:
        kwargs["cancel_on_stop"] = reader.scalar(top["cancel_on_stop"], "cancel_on_stop", bool)
    return AlgoConfig(
        strategies=tuple(specs), instruments=instruments, source=path, text=text, **kwargs
    )


def _strategy(reader: ConfigReader, node: yaml.Node, what: str) -> StrategySpec:
    fields = reader.mapping(node, what, _STRATEGY_KEYS)
    for key in ("name", "module", "class"):
        if key not in fields:
            raise ConfigError(f"{reader.at(node)}: {what} needs `{key}`")
    params: dict[str, Any] = {}
    if "params" in fields:
        params_node = fields["params"]
        reader.mapping(params_node, f"{what}.params")
        params = reader.value(params_node) or {}
    return StrategySpec(
        name=reader.scalar(fields["name"], f"{what}.name", str),
        module=reader.scalar(fields["module"], f"{what}.module", str),
        class_name=reader.scalar(fields["class"], f"{what}.class", str),
        params=params,
    )


def _instruments(reader: ConfigReader, node: yaml.Node) -> tuple[InstrumentId, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise ConfigError(
            f"{reader.at(node)}: instruments must be a list such as [COINBASE:BTC-USD]"
        )
    out = []
    for item in node.value:
        code = reader.scalar(item, "instruments[]", str)
        try:
            out.append(parse_instrument(code))
        except ConfigError as exc:
            raise ConfigError(f"{reader.at(item)}: {exc}") from None
    return tuple(out)


def _simulator(reader: ConfigReader, node: yaml.Node) -> SimulatorConfig:
    fields = reader.mapping(node, "simulator", _SIM_KEYS)
    kwargs: dict[str, Any] = {}
    for key in ("maker_fee_bps", "taker_fee_bps"):
        if key in fields:
            kwargs[key] = reader.number(fields[key], f"simulator.{key}")
    for key in ("latency_ns", "report_latency_ns"):
        if key in fields:
            value = reader.scalar(fields[key], f"simulator.{key}", int)
            if value < 0:
                raise ConfigError(
                    f"{reader.at(fields[key])}: simulator.{key} must be >= 0, was {value}"
                )
            kwargs[key] = value
    if "fees" in fields:
        fees: dict[str, tuple[float, float]] = {}
        for code, value in reader.mapping(fields["fees"], "simulator.fees").items():
            pair = reader.value(value)
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(x, int | float) for x in pair)
            ):
                raise ConfigError(
                    f"{reader.at(value)}: simulator.fees.{code} must be [maker_bps, taker_bps]"
                )
            fees[str(parse_instrument(code))] = (float(pair[0]), float(pair[1]))
        kwargs["fees"] = fees
    return SimulatorConfig(**kwargs)


def _duration(reader: ConfigReader, node: yaml.Node, key: str) -> int:
    value = reader.value(node)
    if isinstance(value, int) and not isinstance(value, bool):
        return to_duration_ns(value, what=key)
    text = str(value).strip()
    match = re.fullmatch(r"(\d+)\s*(ns|us|ms|s|m|h|d)", text)
    if not match:
        raise ConfigError(
            f"{reader.at(node)}: {key} must be a duration such as 30s, 1m or 1h, was {value!r}"
        )
    unit = {
        "ns": 1,
        "us": 10**3,
        "ms": 10**6,
        "s": 10**9,
        "m": 60 * 10**9,
        "h": 3600 * 10**9,
        "d": 86_400 * 10**9,
    }
    ns = int(match.group(1)) * unit[match.group(2)]
    if ns <= 0:
        raise ConfigError(f"{reader.at(node)}: {key} must be > 0, was {value!r}")
    return ns


def _v1beta(reader: ConfigReader, root: yaml.Node, path: Path | None, text: str) -> AlgoConfig:
    """Upstream's form: a global ``environment`` and ``strategies`` with ``strategy-class``."""
    top = reader.mapping(root, "the config", {"api-version", "environment", "strategies"})
    env = _environment(reader, top.get("environment"), "environment")
    node = top.get("strategies")
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise ConfigError(f"{reader.where}: a v1Beta config needs a `strategies` list")
    specs = []
    instruments: list[InstrumentId] = []
    for i, item in enumerate(node.value):
        what = f"strategies[{i}]"
        fields = reader.mapping(item, what, {"name", "module", "strategy-class", "environment"})
        for key in ("name", "module", "strategy-class"):
            if key not in fields:
                raise ConfigError(f"{reader.at(item)}: {what} needs `{key}`")
        params = {**env, **_environment(reader, fields.get("environment"), f"{what}.environment")}
        for key in ("TRADING_INSTRUMENT", "INSTRUMENT"):
            if key in params:
                venue = str(params.get("EXCHANGE_ID") or env.get("EXCHANGE_ID") or "phemex")
                instruments.append(InstrumentId(venue.lower(), str(params[key])))
        specs.append(
            StrategySpec(
                name=reader.scalar(fields["name"], f"{what}.name", str),
                module=reader.scalar(fields["module"], f"{what}.module", str),
                class_name=reader.scalar(fields["strategy-class"], f"{what}.strategy-class", str),
                params=params,
            )
        )
    if not instruments:
        raise ConfigError(
            f"{reader.where}: a v1Beta config must name its instrument with TRADING_INSTRUMENT "
            "(and EXCHANGE_ID) in an environment"
        )
    return AlgoConfig(
        strategies=tuple(specs),
        instruments=tuple(dict.fromkeys(instruments)),
        account=str(env.get("ACCOUNT", "sim")),
        source=path,
        text=text,
    )


def _environment(reader: ConfigReader, node: yaml.Node | None, what: str) -> dict[str, Any]:
    if node is None:
        return {}
    if not isinstance(node, yaml.SequenceNode):
        raise ConfigError(f"{reader.at(node)}: {what} must be a list of key/value pairs")
    out: dict[str, Any] = {}
    for item in node.value:
        pair = reader.mapping(item, what, {"key", "value"})
        if "key" not in pair or "value" not in pair:
            raise ConfigError(f"{reader.at(item)}: each {what} entry needs `key` and `value`")
        key = reader.scalar(pair["key"], f"{what}.key", str)
        value = reader.value(pair["value"])
        if isinstance(value, str):
            value = _ENV_REF.sub(lambda m: os.environ.get(m.group(1), ""), value)
        out[key] = value
    return out

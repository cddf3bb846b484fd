"""Parameter grids: ``window=10,20,40`` specs, their points, and where each key goes.

A grid key addresses the config:

- a bare name (``window``) is a strategy param, ``strategy.params.window`` (a config with a
  ``strategies`` list must have one strategy, or name it with a path);
- a dotted path (``costs.bps``, ``simulator.taker_fee_bps``, ``strategies.1.params.qty``)
  goes from the config's root; numbers index lists; missing mappings are created;
- a leading dot (``.capital``) addresses a top-level key.

Values are read as YAML scalars: ``10`` is an int, ``1.5`` a float, ``true`` a bool,
anything else text.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from serenity.errors import ConfigError

__all__ = ["apply_point", "grid_points", "key_path", "parse_grid", "point_label"]


def parse_grid(grid: Mapping[str, Iterable[Any]] | Iterable[str]) -> dict[str, list[Any]]:
    """Return the grid as ``{key: [values]}`` from a mapping or ``key=v1,v2`` specs.

    Raises
    ------
    ConfigError
        For a spec without ``=`` or values, an empty key, or a key given twice.
    """
    out: dict[str, list[Any]] = {}
    if isinstance(grid, Mapping):
        items = [(str(k), list(v) if not isinstance(v, str) else [v]) for k, v in grid.items()]
    else:
        items = []
        for spec in grid:
            name, sep, text = str(spec).partition("=")
            if not sep or not name.strip() or not text.strip():
                raise ConfigError(
                    f"--grid takes KEY=V1,V2,... (e.g. window=10,20,40), was {spec!r}"
                )
            items.append((name.strip(), [_scalar(v) for v in text.split(",")]))
    for key, found in items:
        if key in out:
            raise ConfigError(f"grid key {key!r} is given twice; list all its values once")
        if not key or not found:
            raise ConfigError(f"grid key {key!r} needs at least one value")
        out[key] = found
    if not out:
        raise ConfigError("the grid is empty; give at least one --grid KEY=V1,V2")
    return out


def _scalar(text: str) -> Any:
    text = text.strip()
    if not text:
        raise ConfigError("a grid value is empty (two commas in a row?)")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, int | float | bool | str) or value is None else text


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Return every combination of the grid's values, the last key varying fastest."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def point_label(point: Mapping[str, Any]) -> str:
    """Return ``window=20,num_std=2.0`` for a point."""
    return ",".join(f"{k}={v}" for k, v in point.items())


def key_path(config: Mapping[str, Any], key: str) -> list[str | int]:
    """Return where ``key`` goes in ``config`` (see the module docstring).

    Raises
    ------
    ConfigError
        For an empty path segment, a bare name in a config with several strategies, or an
        upstream ``v1Beta`` config (sweep a v1 config).
    """
    if config.get("api-version") == "v1Beta":
        raise ConfigError("sweeps take api-version v1 configs; rewrite the v1Beta config as v1")
    if key.startswith(".") or "." in key:
        parts = key.removeprefix(".").split(".")
        if not all(parts):
            raise ConfigError(f"grid key {key!r} has an empty part")
        return [int(p) if p.isdigit() else p for p in parts]
    if "strategy" in config:
        return ["strategy", "params", key]
    strategies = config.get("strategies")
    if isinstance(strategies, list) and len(strategies) == 1:
        return ["strategies", 0, "params", key]
    raise ConfigError(
        f"grid key {key!r}: the config has several strategies; write strategies.N.params.{key}"
    )


def apply_point(config: Mapping[str, Any], point: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``config`` with each key of ``point`` set to its value.

    Raises
    ------
    ConfigError
        When a path runs through a value that is neither a mapping nor a list, or indexes
        past a list's end.
    """
    out = copy.deepcopy(dict(config))
    for key, value in point.items():
        path = key_path(out, key)
        node: Any = out
        for depth, part in enumerate(path[:-1]):
            nxt = path[depth + 1]
            if isinstance(node, dict):
                if node.get(part) is None:
                    node[part] = [] if isinstance(nxt, int) else {}
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                where = ".".join(str(p) for p in path[: depth + 1])
                raise ConfigError(f"grid key {key!r}: {where} is not a mapping or list to go into")
        last = path[-1]
        if isinstance(node, dict):
            node[last] = value
        elif isinstance(node, list) and isinstance(last, int) and last < len(node):
            node[last] = value
        else:
            where = ".".join(str(p) for p in path[:-1]) or "the config"
            raise ConfigError(
                f"grid key {key!r}: {where} is {type(node).__name__}, not a mapping or list "
                f"to set {last!r} in"
            )
    return out

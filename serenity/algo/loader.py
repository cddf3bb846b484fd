"""Find a strategy class from a config: a file path or a dotted module, and a class name."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import importlib.util
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from serenity.algo.strategy import Strategy
from serenity.errors import ConfigError

__all__ = ["load_strategy_class", "strategy_params"]

T = TypeVar("T")


@overload
def load_strategy_class(
    module: str, class_name: str, *, base: Path | None = None
) -> type[Strategy]: ...


@overload
def load_strategy_class(
    module: str, class_name: str, *, base: Path | None = None, kind: type[T]
) -> type[T]: ...


def load_strategy_class(
    module: str, class_name: str, *, base: Path | None = None, kind: type[Any] = Strategy
) -> type[Any]:
    """Return the :class:`Strategy` subclass ``class_name`` from ``module``.

    ``module`` is a path to a ``.py`` file (relative paths are tried against ``base``, the
    config file's folder, then the working directory) or a dotted module name. ``kind`` is
    the base class required (the investment strategies pass theirs).

    Raises
    ------
    ConfigError
        When the module cannot be found or imported, or has no such strategy class.
    """
    loaded = _import(module, base)
    found = getattr(loaded, class_name, None)
    if found is None:
        names = [
            n
            for n, v in vars(loaded).items()
            if isinstance(v, type) and issubclass(v, kind) and v is not kind
        ]
        close = difflib.get_close_matches(class_name, names, n=1)
        hint = (
            f"; did you mean {close[0]!r}?" if close else f"; strategies there: {names or 'none'}"
        )
        raise ConfigError(f"module {module!r} has no class {class_name!r}{hint}")
    if not (isinstance(found, type) and issubclass(found, kind)):
        raise ConfigError(
            f"{module}:{class_name} is not a {kind.__module__}.{kind.__name__} subclass"
        )
    return found


def _import(module: str, base: Path | None) -> types.ModuleType:
    if module.endswith(".py") or "/" in module or "\\" in module:
        candidates = [Path(module).expanduser()]
        if base is not None and not candidates[0].is_absolute():
            candidates.insert(0, base / module)
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            tried = ", ".join(str(p) for p in candidates)
            raise ConfigError(f"strategy module {module!r} not found (tried {tried})")
        path = path.resolve()
        name = f"serenity_strategy_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot load strategy module {str(path)!r}")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        try:
            spec.loader.exec_module(loaded)
        except Exception as exc:
            del sys.modules[name]
            raise ConfigError(
                f"strategy module {str(path)!r} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        return loaded
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"strategy module {module!r} cannot be imported: {exc}") from exc


def strategy_params(cls: type[Any], values: Mapping[str, Any], *, where: str) -> Any:
    """Return the strategy's params: an instance of ``cls.Params`` when it declares one
    (values checked against its fields by name and type), else a read-only mapping.

    Raises
    ------
    ConfigError
        For an unknown key, a missing required one, or a value of the wrong type.
    """
    params_type: Any = getattr(cls, "Params", None)  # a dataclass type, checked below
    if params_type is None:
        return types.MappingProxyType(dict(values))
    if not (isinstance(params_type, type) and dataclasses.is_dataclass(params_type)):
        raise ConfigError(f"{cls.__name__}.Params must be a dataclass")
    fields = {f.name: f for f in dataclasses.fields(params_type)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], fields, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"{where}: unknown param(s) {unknown} for {cls.__name__}; known: {sorted(fields)}{hint}"
        )
    hints = _type_hints(params_type)
    checked: dict[str, Any] = {}
    for name, value in values.items():
        expected = hints.get(name)
        checked[name] = _coerce(value, expected, f"{where}: param {name!r} of {cls.__name__}")
    try:
        return params_type(**checked)
    except TypeError as exc:
        raise ConfigError(f"{where}: params of {cls.__name__}: {exc}") from None


def _type_hints(params_type: type) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(params_type)
    except Exception:  # a hint that cannot be resolved is not checked
        return {}


def _coerce(value: Any, expected: Any, what: str) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected in (int, float, str, bool) and not (
        isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
    ):
        raise ConfigError(f"{what} must be {expected.__name__}, was {value!r}")
    return value

"""Every package's __all__ resolves, exports no private names, and imports point downward."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import serenity

ROOT = Path(serenity.__file__).parent
# serenity.db.migrations.env is Alembic's env.py: it runs migrations when loaded, only by Alembic.
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(serenity.__path__, "serenity.")
    if "._" not in m.name and m.name != "serenity.db.migrations.env"
)

_TRADING = {"trading", "position", "pnl", "booker"}
# Which serenity packages each package may import (DESIGN.md: dependencies point downward).
LAYERS: dict[str, set[str]] = {
    "tau": set(),
    "model": set(),
    # DESIGN.md draws db below exchange, but db owns the reference-data loaders, which need
    # the venues' product parsers; exchange itself imports only model, so there is no cycle.
    "exchange": {"model"},
    "db": {"model", "exchange"},
    "signal": {"tau", "model"},
    "marketdata": {"tau", "model", "db", "exchange", "signal"},
    "trading": {"tau", "model", "db", "exchange", "signal", "marketdata"},
    "position": {"tau", "model", "exchange", "trading"},
    "pnl": {"tau", "model", "exchange", "marketdata", "trading", "position"},
    "booker": {"tau", "model", "db", "exchange", "marketdata", *_TRADING},
    "algo": {"tau", "model", "db", "exchange", "signal", "marketdata", *_TRADING, "analytics"},
    "examples": {"tau", "model", "signal", "marketdata", "trading", "algo", "strategy"},
    "tax": {"model", "db"},
    # analytics sits beside algo and strategy (both use it), above trading/position/pnl.
    "analytics": {"tau", "model", "db", "exchange", "signal", "marketdata", *_TRADING},
    # Close-on-close investment strategies: above algo (its config reader and strategy loader)
    # and analytics (outputs, statistics, reports).
    "strategy": {
        "tau",
        "model",
        "db",
        "exchange",
        "signal",
        "marketdata",
        *_TRADING,
        "algo",
        "analytics",
    },
    # Parameter sweeps run algo and investment backtests as Dask tasks.
    "sweep": {
        "tau",
        "model",
        "db",
        "exchange",
        "signal",
        "marketdata",
        *_TRADING,
        "algo",
        "analytics",
        "strategy",
    },
}
SHARED = {"errors", "_version", "logs", "secret"}


@pytest.mark.parametrize("name", MODULES)
def test_all_names_resolve_and_are_public(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        assert name.startswith("serenity.cli.") or not name.count("."), f"{name} has no __all__"
        return
    for attr in exported:
        assert not attr.startswith("_") or attr == "__version__", f"{name} exports {attr}"
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"


def _serenity_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("serenity."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("serenity."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_packages_import_only_downward(package: str) -> None:
    folder = ROOT / package
    if not folder.is_dir():
        pytest.skip(f"serenity.{package} does not exist yet")
    allowed = LAYERS[package] | SHARED | {package}
    for path in folder.rglob("*.py"):
        bad = _serenity_imports(path) - allowed
        assert not bad, f"{path.relative_to(ROOT)} imports serenity.{sorted(bad)}"

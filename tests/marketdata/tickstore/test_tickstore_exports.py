"""The tick store's public names resolve, and it imports only what DESIGN.md allows.

``tests/test_exports.py`` walks regular packages only; this covers ``serenity.marketdata.tickstore``
while ``serenity.marketdata`` has no ``__init__.py`` of its own.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import serenity.marketdata.tickstore as tickstore

FOLDER = Path(tickstore.__file__).parent
MODULES = ["serenity.marketdata.tickstore"] + sorted(
    m.name for m in pkgutil.iter_modules(tickstore.__path__, "serenity.marketdata.tickstore.")
)
ALLOWED = {"errors", "secret", "tau", "marketdata"}


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists_and_is_public(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    for attr in exported:
        assert not attr.startswith("_"), f"{name} exports {attr}"
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"


def test_the_tickstore_imports_only_downward() -> None:
    for path in FOLDER.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("serenity."):
                assert node.module is not None
                top = node.module.split(".")[1]
                assert top in ALLOWED, f"{path.name} imports {node.module}"
                if top == "marketdata":
                    assert node.module.startswith("serenity.marketdata.tickstore"), path.name

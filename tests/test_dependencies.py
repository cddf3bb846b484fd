"""Every runtime dependency in pyproject.toml is imported by the package, or says why not."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NOT_IMPORTED = {
    "pyyaml": "strategy configs are YAML (DESIGN.md); the algo engine reads them",
    "tzdata": "time-zone data for zoneinfo on systems without it; never imported",
}


def _imported_modules() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "serenity").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found


def test_runtime_dependencies_are_used() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [
        re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower() for spec in project["dependencies"]
    ]
    modules_of: dict[str, set[str]] = {}
    for module, dists in importlib.metadata.packages_distributions().items():
        for dist in dists:
            modules_of.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    imported = _imported_modules()

    unused = [
        name
        for name in names
        if name not in NOT_IMPORTED and not modules_of.get(name, set()) & imported
    ]

    assert unused == [], f"declared but never imported: {unused}"
    assert set(NOT_IMPORTED) <= set(names)

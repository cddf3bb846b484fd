"""Every name in the ``__all__`` of serenity.model, serenity.exchange and serenity.db resolves."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import serenity.db
import serenity.exchange
import serenity.model

MODULES = sorted(
    {
        info.name
        for package in (serenity.model, serenity.exchange, serenity.db)
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + ".")
        if not info.name.rsplit(".", 1)[1].startswith("_")
    }
    | {"serenity.model", "serenity.exchange", "serenity.db"}
)


@pytest.mark.parametrize("name", MODULES)
def test_all_names_resolve_and_are_public(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)

    assert exported, f"{name} has no __all__"
    assert all(not n.startswith("_") and hasattr(module, n) for n in exported)
    assert module.__doc__

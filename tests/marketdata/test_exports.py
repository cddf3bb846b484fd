from __future__ import annotations

import importlib

import pytest

MODULES = [
    "serenity.marketdata",
    "serenity.marketdata.book",
    "serenity.marketdata.fh",
    "serenity.marketdata.fh.backoff",
    "serenity.marketdata.fh.book_sync",
    "serenity.marketdata.fh.connection",
    "serenity.marketdata.fh.metrics",
    "serenity.marketdata.fh.sequence",
    "serenity.marketdata.fh.state",
    "serenity.marketdata.journal",
    "serenity.marketdata.journal_reader",
    "serenity.marketdata.manifest",
    "serenity.marketdata.quality",
    "serenity.marketdata.service",
    "serenity.marketdata.types",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_resolves_and_is_public(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    for attr in module.__all__:
        assert not attr.startswith("_")
        assert hasattr(module, attr), f"{name}.{attr}"


def test_the_historic_service_is_exported_without_loading_the_tick_store_eagerly() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import serenity.marketdata as md; eager = 'pyarrow' in sys.modules; "
        "from serenity.marketdata import HistoricMarketdataService; "
        "from serenity.marketdata.historic import HistoricMarketdataService as H; "
        "print(eager, HistoricMarketdataService is H)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["False", "True"]

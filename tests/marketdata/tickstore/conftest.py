"""Tick store fixtures: every backend test runs on a local directory and on Azurite."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Generator
from pathlib import Path

import pytest
from tickstore_data import StoreSpec

from serenity.marketdata.tickstore import AZURE_ENV, BlobTickstore, open_tickstore


def _azure_spec(conn: str, monkeypatch: pytest.MonkeyPatch) -> Generator[StoreSpec]:
    from azure.storage.blob import BlobServiceClient

    container = f"t{uuid.uuid4().hex[:24]}"
    monkeypatch.setenv(AZURE_ENV, conn)
    yield StoreSpec("azure", f"azure://{container}", {AZURE_ENV: conn})
    service = BlobServiceClient.from_connection_string(conn)
    try:
        service.delete_container(container)
    except Exception:  # the test may never have created it
        pass


def _spec(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Generator[StoreSpec]:
    if backend == "local":
        yield StoreSpec("local", (tmp_path / "ticks").as_uri(), {})
    else:
        yield from _azure_spec(request.getfixturevalue("azure_conn"), monkeypatch)


@pytest.fixture(autouse=True)
def _drop_cli_log_handlers() -> Generator[None]:
    """Remove the stderr handler a CLI run installs, so later tests don't log to a closed file."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


BACKENDS = ["local", pytest.param("azure", marks=pytest.mark.azure)]


@pytest.fixture(params=BACKENDS)
def spec(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Generator[StoreSpec]:
    """Return a fresh, empty store on each backend."""
    yield from _spec(request.param, tmp_path / "a", request, monkeypatch)


@pytest.fixture(params=BACKENDS)
def other_spec(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Generator[StoreSpec]:
    """Return a second fresh, empty store on each backend (for sync)."""
    yield from _spec(request.param, tmp_path / "b", request, monkeypatch)


@pytest.fixture
def make_store(spec: StoreSpec) -> Callable[[str], BlobTickstore]:
    """Return a function that opens a table of the test's store."""
    return lambda table: open_tickstore(spec.url, table)


@pytest.fixture
def trades(make_store: Callable[[str], BlobTickstore]) -> BlobTickstore:
    """Return the test store's ``PHEMEX_TRADES`` table."""
    return make_store("PHEMEX_TRADES")


@pytest.fixture
def books(make_store: Callable[[str], BlobTickstore]) -> BlobTickstore:
    """Return the test store's ``BINANCE_BOOKS`` table."""
    return make_store("BINANCE_BOOKS")

"""Store URLs, row-group pruning, Azure ranged reads, and the connection string kept secret."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from tickstore_data import DAY, NS_PER_H, StoreSpec, day_ns, trades_frame

from serenity.errors import ConfigError, InvalidValueError, SerenityError, StoreError
from serenity.marketdata.tickstore import (
    AZURE_ENV,
    AzureBlobStore,
    AzureBlobTickstore,
    BlobStore,
    LocalBlobStore,
    LocalTickstore,
    Tickstore,
    _parquet,
    open_blobstore,
    open_tickstore,
)
from serenity.marketdata.tickstore import azure as azure_module

NEXT = DAY + dt.timedelta(days=1)


def test_file_urls_open_local_stores(tmp_path: Path) -> None:
    store = open_tickstore(tmp_path.as_uri(), "PHEMEX_TRADES")
    assert isinstance(store, LocalTickstore) and isinstance(store, Tickstore)
    assert store.url == tmp_path.as_uri()
    assert repr(store) == f"LocalTickstore({tmp_path.as_uri()!r}, 'PHEMEX_TRADES')"
    assert isinstance(open_blobstore("file://localhost" + str(tmp_path)), LocalBlobStore)
    assert isinstance(open_blobstore(tmp_path.as_uri()), BlobStore)


@pytest.mark.parametrize(
    "url",
    ["/tmp/ticks", "file://relative/path", "s3://bucket", "azure://", "azure://c/sub", 42],
)
def test_bad_urls_are_refused(url: object) -> None:
    with pytest.raises(InvalidValueError, match="store URL must be"):
        open_tickstore(url, "PHEMEX_TRADES")  # type: ignore[arg-type]


def test_azure_urls_need_the_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(AZURE_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"needs the connection string in \\${AZURE_ENV}"):
        open_tickstore("azure://ticks", "PHEMEX_TRADES")
    monkeypatch.setenv(AZURE_ENV, "UseDevelopmentStorage=true")
    with pytest.raises(InvalidValueError, match="Azure container must be"):
        open_tickstore("azure://Bad_Name", "PHEMEX_TRADES")
    store = open_tickstore("azure://ticks", "PHEMEX_TRADES")
    assert isinstance(store, AzureBlobTickstore) and store.url == "azure://ticks"


def _spy_row_groups(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    calls: list[list[int]] = []
    real = pq.ParquetFile.read_row_groups

    def spy(self: pq.ParquetFile, groups: list[int], *args: Any, **kwargs: Any) -> Any:
        calls.append(list(groups))
        return real(self, groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    return calls


def test_a_window_reads_only_the_row_groups_it_needs(
    spec: StoreSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_parquet, "ROW_GROUP_ROWS", 1_000)
    monkeypatch.setattr(azure_module, "_WHOLE_READ_MAX", 0)  # Azure: ranged GETs only
    frame = trades_frame(n=24_000)
    store = open_tickstore(spec.url, "PHEMEX_TRADES")
    store.insert("BTCUSD", DAY, frame)
    with store.blobs.open(store.data_key(store.versions("BTCUSD", DAY)[0])) as f:
        assert pq.ParquetFile(f).metadata.num_row_groups == 24
    calls = _spy_row_groups(monkeypatch)
    start, end = day_ns() + 5 * NS_PER_H + 123, day_ns() + 6 * NS_PER_H + 456
    out = store.select("BTCUSD", start, end)
    expected = frame[(frame["ts"] >= start) & (frame["ts"] < end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(out, expected)
    assert len(calls) == 1 and 1 <= len(calls[0]) <= 3
    batches = list(store.scan("BTCUSD", start, end))
    assert sum(b.num_rows for b in batches) == len(expected) and len(batches) <= 3
    pd.testing.assert_frame_equal(store.select("BTCUSD", DAY, NEXT), frame)


def test_errors_from_storage_are_store_errors(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    with pytest.raises(StoreError, match="invalid blob key"):
        blobs.read("a/../b")
    with pytest.raises(StoreError, match="is missing"):
        blobs.open("no/such.parquet")
    assert blobs.read("no/such") is None and blobs.size("no/such") is None
    blobs.remove("no/such")  # absent: nothing to do


SECRET_KEY_MARK = "AccountKey="


def _secret_of(conn: str) -> str:
    key = conn.split(SECRET_KEY_MARK, 1)[1].split(";", 1)[0]
    assert len(key) > 20
    return key


def _texts_of(exc: BaseException | None) -> list[str]:
    out = []
    while exc is not None:
        out += [str(exc), repr(exc)]
        exc = exc.__cause__ or exc.__context__
    return out


@pytest.mark.azure
def test_the_connection_string_never_reaches_logs_reprs_or_errors(
    azure_conn: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = _secret_of(azure_conn)
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(AZURE_ENV, azure_conn)
    container = f"s{os.getpid()}x{id(caplog) % 10**8}"
    store = open_tickstore(f"azure://{container}", "PHEMEX_TRADES")
    texts += [repr(store), str(store), repr(store.blobs), store.url]
    store.insert("BTCUSD", DAY, trades_frame())
    store.select("BTCUSD", DAY, NEXT)
    failures: list[Any] = [
        lambda: store.select("ETHUSD", DAY, NEXT),
        lambda: store.blobs.put(store.data_key(store.versions("BTCUSD", DAY)[0]), b"x"),
        lambda: AzureBlobStore(f"nonsense {secret}", "x1y"),
        lambda: AzureBlobStore(re.sub(r":\d+/", ":1/", azure_conn), "x1y").read("a"),
        lambda: AzureBlobStore(azure_conn.replace("Key=", "Key=A"), "x1y").read("a"),
    ]
    monkeypatch.setattr(azure_module, "_RETRY_TOTAL", 0)
    for fail in failures:
        with pytest.raises(SerenityError) as info:
            fail()
        texts += _texts_of(info.value)
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args)]
        texts += [str(v) for v in vars(record).values()]
    assert texts and not [t for t in texts if secret in t]
    from azure.storage.blob import BlobServiceClient

    BlobServiceClient.from_connection_string(azure_conn).delete_container(container)

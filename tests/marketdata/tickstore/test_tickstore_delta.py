"""The Delta log beside each table: one commit per write, idempotent publish, rebuilt by sync."""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tickstore_data import DAY, StoreSpec, trades_frame

from serenity.errors import ConfigError, StoreError
from serenity.marketdata.tickstore import (
    AZURE_ENV,
    BlobTickstore,
    DeltaLog,
    azure_storage_options,
    open_tickstore,
    sync,
)
from serenity.marketdata.tickstore.azure import AZURITE_URL_ENV

NEXT = DAY + dt.timedelta(days=1)


def _table(store: BlobTickstore) -> DeltaTable:
    where = store.location
    return DeltaTable(where.uri, storage_options=dict(where.storage_options))


def _path(store: BlobTickstore, symbol: str, day: dt.date) -> str:
    latest = store.latest_version(symbol, day)
    assert latest is not None and latest.file is not None
    return f"symbol={symbol}/date={day.isoformat()}/{latest.file}"


def test_each_write_is_one_commit_and_the_log_shows_current_files(trades: BlobTickstore) -> None:
    trades.insert("BTCUSD", DAY, trades_frame(seed=1))
    assert _table(trades).version() == 0
    assert trades.delta_log.active_files() == [_path(trades, "BTCUSD", DAY)]
    trades.insert("BTCUSD", DAY, trades_frame(seed=2))  # a re-insert replaces the file
    trades.insert("BTCUSD", NEXT, trades_frame(NEXT, seed=3), metadata={"digest": "x"})
    trades.insert(
        "BTCUSD", NEXT, trades_frame(NEXT, seed=3), metadata={"digest": "x"}, dedupe_on="digest"
    )
    assert _table(trades).version() == 2  # the unchanged insert committed nothing
    assert trades.delta_log.active_files() == sorted(
        [_path(trades, "BTCUSD", DAY), _path(trades, "BTCUSD", NEXT)]
    )
    trades.delete("BTCUSD", NEXT)  # a tombstone only removes
    table = _table(trades)
    assert table.version() == 3
    assert trades.delta_log.active_files() == [_path(trades, "BTCUSD", DAY)]
    last, reinsert = table.history(4)[0], table.history(4)[2]
    assert last["serenity"]["reason"] == "delete"
    assert reinsert["serenity"]["versions"] == [
        {"symbol": "BTCUSD", "date": "2024-01-05", "version": 2}
    ]
    table.load_as_version(1)
    assert [uri.rsplit("/", 1)[1] for uri in table.file_uris()] == [
        trades.versions("BTCUSD", DAY)[1].file
    ]


def test_the_log_has_the_schema_partitions_and_file_statistics(trades: BlobTickstore) -> None:
    frame = trades_frame(seed=1)
    trades.insert("BTCUSD", DAY, frame)
    table = _table(trades)
    assert table.metadata().partition_columns == ["symbol", "date"]
    fields = {f.name: f.type.type for f in table.schema().fields}
    assert fields == {
        "ts": "long",
        "ts_recv": "long",
        "trade_id": "string",
        "side": "byte",
        "price": "double",
        "qty": "double",
        "seq": "long",
        "symbol": "string",
        "date": "date",
    }
    assert table.metadata().configuration["delta.enableExpiredLogCleanup"] == "false"
    add = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    assert add["num_records"] == [100] and add["size_bytes"] == [
        trades.versions("BTCUSD", DAY)[0].size_bytes
    ]
    assert add["min.ts"] == [int(frame["ts"].iloc[0])] and add["max.ts"] == [
        int(frame["ts"].iloc[-1])
    ]


def test_publish_builds_and_repairs_the_log_and_commits_only_a_difference(
    spec: StoreSpec,
) -> None:
    quiet = open_tickstore(spec.url, "PHEMEX_TRADES", publish=False)
    quiet.insert("BTCUSD", DAY, trades_frame(seed=1))
    quiet.insert("BTCUSD", NEXT, trades_frame(NEXT, seed=2))
    quiet.insert("ETHUSD", DAY, trades_frame(seed=3))
    assert not quiet.delta_log.exists()
    log = open_tickstore(spec.url, "PHEMEX_TRADES").delta_log
    first = log.publish()
    assert (first.created, first.version, first.added, first.removed) == (True, 0, 3, 0)
    again = log.publish()
    assert not again.committed and again.version == 0
    quiet.insert("BTCUSD", DAY, trades_frame(seed=4))
    quiet.delete("ETHUSD", DAY)
    fixed = log.publish()
    assert (fixed.version, fixed.added, fixed.removed) == (1, 1, 2)
    current = sorted([_path(quiet, "BTCUSD", DAY), _path(quiet, "BTCUSD", NEXT)])
    assert log.active_files() == current
    for key in list(quiet.blobs.list_keys("PHEMEX_TRADES/_delta_log/")):
        quiet.blobs.remove(key)
    rebuilt = log.publish()
    assert (rebuilt.created, rebuilt.version, rebuilt.added) == (True, 0, 2)
    assert log.active_files() == current


def test_a_store_reached_through_a_symbolic_link_keeps_one_file_per_day(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")  # delta-rs resolves it, Serenity not
    store = open_tickstore((tmp_path / "link").as_uri(), "PHEMEX_TRADES")
    store.insert("BTCUSD", DAY, trades_frame(seed=1))
    store.insert("BTCUSD", DAY, trades_frame(seed=2))
    assert store.delta_log.active_files() == [_path(store, "BTCUSD", DAY)]
    assert not store.delta_log.publish().committed


def test_a_writer_notices_a_log_rebuilt_under_it(trades: BlobTickstore) -> None:
    for seed in range(3):
        trades.insert("BTCUSD", DAY, trades_frame(seed=seed))  # the writer keeps a snapshot
    for key in list(trades.blobs.list_keys("PHEMEX_TRADES/_delta_log/")):
        trades.blobs.remove(key)
    other = open_tickstore(trades.blobs, "PHEMEX_TRADES")
    assert other.delta_log.publish().version == 0  # rebuilt elsewhere: a new table id
    trades.insert("BTCUSD", DAY, trades_frame(seed=9))
    table = _table(trades)
    assert table.version() == 1 and [h["version"] for h in table.history()] == [1, 0]
    assert trades.delta_log.active_files() == [_path(trades, "BTCUSD", DAY)]


def test_sync_rebuilds_the_log_on_the_target_instead_of_copying_it(
    spec: StoreSpec, other_spec: StoreSpec
) -> None:
    src = open_tickstore(spec.url, "PHEMEX_TRADES")
    dst = open_tickstore(other_spec.url, "PHEMEX_TRADES")
    src.insert("BTCUSD", DAY, trades_frame(seed=1))
    src.insert("BTCUSD", DAY, trades_frame(seed=2))
    src.insert("BTCUSD", NEXT, trades_frame(NEXT, seed=3))
    src.delete("BTCUSD", NEXT)
    stats = sync(src, dst)
    assert stats.published is not None and stats.published.created
    assert _table(src).version() == 3 and _table(dst).version() == 0  # built, not copied
    assert dst.delta_log.active_files() == src.delta_log.active_files()
    again = sync(src, dst)
    assert again.published is not None and not again.published.committed
    src.insert("ETHUSD", DAY, trades_frame(seed=4))
    third = sync(src, dst)
    assert third.published is not None and (third.published.version, third.published.added) == (
        1,
        1,
    )
    assert dst.delta_log.active_files() == src.delta_log.active_files()


def test_a_failed_publish_keeps_the_version_and_is_repaired_later(
    trades: BlobTickstore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    trades.insert("BTCUSD", DAY, trades_frame(seed=1))

    def unreachable(*args: object, **kwargs: object) -> int:
        raise StoreError("the log is unreachable")

    with monkeypatch.context() as m, caplog.at_level(logging.ERROR):
        m.setattr(DeltaLog, "_commit", unreachable)
        assert trades.insert("BTCUSD", DAY, trades_frame(seed=2)) == 2
    failed = [r for r in caplog.records if r.getMessage() == "tickstore.publish_failed"]
    assert len(failed) == 1 and "serenity tickstore publish" in failed[0].repair  # type: ignore[attr-defined]
    assert trades.delta_log.active_files() != [_path(trades, "BTCUSD", DAY)]
    assert trades.delta_log.publish().removed == 1
    assert trades.delta_log.active_files() == [_path(trades, "BTCUSD", DAY)]


def test_location_names_the_table_for_other_readers(spec: StoreSpec) -> None:
    store = open_tickstore(spec.url, "PHEMEX_TRADES")
    where = store.location
    if spec.backend == "local":
        assert where.uri.endswith("/ticks/PHEMEX_TRADES") and where.storage_options == {}
    else:
        container = spec.url.removeprefix("azure://")
        assert where.uri == f"az://{container}/PHEMEX_TRADES"
        assert where.storage_options == azure_storage_options(spec.env[AZURE_ENV])
        assert "account_key" not in repr(where)


KEY = "a2V5LW5vdC1hLXJlYWwtb25l"


def test_storage_options_for_azure_accounts_and_sas() -> None:
    assert azure_storage_options(
        f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.windows.net"
    ) == {
        "account_name": "acct",
        "account_key": KEY,
    }
    assert azure_storage_options(
        "BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2024&sig=abc"
    ) == {
        "endpoint": "https://acct.blob.core.windows.net",
        "account_name": "acct",
        "sas_token": "sv=2024&sig=abc",
    }
    assert (
        azure_storage_options(
            f"AccountName=acct;AccountKey={KEY};EndpointSuffix=core.chinacloudapi.cn"
        )["endpoint"]
        == "https://acct.blob.core.chinacloudapi.cn"
    )
    assert azure_storage_options("UseDevelopmentStorage=true") == {"use_emulator": "true"}
    for bad in ("AccountKey=x", "AccountName=acct", "BlobEndpoint=nope;AccountKey=x"):
        with pytest.raises(ConfigError):
            azure_storage_options(bad)


def test_an_emulator_on_another_port_is_named_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = f"AccountName=devstoreaccount1;AccountKey={KEY};BlobEndpoint=http://127.0.0.1:41234/devstoreaccount1"
    monkeypatch.setenv(AZURITE_URL_ENV, "unset below; restored after the test")
    monkeypatch.delenv(AZURITE_URL_ENV)
    options = azure_storage_options(conn)
    assert options == {
        "use_emulator": "true",
        "account_name": "devstoreaccount1",
        "account_key": KEY,
    }
    assert os.environ[AZURITE_URL_ENV] == "http://127.0.0.1:41234"
    monkeypatch.setenv(AZURITE_URL_ENV, "http://127.0.0.1:10000")
    with pytest.raises(ConfigError, match="one emulator per process"):
        azure_storage_options(conn)


def _sas_connection(azure_conn: str, *, write: bool) -> tuple[str, str]:
    """Return a SAS connection string for the Azurite account, and the SAS."""
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    parts = dict(p.split("=", 1) for p in azure_conn.split(";") if "=" in p)
    sas = generate_account_sas(
        parts["AccountName"],
        parts["AccountKey"],
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(
            read=True, list=True, write=write, delete=write, add=write, create=write
        ),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return f"BlobEndpoint={parts['BlobEndpoint']};SharedAccessSignature={sas}", sas


@pytest.mark.azure
def test_a_sas_connection_string_publishes_and_a_refusal_shows_no_secret(
    azure_conn: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from azure.storage.blob import BlobServiceClient

    writer, sas = _sas_connection(azure_conn, write=True)
    reader, read_sas = _sas_connection(azure_conn, write=False)
    container = f"s{uuid.uuid4().hex[:20]}"
    monkeypatch.setenv(AZURE_ENV, writer)
    try:
        store = open_tickstore(f"azure://{container}", "PHEMEX_TRADES")
        assert store.location.storage_options["sas_token"] == sas
        store.insert("BTCUSD", DAY, trades_frame(seed=1))
        store.insert("BTCUSD", DAY, trades_frame(seed=2))
        assert _table(store).version() == 1
        assert store.delta_log.active_files() == [_path(store, "BTCUSD", DAY)]
        open_tickstore(store.url, "PHEMEX_TRADES", publish=False).insert(
            "BTCUSD", DAY, trades_frame(seed=3)
        )
        monkeypatch.setenv(AZURE_ENV, reader)  # may read, may not write
        with caplog.at_level(logging.DEBUG), pytest.raises(StoreError) as refused:
            open_tickstore(store.url, "PHEMEX_TRADES").delta_log.publish()
        ours = [r for r in caplog.records if r.name.startswith("serenity")]
        text = str(refused.value) + "".join(str(vars(r)) for r in ours)
        assert "cannot commit to the Delta log" in str(refused.value), str(refused.value)
        key = dict(p.split("=", 1) for p in azure_conn.split(";") if "=" in p)["AccountKey"]
        signature = dict(q.split("=", 1) for q in read_sas.split("&"))["sig"]
        assert key not in text and signature not in text and read_sas not in text
    finally:
        BlobServiceClient.from_connection_string(azure_conn).delete_container(container)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["insert", "quiet_insert", "delete", "publish"]),
        st.sampled_from(["BTCUSD", "ETHUSD"]),
        st.sampled_from([DAY, NEXT]),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_the_log_always_ends_equal_to_the_indexes(
    tmp_path: Path, ops: list[tuple[str, str, dt.date]]
) -> None:
    url = (tmp_path / uuid.uuid4().hex).as_uri()
    store = open_tickstore(url, "PHEMEX_TRADES")
    quiet = open_tickstore(url, "PHEMEX_TRADES", publish=False)
    published = True  # whether every write so far went through the log
    for k, (op, symbol, day) in enumerate(ops):
        if op == "delete" and day not in [d for s, d in store.partitions() if s == symbol]:
            continue
        if op == "insert":
            store.insert(symbol, day, trades_frame(day, n=5 + k, seed=k))
        elif op == "quiet_insert":
            quiet.insert(symbol, day, trades_frame(day, n=5 + k, seed=k))
            published = False
        elif op == "delete":
            store.delete(symbol, day)
        else:
            store.delta_log.publish()
            published = True
    current = sorted(
        f"symbol={s}/date={d}/{v.file}"
        for s, d in store.partitions()
        if (v := store.versions(s, d)[-1]).file is not None
    )
    if published and store.partitions():
        assert store.delta_log.active_files() == current
    store.delta_log.publish()
    assert store.delta_log.active_files() == current
    assert not store.delta_log.publish().committed

"""Other readers get exactly the right rows from a Serenity store, without Serenity's reader.

The store is written by Serenity as in the issue's comparison: three days, the second
re-inserted and the third deleted, plus a second symbol. Polars, deltalake, Dask and DuckDB
then read it through its Delta log (DuckDB through SQL over the log's JSON, or over the version
indexes, since its ``delta`` extension is a download this machine cannot make), now and as of
before the changes, on both backends. The storage options are spelled out here as
docs/tickstore_open.rst documents them, not taken from Serenity.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import urllib.parse
import uuid
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field

import dask_deltatable
import duckdb
import pandas as pd
import polars as pl
import pytest
from deltalake import DeltaTable
from tickstore_data import trades_frame

from serenity.marketdata.tickstore import AZURE_ENV, azure_storage_options, open_tickstore

D1, D2, D3 = dt.date(2024, 1, 5), dt.date(2024, 1, 6), dt.date(2024, 1, 7)
Row = tuple[str, str, str, int]  # symbol, date, trade_id, ts


def _rows(symbol: str, day: dt.date, frame: pd.DataFrame) -> list[Row]:
    pairs = zip(frame["trade_id"], frame["ts"], strict=True)
    return [(symbol, day.isoformat(), t, int(ts)) for t, ts in pairs]


@dataclass
class Scenario:
    """A store written by Serenity, and what a correct reader returns now and before."""

    backend: str
    uri: str  # the table, as other readers name it
    options: dict[str, str]  # object_store storage options (deltalake, Polars)
    fsspec: dict[str, str]  # fsspec storage options (Dask's Parquet reads)
    conn: str | None
    now: list[Row] = field(default_factory=list)
    before: list[Row] = field(default_factory=list)
    before_version: int = 0  # the Delta version before the changes
    before_ns: int = 0  # an instant between the writes and the changes
    before_time: dt.datetime = dt.datetime.min


def object_store_options(conn: str) -> dict[str, str]:
    """Return delta-rs/Polars options for an Azurite connection string, as the docs spell them."""
    parts = dict(p.split("=", 1) for p in conn.split(";") if "=" in p)
    endpoint = urllib.parse.urlsplit(parts["BlobEndpoint"])
    emulator = f"{endpoint.scheme}://{endpoint.netloc}"
    if emulator != "http://127.0.0.1:10000":  # object_store reads this from the environment
        os.environ["AZURITE_BLOB_STORAGE_URL"] = emulator
    return {
        "use_emulator": "true",
        "account_name": parts["AccountName"],
        "account_key": parts["AccountKey"],
    }


@pytest.fixture(scope="module", params=["local", pytest.param("azure", marks=pytest.mark.azure)])
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Generator[Scenario]:
    with pytest.MonkeyPatch.context() as env:
        if request.param == "local":
            root = tmp_path_factory.mktemp("readers") / "ticks"
            url, conn, container = root.as_uri(), None, ""
            found = Scenario("local", str(root / "PHEMEX_TRADES"), {}, {}, None)
        else:
            conn = request.getfixturevalue("azure_conn")
            container = f"r{uuid.uuid4().hex[:20]}"
            env.setenv(AZURE_ENV, conn)
            url = f"azure://{container}"
            uri = f"az://{container}/PHEMEX_TRADES"
            found = Scenario(
                "azure", uri, object_store_options(conn), {"connection_string": conn}, conn
            )
        store = open_tickstore(url, "PHEMEX_TRADES")
        first = {
            ("BTCUSD", D1): trades_frame(D1, n=120, seed=1),
            ("BTCUSD", D2): trades_frame(D2, n=80, seed=2),
            ("BTCUSD", D3): trades_frame(D3, n=60, seed=3),
            ("ETHUSD", D1): trades_frame(D1, n=50, seed=4),
        }
        for (symbol, day), frame in first.items():
            store.insert(symbol, day, frame)
        found.before_version = 3
        time.sleep(0.01)
        found.before_ns = time.time_ns()
        found.before_time = dt.datetime.now(dt.UTC)
        time.sleep(0.01)
        again = trades_frame(D2, n=90, seed=5)
        store.insert("BTCUSD", D2, again)
        store.delete("BTCUSD", D3)
        found.before = sorted(r for (s, d), f in first.items() for r in _rows(s, d, f))
        now = {**first, ("BTCUSD", D2): again}
        del now[("BTCUSD", D3)]
        found.now = sorted(r for (s, d), f in now.items() for r in _rows(s, d, f))
        assert (len(found.now), len(found.before)) == (260, 310)
        yield found
        if conn is not None:
            from azure.storage.blob import BlobServiceClient

            BlobServiceClient.from_connection_string(conn).delete_container(container)


def _got(frame: pd.DataFrame | pl.DataFrame) -> list[Row]:
    if isinstance(frame, pl.DataFrame):
        frame = frame.to_pandas()
    days = [str(d)[:10] for d in frame["date"]]  # a date, a Timestamp or a string
    return sorted(
        (str(s), day, str(t), int(ts))
        for s, day, t, ts in zip(frame["symbol"], days, frame["trade_id"], frame["ts"], strict=True)
    )


def test_polars_reads_the_current_rows_and_an_earlier_version(scenario: Scenario) -> None:
    now = pl.scan_delta(scenario.uri, storage_options=scenario.options).collect()
    assert _got(now) == scenario.now
    assert now.schema["symbol"] == pl.String and now.schema["date"] == pl.Date
    assert now.schema["ts"] == pl.Int64 and now.schema["side"] == pl.Int8
    before = pl.read_delta(
        scenario.uri, version=scenario.before_version, storage_options=scenario.options
    )
    assert _got(before) == scenario.before
    day_two = (
        pl.scan_delta(scenario.uri, storage_options=scenario.options)
        .filter(pl.col("date") == D2)
        .collect()
    )
    assert _got(day_two) == [r for r in scenario.now if r[1] == D2.isoformat()]  # 90 rows


def test_deltalake_reads_the_current_rows_and_travels_by_version_and_time(
    scenario: Scenario,
) -> None:
    table = DeltaTable(scenario.uri, storage_options=scenario.options)
    assert _got(table.to_pyarrow_table().to_pandas()) == scenario.now
    old = DeltaTable(
        scenario.uri, version=scenario.before_version, storage_options=scenario.options
    )
    assert _got(old.to_pyarrow_table().to_pandas()) == scenario.before
    if scenario.backend == "local":  # Azure's Last-Modified has whole seconds only
        table.load_as_version(scenario.before_time)  # reads the commit files' times
        assert table.version() == scenario.before_version
        assert _got(table.to_pyarrow_table().to_pandas()) == scenario.before


def test_dask_reads_the_current_rows_and_an_earlier_version(scenario: Scenario) -> None:
    def read(version: int | None = None) -> pd.DataFrame:
        frame = dask_deltatable.read_deltalake(
            scenario.uri,
            version=version,
            storage_options=scenario.fsspec or None,
            delta_storage_options=scenario.options or None,
        )
        result: pd.DataFrame = frame.compute()
        return result

    assert _got(read()) == scenario.now
    assert _got(read(scenario.before_version)) == scenario.before


def _duckdb(scenario: Scenario) -> tuple[duckdb.DuckDBPyConnection, str]:
    con = duckdb.connect()
    if scenario.conn is None:
        return con, scenario.uri
    from adlfs import AzureBlobFileSystem  # DuckDB's own azure extension is a download

    con.register_filesystem(AzureBlobFileSystem(connection_string=scenario.conn))
    return con, scenario.uri.replace("az://", "abfs://")


LOG_FILES = """
SET VARIABLE files = (
  WITH actions AS (
    SELECT CAST(regexp_extract(filename, '(\\d+)\\.json$', 1) AS BIGINT) AS version,
           coalesce("add".path, remove.path) AS path,
           "add" IS NOT NULL AS is_add
    FROM read_json('{table}/_delta_log/*.json', format = 'newline_delimited',
                   union_by_name = true, filename = true)
    WHERE "add" IS NOT NULL OR remove IS NOT NULL)
  SELECT list('{table}/' || path ORDER BY path)
  FROM (SELECT path, arg_max(is_add, version) AS active
        FROM actions WHERE version <= {version} GROUP BY path)
  WHERE active)
"""
INDEX_FILES = """
SET VARIABLE files = (
  WITH versions AS (
    SELECT symbol, date, unnest(versions) AS v
    FROM read_json('{table}/symbol=*/date=*/index.json',
                   columns = {{symbol: 'VARCHAR', date: 'DATE',
                              versions: 'STRUCT(valid_from_ns BIGINT, file VARCHAR)[]'}})),
  current AS (  -- the version current at as_of; a tombstone's file is NULL
    SELECT symbol, date, arg_max(v, v.valid_from_ns).file AS file
    FROM versions WHERE v.valid_from_ns <= {as_of} GROUP BY symbol, date)
  SELECT list(format('{table}/symbol={{}}/date={{}}/{{}}', symbol, date, file))
  FROM current WHERE file IS NOT NULL)
"""
READ = """
SELECT symbol, date, trade_id, ts
FROM read_parquet(getvariable('files'), hive_partitioning = true)
"""


def _fetch(con: duckdb.DuckDBPyConnection, sql: Iterable[str]) -> pd.DataFrame:
    for statement in sql:
        con.execute(statement)
    frame: pd.DataFrame = con.sql(READ).df()
    return frame


def test_duckdb_reads_by_log_version_over_the_log_json(scenario: Scenario) -> None:
    con, table = _duckdb(scenario)
    latest = 1 << 62
    assert _got(_fetch(con, [LOG_FILES.format(table=table, version=latest)])) == scenario.now
    before = LOG_FILES.format(table=table, version=scenario.before_version)
    assert _got(_fetch(con, [before])) == scenario.before


def test_duckdb_reads_as_of_any_instant_over_the_version_indexes(scenario: Scenario) -> None:
    con, table = _duckdb(scenario)
    now = INDEX_FILES.format(table=table, as_of=1 << 62)
    assert _got(_fetch(con, [now])) == scenario.now
    before = INDEX_FILES.format(table=table, as_of=scenario.before_ns)
    assert _got(_fetch(con, [before])) == scenario.before


def test_the_documented_options_are_what_serenity_uses(scenario: Scenario) -> None:
    if scenario.conn is None:
        assert (
            open_tickstore(
                "file://" + scenario.uri.removesuffix("/PHEMEX_TRADES"), "PHEMEX_TRADES"
            ).location.uri
            == scenario.uri
        )
        return
    assert azure_storage_options(scenario.conn) == scenario.options

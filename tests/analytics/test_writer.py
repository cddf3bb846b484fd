"""RunWriter and RunOutputs: round trips, flushing, crash recovery, bounded memory, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serenity.analytics import TABLES, RunOutputs, RunWriter, seal_run
from serenity.errors import ConfigError, DataError, InvalidValueError
from serenity.model import Liquidity, Side

from .conftest import CONFIG, INSTRUMENT, MIN, T0, fill_kwargs, order_kwargs


def test_tiny_run_reads_back_every_table(tiny_run: Path) -> None:
    out = RunOutputs(tiny_run)

    orders, fills, positions, pnl, marks = out.orders, out.fills, out.positions, out.pnl, out.marks
    bands = out.capture("bands")

    assert out.is_sealed and not (tiny_run / "journal").exists()
    assert sorted(p.name for p in tiny_run.glob("*.parquet")) == sorted(
        f"{name}.parquet" for name in TABLES
    )
    assert list(orders.columns) == list(TABLES["orders"].names)
    assert orders[["order_id", "exec_type", "status"]].values.tolist() == [
        [1, "NEW", "NEW"],
        [1, "TRADE", "FILLED"],
        [2, "NEW", "NEW"],
        [2, "TRADE", "FILLED"],
    ]
    assert orders["price"].isna().all() and orders["reason"].isna().all()
    assert fills["side"].tolist() == ["BUY", "SELL"] and fills["price"].tolist() == [110.0, 114.0]
    assert fills["liquidity"].tolist() == ["TAKER", "TAKER"]
    assert fills["ts"].dtype == "int64" and fills["order_id"].dtype == "int64"
    assert len(positions) == len(pnl) == len(marks) == len(bands) == 120
    assert positions["avg_price"].isna().sum() == 120 - (75 - 10)
    assert pnl["net"].iloc[-1] == 2.0 and pnl["equity"].iloc[-1] == 1002.0
    assert (pnl["net"] == pnl["realised"] + pnl["unrealised"] - pnl["fees"]).all()
    assert (pnl["equity"] == 1000.0 + pnl["net"]).all()
    assert marks["ts"].diff().dropna().eq(MIN).all()
    assert list(bands.columns) == ["ts", "upper", "lower", "signal"]
    assert bands["signal"].dtype == "int64" and bands["upper"].dtype == "float64"
    assert out.channels == ["bands"]
    assert out.config_text == CONFIG and out.config["strategy"]["name"] == "tiny"


def test_enum_values_and_numpy_scalars_are_stored_as_plain_values(tmp_path: Path) -> None:
    import numpy as np

    with RunWriter(tmp_path / "run", starting_capital=0) as out:
        kwargs = fill_kwargs(7, Side.SELL, 0.5, 101.25, -0.01)
        kwargs["liquidity"] = Liquidity.MAKER
        out.fill(np.int64(T0), np.int64(7), **kwargs)
        out.capture("c", T0, x=np.float64(1.5), n=np.int32(3), flag=np.bool_(True))

    fills = RunOutputs(tmp_path / "run").fills
    c = RunOutputs(tmp_path / "run").capture("c")
    assert fills[["ts", "order_id", "side", "liquidity", "fee"]].values.tolist() == [
        [T0, 7, "SELL", "MAKER", -0.01]
    ]
    assert c.values.tolist() == [[T0, 1.5, 3, True]]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2**62),
            st.sampled_from(["BUY", "SELL", "buy", "sell"]),
            st.floats(allow_nan=False, allow_infinity=True, width=64),
            st.text(max_size=12),
        ),
        max_size=60,
    ),
    flush_rows=st.integers(min_value=1, max_value=7),
    row_group_rows=st.integers(min_value=1, max_value=20),
)
def test_fills_round_trip_through_any_flush_and_row_group_size(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, str, float, str]],
    flush_rows: int,
    row_group_rows: int,
) -> None:
    folder = tmp_path_factory.mktemp("run")
    with RunWriter(
        folder, starting_capital=0, flush_rows=flush_rows, row_group_rows=row_group_rows
    ) as out:
        for i, (ts, side, price, text) in enumerate(rows):
            out.fill(ts, i, **{**fill_kwargs(i, side, 1.0, price, 0.0), "exec_id": text})

    fills = RunOutputs(folder).fills
    assert fills["ts"].tolist() == [r[0] for r in rows]
    assert fills["side"].tolist() == [r[1].upper() for r in rows]
    assert fills["price"].tolist() == [r[2] for r in rows]
    assert fills["exec_id"].tolist() == [r[3] for r in rows]


def test_config_is_written_as_given_from_text_mapping_or_file(tmp_path: Path) -> None:
    source = tmp_path / "given.yaml"
    source.write_text("# my comment\nstrategy: {name: x}\n")
    RunWriter(tmp_path / "a", starting_capital=1, config="a: 1").close()
    RunWriter(tmp_path / "b", starting_capital=1, config={"b": [1, 2], "a": "z"}).close()
    RunWriter(tmp_path / "c", starting_capital=1, config=source).close()

    assert (tmp_path / "a/config.yaml").read_text() == "a: 1\n"
    assert RunOutputs(tmp_path / "b").config == {"b": [1, 2], "a": "z"}
    assert list(RunOutputs(tmp_path / "b").config) == ["b", "a"]
    assert (tmp_path / "c/config.yaml").read_text() == source.read_text()


def test_flushed_rows_are_readable_while_the_run_is_open(tmp_path: Path) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=100.0, flush_rows=10)
    for i in range(25):
        out.pnl(T0 + i, realised=float(i), unrealised=0.0, fees=0.0)
    while_open = RunOutputs(tmp_path / "run")
    first = while_open.pnl
    out.flush()
    second = while_open.pnl
    fills = while_open.fills
    sealed_before = while_open.is_sealed
    out.close()

    assert not sealed_before
    assert len(first) == 20 and len(second) == 25 and fills.empty
    assert list(fills.columns) == list(TABLES["fills"].names)
    assert while_open.is_sealed and len(while_open.pnl) == 25


def test_a_row_after_the_interval_flushes_every_table(tmp_path: Path) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=1.0, flush_interval_s=0.05)
    out.mark(T0, INSTRUMENT, price=1.0)
    out.capture("c", T0, x=1.0)
    before = len(RunOutputs(tmp_path / "run").marks)
    deadline = time.monotonic() + 10
    while len(RunOutputs(tmp_path / "run").marks) == 0 and time.monotonic() < deadline:
        out.pnl(T0, realised=0.0, unrealised=0.0, fees=0.0)
        time.sleep(0.01)
    after = RunOutputs(tmp_path / "run")
    out.close()

    assert before == 0
    assert len(after.marks) == 1 and len(after.capture("c")) == 1


CHILD = textwrap.dedent(
    """
    import sys
    from serenity.analytics import RunWriter

    out = RunWriter(sys.argv[1], starting_capital=1000.0, flush_rows=100, row_group_rows=1000)
    i = 0
    while True:
        for _ in range(100):
            out.pnl(i, realised=float(i), unrealised=0.0, fees=0.0)
            out.capture("sig", i, value=float(i))
            i += 1
        out.flush()
        print(i, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_a_killed_run_keeps_every_flushed_row_and_seals(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    flushed = 0
    deadline = time.monotonic() + 30
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(folder)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            while flushed < 5_000 and time.monotonic() < deadline:
                line = child.stdout.readline()
                assert line, "the writer process died"
                flushed = int(line)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
    assert flushed >= 5_000

    crashed = RunOutputs(folder)
    pnl = crashed.pnl
    assert not crashed.is_sealed and len(pnl) >= flushed
    assert pnl["realised"].tolist() == [float(i) for i in range(len(pnl))]

    journal = folder / "journal" / "pnl.arrows"
    with journal.open("r+b") as f:  # a write torn half-way through the last batch
        f.truncate(journal.stat().st_size - 100)
    torn = len(RunOutputs(folder).pnl)
    sealed = seal_run(folder)

    assert sealed == ["capture/sig", "fills", "marks", "orders", "pnl", "positions"]
    assert not (folder / "journal").exists()
    assert flushed - 100 <= torn < len(pnl)
    assert len(pq.read_table(folder / "pnl.parquet")) == torn
    assert RunOutputs(folder).capture("sig")["value"].tolist()[:flushed] == [
        float(i) for i in range(flushed)
    ]
    assert seal_run(folder) == []


def test_memory_stays_flat_however_many_rows(tmp_path: Path) -> None:
    def peak(rows: int, name: str) -> tuple[int, int, int]:
        out = RunWriter(tmp_path / name, starting_capital=1e6, flush_rows=500, row_group_rows=2_000)
        most_buffered = 0
        most_arrow = 0
        tracemalloc.start()
        for i in range(rows):
            out.pnl(T0 + i * MIN, realised=float(i), unrealised=1.0, fees=0.5)
            out.fill(T0 + i * MIN, i, **fill_kwargs(i, "BUY", 1.0, 100.0 + i, 0.1))
            if i % 997 == 0:
                most_buffered = max(most_buffered, out.buffered_rows)
                most_arrow = max(most_arrow, pa.total_allocated_bytes())
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.close()
        return most_buffered, most_arrow, traced

    small = peak(5_000, "small")
    large = peak(25_000, "large")

    assert large[0] <= 2 * (500 + 2_000)  # two tables, each at most flush + row group rows
    assert large[1] < 2 * small[1] + 1_000_000
    assert large[2] < 2 * small[2] + 1_000_000
    assert len(RunOutputs(tmp_path / "large").fills) == 25_000


@pytest.mark.parametrize(
    ("change", "column", "shown"),
    [
        ({"qty": "one"}, "qty", "'one'"),
        ({"price": None}, "price", "None"),
        ({"side": "HOLD"}, "side", "'HOLD'"),
        ({"order_id": 2.5}, "order_id", "2.5"),
        ({"exec_id": 17}, "exec_id", "17"),
    ],
)
def test_a_bad_value_names_table_column_value_and_ts_and_keeps_earlier_rows(
    tmp_path: Path, change: dict[str, object], column: str, shown: str
) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=0, flush_rows=100)
    for i in range(5):
        kwargs = {"ts": T0 + i, "order_id": i, **fill_kwargs(i, "BUY", 1.0, 10.0, 0.0)}
        if i == 3:
            kwargs.update(change)
        out.fill(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(DataError) as caught:
        out.flush()
    out.close()

    message = str(caught.value)
    assert "fills.parquet" in message and repr(column) in message
    assert f"was {shown}" in message and f"ts={T0 + 3}" in message
    assert RunOutputs(tmp_path / "run").fills["order_id"].tolist() == [0, 1, 2]


def test_a_bad_last_row_fails_close_but_the_files_are_finished(tmp_path: Path) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=0)
    out.mark(T0, INSTRUMENT, price=1.0)
    out.mark(T0 + 1, INSTRUMENT, price="x")  # type: ignore[arg-type]
    out.pnl(T0, realised=0.0, unrealised=0.0, fees=0.0)

    with pytest.raises(DataError, match="marks.parquet column 'price'"):
        out.close()
    assert RunOutputs(tmp_path / "run").is_sealed
    assert len(RunOutputs(tmp_path / "run").marks) == 1
    assert len(RunOutputs(tmp_path / "run").pnl) == 1


def test_capture_rows_must_keep_the_first_rows_fields_in_any_order(tmp_path: Path) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=0)
    out.capture("bands", T0, upper=2.0, lower=1.0)
    out.capture("bands", T0 + 1, lower=0.5, upper=3.0)

    with pytest.raises(DataError, match=r"'bands'.*missing \['lower'\], unexpected \['mid'\]"):
        out.capture("bands", T0 + 2, upper=2.0, mid=1.5)
    out.close()
    assert RunOutputs(tmp_path / "run").capture("bands").to_dict("records") == [
        {"ts": T0, "upper": 2.0, "lower": 1.0},
        {"ts": T0 + 1, "upper": 3.0, "lower": 0.5},
    ]


def test_capture_field_types_are_set_by_their_first_value(tmp_path: Path) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=0, flush_rows=2)
    out.capture("s", T0, n=1, x=None, note=None, quiet=None)
    out.capture("s", T0 + 1, n=None, x=2.5, note="hi", quiet=None)
    out.capture("s", T0 + 2, n=3, x=2, note=None, quiet=None)  # an int fits a float field
    with pytest.raises(DataError, match=r"'s' field 'n' holds int64.*was 1\.5.*ts="):
        out.capture("s", T0 + 3, n=1.5, x=1.0, note="", quiet=None)
    with pytest.raises(DataError, match=r"'s' field 'note' holds string.*was 7"):
        out.capture("s", T0 + 3, n=1, x=1.0, note=7, quiet=None)
    with pytest.raises(DataError, match=r"'s' field 'quiet' holds double.*was 'late'"):
        out.capture("s", T0 + 3, n=1, x=1.0, note="", quiet="late")
    out.close()

    got = RunOutputs(tmp_path / "run").capture("s")
    assert [str(t) for t in got.dtypes] == ["int64", "float64", "float64", "str", "float64"]
    assert got["x"].tolist()[1:] == [2.5, 2.0]


def test_a_refused_capture_row_neither_is_kept_nor_sets_types(tmp_path: Path) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=0)
    out.capture("s", T0, a=1.0, b=None)
    with pytest.raises(DataError, match="field 'a' holds double"):
        out.capture("s", T0 + 1, a="bad", b="text")
    out.capture("s", T0 + 2, a=2.0, b=5)
    out.close()

    got = RunOutputs(tmp_path / "run").arrow("capture/s")
    assert got.column("ts").to_pylist() == [T0, T0 + 2]
    assert str(got.schema.field("b").type) == "int64" and got.column("b").to_pylist() == [None, 5]


@pytest.mark.parametrize("channel", ["", "../up", "a/b", ".hidden", "x" * 129, 5])
def test_capture_channel_names_must_be_file_names(tmp_path: Path, channel: object) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=0)
    with pytest.raises(InvalidValueError, match="capture channel name"):
        out.capture(channel, T0, x=1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="at least one field"):
        out.capture("empty", T0)
    out.close()


def test_a_used_folder_is_refused_unless_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    with RunWriter(folder, starting_capital=0) as out:
        out.mark(T0, INSTRUMENT, price=1.0)
        out.capture("c", T0, x=1.0)
    (folder / "notes.txt").write_text("mine")

    with pytest.raises(ConfigError, match=r"already holds run outputs \(.*marks.parquet"):
        RunWriter(folder, starting_capital=0)
    RunWriter(folder, starting_capital=0, overwrite=True).close()

    assert RunOutputs(folder).marks.empty and RunOutputs(folder).channels == []
    assert (folder / "notes.txt").read_text() == "mine"


def test_rows_after_close_are_refused(tmp_path: Path) -> None:
    out = RunWriter(tmp_path / "run", starting_capital=0)
    out.capture("c", T0, x=1.0)
    out.close()
    out.close()

    with pytest.raises(InvalidValueError, match="were closed"):
        out.fill(T0, 1, **fill_kwargs(1, "BUY", 1.0, 1.0, 0.0))
    with pytest.raises(InvalidValueError, match="were closed"):
        out.capture("c", T0, x=2.0)
    with pytest.raises(InvalidValueError, match="were closed"):
        out.order(T0, 1, **order_kwargs(1, "BUY", exec_type="new", status="new", cum_qty=0.0,
                                        leaves_qty=1.0))  # fmt: skip
    assert out.is_closed


def test_a_failed_run_still_closes_its_outputs(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="strategy blew up"):
        with RunWriter(tmp_path / "run", starting_capital=0) as out:
            out.mark(T0, INSTRUMENT, price=1.0)
            raise RuntimeError("strategy blew up")

    assert RunOutputs(tmp_path / "run").is_sealed
    assert len(RunOutputs(tmp_path / "run").marks) == 1


@pytest.mark.parametrize(
    "kwargs", [{"flush_rows": 0}, {"row_group_rows": -1}, {"flush_interval_s": 0}]
)
def test_sizes_must_be_positive(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidValueError, match="must be"):
        RunWriter(tmp_path / "run", starting_capital=0, **kwargs)  # type: ignore[arg-type]


def test_reading_what_is_not_there_names_it(tiny_run: Path, tmp_path: Path) -> None:
    out = RunOutputs(tiny_run)

    with pytest.raises(DataError, match="no capture channel 'nope'; it has \\['bands'\\]"):
        out.capture("nope")
    with pytest.raises(DataError, match="unknown run table 'trades'"):
        out.table("trades")
    with pytest.raises(DataError, match="no summary.json"):
        _ = out.summary
    with pytest.raises(DataError, match="does not exist"):
        RunOutputs(tmp_path / "missing")
    (tiny_run / "fills.parquet").unlink()
    with pytest.raises(DataError, match="has no fills table"):
        _ = out.fills

"""A writer killed with SIGKILL loses nothing it flushed, and a restarted writer appends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from serenity.marketdata import JournalReader, JournalWriter

from .strategies import trade

CHILD = textwrap.dedent(
    """
    import sys
    from serenity.marketdata import JournalWriter, Trade
    from serenity.model import InstrumentId, Side

    inst = InstrumentId("phemex", "BTCUSD")
    t0 = 1_704_164_400_000_000_000
    writer = JournalWriter(sys.argv[1], flush_interval_s=3600).open()
    i = 0
    while True:
        for _ in range(97):
            side = Side.BUY if i % 3 else Side.SELL
            price = 42_000.0 + (i % 17) * 0.5
            qty = 0.001 * (1 + i % 7)
            writer.append_trade(Trade(inst, t0 + i, t0 + i * 1000, str(i), side, price, qty))
            i += 1
        writer.flush()
        print(i, flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_sigkill_loses_nothing_flushed_and_restart_appends_in_a_new_segment(
    tmp_path: Path,
) -> None:
    root = tmp_path / "journal"
    flushed = 0
    deadline = time.monotonic() + 30
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            while flushed < 20_000 and time.monotonic() < deadline:
                line = child.stdout.readline()
                assert line, "the writer process died"
                flushed = int(line)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
    assert flushed >= 20_000

    reader = JournalReader(root)
    got = list(reader)
    assert len(got) >= flushed
    assert got == [trade(i) for i in range(len(got))]
    assert len(reader.defects) <= 1  # at most a torn last record of an interrupted write
    [crashed] = sorted(root.rglob("*.journal"))
    before = crashed.read_bytes()

    with JournalWriter(root) as writer:
        for i in range(len(got), len(got) + 100):
            writer.append_trade(trade(i))
    segments = sorted(root.rglob("*.journal"))
    assert [p.name for p in segments] == [crashed.name, crashed.name.replace(".0000.", ".0001.")]
    assert crashed.read_bytes() == before
    assert list(JournalReader(root)) == got + [trade(i) for i in range(len(got), len(got) + 100)]

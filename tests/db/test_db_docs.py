"""The runnable example in docs/db.rst runs and prints what it says."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "db.rst"


def test_db_docs_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", DOC.read_text())
    assert len(blocks) == 1

    exec(compile(textwrap.dedent(blocks[0]), str(DOC), "exec"), {})  # noqa: S102

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("binance: 1 added, 0 changed")
    assert lines[1] == "BTC/USDT 0.01"
    assert lines[2] == "[<InstrumentStatus.TRADING: 'trading'>]"

"""docs/analytics.rst: its example prints what the page says, and its tables name every column
of every run-output table and every statistic."""

from __future__ import annotations

import re
import sys
import textwrap
import types
from pathlib import Path

import pytest

from serenity.analytics import TABLES, RunStatistics

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.rst"


def test_the_example_prints_what_the_page_says(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = DOC.read_text()
    [code] = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text)
    [said] = re.findall(r"This prints::\n\n((?:   .*\n)+)", text)
    module = types.ModuleType("docs_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)

    exec(compile(textwrap.dedent(code), str(DOC), "exec"), module.__dict__)

    assert capsys.readouterr().out == textwrap.dedent(said)
    assert (module.__dict__["folder"] / "report.html").is_file()


def test_every_column_and_statistic_is_documented() -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"``(\w+)``", text))

    for spec in TABLES.values():
        assert f"``{spec.name}.parquet``" in text
        assert set(spec.names) <= documented, spec.name
    fields = set(RunStatistics.__dataclass_fields__) - {"start_ns", "end_ns", "benchmark"}
    assert fields <= documented

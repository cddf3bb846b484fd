"""The example in docs/signal.rst runs and prints what it says."""

from __future__ import annotations

import re
import sys
import textwrap
import types
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "signal.rst"


def _examples() -> list[str]:
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", DOC.read_text())
    return [textwrap.dedent(block) for block in blocks]


def test_the_docs_have_an_example() -> None:
    assert _examples()


@pytest.mark.parametrize("code", _examples())
def test_docs_example_runs(
    code: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("docs_example")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "100"
    assert re.fullmatch(r"\d+\.\d\d < \d+\.\d\d, RSI \d+\.\d", printed[1])
